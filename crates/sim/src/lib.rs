//! A deterministic, seeded fleet simulator for demos and drills.
//!
//! - [`Fleet`]: N services in six layers (frontends → APIs → domain → core → data access →
//!   databases, caches, queues) running in every region, built from a [`FleetConfig`]; the
//!   same seed always gives the same fleet.
//! - [`Simulator`]: scrapes the fleet every interval and writes conventional series
//!   (`http_requests_total`, `http_request_duration_seconds_*`, `up`, CPU, memory, disk,
//!   pools, queues, DNS and dependency errors, `build_info`) into any `Appendable`, with daily
//!   seasonality and noise from seeded PCG streams: the same seed gives the same samples bit for
//!   bit, however `step` calls are split.
//! - [`Fault`]s change signals the way real failures do; [`Mitigation`]s end them.
//! - [`drill`]: scores a trainee's drill log against the scenario's answer key.
//! - [`scenario`]: the drill catalogue (faults, answer keys, what a strong responder checks)
//!   and [`suggest`]: SLO specs and alert rules for the fleet as YAML.
//!
//! See `docs/simulator.md`.

mod emit;
mod error;
mod fault;
mod fleet;
mod physics;
mod rng;
mod sim;

pub mod drill;
pub mod scenario;
pub mod suggest;

pub use crate::error::{Error, Result};
pub use crate::fault::{Fault, FaultKind, FaultStatus, Mitigation};
pub use crate::fleet::{
    CORES, DEFAULT_REGIONS, DEFAULT_SCRAPE_INTERVAL_MS, Dependency, Fleet, FleetConfig, Role,
    Route, Service,
};
pub use crate::sim::{Pace, Simulator, StepReport};
