//! The ingest stage inside the server: the remote_write receiver and the scrape manager,
//! built from the configuration, reloaded with it, and shown to the HTTP layer through
//! `tocsin_api::IngestApi`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tocsin_api::{IngestApi, RemoteWriteFuture, RemoteWriteRequest, RemoteWriteResponse};
use tocsin_config::Config;
use tocsin_ingest::IngestMetrics;
use tocsin_ingest::clock::{Clock, SystemClock};
use tocsin_ingest::limits::Limiter;
use tocsin_ingest::receiver::{Receiver, ReceiverOptions, WriteInput};
use tocsin_ingest::scrape::ScrapeManager;
use tocsin_model::storage::Appendable;
use tocsin_telemetry::Registry;
use tokio_util::sync::CancellationToken;

use crate::BUILD;

/// How often idle series are forgotten and the active-series gauge refreshed.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Receiving and scraping, running.
pub(crate) struct IngestStage {
    receiver: Arc<Receiver>,
    scrape: Arc<ScrapeManager>,
    maintenance: CancellationToken,
}

impl IngestStage {
    /// Starts receiving and scraping into `storage`.
    pub(crate) fn start(
        config: &Config,
        storage: Arc<dyn Appendable>,
        registry: &Registry,
        base_dir: &Path,
    ) -> anyhow::Result<Arc<Self>> {
        let metrics = IngestMetrics::register(registry)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let limiter = Arc::new(Limiter::new(config.limits.clone()));
        let receiver = Arc::new(Receiver::new(
            Arc::clone(&storage),
            Arc::clone(&limiter),
            metrics.clone(),
            Arc::clone(&clock),
            ReceiverOptions::default(),
        ));
        let scrape = Arc::new(ScrapeManager::new(
            storage,
            Arc::clone(&clock),
            metrics.clone(),
            base_dir.to_path_buf(),
            format!("tocsin/{}", BUILD.version),
        ));
        for problem in scrape.apply(config) {
            tracing::error!(%problem, "scrape job not started");
        }
        let maintenance = CancellationToken::new();
        tokio::spawn(maintain(limiter, metrics, clock, maintenance.clone()));
        Ok(Arc::new(Self {
            receiver,
            scrape,
            maintenance,
        }))
    }

    /// Applies a reloaded configuration: limits at once (buckets and series counts kept),
    /// scrape jobs that changed restarted, the others untouched.
    pub(crate) fn reload(&self, config: &Config) -> Result<(), String> {
        self.receiver.limiter().reload(config.limits.clone());
        let problems = self.scrape.apply(config);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Stops scraping (no stale markers: the series continue after a restart).
    pub(crate) async fn stop(&self) {
        self.maintenance.cancel();
        self.scrape.stop().await;
    }
}

async fn maintain(
    limiter: Arc<Limiter>,
    metrics: IngestMetrics,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(MAINTENANCE_EVERY) => {}
            () = stop.cancelled() => return,
        }
        let purged = limiter.purge_idle(clock.now_ms());
        if purged > 0 {
            tracing::debug!(purged, "idle series no longer count as active");
        }
        metrics.active_series.reset();
        for (tenant, count) in limiter.active_series() {
            metrics
                .active_series
                .with_label_values(&[&tenant])
                .add(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
}

impl IngestApi for IngestStage {
    fn body_limit(&self, tenant: Option<&str>) -> usize {
        self.receiver.body_limit(tenant)
    }

    fn remote_write(&self, request: RemoteWriteRequest) -> RemoteWriteFuture<'_> {
        Box::pin(async move {
            let outcome = self
                .receiver
                .write(WriteInput {
                    tenant: request.tenant,
                    content_type: request.content_type,
                    content_encoding: request.content_encoding,
                    body: request.body,
                })
                .await;
            RemoteWriteResponse {
                status: outcome.status,
                message: outcome.message,
                retry_after: outcome.retry_after,
                headers: outcome.headers,
            }
        })
    }

    fn targets_json(&self, state: Option<&str>) -> String {
        self.scrape.targets_json(state)
    }
}
