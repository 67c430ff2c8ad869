//! The rule stage in the server: loads `rule_files` (globs relative to tocsin.yml), runs the
//! rule manager on the TSDB, posts alerts into the router, reloads with the configuration and
//! stops on shutdown.

mod alertmanagers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tocsin_alerting::{Alerting, PostableAlert};
use tocsin_config::Config;
use tocsin_model::storage::{Appendable, Queryable};
use tocsin_promql::Engine;
use tocsin_rules::unittest::ExpanderFactory;
use tocsin_rules::{
    AlertSink, Clock, EngineQuery, GroupDef, ManagerDeps, ManagerOptions, QueryFn, RuleManager,
    RuleMetrics, SentAlert, SystemClock,
};
use tocsin_telemetry::Registry;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Batches of alerts waiting for the router; beyond this the oldest sends are dropped (they
/// are re-sent within a minute anyway).
const SEND_QUEUE: usize = 64;

/// Hands alerts to a task that posts them into the router.
struct RouterSink {
    queue: mpsc::Sender<Vec<SentAlert>>,
}

impl AlertSink for RouterSink {
    fn send(&self, alerts: Vec<SentAlert>) {
        if let Err(err) = self.queue.try_send(alerts) {
            tracing::warn!(error = %err, "alert queue to the router is full; alerts dropped until the next resend");
        }
    }
}

/// Prometheus's notifier adds the external labels an alert does not already have.
fn add_external_labels(alerts: &mut [SentAlert], external: &BTreeMap<String, String>) {
    for alert in alerts {
        for (name, value) in external {
            alert
                .labels
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
    }
}

fn to_postable(alert: SentAlert) -> PostableAlert {
    PostableAlert {
        labels: alert.labels,
        annotations: alert.annotations,
        starts_at: Some(alert.starts_at),
        ends_at: Some(alert.ends_at),
        generator_url: alert.generator_url,
    }
}

/// Loads and validates every rule file the configuration names.
pub(crate) fn load_groups(config: &Config, base_dir: &Path) -> Result<Vec<GroupDef>, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    for pattern in &config.rule_files {
        files.extend(tocsin_rules::file::glob(base_dir, pattern)?);
    }
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match tocsin_rules::load_rule_file(&file) {
            Ok(g) => groups.extend(g),
            Err(errs) => errors.extend(errs.iter().map(ToString::to_string)),
        }
    }
    // SLOs run as ordinary rule groups: their recording rules and burn-rate alerts are
    // generated from slo_files and evaluated like any rule file.
    if !config.slo_files.is_empty() {
        let yaml = super::slo::generated_rules(config, base_dir)?;
        match tocsin_rules::parse_rule_file("<rules generated from slo_files>", &yaml) {
            Ok(g) => groups.extend(g),
            Err(errs) => errors.extend(errs.iter().map(ToString::to_string)),
        }
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors.join("\n"))
    }
}

fn millis(d: tocsin_config::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn options(config: &Config, external_url: &str) -> ManagerOptions {
    ManagerOptions {
        default_interval_ms: millis(config.global.evaluation_interval),
        external_url: config
            .alerting
            .external_url
            .clone()
            .unwrap_or_else(|| external_url.to_owned()),
        ..ManagerOptions::default()
    }
}

/// The running rule manager.
pub(crate) struct RulesStage {
    manager: Arc<RuleManager>,
    query: Arc<dyn QueryFn>,
    destinations: Arc<parking_lot::RwLock<Destinations>>,
    base_dir: PathBuf,
    external_url: String,
    stop: CancellationToken,
    sender: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
    loops: parking_lot::Mutex<GroupLoops>,
}

/// Where alerts go besides the router, and the labels added to them; follow reloads.
struct Destinations {
    external_labels: BTreeMap<String, String>,
    alertmanagers: alertmanagers::Alertmanagers,
}

impl Destinations {
    fn from_config(config: &Config, base_dir: &Path) -> Result<Self, String> {
        Ok(Self {
            external_labels: config.global.external_labels.clone(),
            alertmanagers: alertmanagers::Alertmanagers::from_config(config, base_dir)?,
        })
    }
}

/// One task per group, so a slow group does not delay the others; replaced on reload.
#[derive(Default)]
struct GroupLoops {
    cancel: Option<CancellationToken>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Evaluates one group whenever it is due, until cancelled or the group is gone.
async fn group_loop(manager: Arc<RuleManager>, key: (String, String), stop: CancellationToken) {
    loop {
        let m = Arc::clone(&manager);
        let k = key.clone();
        let next = match tokio::task::spawn_blocking(move || m.run_group(&k)).await {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(err) => {
                tracing::error!(group = %key.1, error = %err, "rule evaluation task failed");
                SystemClock.now_ms() + 1_000
            }
        };
        let wait_ms = (next - SystemClock.now_ms()).clamp(0, 60_000);
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))) => {}
        }
    }
}

/// What the stage reads and writes.
pub(crate) struct RulesInputs {
    pub(crate) engine: Arc<Engine>,
    pub(crate) queryable: Arc<dyn Queryable>,
    pub(crate) appendable: Arc<dyn Appendable>,
    pub(crate) router: Alerting,
}

