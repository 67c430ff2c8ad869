//! The SLO crate end to end: golden rules against Sloth's output, burn-rate alerts and
//! budgets on a fake timeline over the real PromQL engine, and the strict-parse error table.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(
    unreachable_pub,
    reason = "helpers shared between the modules of one test crate"
)]
#![allow(clippy::print_stderr, reason = "tests say why they skipped")]

mod budget;
mod golden;
mod outage;
mod promtool;
mod sim;
mod spec_errors;
mod support;
