use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tocsin_api::{ReloadFuture, Reloader, SecurityHandle, WebSecurity};
use tocsin_config::Config;
use tocsin_telemetry::{Gauge, IntGauge, Registry};

use super::config_source::ConfigSource;

/// A stage's reaction to a new configuration; the error says what it could not apply.
pub(crate) type ReloadHook = Box<dyn Fn(&Config) -> Result<(), String> + Send + Sync>;

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
    // Stages that apply the new configuration themselves (ingest limits and scrape jobs).
    hooks: parking_lot::Mutex<Vec<ReloadHook>>,
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
            hooks: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// Registers a stage to be given every configuration that loads successfully.
    pub(crate) fn on_reload(&self, hook: ReloadHook) {
        self.hooks.lock().push(hook);
    }

    /// The configuration in force.
    #[allow(dead_code)] // Read by the stages as they land.
    pub(crate) fn current(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Whether the last reload attempt succeeded (for `/api/v1/status/runtimeinfo`).
    pub(crate) fn last_reload_successful(&self) -> bool {
        self.last_successful.get() == 1
    }

    /// When the configuration was last loaded, RFC 3339.
    pub(crate) fn last_success_time(&self) -> String {
        let secs = self.last_success_time.get();
        jiff::Timestamp::from_millisecond((secs * 1000.0) as i64)
            .map(|t| t.to_string())
            .unwrap_or_default()
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
                let problems: Vec<String> = self
                    .hooks
                    .lock()
                    .iter()
                    .filter_map(|hook| hook(&config).err())
                    .collect();
                self.current.store(Arc::new(config));
                if !problems.is_empty() {
                    let reason = problems.join("; ");
                    self.last_successful.set(0);
                    tracing::error!(config = %self.source, %reason, "configuration reloaded, but some of it could not be applied");
                    return Err(reason);
                }
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
