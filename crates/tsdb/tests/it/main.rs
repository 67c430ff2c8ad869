//! Integration tests of the store: behaviour against the in-memory reference model, crash
//! and corruption recovery, a full disk, and the on-disk lifecycle.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, which is what we want"
)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the crash test's child reports acknowledgements on stdout; skips say why on stderr"
)]

mod basics;
mod corruption;
mod crash;
mod disk_full;
mod head_chunks;
mod model;
mod support;
