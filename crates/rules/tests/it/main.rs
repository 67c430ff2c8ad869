//! Integration tests of tocsin-rules (one binary, as every crate here).

#![allow(
    clippy::print_stderr,
    reason = "tests tell the runner's output why they skipped"
)]

mod api;
mod promtool_compat;
mod support;
mod timeline;
