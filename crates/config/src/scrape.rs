//! `scrape_configs` in Prometheus's format. tocsin supports static and file-based service
//! discovery; other `*_sd_configs` are refused with the list of supported fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::http_client::{Authorization, BasicAuth, HttpClientConfig, TlsClientConfig};
use crate::relabel::RelabelConfig;
use crate::{ByteSize, Duration};

/// `static_configs:` entry: fixed targets with extra labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels added to every target.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs:` entry: targets read from JSON or YAML files, watched for changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File patterns (`*` globbing in the last path element, like Prometheus).
    pub files: Vec<String>,
    /// How often files are re-read in addition to being watched.
    #[serde(default = "default_file_sd_refresh")]
    pub refresh_interval: Duration,
}

fn default_file_sd_refresh() -> Duration {
    Duration::from_secs(300)
}

/// The exposition formats a scrape may ask for, in Prometheus 3's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScrapeProtocol {
    /// Protobuf exposition.
    PrometheusProto,
    /// OpenMetrics 0.0.1.
    #[serde(rename = "OpenMetricsText0.0.1")]
    OpenMetricsText0_0_1,
    /// OpenMetrics 1.0.0.
    #[serde(rename = "OpenMetricsText1.0.0")]
    OpenMetricsText1_0_0,
    /// Prometheus text 0.0.4.
    #[serde(rename = "PrometheusText0.0.4")]
    PrometheusText0_0_4,
    /// Prometheus text 1.0.0.
    #[serde(rename = "PrometheusText1.0.0")]
    PrometheusText1_0_0,
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

