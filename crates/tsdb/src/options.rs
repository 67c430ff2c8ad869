//! What the store is told at open. The binary maps `storage.tsdb` from `tocsin.yml` onto
//! these; the crate does not know the configuration file.

use std::time::Duration;

use crate::{Error, Result};

/// When the write-ahead log reaches stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalSync {
    /// fsync before every commit returns: nothing acknowledged is lost even on power loss.
    Always,
    /// A background thread fsyncs at most this often when the log has new data (group
    /// commit). A process crash loses nothing acknowledged (the data is in the page cache);
    /// a power loss or kernel crash can lose up to one interval.
    Interval(Duration),
    /// The operating system decides (Prometheus's behaviour); segments are synced when cut
    /// and at close. A power loss can lose the unsynced tail of the current segment.
    Never,
}

/// Options of [`crate::Tsdb::open`].
#[derive(Debug, Clone)]
pub struct TsdbOptions {
    /// Blocks whose newest sample is older than this (relative to the newest sample in the
    /// store) are deleted; `None` keeps data forever.
    pub retention_time: Option<Duration>,
    /// While blocks plus WAL take more bytes than this, the oldest block is deleted;
    /// `None` sets no limit.
    pub retention_size: Option<u64>,
    /// Span of the blocks cut from the head, in milliseconds (default 2h).
    pub block_duration_ms: i64,
    /// Largest block compaction may produce, in milliseconds (default: a tenth of the
    /// retention time, at most 31 days, at least `block_duration_ms`).
    pub max_block_duration_ms: Option<i64>,
    /// How far behind a series' newest sample an append may be and still be accepted, in
    /// milliseconds (0 = in order only).
    pub out_of_order_time_window_ms: i64,
    /// WAL sync policy.
    pub wal_sync: WalSync,
    /// Size at which a WAL segment is closed and a new one started.
    pub wal_segment_size: u64,
    /// Samples per head chunk before it is sealed (Prometheus: 120).
    pub samples_per_chunk: u16,
    /// Threads used to decode the WAL at start-up (0 = one per core).
    pub replay_threads: usize,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        Self {
            retention_time: Some(Duration::from_secs(15 * 24 * 3600)),
            retention_size: None,
            block_duration_ms: 2 * 3600 * 1000,
            max_block_duration_ms: None,
            out_of_order_time_window_ms: 0,
            wal_sync: WalSync::Interval(Duration::from_millis(100)),
            wal_segment_size: 128 << 20,
            samples_per_chunk: 120,
            replay_threads: 0,
        }
    }
}

impl TsdbOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.block_duration_ms < 1000 {
            return Err(Error::Options(format!(
                "block duration {}ms is shorter than 1s",
                self.block_duration_ms
            )));
        }
        if self.out_of_order_time_window_ms < 0 {
            return Err(Error::Options(
                "out-of-order window cannot be negative".to_owned(),
            ));
        }
        if self.wal_segment_size < 64 << 10 {
            return Err(Error::Options(format!(
                "WAL segment size {} is below 64KiB",
                self.wal_segment_size
            )));
        }
        if self.samples_per_chunk < 2 {
            return Err(Error::Options(
                "samples per chunk must be at least 2".to_owned(),
            ));
        }
        if let WalSync::Interval(every) = self.wal_sync
            && every.is_zero()
        {
            return Err(Error::Options(
                "WAL sync interval cannot be zero".to_owned(),
            ));
        }
        Ok(())
    }

    /// The largest block compaction may produce.
    pub fn max_block_duration(&self) -> i64 {
        let from_retention = self
            .retention_time
            .map_or(i64::MAX, |r| (r.as_millis() as i64) / 10);
        self.max_block_duration_ms
            .unwrap_or_else(|| from_retention.min(31 * 24 * 3600 * 1000))
            .max(self.block_duration_ms)
    }
}
