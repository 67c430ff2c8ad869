//! Sending rule alerts to external Alertmanagers (`alerting.alertmanagers`, API v2), as
//! Prometheus's notifier does: `POST <scheme>://<target><path_prefix>/api/v2/alerts` with a
//! JSON array of alerts, to every configured Alertmanager.
//!
//! Supported: `static_configs`, `scheme`, `path_prefix`, `timeout`, `basic_auth`,
//! `authorization`, `tls_config` (CA, client certificate, insecure_skip_verify), `proxy_url`.
//! Not yet: `file_sd_configs`, `relabel_configs`, `alert_relabel_configs` (a warning says so).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tocsin_config::AlertmanagerConfig;
use tocsin_config::Config;
use tocsin_config::Scheme;
use tocsin_model::time::rfc3339_go as rfc3339;
use tocsin_rules::SentAlert;

/// Credentials of one Alertmanager, re-read from files on every send (rotation).
#[derive(Debug, Clone)]
enum Auth {
    None,
    Basic {
        username: String,
        password: Option<String>,
        password_file: Option<std::path::PathBuf>,
    },
    Header {
        scheme: String,
        credentials: Option<String>,
        credentials_file: Option<std::path::PathBuf>,
    },
}

/// One Alertmanager endpoint.
#[derive(Debug, Clone)]
struct Endpoint {
    url: String,
    client: reqwest::Client,
    timeout: Duration,
    auth: Auth,
}

/// Every configured Alertmanager.
#[derive(Debug, Clone, Default)]
pub(crate) struct Alertmanagers {
    endpoints: Vec<Endpoint>,
}

fn client(am: &AlertmanagerConfig, base_dir: &Path) -> Result<reqwest::Client, String> {
    let builder = reqwest::Client::builder().user_agent(format!("tocsin/{}", crate::BUILD.version));
    tocsin_ingest::scrape::http_client_builder(builder, &am.http, base_dir)?
        .build()
        .map_err(|err| err.to_string())
}

fn auth(am: &AlertmanagerConfig, base_dir: &Path) -> Auth {
    if let Some(basic) = &am.http.basic_auth {
        Auth::Basic {
            username: basic.username.clone(),
            password: basic.password.as_ref().map(|p| p.expose().to_owned()),
            password_file: basic.password_file.as_ref().map(|f| base_dir.join(f)),
        }
    } else if let Some(a) = &am.http.authorization {
        Auth::Header {
            scheme: a.kind.clone(),
            credentials: a.credentials.as_ref().map(|c| c.expose().to_owned()),
            credentials_file: a.credentials_file.as_ref().map(|f| base_dir.join(f)),
        }
    } else {
        Auth::None
    }
}

impl Alertmanagers {
    /// The Alertmanagers of `config`.
    pub(crate) fn from_config(config: &Config, base_dir: &Path) -> Result<Self, String> {
        let mut endpoints = Vec::new();
        for am in &config.alerting.alertmanagers {
            if !am.file_sd_configs.is_empty()
                || !am.relabel_configs.is_empty()
                || !am.alert_relabel_configs.is_empty()
            {
                tracing::warn!(
                    "alerting.alertmanagers: file_sd_configs, relabel_configs and alert_relabel_configs are not supported yet and have no effect"
                );
            }
            let client = client(am, base_dir)?;
            let scheme = match am.scheme {
                Scheme::Http => "http",
                Scheme::Https => "https",
            };
            let prefix = am.path_prefix.trim_end_matches('/');
            for target in am.static_configs.iter().flat_map(|s| s.targets.iter()) {
                endpoints.push(Endpoint {
                    url: format!("{scheme}://{target}{prefix}/api/v2/alerts"),
                    client: client.clone(),
                    timeout: am.timeout.as_std(),
                    auth: auth(am, base_dir),
                });
            }
        }
        if !config.alerting.alert_relabel_configs.is_empty() {
            tracing::warn!("alerting.alert_relabel_configs is not supported yet and has no effect");
        }
        Ok(Self { endpoints })
    }

    /// Whether any Alertmanager is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Posts `alerts` to every Alertmanager at once; failures are logged (the alerts are
    /// re-sent at the next resend anyway).
    pub(crate) async fn send(&self, alerts: &[SentAlert]) {
        let body = std::sync::Arc::new(Value::Array(alerts.iter().map(alert_json).collect()));
        let mut sends = tokio::task::JoinSet::new();
        for endpoint in &self.endpoints {
            let endpoint = endpoint.clone();
            let body = std::sync::Arc::clone(&body);
            sends.spawn(async move { post(&endpoint, &body).await });
        }
        while sends.join_next().await.is_some() {}
    }
}

fn read_secret(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_owned())
        .map_err(|err| format!("cannot read {}: {err}", path.display()))
}

async fn post(endpoint: &Endpoint, body: &Value) {
    let mut request = endpoint
        .client
        .post(&endpoint.url)
        .timeout(endpoint.timeout)
        .json(body);
    match &endpoint.auth {
        Auth::None => {}
        Auth::Basic {
            username,
            password,
            password_file,
        } => {
            let password = match password_file {
                Some(file) => match read_secret(file) {
                    Ok(p) => Some(p),
                    Err(err) => {
                        tracing::warn!(alertmanager = %endpoint.url, error = %err, "alerts not sent");
                        return;
                    }
                },
                None => password.clone(),
            };
            request = request.basic_auth(username, password);
        }
        Auth::Header {
            scheme,
            credentials,
            credentials_file,
        } => {
            let secret = match credentials_file {
                Some(file) => match read_secret(file) {
                    Ok(s) => s,
                    Err(err) => {
                        tracing::warn!(alertmanager = %endpoint.url, error = %err, "alerts not sent");
                        return;
                    }
                },
                None => credentials.clone().unwrap_or_default(),
            };
            request = request.header(reqwest::header::AUTHORIZATION, format!("{scheme} {secret}"));
        }
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            tracing::warn!(alertmanager = %endpoint.url, status = response.status().as_u16(), "Alertmanager refused alerts");
        }
        Err(err) => {
            tracing::warn!(alertmanager = %endpoint.url, error = %err, "sending alerts to Alertmanager failed");
        }
    }
}

/// Alertmanager API v2's `postableAlert`.
fn alert_json(alert: &SentAlert) -> Value {
    json!({
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at),
        "generatorURL": alert.generator_url,
    })
}