/// One `scrape_configs:` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawScrapeConfig")]
pub struct ScrapeConfig {
    /// The `job` label of every target.
    pub job_name: String,
    /// How often to scrape; the global `scrape_interval` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<Duration>,
    /// Per-scrape timeout; the global `scrape_timeout` (capped at the interval) when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<Duration>,
    /// Formats to negotiate, most preferred first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Path to scrape.
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// URL query parameters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep the target's labels on conflict instead of prefixing them with `exported_`.
    pub honor_labels: bool,
    /// Use timestamps the target exposes.
    pub honor_timestamps: bool,
    /// Mark series with explicit timestamps stale when they disappear.
    pub track_timestamps_staleness: bool,
    /// Ask for gzip-compressed responses.
    pub enable_compression: bool,
    /// Authentication, TLS and proxy settings.
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// Fixed targets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// Targets from files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Relabelling of targets before scraping.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabelling of scraped series before storage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Per-scrape limits; 0 or unset means the global value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_limit: Option<u64>,
    /// Maximum labels per series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_limit: Option<u64>,
    /// Maximum label name length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_name_length_limit: Option<u64>,
    /// Maximum label value length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_value_length_limit: Option<u64>,
    /// Maximum targets after relabelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_limit: Option<u64>,
    /// Maximum uncompressed response size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_size_limit: Option<ByteSize>,
    /// Where `job_name` is written, for errors found after parsing (duplicates, limits
    /// inherited from `global`).
    #[serde(skip)]
    pub(crate) job_name_at: (u64, u64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrapeConfig {
    job_name: Spanned<String>,
    scrape_interval: Option<Duration>,
    scrape_timeout: Option<Duration>,
    scrape_protocols: Option<Vec<ScrapeProtocol>>,
    metrics_path: Option<String>,
    #[serde(default)]
    scheme: Scheme,
    #[serde(default)]
    params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    honor_labels: bool,
    honor_timestamps: Option<bool>,
    #[serde(default)]
    track_timestamps_staleness: bool,
    enable_compression: Option<bool>,
    basic_auth: Option<BasicAuth>,
    authorization: Option<Authorization>,
    #[serde(default)]
    tls_config: TlsClientConfig,
    proxy_url: Option<String>,
    follow_redirects: Option<bool>,
    enable_http2: Option<bool>,
    #[serde(default)]
    static_configs: Vec<StaticConfig>,
    #[serde(default)]
    file_sd_configs: Vec<FileSdConfig>,
    #[serde(default)]
    relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    metric_relabel_configs: Vec<RelabelConfig>,
    sample_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    target_limit: Option<u64>,
    body_size_limit: Option<ByteSize>,
}

impl TryFrom<RawScrapeConfig> for ScrapeConfig {
    type Error = String;

    fn try_from(raw: RawScrapeConfig) -> Result<Self, Self::Error> {
        let job_name = raw.job_name.value;
        let job_name_at = (
            raw.job_name.referenced.line(),
            raw.job_name.referenced.column(),
        );
        if job_name.is_empty() {
            return Err("job_name must not be empty".to_owned());
        }
        let in_job = |msg: String| format!("scrape config {job_name:?}: {msg}");
        if let (Some(interval), Some(timeout)) = (raw.scrape_interval, raw.scrape_timeout)
            && timeout > interval
        {
            return Err(in_job(format!(
                "scrape_timeout {timeout} is greater than scrape_interval {interval}; \
                 lower the timeout or raise the interval"
            )));
        }
        if raw.scrape_interval.is_some_and(Duration::is_zero) {
            return Err(in_job("scrape_interval must be greater than 0".to_owned()));
        }
        let metrics_path = raw.metrics_path.unwrap_or_else(|| "/metrics".to_owned());
        if !metrics_path.starts_with('/') {
            return Err(in_job(format!(
                "metrics_path {metrics_path:?} must start with '/'"
            )));
        }
        for (index, group) in raw.static_configs.iter().enumerate() {
            for target in &group.targets {
                validate_target(target).map_err(|msg| {
                    in_job(format!("static_configs[{index}]: target {target:?} {msg}"))
                })?;
            }
        }
        for sd in &raw.file_sd_configs {
            for pattern in &sd.files {
                validate_file_sd_pattern(pattern).map_err(in_job)?;
            }
        }
        let http = HttpClientConfig {
            basic_auth: raw.basic_auth,
            authorization: raw.authorization,
            tls_config: raw.tls_config,
            proxy_url: raw.proxy_url,
            follow_redirects: raw.follow_redirects.unwrap_or(true),
            enable_http2: raw.enable_http2.unwrap_or(true),
        };
        http.validate().map_err(in_job)?;
        Ok(Self {
            job_name,
            scrape_interval: raw.scrape_interval,
            scrape_timeout: raw.scrape_timeout,
            scrape_protocols: raw.scrape_protocols,
            metrics_path,
            scheme: raw.scheme,
            params: raw.params,
            honor_labels: raw.honor_labels,
            honor_timestamps: raw.honor_timestamps.unwrap_or(true),
            track_timestamps_staleness: raw.track_timestamps_staleness,
            enable_compression: raw.enable_compression.unwrap_or(true),
            http,
            static_configs: raw.static_configs,
            file_sd_configs: raw.file_sd_configs,
            relabel_configs: raw.relabel_configs,
            metric_relabel_configs: raw.metric_relabel_configs,
            sample_limit: raw.sample_limit,
            label_limit: raw.label_limit,
            label_name_length_limit: raw.label_name_length_limit,
            label_value_length_limit: raw.label_value_length_limit,
            target_limit: raw.target_limit,
            body_size_limit: raw.body_size_limit,
            job_name_at,
        })
    }
}

/// A target is `host:port`, or a bare host when relabelling adds the port. URLs are refused
/// because Prometheus refuses them: scheme and path belong in `scheme` and `metrics_path`.
fn validate_target(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("is empty".to_owned());
    }
    if target.contains("://") || target.contains('/') {
        return Err(
            "is not host:port; put the scheme in 'scheme' and the path in 'metrics_path'"
                .to_owned(),
        );
    }
    if target.chars().any(char::is_whitespace) {
        return Err("contains whitespace".to_owned());
    }
    Ok(())
}

/// Prometheus allows `*` globbing only in the last path element, and only `.json`, `.yml`
/// and `.yaml` files.
fn validate_file_sd_pattern(pattern: &str) -> Result<(), String> {
    let (dir, file) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if dir.contains(['*', '?', '[']) {
        return Err(format!(
            "file_sd_configs pattern {pattern:?}: wildcards are allowed only in the file name"
        ));
    }
    if !(file.ends_with(".json") || file.ends_with(".yml") || file.ends_with(".yaml")) {
        return Err(format!(
            "file_sd_configs pattern {pattern:?} must end in .json, .yml or .yaml"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn parse(text: &str) -> Result<ScrapeConfig, String> {
        yaml::from_str::<ScrapeConfig>("s.yml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_prometheus() {
        let cfg =
            parse("job_name: node\nstatic_configs:\n  - targets: [localhost:9100]\n").unwrap();
        assert_eq!(cfg.metrics_path, "/metrics");
        assert!(cfg.honor_timestamps);
        assert!(!cfg.honor_labels);
        assert!(cfg.http.follow_redirects);
        assert_eq!(cfg.scheme, Scheme::Http);
        assert_eq!(cfg.job_name_at, (1, 11));
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for (text, want) in [
            ("job_name: ''\n", "must not be empty"),
            (
                "job_name: a\nscrape_interval: 10s\nscrape_timeout: 20s\n",
                "greater than",
            ),
            (
                "job_name: a\nmetrics_path: metrics\n",
                "must start with '/'",
            ),
            (
                "job_name: a\nstatic_configs: [{targets: ['http://x:1/m']}]\n",
                "not host:port",
            ),
            (
                "job_name: a\nfile_sd_configs: [{files: ['*/x.json']}]\n",
                "only in the file name",
            ),
            (
                "job_name: a\nfile_sd_configs: [{files: ['x.txt']}]\n",
                ".json, .yml",
            ),
            (
                "job_name: a\nkubernetes_sd_configs: []\n",
                "kubernetes_sd_configs",
            ),
            (
                "job_name: a\nbasic_auth: {username: u}\nauthorization: {credentials: c}\n",
                "at most one",
            ),
            ("job_name: a\nproxy_url: socks5://x\n", "proxy_url"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
