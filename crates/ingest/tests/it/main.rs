//! Integration tests of the ingest stage: real HTTP servers on loopback and reference tools.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, which is what we want"
)]
#![allow(
    unreachable_pub,
    reason = "helpers are shared between the modules of one test crate"
)]
#![allow(
    clippy::print_stderr,
    reason = "tests tell the runner's output why they skipped"
)]

mod fetch;
mod node_exporter;
mod promtool;
mod support;
