//! Acceptance tests of the router: Alertmanager's timeline DSL (`at`/`between`) on a fake
//! clock, with a webhook collector; persistence across restarts.

#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(
    unreachable_pub,
    reason = "helpers shared between modules of one test crate"
)]

mod acceptance;
mod ack;
mod dsl;
mod feedback;
mod oncall;
mod receivers;
mod recorders;
mod silences;
mod support;
