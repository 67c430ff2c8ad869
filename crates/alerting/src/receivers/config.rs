//! `slack_configs`, `email_configs` and `pagerduty_configs` as Alertmanager 0.25 spells
//! them (strict: unknown fields are errors), and their validation with `global` defaults;
//! tocsin's `oncall_configs` (modelled in `receivers::oncall`) are validated here too.

use std::collections::BTreeMap;

use serde::Deserialize;
use tocsin_config::{Secret, TlsClientConfig, YamlError};

use crate::config::{GlobalConfig, HttpConfig, ReceiverConfig, default_true, located};

/// `slack_configs:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default)]
    pub send_resolved: bool,
    /// HTTP client settings.
    pub http_config: Option<HttpConfig>,
    /// Incoming-webhook URL (default `global.slack_api_url`).
    pub api_url: Option<Secret>,
    /// File holding the URL (default `global.slack_api_url_file`).
    pub api_url_file: Option<String>,
    /// Channel or user (template).
    pub channel: Option<String>,
    /// Bot name (template).
    pub username: Option<String>,
    /// Attachment colour (template).
    pub color: Option<String>,
    /// Attachment title (template).
    pub title: Option<String>,
    /// Title link (template).
    pub title_link: Option<String>,
    /// Text above the attachment (template).
    pub pretext: Option<String>,
    /// Attachment text (template).
    pub text: Option<String>,
    /// Attachment fields.
    #[serde(default)]
    pub fields: Vec<SlackField>,
    /// Default of `short` for fields.
    #[serde(default)]
    pub short_fields: bool,
    /// Footer (template).
    pub footer: Option<String>,
    /// Plain-text summary (template).
    pub fallback: Option<String>,
    /// Callback id (template).
    pub callback_id: Option<String>,
    /// Emoji icon (template).
    pub icon_emoji: Option<String>,
    /// Icon URL (template).
    pub icon_url: Option<String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Thumbnail URL.
    pub thumb_url: Option<String>,
    /// Link channel names and usernames.
    #[serde(default)]
    pub link_names: bool,
    /// Fields formatted as markdown (default fallback, pretext, text).
    #[serde(default)]
    pub mrkdwn_in: Vec<String>,
    /// Buttons.
    #[serde(default)]
    pub actions: Vec<SlackAction>,
}

/// A Slack attachment field.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Title (template).
    pub title: String,
    /// Value (template).
    pub value: String,
    /// Side by side with other short fields (default `short_fields`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

/// A Slack attachment action (button).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackAction {
    /// `button`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// Label (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Link (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// `default`, `primary`, `danger` (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub style: String,
    /// Name (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Value (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Confirmation dialog.
    #[serde(rename = "confirm", skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirmationField>,
}

/// A Slack confirmation dialog.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfirmationField {
    /// Text (template).
    pub text: String,
    /// Title (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// OK button (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ok_text: String,
    /// Dismiss button (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dismiss_text: String,
}

/// `email_configs:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default)]
    pub send_resolved: bool,
    /// Recipients, comma-separated (template).
    pub to: Option<String>,
    /// Sender (template; default `global.smtp_from`).
    pub from: Option<String>,
    /// HELO/EHLO name (default `global.smtp_hello`, else `localhost`).
    pub hello: Option<String>,
    /// `host:port` (default `global.smtp_smarthost`); port 465 is implicit TLS.
    pub smarthost: Option<String>,
    /// SMTP user (default `global.smtp_auth_username`).
    pub auth_username: Option<String>,
    /// SMTP password (default `global.smtp_auth_password`).
    pub auth_password: Option<Secret>,
    /// File holding the password.
    pub auth_password_file: Option<String>,
    /// CRAM-MD5 secret (not supported by the SMTP client; refused when set).
    pub auth_secret: Option<Secret>,
    /// PLAIN identity (default `global.smtp_auth_identity`).
    pub auth_identity: Option<String>,
    /// Headers (templates); `Subject`, `To` and `From` have defaults.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HTML body (template; default `email.default.html`).
    pub html: Option<String>,
    /// Text body (template; none by default).
    pub text: Option<String>,
    /// Require STARTTLS (default `global.smtp_require_tls`, else true).
    pub require_tls: Option<bool>,
    /// TLS settings.
    #[serde(default)]
    pub tls_config: TlsClientConfig,
}

/// `pagerduty_configs:` entry (Events API v2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings.
    pub http_config: Option<HttpConfig>,
    /// Events API v1 key (refused: use `routing_key`).
    pub service_key: Option<Secret>,
    /// Events API v1 key file (refused).
    pub service_key_file: Option<String>,
    /// Integration key of the Events API v2 (template).
    pub routing_key: Option<Secret>,
    /// File holding the integration key.
    pub routing_key_file: Option<String>,
    /// Events API URL (default `global.pagerduty_url`).
    pub url: Option<String>,
    /// Client name (template).
    pub client: Option<String>,
    /// Client URL (template).
    pub client_url: Option<String>,
    /// Summary (template).
    pub description: Option<String>,
    /// Custom details (templates), merged over the defaults `firing`, `resolved`,
    /// `num_firing`, `num_resolved`.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// Images.
    #[serde(default)]
    pub images: Vec<PagerdutyImage>,
    /// Links.
    #[serde(default)]
    pub links: Vec<PagerdutyLink>,
    /// Source (template; default: the client).
    pub source: Option<String>,
    /// `critical`, `error` (default), `warning`, `info` (template).
    pub severity: Option<String>,
    /// Class (template).
    pub class: Option<String>,
    /// Component (template).
    pub component: Option<String>,
    /// Group (template).
    pub group: Option<String>,
}

