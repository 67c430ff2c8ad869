use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tocsin_api::{ReloadFuture, Reloader, SecurityHandle, WebSecurity};
use tocsin_config::Config;
use tocsin_telemetry::{Gauge, IntGauge, Registry};

use super::config_source::ConfigSource;

/// Puts a stage's prepared configuration in force. It cannot fail: everything that can was
/// done when the stage prepared it.
pub(crate) type ReloadCommit = Box<dyn FnOnce() + Send>;

/// A stage's first reload phase: reads and checks every file the new configuration names
/// for it and builds its new state, without touching the running one. The error says what
/// is wrong and where (file:line:col when the file has positions).
pub(crate) type ReloadHook = Box<dyn Fn(&Config) -> Result<ReloadCommit, String> + Send + Sync>;

/// A commit step from a closure.
pub(crate) fn commit(apply: impl FnOnce() + Send + 'static) -> ReloadCommit {
    Box::new(apply)
}

/// Re-reads the configuration on `/-/reload` and SIGHUP and applies it to every stage, all
/// or nothing (as Prometheus does): every stage prepares first, and only when all of them
/// succeed is anything swapped; otherwise the running configuration stays entirely in force
/// and the error says why.
pub(crate) struct ConfigReloader {
    source: ConfigSource,
    current: ArcSwap<Config>,
    security: SecurityHandle,
    // Reloads from HTTP and signals are serialised so two never interleave.
    in_progress: tokio::sync::Mutex<()>,
    last_successful: IntGauge,
    last_success_time: Gauge,
    // Stages that apply the new configuration themselves (scrape jobs, rules, routes…).
    hooks: Arc<parking_lot::Mutex<Vec<ReloadHook>>>,
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
            hooks: Arc::new(parking_lot::Mutex::new(Vec::new())),
        })
    }

    /// Registers a stage to prepare every configuration that loads; its commit runs only
    /// when every stage prepared successfully.
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
        let hooks = Arc::clone(&self.hooks);
        // File reads, certificate parsing and every stage's preparation are blocking work.
        let prepared = tokio::task::spawn_blocking(move || prepare(&source, &hooks))
            .await
            .unwrap_or_else(|err| Err(format!("reload task failed: {err}")));
        let Prepared {
            config,
            security,
            commits,
        } = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => return Err(self.refuse(reason)),
        };
        self.security.replace(security);
        self.current.store(Arc::new(config));
        for commit in commits {
            commit();
        }
        self.last_successful.set(1);
        self.last_success_time.set(unix_now());
        tracing::info!(config = %self.source, "configuration reloaded");
        Ok(())
    }

    /// Records a refused reload and returns its reason.
    fn refuse(&self, reason: String) -> String {
        self.last_successful.set(0);
        tracing::error!(
            config = %self.source,
            %reason,
            "configuration reload failed; the previous configuration stays in force"
        );
        reason
    }
}

/// Everything a reload puts in force, checked and built.
struct Prepared {
    config: Config,
    security: WebSecurity,
    commits: Vec<ReloadCommit>,
}

/// The first phase: loads tocsin.yml and the web settings, then has every stage prepare.
/// Nothing running changes here; on error the prepared state is dropped unapplied.
fn prepare(
    source: &ConfigSource,
    hooks: &parking_lot::Mutex<Vec<ReloadHook>>,
) -> Result<Prepared, String> {
    let config = source.load().map_err(|err| err.to_string())?;
    let security = WebSecurity::from_config(&config.web, source.base_dir())
        .map_err(|err| format!("{source}: {err}"))?;
    // Every stage is asked even after one fails, so one reload names every bad file.
    let mut commits = Vec::new();
    let mut problems = Vec::new();
    for hook in hooks.lock().iter() {
        match hook(&config) {
            Ok(commit) => commits.push(commit),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(Prepared {
            config,
            security,
            commits,
        })
    } else {
        Err(problems.join("; "))
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::BUILD;

    /// A reloader over `dir/tocsin.yml` (starting on the embedded default's web settings)
    /// with two stages: one that always prepares and counts its commits, one that refuses
    /// while `refuse` is set.
    fn reloader(
        dir: &std::path::Path,
        commits: &Arc<AtomicUsize>,
        refuse: &Arc<AtomicBool>,
    ) -> (ConfigReloader, SecurityHandle) {
        let file = dir.join("tocsin.yml");
        std::fs::write(&file, "").unwrap();
        let config = Config::default();
        let security = SecurityHandle::new(WebSecurity::from_config(&config.web, dir).unwrap());
        let registry = Registry::new(&BUILD).unwrap();
        let reloader = ConfigReloader::new(
            ConfigSource::File(file),
            config,
            security.clone(),
            &registry,
        )
        .unwrap();
        let counted = Arc::clone(commits);
        reloader.on_reload(Box::new(move |_| {
            let counted = Arc::clone(&counted);
            Ok(commit(move || {
                counted.fetch_add(1, Ordering::SeqCst);
            }))
        }));
        let refuse = Arc::clone(refuse);
        reloader.on_reload(Box::new(move |_| {
            if refuse.load(Ordering::SeqCst) {
                Err("rules/bad.yml:5:15: could not parse expression".to_owned())
            } else {
                Ok(commit(|| {}))
            }
        }));
        (reloader, security)
    }

    #[tokio::test]
    async fn one_stage_refusing_applies_nothing_and_a_later_good_reload_applies_all() {
        let dir = tempfile::tempdir().unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let refuse = Arc::new(AtomicBool::new(true));
        let (reloader, security) = reloader(dir.path(), &commits, &refuse);
        let security_before = security.current();
        let config_before = reloader.current();
        std::fs::write(
            dir.path().join("tocsin.yml"),
            "web:\n  http_server_config:\n    headers:\n      X-Frame-Options: deny\n",
        )
        .unwrap();

        let refused = reloader.apply().await.unwrap_err();
        assert_eq!(refused, "rules/bad.yml:5:15: could not parse expression");
        assert_eq!(commits.load(Ordering::SeqCst), 0, "no stage may commit");
        assert!(Arc::ptr_eq(&security_before, &security.current()));
        assert!(Arc::ptr_eq(&config_before, &reloader.current()));
        assert!(!reloader.last_reload_successful());

        refuse.store(false, Ordering::SeqCst);
        reloader.apply().await.unwrap();
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert!(!Arc::ptr_eq(&security_before, &security.current()));
        assert_eq!(
            reloader.current().web.http_server_config.headers.len(),
            1,
            "the new configuration is in force"
        );
        assert!(reloader.last_reload_successful());
    }

    #[tokio::test]
    async fn a_bad_tocsin_yml_asks_no_stage() {
        let dir = tempfile::tempdir().unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let refuse = Arc::new(AtomicBool::new(false));
        let (reloader, _) = reloader(dir.path(), &commits, &refuse);
        std::fs::write(dir.path().join("tocsin.yml"), "scrape_configz: []\n").unwrap();
        let refused = reloader.apply().await.unwrap_err();
        assert!(refused.contains("tocsin.yml:1:1"), "{refused}");
        assert_eq!(commits.load(Ordering::SeqCst), 0);
        assert!(!reloader.last_reload_successful());
    }
}
