//! `alerting:`: where rule alerts go besides tocsin's own router, in Prometheus's format.

use serde::{Deserialize, Serialize};

use crate::Duration;
use crate::http_client::{Authorization, BasicAuth, HttpClientConfig, TlsClientConfig};
use crate::relabel::RelabelConfig;
use crate::scrape::{FileSdConfig, Scheme, StaticConfig};

/// `alerting:` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// Relabelling applied to every alert before it is sent anywhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// External Alertmanagers (API v2) that also receive alerts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// tocsin: the Alertmanager configuration file of tocsin's own router (relative to
    /// tocsin.yml). Without it, alerts are grouped by alertname and only recorded in history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// tocsin: URL of tocsin as users reach it, for links in notifications (`externalURL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// tocsin: URL prefixes notifications may be sent to; empty allows any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_urls: Vec<String>,
    /// tocsin: refuse to notify loopback, private and link-local addresses (no SSRF into the
    /// host's network).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub block_private_networks: bool,
}

/// Alertmanager API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertmanagerApiVersion {
    /// The only version Alertmanager still serves.
    #[default]
    V2,
}

/// One `alertmanagers:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAlertmanagerConfig")]
pub struct AlertmanagerConfig {
    /// Per-request timeout.
    pub timeout: Duration,
    /// API version.
    pub api_version: AlertmanagerApiVersion,
    /// Prefix of the API path.
    pub path_prefix: String,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Authentication, TLS and proxy settings.
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// Fixed Alertmanager addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// Alertmanager addresses from files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Relabelling of the discovered Alertmanagers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabelling of alerts sent to these Alertmanagers only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertmanagerConfig {
    timeout: Option<Duration>,
    #[serde(default)]
    api_version: AlertmanagerApiVersion,
    path_prefix: Option<String>,
    #[serde(default)]
    scheme: Scheme,
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
    alert_relabel_configs: Vec<RelabelConfig>,
}

impl TryFrom<RawAlertmanagerConfig> for AlertmanagerConfig {
    type Error = String;

    fn try_from(raw: RawAlertmanagerConfig) -> Result<Self, Self::Error> {
        let http = HttpClientConfig {
            basic_auth: raw.basic_auth,
            authorization: raw.authorization,
            tls_config: raw.tls_config,
            proxy_url: raw.proxy_url,
            follow_redirects: raw.follow_redirects.unwrap_or(true),
            enable_http2: raw.enable_http2.unwrap_or(true),
        };
        http.validate()
            .map_err(|msg| format!("alertmanagers: {msg}"))?;
        let timeout = raw.timeout.unwrap_or(Duration::from_secs(10));
        if timeout.is_zero() {
            return Err("alertmanagers: timeout must be greater than 0".to_owned());
        }
        let path_prefix = raw.path_prefix.unwrap_or_else(|| "/".to_owned());
        if !path_prefix.starts_with('/') {
            return Err(format!(
                "alertmanagers: path_prefix {path_prefix:?} must start with '/'"
            ));
        }
        Ok(Self {
            timeout,
            api_version: raw.api_version,
            path_prefix,
            scheme: raw.scheme,
            http,
            static_configs: raw.static_configs,
            file_sd_configs: raw.file_sd_configs,
            relabel_configs: raw.relabel_configs,
            alert_relabel_configs: raw.alert_relabel_configs,
        })
    }
}
