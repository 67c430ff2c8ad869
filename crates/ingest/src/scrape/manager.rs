//! The scrape manager: one pool per job, fed by its discoveries, running one loop per
//! target; applies a new configuration by keeping what did not change.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::Mutex;
use tocsin_config::Config;
use tocsin_model::Label;
use tocsin_model::storage::Appendable;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::append::SampleRules;
use super::discovery::{FileDiscovery, TargetGroup, static_groups};
use super::fetch::{Fetch, HttpFetcher};
use super::scrape_loop::{ScrapeLoop, StopSignal};
use super::target::{JobSettings, Target, targets_of};
use crate::clock::Clock;
use crate::metrics::IngestMetrics;

/// How often file_sd files are checked for changes (they are re-read in full every
/// `refresh_interval`).
const FILE_SD_POLL: Duration = Duration::from_secs(5);

struct Running {
    target: Arc<Target>,
    stop: Arc<StopSignal>,
    task: JoinHandle<()>,
}

pub(crate) struct Pool {
    pub(crate) settings: JobSettings,
    fetcher: Arc<dyn Fetch>,
    groups: BTreeMap<String, Vec<TargetGroup>>,
    running: HashMap<u64, Running>,
    pub(crate) dropped: Vec<Vec<Label>>,
    pub(crate) error: Option<String>,
    discovery: CancellationToken,
}

impl Pool {
    pub(crate) fn targets(&self) -> Vec<Arc<Target>> {
        let mut targets: Vec<Arc<Target>> = self
            .running
            .values()
            .map(|r| Arc::clone(&r.target))
            .collect();
        targets.sort_by(|a, b| a.url.cmp(&b.url));
        targets
    }

    fn stop(&mut self, mark_stale: bool) -> Vec<JoinHandle<()>> {
        self.discovery.cancel();
        self.running
            .drain()
            .map(|(_, running)| {
                running.stop.mark_stale.store(mark_stale, Ordering::Release);
                running.stop.cancel.cancel();
                running.task
            })
            .collect()
    }
}

/// Runs every job's targets.
pub struct ScrapeManager {
    storage: Arc<dyn Appendable>,
    clock: Arc<dyn Clock>,
    metrics: IngestMetrics,
    base_dir: PathBuf,
    user_agent: String,
    fetcher_override: Option<Arc<dyn Fetch>>,
    pub(crate) pools: Mutex<BTreeMap<String, Pool>>,
}

