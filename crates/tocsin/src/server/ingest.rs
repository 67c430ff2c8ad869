//! The ingest stage inside the server: the remote_write receiver and the scrape manager,
//! built from the configuration, reloaded with it, and shown to the HTTP layer through
//! `tocsin_api::IngestApi`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tocsin_api::{IngestApi, RemoteWriteFuture, RemoteWriteRequest, RemoteWriteResponse};
use tocsin_config::Config;
use tocsin_ingest::IngestMetrics;
use tocsin_ingest::clock::{Clock, SystemClock};
use tocsin_ingest::limits::Limiter;
use tocsin_ingest::receiver::{Receiver, ReceiverOptions, WriteInput};
use tocsin_ingest::scrape::{HttpFetcher, JobSettings, ScrapeManager};
use tocsin_model::storage::Appendable;
use tocsin_telemetry::Registry;
use tokio_util::sync::CancellationToken;

use super::reload::{ReloadCommit, commit};
use crate::BUILD;

/// How often idle series are forgotten and the active-series gauge refreshed.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Receiving and scraping, running.
pub(crate) struct IngestStage {
    receiver: Arc<Receiver>,
    scrape: Arc<ScrapeManager>,
    maintenance: CancellationToken,
    // What scrape clients are built with, to check them before a reload applies.
    base_dir: PathBuf,
    user_agent: String,
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
            user_agent(),
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
            base_dir: base_dir.to_path_buf(),
            user_agent: user_agent(),
        }))
    }

    /// Checks a reloaded configuration: every scrape job's HTTP client is built (its
    /// certificate, key and CA files read) so a bad one refuses the whole reload. The commit
    /// applies limits at once (buckets and series counts kept), restarts the scrape jobs
    /// that changed and leaves the others untouched.
    pub(crate) fn prepare_reload(
        self: &Arc<Self>,
        config: &Config,
    ) -> Result<ReloadCommit, String> {
        let problems: Vec<String> = config
            .scrape_configs
            .iter()
            .filter_map(|job| {
                let settings = JobSettings::new(config, job);
                HttpFetcher::new(&settings, &self.base_dir, &self.user_agent)
                    .err()
                    .map(|err| format!("scrape config {:?}: {err}", job.job_name))
            })
            .collect();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let stage = Arc::clone(self);
        let config = config.clone();
        Ok(commit(move || {
            stage.receiver.limiter().reload(config.limits.clone());
            // The manager builds the clients again; that fails only if a file changed
            // since the check above, and then that job alone is skipped, as at start.
            for problem in stage.scrape.apply(&config) {
                tracing::error!(%problem, "scrape job not started");
            }
        }))
    }

    /// Stops scraping (no stale markers: the series continue after a restart).
    pub(crate) async fn stop(&self) {
        self.maintenance.cancel();
        self.scrape.stop().await;
    }
}

fn user_agent() -> String {
    format!("tocsin/{}", BUILD.version)
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
