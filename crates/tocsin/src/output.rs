//! Command output. Writes go through locked handles and ignore a closed pipe
//! (`tocsin ... | head` must not panic the way `println!` does).

use std::io::Write;

/// A line on standard output.
pub(crate) fn line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// An error on standard error, prefixed with the program name.
pub(crate) fn error(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "tocsin: error: {text}");
}

/// A line on standard error without prefix (details under an error).
pub(crate) fn detail(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
