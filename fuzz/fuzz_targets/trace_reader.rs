//! Fuzzes the trace reader and the validator: any bytes must give a verdict or a malformed
//! error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcheck::trace::TraceReader;
use sealcheck::validate::{validate_reader, ValidateOptions};

fuzz_target!(|data: &[u8]| {
    let reader = match TraceReader::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) {
        Ok(r) => r,
        Err(_) => return,
    };
    let opts = ValidateOptions {
        max_hidden: 16,
        max_frontier: 10_000,
        permissive: true,
    };
    let _ = validate_reader(reader, &opts);
});
