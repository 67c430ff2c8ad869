use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tocsin_api::{ReloadFuture, Reloader, SecurityHandle, WebSecurity};
use tocsin_config::Config;
use tocsin_telemetry::{Gauge, IntGauge, Registry};

use super::config_source::ConfigSource;

/// Re-reads the configuration on `/-/reload` and SIGHUP and applies it to every stage; a bad
/// file leaves the running configuration untouched and says why.
pub(crate) struct ConfigReloader {
    source: ConfigSource,
    current: ArcSwap<Config>,
    security: SecurityHandle,
    // Reloads from HTTP and signals are serialised so two never interleave.
    in_progress: tokio::sync::Mutex<()>,
    last_successful: IntGauge,
    last_success_time: Gauge,
}

impl ConfigReloader {
    pub(crate) fn new(
        source: ConfigSource,
        config: Config,
        security: SecurityHandle,
        registry: &Registry,
    ) -> anyhow::Result<Self> {
        let last_successful = registry.register(IntGauge::new(
            "tocsin_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
        )?)?;
        let last_success_time = registry.register(Gauge::new(
            "tocsin_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
        )?)?;
        last_successful.set(1);
        last_success_time.set(unix_now());
        Ok(Self {
            source,
            current: ArcSwap::from_pointee(config),
            security,
            in_progress: tokio::sync::Mutex::new(()),
            last_successful,
            last_success_time,
        })
    }

    /// The configuration in force.
    #[allow(dead_code)] // Read by the stages as they land.
    pub(crate) fn current(&self) -> Arc<Config> {
        self.current.load_full()
    }

    async fn apply(&self) -> Result<(), String> {
        let _serialised = self.in_progress.lock().await;
        let source = self.source.clone();
        // File reads and certificate parsing are blocking work.
        let prepared = tokio::task::spawn_blocking(move || {
            let config = source.load().map_err(|err| err.to_string())?;
            let security = WebSecurity::from_config(&config.web, source.base_dir())
                .map_err(|err| format!("{source}: {err}"))?;
            Ok::<_, String>((config, security))
        })
        .await
        .map_err(|err| format!("reload task failed: {err}"))?;
        match prepared {
            Ok((config, security)) => {
                self.security.replace(security);
                self.current.store(Arc::new(config));
                self.last_successful.set(1);
                self.last_success_time.set(unix_now());
                tracing::info!(config = %self.source, "configuration reloaded");
                Ok(())
            }
            Err(reason) => {
                self.last_successful.set(0);
                tracing::error!(
                    config = %self.source,
                    %reason,
                    "configuration reload failed; the previous configuration stays in force"
                );
                Err(reason)
            }
        }
    }
}

impl Reloader for ConfigReloader {
    fn reload(&self) -> ReloadFuture<'_> {
        Box::pin(self.apply())
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
