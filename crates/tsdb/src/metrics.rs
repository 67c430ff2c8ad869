//! Self-metrics of the store (`tocsin_tsdb_*`), registered once per process.

use tocsin_telemetry::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    exponential_buckets,
};

use crate::Result;

/// Every metric the store updates. Clones share the same series.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub(crate) head_series: IntGauge,
    pub(crate) head_chunks: IntGauge,
    pub(crate) samples_appended: IntCounter,
    pub(crate) samples_rejected: IntCounterVec,
    pub(crate) wal_size: IntGauge,
    pub(crate) wal_corruptions: IntCounter,
    pub(crate) wal_fsync_duration: Histogram,
    pub(crate) wal_write_failures: IntCounter,
    pub(crate) wal_replay_duration: Gauge,
    pub(crate) head_chunk_corruptions: IntCounter,
    pub(crate) compactions: IntCounter,
    pub(crate) compactions_failed: IntCounter,
    pub(crate) blocks: IntGauge,
    pub(crate) blocks_bytes: IntGauge,
    pub(crate) block_corruptions: IntCounter,
    pub(crate) retention_deletions: IntCounterVec,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

impl Metrics {
    /// Metrics registered in `registry` (`None`: unregistered, for tests and the CLI).
    pub fn new(registry: Option<&Registry>) -> Result<Self> {
        let m = Self {
            head_series: IntGauge::with_opts(opts(
                "tocsin_tsdb_head_series",
                "Series in the in-memory head.",
            ))?,
            head_chunks: IntGauge::with_opts(opts(
                "tocsin_tsdb_head_chunks",
                "Chunks in the in-memory head (open and sealed).",
            ))?,
            samples_appended: IntCounter::with_opts(opts(
                "tocsin_tsdb_head_samples_appended_total",
                "Samples committed to the head.",
            ))?,
            samples_rejected: IntCounterVec::new(
                opts(
                    "tocsin_tsdb_samples_rejected_total",
                    "Samples refused, by reason (out_of_order, duplicate_timestamp, too_old, invalid_series).",
                ),
                &["reason"],
            )?,
            wal_size: IntGauge::with_opts(opts(
                "tocsin_tsdb_wal_size_bytes",
                "Bytes the write-ahead log and its checkpoint take on disk.",
            ))?,
            wal_corruptions: IntCounter::with_opts(opts(
                "tocsin_tsdb_wal_corruptions_total",
                "Damaged WAL records found (and cut off) at start-up.",
            ))?,
            wal_fsync_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "tocsin_tsdb_wal_fsync_duration_seconds",
                    "Duration of WAL fsyncs.",
                )
                .buckets(exponential_buckets(0.0001, 4.0, 9)?),
            )?,
            wal_write_failures: IntCounter::with_opts(opts(
                "tocsin_tsdb_wal_writes_failed_total",
                "Commits refused because the WAL write failed (disk full, I/O error).",
            ))?,
            wal_replay_duration: Gauge::with_opts(opts(
                "tocsin_tsdb_wal_replay_duration_seconds",
                "How long the last start-up took to replay the WAL.",
            ))?,
            head_chunk_corruptions: IntCounter::with_opts(opts(
                "tocsin_tsdb_head_chunk_corruptions_total",
                "Damaged head chunk files found at start-up (cut at the damage; the WAL supplies the rest).",
            ))?,
            compactions: IntCounter::with_opts(opts(
                "tocsin_tsdb_compactions_total",
                "Blocks written by compaction (head to block, and merges).",
            ))?,
            compactions_failed: IntCounter::with_opts(opts(
                "tocsin_tsdb_compactions_failed_total",
                "Compactions that failed.",
            ))?,
            blocks: IntGauge::with_opts(opts(
                "tocsin_tsdb_blocks_loaded",
                "Persisted blocks currently loaded.",
            ))?,
            blocks_bytes: IntGauge::with_opts(opts(
                "tocsin_tsdb_storage_blocks_bytes",
                "Bytes the persisted blocks take on disk.",
            ))?,
            block_corruptions: IntCounter::with_opts(opts(
                "tocsin_tsdb_block_corruptions_total",
                "Damaged blocks or chunks found (blocks are moved aside, chunks skipped).",
            ))?,
            retention_deletions: IntCounterVec::new(
                opts(
                    "tocsin_tsdb_retention_deleted_blocks_total",
                    "Blocks deleted by retention, by reason (time, size).",
                ),
                &["reason"],
            )?,
        };
        for reason in [
            "out_of_order",
            "duplicate_timestamp",
            "too_old",
            "invalid_series",
        ] {
            m.samples_rejected.with_label_values(&[reason]);
        }
        for reason in ["time", "size"] {
            m.retention_deletions.with_label_values(&[reason]);
        }
        if let Some(registry) = registry {
            registry.register(m.head_series.clone())?;
            registry.register(m.head_chunks.clone())?;
            registry.register(m.samples_appended.clone())?;
            registry.register(m.samples_rejected.clone())?;
            registry.register(m.wal_size.clone())?;
            registry.register(m.wal_corruptions.clone())?;
            registry.register(m.wal_fsync_duration.clone())?;
            registry.register(m.wal_write_failures.clone())?;
            registry.register(m.wal_replay_duration.clone())?;
            registry.register(m.head_chunk_corruptions.clone())?;
            registry.register(m.compactions.clone())?;
            registry.register(m.compactions_failed.clone())?;
            registry.register(m.blocks.clone())?;
            registry.register(m.blocks_bytes.clone())?;
            registry.register(m.block_corruptions.clone())?;
            registry.register(m.retention_deletions.clone())?;
        }
        Ok(m)
    }

    /// Counts a refused sample.
    pub(crate) fn rejected(&self, reason: &'static str) {
        self.samples_rejected.with_label_values(&[reason]).inc();
    }
}
