//! Domain types every stage of the metrics path shares, and the traits that separate them.
//!
//! - [`Labels`]: a series identity, sorted by name, as Prometheus defines it.
//! - [`Matcher`]: `=`, `!=`, `=~`, `!~` with Prometheus's semantics (anchored `(?s)` regexes,
//!   an absent label matches as the empty string) and fast paths for literal sets and prefixes.
//! - [`Sample`], [`Timestamp`] and the stale marker.
//! - [`storage`]: `Appendable`/`Appender` (ingest writes) and `Queryable`/`Querier` (PromQL and
//!   the API read), implemented by `tocsin-tsdb`, and by [`storage::mem::MemStorage`], a
//!   simple in-memory store that serves as the reference model in tests.
//!
//! This crate depends on no other tocsin crate and does no I/O.

mod labels;
mod matcher;
pub mod parallel;
mod sample;
pub mod storage;
pub mod time;

pub use crate::labels::{Label, Labels, LabelsBuilder, LabelsError, METRIC_NAME, go_quote};
pub use crate::matcher::{MatchType, Matcher, MatcherError};
pub use crate::sample::{STALE_NAN, STALE_NAN_BITS, Sample, Timestamp, is_stale_nan};
