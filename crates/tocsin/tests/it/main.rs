//! Integration tests: the real `tocsin` binary, started in a temporary directory and talked
//! to over loopback HTTP. One test binary for all of them (faster links).

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

mod acks;
mod alerting;
mod architecture;
mod check;
mod cli;
mod demo;
mod drill;
mod import;
mod incident;
mod ingest;
mod oncall;
mod reload;
mod rules;
mod server;
mod slo;
mod support;
mod tls;
mod tsdb;
mod ui;
