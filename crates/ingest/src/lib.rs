//! Metrics in: everything that turns someone else's bytes into samples in the store.
//!
//! - [`exposition`]: the Prometheus text format 0.0.4 and OpenMetrics 1.0 parsers.
//! - [`remote_write`]: the remote_write 1.0 and 2.0 wire formats (a zero-copy protobuf walk,
//!   snappy block format with the declared length checked before allocating) and an encoder
//!   for senders.
//! - [`relabel`]: Prometheus's relabelling, every action.
//! - [`limits`]: per-tenant token buckets, series limits and label limits.
//! - [`receiver`]: the remote_write receiver: decode, validate, limit, append, commit, answer
//!   with the spec's status codes.
//! - [`scrape`]: targets from static and file discovery, scrape loops with jitter, staleness
//!   and Prometheus's synthetic series, on a clock that tests can fake.
//!
//! Writes go through `tocsin_model::storage::Appendable` only: this crate never sees the
//! TSDB, and the HTTP layer sees it only through the small types of [`receiver`].

pub mod agent;
pub mod backfill;
pub mod clock;
pub mod exposition;
pub mod limits;
pub mod loadgen;
pub mod receiver;
pub mod relabel;
pub mod remote_write;
pub mod scrape;

mod error;
mod metrics;

pub use crate::error::{Error, Result};
pub use crate::metrics::IngestMetrics;
