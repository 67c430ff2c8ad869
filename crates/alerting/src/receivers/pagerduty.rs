//! PagerDuty Events API v2: `trigger` while any alert of the group fires, `resolve` when all
//! are resolved, with `dedup_key` the SHA-256 of the group key as Alertmanager computes it, so
//! an incident opened by Alertmanager is resolved by tocsin after a switch-over.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    BuildContext, Renderer, Templates, TextTemplate, check_status, post, read_secret_file,
};
use crate::Result;
use crate::config::{GlobalConfig, PagerdutyConfig};
use crate::notify::{BoxFuture, Integration, Notification, NotifyFailure};
use crate::receivers::config::DEFAULT_PAGERDUTY_URL;
use crate::webhook::HttpPost;

const MAX_SUMMARY_RUNES: usize = 1024;

/// Alertmanager's `DefaultPagerdutyDetails`; user `details` replace same-named ones.
const DEFAULT_DETAILS: [(&str, &str); 4] = [
    (
        "firing",
        r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
    ),
    (
        "resolved",
        r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
    ),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

/// A `pagerduty_configs` entry.
pub struct PagerDuty {
    index: usize,
    send_resolved: bool,
    url: String,
    external_url: String,
    http: Arc<dyn HttpPost>,
    templates: Templates,
    routing_key: TextTemplate,
    client: TextTemplate,
    client_url: TextTemplate,
    description: TextTemplate,
    source: TextTemplate,
    severity: TextTemplate,
    class: TextTemplate,
    component: TextTemplate,
    group: TextTemplate,
    details: BTreeMap<String, TextTemplate>,
    images: Vec<[TextTemplate; 3]>,
    links: Vec<[TextTemplate; 2]>,
}

impl std::fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDuty")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Alertmanager's `notify.Key.Hash()`: hex SHA-256 of the group key.
pub fn dedup_key(group_key: &str) -> String {
    let digest = Sha256::digest(group_key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl PagerDuty {
    /// Builds the integration, registering its templates.
    pub fn new(
        receiver: &str,
        index: usize,
        c: &PagerdutyConfig,
        global: &GlobalConfig,
        templates: &mut Templates,
        cx: &BuildContext<'_>,
    ) -> Result<Self> {
        let what =
            |field: &str| format!("receiver {receiver:?}: pagerduty_configs[{index}].{field}");
        let routing_key = match (&c.routing_key, &c.routing_key_file) {
            (Some(key), _) => key.expose().to_owned(),
            (None, Some(file)) => {
                read_secret_file(cx.base_dir, file, "pagerduty routing_key_file")?
            }
            (None, None) => {
                return Err(crate::Error::Invalid(format!(
                    "receiver {receiver:?}: missing service or routing key in PagerDuty config"
                )));
            }
        };
        let client_text = c
            .client
            .clone()
            .unwrap_or_else(|| r#"{{ template "pagerduty.default.client" . }}"#.to_owned());
        let mut reg = |field: &str, text: &str| templates.register(&what(field), text);
        let routing_key = reg("routing_key", &routing_key)?;
        let client = reg("client", &client_text)?;
        let client_url = reg(
            "client_url",
            c.client_url
                .as_deref()
                .unwrap_or(r#"{{ template "pagerduty.default.clientURL" . }}"#),
        )?;
        let description = reg(
            "description",
            c.description
                .as_deref()
                .unwrap_or(r#"{{ template "pagerduty.default.description" .}}"#),
        )?;
        // Alertmanager: an empty source takes the client's text.
        let source = reg("source", c.source.as_deref().unwrap_or(&client_text))?;
        let severity = reg("severity", c.severity.as_deref().unwrap_or("error"))?;
        let class = reg("class", c.class.as_deref().unwrap_or(""))?;
        let component = reg("component", c.component.as_deref().unwrap_or(""))?;
        let group = reg("group", c.group.as_deref().unwrap_or(""))?;
        let mut details = BTreeMap::new();
        for (k, v) in DEFAULT_DETAILS {
            if !c.details.contains_key(k) {
                details.insert(k.to_owned(), reg(&format!("details.{k}"), v)?);
            }
        }
        for (k, v) in &c.details {
            details.insert(k.clone(), reg(&format!("details.{k}"), v)?);
        }
        let mut images = Vec::new();
        for i in &c.images {
            images.push([
                reg("images.src", i.src.as_deref().unwrap_or(""))?,
                reg("images.alt", i.alt.as_deref().unwrap_or(""))?,
                reg("images.href", i.href.as_deref().unwrap_or(""))?,
            ]);
        }
        let mut links = Vec::new();
        for l in &c.links {
            links.push([
                reg("links.href", l.href.as_deref().unwrap_or(""))?,
                reg("links.text", l.text.as_deref().unwrap_or(""))?,
            ]);
        }
        let url = c
            .url
            .clone()
            .or_else(|| global.pagerduty_url.clone())
            .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.to_owned());
        Ok(Self {
            index,
            send_resolved: c.send_resolved,
            url,
            external_url: cx.external_url.to_owned(),
            http: Arc::clone(cx.http),
            templates: templates.clone(),
            routing_key,
            client,
            client_url,
            description,
            source,
            severity,
            class,
            component,
            group,
            details,
            images,
            links,
        })
    }

    /// The event Alertmanager 0.25 sends for `n`, or `None` when nothing is sent (a resolve
    /// with `send_resolved: false`).
    pub fn payload(
        &self,
        n: &Notification<'_>,
    ) -> Result<Option<serde_json::Value>, NotifyFailure> {
        let resolved = n.alerts.iter().all(|a| a.resolved_at(n.now));
        if resolved && !self.send_resolved {
            return Ok(None);
        }
        let data = super::template_data(n, &self.external_url);
        let mut r = Renderer {
            templates: &self.templates,
            data: &data,
            error: None,
        };
        let custom_details: BTreeMap<String, String> = self
            .details
            .iter()
            .map(|(k, v)| (k.clone(), r.text(v)))
            .collect();
        let (summary, _) = super::truncate(r.text(&self.description), MAX_SUMMARY_RUNES);
        let images = self
            .images
            .iter()
            .map(|[src, alt, href]| Image {
                src: r.text(src),
                alt: r.text(alt),
                href: r.text(href),
            })
            .collect();
        let links = self
            .links
            .iter()
            .map(|[href, text]| Link {
                href: r.text(href),
                text: r.text(text),
            })
            .collect();
        let message = Message {
            routing_key: r.text(&self.routing_key),
            dedup_key: dedup_key(n.group_key),
            event_action: if resolved { "resolve" } else { "trigger" },
            payload: Payload {
                summary,
                source: r.text(&self.source),
                severity: r.text(&self.severity),
                class: r.text(&self.class),
                component: r.text(&self.component),
                group: r.text(&self.group),
                custom_details,
            },
            client: r.text(&self.client),
            client_url: r.text(&self.client_url),
            images,
            links,
        };
        r.finish()?;
        serde_json::to_value(&message)
            .map(Some)
            .map_err(|err| NotifyFailure {
                retry: false,
                reason: err.to_string(),
            })
    }
}

#[derive(Serialize)]
struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    routing_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dedup_key: String,
    event_action: &'static str,
    payload: Payload,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

#[derive(Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    custom_details: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Image {
    #[serde(skip_serializing_if = "String::is_empty")]
    src: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    alt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    href: String,
}

#[derive(Serialize)]
struct Link {
    #[serde(skip_serializing_if = "String::is_empty")]
    href: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
}

impl Integration for PagerDuty {
    fn name(&self) -> &'static str {
        "pagerduty"
    }

    fn index(&self) -> usize {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification<'a>) -> BoxFuture<'a, Result<(), NotifyFailure>> {
        Box::pin(async move {
            let Some(body) = self.payload(n)? else {
                return Ok(());
            };
            let status = post(self.http.as_ref(), &self.url, body.to_string().into_bytes()).await?;
            // Events API v2 answers 429 when rate limiting.
            check_status(status, &[429])
        })
    }
}
