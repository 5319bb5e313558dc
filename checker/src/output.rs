//! Writing reports to standard output without panicking when the reader goes away.

use std::io::Write;

/// Writes `text` to standard output as it is and flushes it. Unlike `print!`, which panics when
/// the reader went away (`sealcheck reproduce --controls | head -1`), this returns the error,
/// and `main` ends quietly on a broken pipe.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes `text` to standard output as [`write_stdout`] does, ending it with a newline unless
/// it already ends with one.
pub fn print_out(text: &str) -> std::io::Result<()> {
    if text.ends_with('\n') {
        write_stdout(text)
    } else {
        write_stdout(&format!("{text}\n"))
    }
}
