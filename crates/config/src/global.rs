//! `global:`, Prometheus's defaults for every scrape job and rule group.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scrape::ScrapeProtocol;
use crate::{ByteSize, Duration};

/// `global:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawGlobalConfig")]
pub struct GlobalConfig {
    /// Default scrape interval.
    pub scrape_interval: Duration,
    /// Default scrape timeout.
    pub scrape_timeout: Duration,
    /// Default rule evaluation interval.
    pub evaluation_interval: Duration,
    /// How far back rule queries look by default, to wait for late data.
    pub rule_query_offset: Duration,
    /// Labels added to alerts and to series sent to remote systems.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    /// File every query is logged to (JSON lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_log_file: Option<String>,
    /// Default per-scrape sample limit (0 = none).
    pub sample_limit: u64,
    /// Default limit of labels per series (0 = none).
    pub label_limit: u64,
    /// Default limit of label name length (0 = none).
    pub label_name_length_limit: u64,
    /// Default limit of label value length (0 = none).
    pub label_value_length_limit: u64,
    /// Default limit of targets per job (0 = none).
    pub target_limit: u64,
    /// Default uncompressed scrape body limit (0 = none).
    pub body_size_limit: ByteSize,
    /// Default formats to negotiate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            evaluation_interval: Duration::from_secs(60),
            rule_query_offset: Duration::ZERO,
            external_labels: BTreeMap::new(),
            query_log_file: None,
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            target_limit: 0,
            body_size_limit: ByteSize(0),
            scrape_protocols: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobalConfig {
    scrape_interval: Option<Duration>,
    scrape_timeout: Option<Duration>,
    evaluation_interval: Option<Duration>,
    rule_query_offset: Option<Duration>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    query_log_file: Option<String>,
    #[serde(default)]
    sample_limit: u64,
    #[serde(default)]
    label_limit: u64,
    #[serde(default)]
    label_name_length_limit: u64,
    #[serde(default)]
    label_value_length_limit: u64,
    #[serde(default)]
    target_limit: u64,
    #[serde(default)]
    body_size_limit: ByteSize,
    scrape_protocols: Option<Vec<ScrapeProtocol>>,
}

impl TryFrom<RawGlobalConfig> for GlobalConfig {
    type Error = String;

    fn try_from(raw: RawGlobalConfig) -> Result<Self, Self::Error> {
        let defaults = Self::default();
        let scrape_interval = raw.scrape_interval.unwrap_or(defaults.scrape_interval);
        if scrape_interval.is_zero() {
            return Err("global scrape_interval must be greater than 0".to_owned());
        }
        // Like Prometheus: an unset timeout never exceeds the interval; a set one must not.
        let scrape_timeout = match raw.scrape_timeout {
            Some(timeout) if timeout > scrape_interval => {
                return Err(format!(
                    "global scrape_timeout {timeout} is greater than scrape_interval \
                     {scrape_interval}; lower the timeout or raise the interval"
                ));
            }
            Some(timeout) => timeout,
            None => defaults.scrape_timeout.min(scrape_interval),
        };
        let evaluation_interval = raw
            .evaluation_interval
            .unwrap_or(defaults.evaluation_interval);
        if evaluation_interval.is_zero() {
            return Err("global evaluation_interval must be greater than 0".to_owned());
        }
        for (name, value) in &raw.external_labels {
            crate::validate_label_name(name).map_err(|msg| format!("external_labels: {msg}"))?;
            if value.is_empty() {
                return Err(format!(
                    "external_labels: label {name:?} has an empty value; remove it or give it one"
                ));
            }
        }
        Ok(Self {
            scrape_interval,
            scrape_timeout,
            evaluation_interval,
            rule_query_offset: raw.rule_query_offset.unwrap_or_default(),
            external_labels: raw.external_labels,
            query_log_file: raw.query_log_file,
            sample_limit: raw.sample_limit,
            label_limit: raw.label_limit,
            label_name_length_limit: raw.label_name_length_limit,
            label_value_length_limit: raw.label_value_length_limit,
            target_limit: raw.target_limit,
            body_size_limit: raw.body_size_limit,
            scrape_protocols: raw.scrape_protocols,
        })
    }
}
