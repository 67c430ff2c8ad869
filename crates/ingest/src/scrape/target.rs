//! A scrape target: its labels before and after relabelling, its URL and schedule, and its
//! health, with Prometheus's `PopulateLabels` rules.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use parking_lot::Mutex;
use tocsin_config::{Config, Duration, ScrapeConfig};
use tocsin_model::Label;

use super::discovery::TargetGroup;
use crate::relabel::{LabelSet, relabel};

/// The settings of a job once `global` defaults are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    /// The job as configured.
    pub config: ScrapeConfig,
    /// Effective scrape interval.
    pub interval: Duration,
    /// Effective scrape timeout.
    pub timeout: Duration,
    /// Effective sample limit (0 = none).
    pub sample_limit: u64,
    /// Effective label limits (0 = none).
    pub label_limit: u64,
    /// Effective label name length limit.
    pub label_name_length_limit: u64,
    /// Effective label value length limit.
    pub label_value_length_limit: u64,
    /// Effective body size limit in bytes (0 = none).
    pub body_size_limit: u64,
    /// Effective target limit (0 = none).
    pub target_limit: u64,
    /// The formats to ask for, most preferred first.
    pub protocols: Vec<tocsin_config::ScrapeProtocol>,
}

impl JobSettings {
    /// `job` with `config`'s global defaults.
    pub fn new(config: &Config, job: &ScrapeConfig) -> Self {
        let global = &config.global;
        let or = |own: Option<u64>, global: u64| own.filter(|&v| v > 0).unwrap_or(global);
        Self {
            interval: config.effective_scrape_interval(job),
            timeout: config.effective_scrape_timeout(job),
            sample_limit: or(job.sample_limit, global.sample_limit),
            label_limit: or(job.label_limit, global.label_limit),
            label_name_length_limit: or(
                job.label_name_length_limit,
                global.label_name_length_limit,
            ),
            label_value_length_limit: or(
                job.label_value_length_limit,
                global.label_value_length_limit,
            ),
            body_size_limit: or(
                job.body_size_limit.map(|b| b.bytes()),
                global.body_size_limit.bytes(),
            ),
            target_limit: or(job.target_limit, global.target_limit),
            protocols: job
                .scrape_protocols
                .clone()
                .or_else(|| global.scrape_protocols.clone())
                .unwrap_or_else(super::fetch::default_protocols),
            config: job.clone(),
        }
    }
}

/// Health of a target's last scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHealth {
    /// Not scraped yet.
    Unknown,
    /// Last scrape succeeded.
    Up,
    /// Last scrape failed.
    Down,
}

impl TargetHealth {
    /// Prometheus's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// What the last scrape did.
#[derive(Debug, Clone)]
pub(crate) struct LastScrape {
    pub(crate) health: TargetHealth,
    pub(crate) error: String,
    pub(crate) at_ms: Option<i64>,
    pub(crate) duration_secs: f64,
}

/// A target to scrape.
#[derive(Debug)]
pub struct Target {
    /// Labels before relabelling (what discovery found, with the job's defaults).
    pub discovered: Vec<Label>,
    /// Labels after relabelling, internal (`__`) ones included.
    pub labels: Vec<Label>,
    /// The URL scraped.
    pub url: String,
    /// Scrape interval.
    pub interval: Duration,
    /// Scrape timeout.
    pub timeout: Duration,
    pub(crate) last: Mutex<LastScrape>,
}

impl Target {
    /// The labels every sample of the target gets: those not starting with `__`.
    pub fn public_labels(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter().filter(|l| !l.name.starts_with("__"))
    }

    /// A stable identity (labels and URL) that places the target in its interval.
    pub fn hash(&self) -> u64 {
        let mut text = String::new();
        for label in &self.labels {
            let _ = write!(text, "{}\u{ff}{}\u{ff}", label.name, label.value);
        }
        text.push_str(&self.url);
        xxhash_rust::xxh3::xxh3_64(text.as_bytes())
    }

    /// Health of the last scrape.
    pub fn health(&self) -> TargetHealth {
        self.last.lock().health
    }