/// A PagerDuty image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyImage {
    /// Image URL (template).
    pub src: Option<String>,
    /// Alt text (template).
    pub alt: Option<String>,
    /// Link (template).
    pub href: Option<String>,
}

/// A PagerDuty link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyLink {
    /// Link (template).
    pub href: Option<String>,
    /// Text (template).
    pub text: Option<String>,
}

/// Alertmanager's default PagerDuty events URL.
pub const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

fn is_http_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok() && (url.starts_with("http://") || url.starts_with("https://"))
}

/// Checks a receiver's Slack, email and PagerDuty entries against `global`, with
/// Alertmanager's messages prefixed by the receiver's name.
pub(crate) fn validate(
    source: &str,
    name: &str,
    r: &ReceiverConfig,
    global: &GlobalConfig,
) -> Result<(), YamlError> {
    for c in &r.slack_configs {
        let at = |m: &str| located(source, &c.referenced, format!("receiver {name:?}: {m}"));
        let s = &c.value;
        if s.api_url.is_some() && s.api_url_file.is_some() {
            return Err(at(
                "at most one of api_url & api_url_file must be configured",
            ));
        }
        if s.api_url.is_none()
            && s.api_url_file.is_none()
            && global.slack_api_url.is_none()
            && global.slack_api_url_file.is_none()
        {
            return Err(at(
                "no global Slack API URL set either inline or in a file; set slack_api_url \
                 in global or api_url here",
            ));
        }
        if let Some(url) = s.api_url.as_ref().or(global.slack_api_url.as_ref())
            && s.api_url_file.is_none()
            && !is_http_url(url.expose())
        {
            return Err(at("slack api_url is not an http(s) URL"));
        }
        for f in &s.fields {
            if f.title.is_empty() {
                return Err(at("missing title in Slack field configuration"));
            }
            if f.value.is_empty() {
                return Err(at("missing value in Slack field configuration"));
            }
        }
        for a in &s.actions {
            if a.r#type.is_empty() {
                return Err(at("missing type in Slack action configuration"));
            }
            if a.text.is_empty() {
                return Err(at("missing text in Slack action configuration"));
            }
            if a.url.is_empty() && a.name.is_empty() {
                return Err(at("missing name or url in Slack action configuration"));
            }
            if a.confirm.as_ref().is_some_and(|c| c.text.is_empty()) {
                return Err(at("missing text in Slack confirmation configuration"));
            }
        }
    }
    for c in &r.email_configs {
        let at = |m: &str| located(source, &c.referenced, format!("receiver {name:?}: {m}"));
        let e = &c.value;
        if e.to.as_deref().is_none_or(str::is_empty) {
            return Err(at("missing to address in email config"));
        }
        let smarthost = e.smarthost.as_ref().or(global.smtp_smarthost.as_ref());
        let Some(smarthost) = smarthost else {
            return Err(at(
                "no global SMTP smarthost set; set smtp_smarthost in global or smarthost here",
            ));
        };
        if split_host_port(smarthost).is_none() {
            return Err(at(
                "smarthost must be host:port (e.g. smtp.example.com:587)",
            ));
        }
        if e.from.is_none() && global.smtp_from.is_none() {
            return Err(at(
                "no global SMTP from set; set smtp_from in global or from here",
            ));
        }
        if e.auth_password.is_some() && e.auth_password_file.is_some() {
            return Err(at(
                "at most one of auth_password & auth_password_file must be configured",
            ));
        }
        if e.auth_secret.is_some() || global.smtp_auth_secret.is_some() {
            return Err(at(
                "auth_secret (CRAM-MD5) is not supported by tocsin; use auth_password (PLAIN/LOGIN)",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for header in e.headers.keys() {
            if !seen.insert(canonical_header(header)) {
                return Err(at(&format!(
                    "duplicate header {:?} in email config",
                    canonical_header(header)
                )));
            }
        }
    }
    for c in &r.pagerduty_configs {
        let at = |m: &str| located(source, &c.referenced, format!("receiver {name:?}: {m}"));
        let p = &c.value;
        if p.service_key.is_some() || p.service_key_file.is_some() {
            return Err(at(
                "service_key (PagerDuty Events API v1) is not supported by tocsin; use routing_key \
                 (Events API v2)",
            ));
        }
        if p.routing_key.is_some() && p.routing_key_file.is_some() {
            return Err(at(
                "at most one of routing_key & routing_key_file must be configured",
            ));
        }
        if p.routing_key.is_none() && p.routing_key_file.is_none() {
            return Err(at("missing service or routing key in PagerDuty config"));
        }
        if let Some(url) = p.url.as_ref().or(global.pagerduty_url.as_ref())
            && !is_http_url(url)
        {
            return Err(at("pagerduty url is not an http(s) URL"));
        }
    }
    for c in &r.oncall_configs {
        let at = |m: &str| located(source, &c.referenced, format!("receiver {name:?}: {m}"));
        let o = &c.value;
        let blank = |v: &Option<String>| v.as_deref().is_some_and(|t| t.trim().is_empty());
        if blank(&o.service) || blank(&o.escalation_policy) {
            return Err(at("oncall service and escalation_policy must not be empty"));
        }
        match (&o.service, &o.escalation_policy) {
            (Some(_), Some(_)) => {
                return Err(at(
                    "oncall config names both a service and an escalation_policy; give one \
                     (a service pages through its own escalation policy)",
                ));
            }
            (None, None) => {
                return Err(at(
                    "oncall config needs a service or an escalation_policy to hand alerts to",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `host:port` with a numeric port.
pub(crate) fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`.
pub(crate) fn canonical_header(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}