impl RulesStage {
    /// Loads the rule files and starts evaluating.
    pub(crate) fn start(
        config: &Config,
        base_dir: &Path,
        inputs: RulesInputs,
        registry: &Registry,
        external_url: String,
    ) -> anyhow::Result<Arc<Self>> {
        let groups = load_groups(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (tx, mut rx) = mpsc::channel::<Vec<SentAlert>>(SEND_QUEUE);
        let query: Arc<dyn QueryFn> = Arc::new(EngineQuery::new(
            inputs.engine,
            Arc::clone(&inputs.queryable),
        ));
        let opts = options(config, &external_url);
        let expander = tocsin_rules::PrometheusTemplateFactory.expander(
            &config.global.external_labels,
            &opts.external_url,
            Arc::clone(&query),
        );
        let deps = ManagerDeps {
            query: Arc::clone(&query),
            queryable: inputs.queryable,
            appendable: inputs.appendable,
            expander: Arc::from(expander),
            sink: Arc::new(RouterSink { queue: tx }),
            clock: Arc::new(SystemClock),
            metrics: RuleMetrics::register(registry)?,
        };
        let manager = Arc::new(RuleManager::new(deps, opts.clone()));
        let rules: usize = groups.iter().map(|g| g.rules.len()).sum();
        tracing::info!(groups = groups.len(), rules, "rule files loaded");
        manager.update(groups, opts);
        let stop = CancellationToken::new();
        let router = inputs.router;
        let destinations = Arc::new(parking_lot::RwLock::new(
            Destinations::from_config(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?,
        ));
        let sender = {
            let destinations = Arc::clone(&destinations);
            tokio::spawn(async move {
                while let Some(mut batch) = rx.recv().await {
                    let alertmanagers = {
                        let d = destinations.read();
                        add_external_labels(&mut batch, &d.external_labels);
                        d.alertmanagers.clone()
                    };
                    if !alertmanagers.is_empty() {
                        // Off the router's path: a slow Alertmanager (up to its timeout) must
                        // not delay routing.
                        let batch = batch.clone();
                        tokio::spawn(async move { alertmanagers.send(&batch).await });
                    }
                    let posted: Vec<PostableAlert> = batch.into_iter().map(to_postable).collect();
                    if let Err(err) = router.put_alerts(posted).await {
                        tracing::warn!(error = %err, "router refused rule alerts");
                    }
                }
            })
        };
        let stage = Arc::new(Self {
            manager,
            query,
            destinations,
            base_dir: base_dir.to_path_buf(),
            external_url,
            stop,
            sender: parking_lot::Mutex::new(Some(sender)),
            loops: parking_lot::Mutex::new(GroupLoops::default()),
        });
        stage.restart_loops();
        Ok(stage)
    }

    /// Starts one evaluation loop per group, replacing the previous ones.
    fn restart_loops(&self) {
        let cancel = self.stop.child_token();
        let mut loops = self.loops.lock();
        if let Some(old) = loops.cancel.replace(cancel.clone()) {
            old.cancel();
        }
        loops.tasks.retain(|t| !t.is_finished());
        for key in self.manager.group_keys() {
            loops.tasks.push(tokio::spawn(group_loop(
                Arc::clone(&self.manager),
                key,
                cancel.clone(),
            )));
        }
    }

    /// Loads the rule files and Alertmanager destinations of a reloaded configuration; a
    /// bad file refuses the reload. The commit swaps the groups in and restarts their loops.
    pub(crate) fn prepare_reload(
        self: &Arc<Self>,
        config: &Config,
    ) -> Result<super::reload::ReloadCommit, String> {
        let groups = load_groups(config, &self.base_dir)?;
        let destinations = Destinations::from_config(config, &self.base_dir)?;
        let opts = options(config, &self.external_url);
        let expander = tocsin_rules::PrometheusTemplateFactory.expander(
            &config.global.external_labels,
            &opts.external_url,
            Arc::clone(&self.query),
        );
        let stage = Arc::clone(self);
        Ok(super::reload::commit(move || {
            *stage.destinations.write() = destinations;
            stage.manager.set_expander(Arc::from(expander));
            stage.manager.update(groups, opts);
            stage.restart_loops();
        }))
    }

    /// Stops evaluating and marks the rule series stale.
    pub(crate) async fn stop(&self) {
        self.stop.cancel();
        let tasks: Vec<_> = self.loops.lock().tasks.drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
        let manager = Arc::clone(&self.manager);
        let _ = tokio::task::spawn_blocking(move || manager.stop()).await;
        // Alerts still queued are dropped: the router and Alertmanagers are shutting down too.
        if let Some(sender) = self.sender.lock().take() {
            sender.abort();
        }
    }
}

impl tocsin_api::RulesApi for RulesStage {
    fn rules(&self, request: &tocsin_api::RulesRequest) -> Result<serde_json::Value, String> {
        let filter = tocsin_rules::api::RulesFilter {
            kind: request.kind.clone(),
            rule_names: request.rule_names.clone(),
            rule_groups: request.rule_groups.clone(),
            files: request.files.clone(),
            exclude_alerts: request.exclude_alerts,
        };
        tocsin_rules::api::rules_json(&self.manager.groups(), &filter)
    }

    fn alerts(&self) -> serde_json::Value {
        tocsin_rules::api::alerts_json(&self.manager.groups())
    }
}