impl std::fmt::Debug for ScrapeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeManager")
            .field(
                "jobs",
                &self.pools.lock().keys().cloned().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ScrapeManager {
    /// A manager with no jobs; file paths in the config resolve against `base_dir`.
    pub fn new(
        storage: Arc<dyn Appendable>,
        clock: Arc<dyn Clock>,
        metrics: IngestMetrics,
        base_dir: PathBuf,
        user_agent: String,
    ) -> Self {
        Self {
            storage,
            clock,
            metrics,
            base_dir,
            user_agent,
            fetcher_override: None,
            pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Fetches every target with `fetcher` instead of HTTP (tests).
    pub fn with_fetcher(mut self, fetcher: Arc<dyn Fetch>) -> Self {
        self.fetcher_override = Some(fetcher);
        self
    }

    /// Applies `config`: new jobs start, removed jobs stop (their series marked stale),
    /// changed jobs restart, unchanged jobs keep running untouched. Must run inside a tokio
    /// runtime. Returns the problems found (a job whose HTTP client cannot be built is
    /// skipped, the others run).
    pub fn apply(self: &Arc<Self>, config: &Config) -> Vec<String> {
        let mut problems = Vec::new();
        let wanted: BTreeMap<String, JobSettings> = config
            .scrape_configs
            .iter()
            .map(|job| (job.job_name.clone(), JobSettings::new(config, job)))
            .collect();
        let mut pools = self.pools.lock();
        let names: Vec<String> = pools.keys().cloned().collect();
        for name in names {
            let keep = wanted
                .get(&name)
                .is_some_and(|settings| pools.get(&name).is_some_and(|p| &p.settings == settings));
            if !keep && let Some(mut pool) = pools.remove(&name) {
                // A removed job's series go stale; a changed job's loops are replaced.
                let removed = !wanted.contains_key(&name);
                pool.stop(removed);
                self.metrics
                    .targets
                    .with_label_values(&[&name, "active"])
                    .set(0);
                self.metrics
                    .targets
                    .with_label_values(&[&name, "dropped"])
                    .set(0);
            }
        }
        for (name, settings) in wanted {
            if pools.contains_key(&name) {
                continue;
            }
            let fetcher: Arc<dyn Fetch> = match &self.fetcher_override {
                Some(fetcher) => Arc::clone(fetcher),
                None => match HttpFetcher::new(&settings, &self.base_dir, &self.user_agent) {
                    Ok(fetcher) => Arc::new(fetcher),
                    Err(err) => {
                        problems.push(format!("scrape config {name:?}: {err}"));
                        continue;
                    }
                },
            };
            let discovery = CancellationToken::new();
            for (index, sd) in settings.config.file_sd_configs.iter().enumerate() {
                let manager = Arc::clone(self);
                let job = name.clone();
                let sd = sd.clone();
                let cancel = discovery.clone();
                tokio::spawn(async move {
                    manager.watch_files(job, index, sd, cancel).await;
                });
            }
            let groups = static_groups(&settings.config.static_configs);
            let mut pool = Pool {
                settings,
                fetcher,
                groups: BTreeMap::new(),
                running: HashMap::new(),
                dropped: Vec::new(),
                error: None,
                discovery,
            };
            self.sync_pool(&name, &mut pool, "static".to_owned(), groups);
            pools.insert(name, pool);
        }
        problems
    }

    async fn watch_files(
        self: Arc<Self>,
        job: String,
        index: usize,
        sd: tocsin_config::FileSdConfig,
        cancel: CancellationToken,
    ) {
        let mut discovery = FileDiscovery::default();
        let refresh = sd.refresh_interval.as_std().max(Duration::from_secs(1));
        let mut since_refresh = refresh;
        loop {
            let force = since_refresh >= refresh;
            if force {
                since_refresh = Duration::ZERO;
            }
            let (groups, errors) = discovery.poll(&sd, &self.base_dir, force);
            for error in errors {
                tracing::warn!(job = %job, %error, "file_sd: cannot read targets; keeping the previous ones");
            }
            if let Some(groups) = groups {
                let mut pools = self.pools.lock();
                match pools.get_mut(&job) {
                    Some(pool) if !cancel.is_cancelled() => {
                        self.sync_pool(&job, pool, format!("file/{index}"), groups);
                    }
                    _ => return,
                }
            }
            let poll = FILE_SD_POLL.min(refresh);
            tokio::select! {
                () = tokio::time::sleep(poll) => since_refresh += poll,
                () = cancel.cancelled() => return,
            }
        }
    }

    fn sync_pool(&self, job: &str, pool: &mut Pool, source: String, groups: Vec<TargetGroup>) {
        pool.groups.insert(source, groups);
        let all: Vec<TargetGroup> = pool.groups.values().flatten().cloned().collect();
        let (targets, dropped, errors) = targets_of(&all, &pool.settings);
        for error in &errors {
            tracing::warn!(job, %error, "invalid scrape target skipped");
        }
        pool.dropped = dropped;
        let limit = pool.settings.target_limit;
        let targets = if limit > 0 && targets.len() as u64 > limit {
            let error = format!(
                "target_limit exceeded (number of targets: {}, limit: {limit}); no target of the job is scraped",
                targets.len()
            );
            tracing::warn!(job, %error, "scrape pool refused its targets");
            pool.error = Some(error);
            Vec::new()
        } else {
            pool.error = None;
            targets
        };
        let mut wanted: HashMap<u64, Target> = HashMap::new();
        for target in targets {
            wanted.entry(target.hash()).or_insert(target);
        }
        let gone: Vec<u64> = pool
            .running
            .keys()
            .filter(|hash| !wanted.contains_key(hash))
            .copied()
            .collect();
        for hash in gone {
            if let Some(running) = pool.running.remove(&hash) {
                running.stop.mark_stale.store(true, Ordering::Release);
                running.stop.cancel.cancel();
            }
        }
        let rules = SampleRules {
            honor_labels: pool.settings.config.honor_labels,
            honor_timestamps: pool.settings.config.honor_timestamps,
            track_timestamps_staleness: pool.settings.config.track_timestamps_staleness,
            metric_relabel: pool.settings.config.metric_relabel_configs.clone(),
            sample_limit: pool.settings.sample_limit,
            label_limit: pool.settings.label_limit,
            label_name_length_limit: pool.settings.label_name_length_limit,
            label_value_length_limit: pool.settings.label_value_length_limit,
        };
        for (hash, target) in wanted {
            if pool.running.contains_key(&hash) {
                continue;
            }
            let target = Arc::new(target);
            let stop = Arc::new(StopSignal::default());
            let scrape_loop = ScrapeLoop::new(
                Arc::clone(&target),
                job.to_owned(),
                Arc::clone(&pool.fetcher),
                Arc::clone(&self.storage),
                Arc::clone(&self.clock),
                rules.clone(),
                Some(self.metrics.clone()),
            );
            let task = tokio::spawn(scrape_loop.run(Arc::clone(&stop)));
            pool.running.insert(hash, Running { target, stop, task });
        }
        self.metrics
            .targets
            .with_label_values(&[job, "active"])
            .set(pool.running.len() as i64);
        self.metrics
            .targets
            .with_label_values(&[job, "dropped"])
            .set(pool.dropped.len() as i64);
    }

    /// Stops every loop without stale markers (shutdown: the series continue after a
    /// restart) and waits for them.
    pub async fn stop(&self) {
        let tasks: Vec<JoinHandle<()>> = {
            let mut pools = self.pools.lock();
            let mut tasks = Vec::new();
            for pool in pools.values_mut() {
                tasks.extend(pool.stop(false));
            }
            pools.clear();
            tasks
        };
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Active targets per job, for tests and the API.
    pub fn active_targets(&self) -> BTreeMap<String, Vec<Arc<Target>>> {
        self.pools
            .lock()
            .iter()
            .map(|(job, pool)| (job.clone(), pool.targets()))
            .collect()
    }
}
