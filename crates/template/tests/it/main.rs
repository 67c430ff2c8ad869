//! Integration tests of tocsin-template: golden comparisons with the real Go implementation
//! (promtool), Prometheus's expander, and properties.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, which is what we want"
)]
#![allow(
    clippy::print_stderr,
    reason = "tests tell the runner's output why they skipped"
)]

mod amtool;
mod expander;
mod nesting;
mod promtool;
mod properties;
mod support;
