//! How tocsin watches itself: one place sets up logging (text or JSON, with structured fields)
//! and owns the registry of self-metrics that `/metrics` serves in Prometheus text format.
//!
//! Other crates never create metrics with raw names scattered through their code: each
//! defines a `metrics.rs` with a struct that registers its metrics here once, with
//! `tocsin_`-prefixed names, help text and a fixed set of label names.

mod build_info;
mod logging;
mod registry;

pub use crate::build_info::BuildInfo;
pub use crate::logging::{LogFormat, init_logging};
pub use crate::registry::{Registry, TEXT_CONTENT_TYPE};

/// Metric types, re-exported so every crate uses the same version.
pub use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, exponential_buckets,
};

/// Errors from setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The log filter could not be parsed.
    #[error(
        "invalid log level {filter:?}: {reason}; use error, warn, info, debug or trace, optionally per module like `info,tocsin_api=debug`"
    )]
    LogFilter {
        /// The filter as given.
        filter: String,
        /// What the parser said.
        reason: String,
    },
    /// Logging was already set up in this process.
    #[error("logging is already initialised in this process")]
    LoggingAlreadySet,
    /// A metric could not be registered (a programming error: duplicate name or bad labels).
    #[error("cannot register metric: {0}")]
    Metric(#[from] prometheus::Error),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
