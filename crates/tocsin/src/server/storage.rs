//! The time-series store inside the server: opened under `<data-dir>/tsdb` with the options
//! of `storage.tsdb`, compacted and pruned in the background, and closed (WAL fsynced) at
//! shutdown after ingestion has stopped, so nothing acknowledged is lost on SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tocsin_config::{TsdbConfig, WalSync};
use tocsin_model::storage::{Appendable, Queryable};
use tocsin_telemetry::Registry;
use tocsin_tsdb::{Tsdb, TsdbOptions};
use tokio_util::sync::CancellationToken;

/// How often compaction and retention run.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// `storage.tsdb` as the store's options.
pub(crate) fn options_from(config: &TsdbConfig) -> TsdbOptions {
    let millis = |d: tocsin_config::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    TsdbOptions {
        retention_time: (!config.retention_time.is_zero()).then(|| config.retention_time.as_std()),
        retention_size: (config.retention_size.0 > 0).then_some(config.retention_size.0),
        block_duration_ms: millis(config.block_duration),
        out_of_order_time_window_ms: millis(config.out_of_order_time_window),
        wal_sync: match config.wal_sync {
            WalSync::Always => tocsin_tsdb::WalSync::Always,
            WalSync::Interval => tocsin_tsdb::WalSync::Interval(config.wal_sync_interval.as_std()),
            WalSync::Never => tocsin_tsdb::WalSync::Never,
        },
        ..TsdbOptions::default()
    }
}

/// The open store and its background work.
pub(crate) struct StorageStage {
    db: Arc<Tsdb>,
    maintenance: CancellationToken,
    task: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl StorageStage {
    /// Opens the store (replaying its WAL, off the async workers) and starts maintenance.
    pub(crate) async fn open(
        data_dir: &Path,
        config: &TsdbConfig,
        registry: &Registry,
    ) -> anyhow::Result<Arc<Self>> {
        let dir = data_dir.join("tsdb");
        let options = options_from(config);
        let registry = registry.clone();
        let open_dir = dir.clone();
        let db =
            tokio::task::spawn_blocking(move || Tsdb::open(&open_dir, options, Some(&registry)))
                .await
                .context("the tsdb open task failed")?
                .with_context(|| {
                    format!("cannot open the time-series store in {}", dir.display())
                })?;
        let report = db.open_report();
        for c in &report.wal_corruptions {
            tracing::error!(corruption = %c, "WAL damage was cut off at start-up");
        }
        for (block, reason) in &report.quarantined_blocks {
            tracing::error!(block = %block.display(), %reason, "damaged block moved aside at start-up");
        }
        let maintenance = CancellationToken::new();
        let task = tokio::spawn(maintain(Arc::clone(&db), maintenance.clone()));
        Ok(Arc::new(Self {
            db,
            maintenance,
            task: parking_lot::Mutex::new(Some(task)),
        }))
    }

    pub(crate) fn appendable(&self) -> Arc<dyn Appendable> {
        Arc::clone(&self.db) as Arc<dyn Appendable>
    }

    pub(crate) fn queryable(&self) -> Arc<dyn Queryable> {
        Arc::clone(&self.db) as Arc<dyn Queryable>
    }

    /// Stops maintenance (letting a running compaction finish) and closes the store.
    pub(crate) async fn stop(&self) {
        self.maintenance.cancel();
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        let db = Arc::clone(&self.db);
        match tokio::task::spawn_blocking(move || db.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%err, "closing the time-series store failed"),
            Err(err) => tracing::error!(%err, "the tsdb close task failed"),
        }
    }
}

async fn maintain(db: Arc<Tsdb>, stop: CancellationToken) {
    loop {
        let worker = Arc::clone(&db);
        match tokio::task::spawn_blocking(move || worker.compact()).await {
            Ok(Ok(report)) if report != tocsin_tsdb::CompactionReport::default() => {
                tracing::info!(
                    head_blocks = report.head_blocks,
                    merged = report.merged_blocks,
                    deleted = report.deleted_blocks,
                    "tsdb maintenance done"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(err)) if err.is_disk_full() => {
                tracing::error!(%err, "tsdb compaction failed: the disk is full; retrying later");
            }
            Ok(Err(err)) => tracing::error!(%err, "tsdb compaction failed; retrying later"),
            Err(err) => tracing::error!(%err, "tsdb compaction task failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(MAINTENANCE_EVERY) => {}
        }
    }
}
