//! The PromQL engine and the Prometheus API's status sources, built from the configuration;
//! the engine's limits follow config reloads.

use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_api::{PrometheusApi, PrometheusStatus, RuntimeInfo};
use tocsin_config::Config;
use tocsin_promql::{Engine, EngineOptions, QueryLimits};

use super::reload::ConfigReloader;
use crate::cli::ServerArgs;

/// `limits.query` as the engine takes it.
pub(crate) fn limits(config: &Config) -> QueryLimits {
    let q = &config.limits.query;
    QueryLimits {
        timeout: q.timeout.as_std(),
        max_samples: q.max_samples,
        max_concurrency: usize::try_from(q.max_concurrency).unwrap_or(usize::MAX),
    }
}

struct Status {
    reloader: Arc<ConfigReloader>,
    flags: BTreeMap<String, String>,
    start_time: String,
}

impl PrometheusStatus for Status {
    fn config_yaml(&self) -> String {
        self.reloader.current().to_redacted_yaml()
    }

    fn flags(&self) -> BTreeMap<String, String> {
        self.flags.clone()
    }

    fn runtime(&self) -> RuntimeInfo {
        let config = self.reloader.current();
        RuntimeInfo {
            start_time: self.start_time.clone(),
            cwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            reload_config_success: self.reloader.last_reload_successful(),
            last_config_time: self.reloader.last_success_time(),
            storage_retention: config.storage.tsdb.retention_time.to_string(),
        }
    }
}

/// Builds the engine with the configured limits and registers the reload hook.
pub(crate) fn start(
    args: &ServerArgs,
    config: &Config,
    reloader: &Arc<ConfigReloader>,
) -> PrometheusApi {
    let engine = Arc::new(Engine::new(limits(config), EngineOptions::default()));
    {
        let engine = Arc::clone(&engine);
        reloader.on_reload(Box::new(move |config| {
            let limits = limits(config);
            let engine = Arc::clone(&engine);
            Ok(super::reload::commit(move || engine.set_limits(limits)))
        }));
    }
    let flags = BTreeMap::from([
        ("web.listen-address".to_owned(), args.listen.clone()),
        (
            "storage.tsdb.path".to_owned(),
            args.data_dir.display().to_string(),
        ),
        (
            "config.file".to_owned(),
            args.config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        (
            "shutdown-timeout".to_owned(),
            args.shutdown_timeout.to_string(),
        ),
        ("query.lookback-delta".to_owned(), "5m".to_owned()),
    ]);
    PrometheusApi {
        engine,
        status: Arc::new(Status {
            reloader: Arc::clone(reloader),
            flags,
            start_time: jiff::Timestamp::now().to_string(),
        }),
    }
}