    /// The last scrape's error, empty when it succeeded.
    pub fn last_error(&self) -> String {
        self.last.lock().error.clone()
    }
}

/// Builds the target for `address` (already in `labels` as `__address__`), following
/// Prometheus: job defaults, relabelling, `instance` defaulting to the address, `__meta_`
/// labels removed. `Ok(None)` means relabelling dropped it; `Err` says why it is invalid.
pub fn populate_labels(
    group_labels: &BTreeMap<String, String>,
    target_labels: &[(String, String)],
    job: &JobSettings,
) -> Result<(Vec<Label>, Option<Target>), String> {
    let config = &job.config;
    let mut set = LabelSet::new();
    for (name, value) in group_labels {
        set.set(name, value);
    }
    for (name, value) in target_labels {
        set.set(name, value);
    }
    let defaults = [
        ("job", config.job_name.clone()),
        ("__scrape_interval__", job.interval.to_string()),
        ("__scrape_timeout__", job.timeout.to_string()),
        ("__metrics_path__", config.metrics_path.clone()),
        (
            "__scheme__",
            match config.scheme {
                tocsin_config::Scheme::Http => "http".to_owned(),
                tocsin_config::Scheme::Https => "https".to_owned(),
            },
        ),
    ];
    for (name, value) in defaults {
        if set.get(name).is_empty() {
            set.set(name, &value);
        }
    }
    for (name, values) in &config.params {
        let label = format!("__param_{name}");
        if set.get(&label).is_empty()
            && let Some(first) = values.first()
        {
            set.set(&label, first);
        }
    }
    let discovered = set.as_slice().to_vec();
    if !relabel(&mut set, &config.relabel_configs) {
        return Ok((discovered, None));
    }
    let address = set.get("__address__").to_owned();
    if address.is_empty() {
        return Err("no address: __address__ is empty after relabelling".to_owned());
    }
    if address.contains('/') || address.contains(char::is_whitespace) {
        return Err(format!("invalid address {address:?}: expected host:port"));
    }
    let parse = |name: &str| -> Result<Duration, String> {
        set.get(name)
            .parse::<Duration>()
            .map_err(|err| format!("{name}: {err}"))
    };
    let interval = parse("__scrape_interval__")?;
    let timeout = parse("__scrape_timeout__")?;
    if interval.is_zero() {
        return Err("scrape interval is 0".to_owned());
    }
    if timeout.is_zero() {
        return Err("scrape timeout is 0".to_owned());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout {timeout} is greater than scrape interval {interval}"
        ));
    }
    let scheme = set.get("__scheme__").to_owned();
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid scheme {scheme:?}"));
    }
    set.retain(|l| !l.name.starts_with("__meta_"));
    if set.get("instance").is_empty() {
        set.set("instance", &address);
    }
    let url = scrape_url(&set, config);
    let target = Target {
        discovered: discovered.clone(),
        labels: set.into_vec(),
        url,
        interval,
        timeout,
        last: Mutex::new(LastScrape {
            health: TargetHealth::Unknown,
            error: String::new(),
            at_ms: None,
            duration_secs: 0.0,
        }),
    };
    Ok((discovered, Some(target)))
}

fn scrape_url(set: &LabelSet, config: &ScrapeConfig) -> String {
    let mut params: BTreeMap<String, Vec<String>> = config.params.clone();
    for label in set.as_slice() {
        if let Some(name) = label.name.strip_prefix("__param_") {
            params.insert(name.to_owned(), vec![label.value.clone()]);
        }
    }
    let mut url = format!(
        "{}://{}{}",
        set.get("__scheme__"),
        set.get("__address__"),
        set.get("__metrics_path__")
    );
    let mut first = !url.contains('?');
    for (name, values) in &params {
        for value in values {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(&percent_encode(name));
            url.push('=');
            url.push_str(&percent_encode(value));
        }
    }
    url
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Targets of groups, with the dropped ones' discovered labels.
pub(crate) fn targets_of(
    groups: &[TargetGroup],
    job: &JobSettings,
) -> (Vec<Target>, Vec<Vec<Label>>, Vec<String>) {
    let mut targets = Vec::new();
    let mut dropped = Vec::new();
    let mut errors = Vec::new();
    for group in groups {
        for address in &group.targets {
            let labels = [("__address__".to_owned(), address.clone())];
            match populate_labels(&group.labels, &labels, job) {
                Ok((_, Some(target))) => targets.push(target),
                Ok((discovered, None)) => dropped.push(discovered),
                Err(err) => errors.push(format!("target {address:?} from {}: {err}", group.source)),
            }
        }
    }
    (targets, dropped, errors)
}
