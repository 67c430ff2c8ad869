//! The `tocsin.yml` model and the strict YAML loader every tocsin file goes through.
//!
//! One file configures the whole pipeline. Sections copy Prometheus's and Alertmanager's
//! formats where they exist (`global`, `scrape_configs`, `alerting`, `web`), so users can paste
//! what they have. Parsing is strict: unknown fields are errors, and every error names
//! `file:line:column` and what to change.
//!
//! This crate does no I/O beyond reading the file it is asked to load, and depends on no other
//! tocsin crate.

mod alerting;
mod bytesize;
mod duration;
mod global;
mod http_client;
mod limits;
mod regex;
mod relabel;
mod scrape;
mod secret;
mod simulator;
mod storage;
mod web;
pub mod yaml;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::alerting::{AlertingConfig, AlertmanagerApiVersion, AlertmanagerConfig};
pub use crate::bytesize::{ByteSize, ParseByteSizeError};
pub use crate::duration::{Duration, ParseDurationError};
pub use crate::global::GlobalConfig;
pub use crate::http_client::{Authorization, BasicAuth, HttpClientConfig, TlsClientConfig};
pub use crate::limits::{
    IngestLimits, IngestLimitsOverride, LimitsConfig, QueryLimits, TenantId, validate_tenant_id,
};
pub use crate::regex::{AnchoredRegex, RegexError};
pub use crate::relabel::{RelabelAction, RelabelConfig};
pub use crate::scrape::{FileSdConfig, Scheme, ScrapeConfig, ScrapeProtocol, StaticConfig};
pub use crate::secret::Secret;
pub use crate::simulator::{FAULT_KINDS, FaultConfig, MAX_FAULTS, MAX_HISTORY, SimulatorConfig};
pub use crate::storage::{StateStore, StorageConfig, TsdbConfig, WalSync};
pub use crate::web::{
    BearerToken, ClientAuthType, HttpServerConfig, PemSource, TlsCipherSuite, TlsCurve,
    TlsServerConfig, TlsVersion, WebConfig,
};
pub use crate::yaml::YamlError;

/// The default file name looked for in the working directory.
pub const DEFAULT_FILE_NAME: &str = "tocsin.yml";

/// The whole of `tocsin.yml`. Every section is optional; an empty file is the embedded default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Defaults for scraping and rule evaluation (Prometheus's `global`).
    pub global: GlobalConfig,
    /// Time-series and state storage.
    pub storage: StorageConfig,
    /// Targets to scrape (Prometheus's `scrape_configs`).
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Prometheus rule files (globs).
    pub rule_files: Vec<String>,
    /// SLO specs, Sloth `prometheus/v1` or OpenSLO v1 (globs).
    pub slo_files: Vec<String>,
    /// Where alerts go besides tocsin's router (Prometheus's `alerting`).
    pub alerting: AlertingConfig,
    /// On-call configuration as code.
    pub oncall: OncallConfig,
    /// The incident stage's file (services, post-mortem policy, runbook actions).
    #[serde(skip_serializing_if = "IncidentsConfig::is_empty")]
    pub incidents: IncidentsConfig,
    /// Ingestion and query limits.
    pub limits: LimitsConfig,
    /// TLS and authentication of the HTTP listener (exporter-toolkit format).
    pub web: WebConfig,
    /// A simulated fleet written into the server's own store (the demo and drills); absent:
    /// no simulator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulator: Option<SimulatorConfig>,
}

/// `oncall:`: people, teams, services, schedules and escalation policies as code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OncallConfig {
    /// On-call definition files (globs).
    pub files: Vec<String>,
}

/// `incidents:`: where the incident stage's file is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Path of the incidents file (relative to this file), read with the configuration.
    pub config_file: Option<String>,
}

impl IncidentsConfig {
    /// Whether nothing is configured (the section is then left out of printed configs).
    pub fn is_empty(&self) -> bool {
        self.config_file.is_none()
    }
}

impl Config {
    /// Parses and validates a configuration. `source_name` appears in error messages.
    pub fn parse(source_name: &str, text: &str) -> Result<Self, YamlError> {
        let config: Self = yaml::from_str(source_name, text)?;
        config.validate(source_name)?;
        Ok(config)
    }

    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, YamlError> {
        let config: Self = yaml::from_file(path)?;
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// Rules that span sections: unique job names, scrape timeouts within their interval once
    /// `global` defaults are applied.
    fn validate(&self, source_name: &str) -> Result<(), YamlError> {
        let located = |at: (u64, u64), message: String| YamlError {
            source_name: source_name.to_owned(),
            line: Some(at.0),
            column: Some(at.1),
            message,
            snippet: None,
        };
        let mut seen: HashMap<&str, (u64, u64)> = HashMap::new();
        for job in &self.scrape_configs {
            if let Some(first) = seen.insert(&job.job_name, job.job_name_at) {
                return Err(located(
                    job.job_name_at,
                    format!(
                        "job_name {:?} is already used at line {}; job names must be unique",
                        job.job_name, first.0
                    ),
                ));
            }
            let interval = self.effective_scrape_interval(job);
            let timeout = self.effective_scrape_timeout(job);
            if timeout > interval {
                return Err(located(
                    job.job_name_at,
                    format!(
                        "scrape config {:?}: scrape_timeout {timeout} is greater than \
                         scrape_interval {interval} (one of them comes from global); lower \
                         the timeout or raise the interval",
                        job.job_name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The interval a job is scraped at.
    pub fn effective_scrape_interval(&self, job: &ScrapeConfig) -> Duration {
        job.scrape_interval.unwrap_or(self.global.scrape_interval)
    }

    /// The timeout of a job's scrapes: its own, or the global one capped at its interval.
    pub fn effective_scrape_timeout(&self, job: &ScrapeConfig) -> Duration {
        job.scrape_timeout.unwrap_or_else(|| {
            self.global
                .scrape_timeout
                .min(self.effective_scrape_interval(job))
        })
    }

    /// The configuration as YAML, with secrets shown as `<secret>` (for
    /// `/api/v1/status/config` and `tocsin check config --print`).
    pub fn to_redacted_yaml(&self) -> String {
        // Serializing plain data structures to a String cannot fail; keep a readable fallback.
        serde_saphyr::to_string(self)
            .unwrap_or_else(|err| format!("# configuration could not be shown: {err}\n"))
    }
}

/// Checks a label name: non-empty, valid UTF-8 (Prometheus 3 allows any), and not in the
/// reserved `__` namespace.
pub fn validate_label_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("label name is empty".to_owned());
    }
    if name.starts_with("__") {
        return Err(format!(
            "label name {name:?} starts with '__', which is reserved for internal use"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
