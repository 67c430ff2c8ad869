//! tocsin's embedded time-series store, modelled on Prometheus's tsdb.
//!
//! - **Head** ([`head`]): every active series in memory, with one open XOR chunk
//!   (delta-of-delta timestamps, XOR floats) and its sealed chunks; series in striped maps
//!   and an inverted index, so appends of different series never share a lock.
//! - **WAL** ([`wal`]): segmented, CRC32-C per record; a commit is acknowledged only after
//!   its record is written (and fsynced per [`WalSync`]). Replay at start-up is parallel; a
//!   damaged tail is cut at the last intact record, logged and counted. Checkpoints keep
//!   the log bounded.
//! - **Blocks** ([`block`]): immutable directories of chunk files (sealed chunks re-encoded
//!   with pco when smaller), an index (symbols, roaring postings per label pair) and
//!   `meta.json`, written atomically and read through memory maps. Compaction merges them;
//!   retention deletes them by time and size. Tombstones delete series.
//! - **Queries**: [`Tsdb`] implements `tocsin_model::storage::{Appendable, Queryable}`;
//!   selects merge head and blocks.
//!
//! Formats are documented in `docs/format/`. This crate depends on `tocsin-model` and
//! `tocsin-telemetry` only; it never sees the configuration file (the binary maps
//! `storage.tsdb` onto [`TsdbOptions`]).
//!
//! Invariants: the head applies commits in WAL order (commits write and apply under the
//! WAL lock); no append below the newest block's end is accepted, so a block, once
//! written, never needs data the head still has to add; block files never change after
//! the rename that publishes them (see `mmap`).

pub mod block;
pub mod chunkenc;
mod db;
pub mod encoding;
mod error;
mod fsutil;
pub mod head;
mod metrics;
mod mmap;
mod options;
use tocsin_model::parallel;
mod postings;
pub mod query;
pub mod wal;

pub use crate::db::{CompactionReport, OpenReport, Tsdb, is_locked};
pub use crate::error::{Error, Result};
pub use crate::head::{Head, HeadStats};
pub use crate::options::{TsdbOptions, WalSync};
