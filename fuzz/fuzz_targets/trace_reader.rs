//! Fuzzes the trace reader and the validator: any bytes must give a verdict or a malformed
//! error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcheck::trace_reader::TraceReader;
use sealcheck::validate::{validate_reader, ValidateOptions};

fuzz_target!(|data: &[u8]| {
    let reader = match TraceReader::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) {
        Ok(r) => r,
        Err(_) => return,
    };
    // Small bounds keep each run fast; the other options keep their defaults, so that a new
    // field of ValidateOptions does not break this target.
    let opts = ValidateOptions {
        max_hidden: 16,
        max_frontier: 10_000,
        ..ValidateOptions::default()
    };
    let _ = validate_reader(reader, &opts);
});
