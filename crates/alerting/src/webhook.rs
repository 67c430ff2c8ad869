//! The webhook integration (Alertmanager's payload version 4), the HTTP client it posts
//! with, and the outgoing-URL policy that keeps notifications from reaching into the host's
//! own network (SSRF).

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, LabelSet};
use crate::notify::{BoxFuture, Integration, Notification, NotifyFailure};
use crate::time::format_go;

/// Posts a JSON body; answers the HTTP status.
pub trait HttpPost: Send + Sync {
    /// One POST.
    fn post_json<'a>(&'a self, url: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<u16, String>>;
}

/// Where notifications may go.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    /// URL prefixes allowed (empty: any).
    pub allowed_prefixes: Vec<String>,
    /// Refuse loopback, private, link-local and unspecified addresses (after DNS).
    pub block_private_networks: bool,
}

impl UrlPolicy {
    /// Checks a URL before it is contacted.
    pub async fn check(&self, url: &str) -> Result<(), String> {
        if !self.allowed_prefixes.is_empty()
            && !self
                .allowed_prefixes
                .iter()
                .any(|p| url.starts_with(p.as_str()))
        {
            return Err(format!(
                "URL {} is not in alerting.allowed_urls; add its prefix there",
                redact(url)
            ));
        }
        if self.block_private_networks {
            let parsed = reqwest::Url::parse(url).map_err(|err| format!("invalid URL: {err}"))?;
            let host = parsed.host_str().unwrap_or_default().to_owned();
            let port = parsed.port_or_known_default().unwrap_or(80);
            let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|err| format!("cannot resolve {host}: {err}"))?;
            for addr in addrs {
                if is_private(addr.ip()) {
                    return Err(format!(
                        "{host} resolves to {}, a private or local address, and \
                         alerting.block_private_networks is set",
                        addr.ip()
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// URLs may carry tokens in their path; show only scheme and host.
fn redact(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(
        |_| "<invalid>".to_owned(),
        |u| format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or_default()),
    )
}

/// The real HTTP client.
#[derive(Debug, Clone)]
pub struct ReqwestPost {
    client: reqwest::Client,
    policy: Arc<UrlPolicy>,
}

impl ReqwestPost {
    /// A client with a per-request timeout and the URL policy.
    pub fn new(
        policy: UrlPolicy,
        timeout: std::time::Duration,
        user_agent: &str,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(user_agent)
            // A redirect could lead past the URL policy.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| format!("cannot build the notification HTTP client: {err}"))?;
        Ok(Self {
            client,
            policy: Arc::new(policy),
        })
    }
}

impl HttpPost for ReqwestPost {
    fn post_json<'a>(&'a self, url: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<u16, String>> {
        Box::pin(async move {
            self.policy.check(url).await?;
            let response = self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|err| format!("POST to {} failed: {}", redact(url), err.without_url()))?;
            Ok(response.status().as_u16())
        })
    }
}

/// A `webhook_configs` entry.
pub struct Webhook {
    /// Where to POST.
    pub url: String,
    /// Most alerts per message (0 = all).
    pub max_alerts: u64,
    /// `send_resolved`.
    pub send_resolved: bool,
    /// Position in the receiver.
    pub index: usize,
    /// `externalURL` of the payload.
    pub external_url: String,
    /// Transport.
    pub http: Arc<dyn HttpPost>,
}

/// One alert of a webhook message (Alertmanager's `template.Alert`, JSON as version 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: LabelSet,
    /// RFC 3339 in Go's form.
    pub starts_at: String,
    /// RFC 3339 in Go's form (`0001-01-01T00:00:00Z` while firing).
    pub ends_at: String,
    /// Link back to the rule.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// 16 hex digits.
    pub fingerprint: String,
}

/// tocsin's additions to a webhook message: where to say whether it was worth it. Extra
/// fields are ignored by Alertmanager webhook consumers, which decode into fixed structs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TocsinExtras {
    /// Identifies this notification (16 hex digits) for feedback.
    #[serde(rename = "notificationID")]
    pub notification_id: String,
    /// A page to mark this notification actionable or noise.
    #[serde(rename = "feedbackURL")]
    pub feedback_url: String,
}

/// The message Alertmanager's webhook posts (payload version 4), field for field, plus
/// `tocsin` (ignored by consumers that do not know it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    /// Receiver name, regex-quoted as Alertmanager does.
    pub receiver: String,
    /// `firing` when any alert fires, else `resolved`.
    pub status: String,
    /// The alerts (at most `max_alerts`).
    pub alerts: Vec<WebhookAlert>,
    /// Labels of the group.
    pub group_labels: LabelSet,
    /// Labels all alerts share.
    pub common_labels: LabelSet,
    /// Annotations all alerts share.
    pub common_annotations: LabelSet,
    /// Link back to the router.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// `4`.
    pub version: String,
    /// The group key.
    pub group_key: String,
    /// Alerts left out by `max_alerts`.
    pub truncated_alerts: u64,
    /// tocsin's additions (absent when the message was not sent by a notification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tocsin: Option<TocsinExtras>,
}

/// Labels (or annotations) every alert has with the same value.
fn common(alerts: &[Alert], pick: fn(&Alert) -> &LabelSet) -> LabelSet {
    let mut out = alerts.first().map(|a| pick(a).clone()).unwrap_or_default();
    for a in alerts.iter().skip(1) {
        out.retain(|k, v| pick(a).get(k) == Some(v));
    }
    out
}

/// `{external_url}/api/tocsin/v1/alerts/feedback?notification={id}`: a page with the two
/// verdicts (a GET never records anything, so link unfurlers and scanners cannot vote).
pub fn feedback_url(external_url: &str, notification_id: &str) -> String {
    format!(
        "{}/api/tocsin/v1/alerts/feedback?notification={notification_id}",
        external_url.trim_end_matches('/')
    )
}

/// The payload version 4 Alertmanager posts, with tocsin's feedback link.
pub fn message(n: &Notification<'_>, max_alerts: u64, external_url: &str) -> WebhookMessage {
    let limit = usize::try_from(max_alerts).unwrap_or(usize::MAX);
    let (alerts, truncated) = if max_alerts > 0 && n.alerts.len() > limit {
        (&n.alerts[..limit], n.alerts.len() - limit)
    } else {
        (n.alerts, 0)
    };
    let firing = alerts.iter().any(|a| !a.resolved_at(n.now));
    WebhookMessage {
        receiver: crate::receivers::go_quote_meta(n.receiver),
        status: if firing { "firing" } else { "resolved" }.to_owned(),
        alerts: alerts
            .iter()
            .map(|a| WebhookAlert {
                status: a.status(n.now).to_owned(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: format_go(a.starts_at),
                ends_at: format_go(a.ends_at),
                generator_url: a.generator_url.clone(),
                fingerprint: format!("{:016x}", a.fingerprint()),
            })
            .collect(),
        group_labels: n.group_labels.clone(),
        common_labels: common(alerts, |a| &a.labels),
        common_annotations: common(alerts, |a| &a.annotations),
        external_url: external_url.to_owned(),
        version: "4".to_owned(),
        group_key: n.group_key.to_owned(),
        truncated_alerts: u64::try_from(truncated).unwrap_or(u64::MAX),
        tocsin: (!n.id.is_empty()).then(|| TocsinExtras {
            notification_id: n.id.to_owned(),
            feedback_url: feedback_url(external_url, n.id),
        }),
    }
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Integration for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn index(&self) -> usize {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification<'a>) -> BoxFuture<'a, Result<(), NotifyFailure>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&message(n, self.max_alerts, &self.external_url))
                .map_err(|err| NotifyFailure {
                    retry: false,
                    reason: format!("cannot encode the webhook message: {err}"),
                })?;
            let status = self
                .http
                .post_json(&self.url, body)
                .await
                .map_err(|reason| NotifyFailure {
                    // Policy refusals will not change by retrying; network errors might.
                    retry: !reason.contains("alerting."),
                    reason,
                })?;
            match status {
                200..=299 => Ok(()),
                500..=599 => Err(NotifyFailure {
                    retry: true,
                    reason: format!("unexpected status code {status}"),
                }),
                _ => Err(NotifyFailure {
                    retry: false,
                    reason: format!("unexpected status code {status}"),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860::8888"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn policy_refuses_urls_outside_the_allow_list_and_local_addresses() {
        let policy = UrlPolicy {
            allowed_prefixes: vec!["https://hooks.example.com/".into()],
            block_private_networks: false,
        };
        assert!(policy.check("https://hooks.example.com/x").await.is_ok());
        assert!(policy.check("http://127.0.0.1:9/x").await.is_err());
        let local = UrlPolicy {
            allowed_prefixes: vec![],
            block_private_networks: true,
        };
        let err = local.check("http://127.0.0.1:9/x").await.unwrap_err();
        assert!(err.contains("private or local"), "{err}");
    }
}
