//! Alertmanager's configuration file, unchanged, loaded strictly through
//! `tocsin_config::yaml` (unknown fields are errors; every error names file:line:column).
//! Receiver kinds tocsin cannot deliver to yet are refused with a clear message, never ignored;
//! Slack, email and PagerDuty entries are modelled in `receivers::config`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;
use tocsin_config::{Authorization, BasicAuth, Duration, Secret, TlsClientConfig, YamlError};

use crate::matcher::{MatchType, Matcher, parse_matchers, sort_matchers};
use crate::timeinterval::TimeInterval;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Defaults.
    #[serde(default)]
    pub global: GlobalConfig,
    /// The routing tree.
    pub route: Spanned<RouteConfig>,
    /// Inhibition rules.
    #[serde(default)]
    pub inhibit_rules: Vec<Spanned<InhibitRuleConfig>>,
    /// Receivers.
    #[serde(default)]
    pub receivers: Vec<Spanned<ReceiverConfig>>,
    /// Template files (globs, relative to this file).
    #[serde(default)]
    pub templates: Vec<String>,
    /// Named time intervals.
    #[serde(default)]
    pub time_intervals: Vec<Spanned<NamedTimeInterval>>,
    /// The older name of `time_intervals`.
    #[serde(default)]
    pub mute_time_intervals: Vec<Spanned<NamedTimeInterval>>,
}

/// `global:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// End given to alerts received without one.
    #[serde(default = "default_resolve_timeout")]
    pub resolve_timeout: Duration,
    /// Default HTTP client settings of receivers.
    #[serde(default)]
    pub http_config: HttpConfig,
    /// SMTP defaults (email receivers).
    pub smtp_from: Option<String>,
    /// SMTP HELO name.
    pub smtp_hello: Option<String>,
    /// SMTP server host:port.
    pub smtp_smarthost: Option<String>,
    /// SMTP user.
    pub smtp_auth_username: Option<String>,
    /// SMTP password.
    pub smtp_auth_password: Option<Secret>,
    /// SMTP password file.
    pub smtp_auth_password_file: Option<String>,
    /// SMTP CRAM-MD5 secret.
    pub smtp_auth_secret: Option<Secret>,
    /// SMTP PLAIN identity.
    pub smtp_auth_identity: Option<String>,
    /// Require STARTTLS.
    pub smtp_require_tls: Option<bool>,
    /// Slack webhook URL.
    pub slack_api_url: Option<Secret>,
    /// Slack webhook URL file.
    pub slack_api_url_file: Option<String>,
    /// PagerDuty Events API URL.
    pub pagerduty_url: Option<String>,
    /// Opsgenie.
    pub opsgenie_api_url: Option<String>,
    /// Opsgenie key.
    pub opsgenie_api_key: Option<Secret>,
    /// Opsgenie key file.
    pub opsgenie_api_key_file: Option<String>,
    /// VictorOps.
    pub victorops_api_url: Option<String>,
    /// VictorOps key.
    pub victorops_api_key: Option<Secret>,
    /// VictorOps key file.
    pub victorops_api_key_file: Option<String>,
    /// WeChat.
    pub wechat_api_url: Option<String>,
    /// WeChat secret.
    pub wechat_api_secret: Option<Secret>,
    /// WeChat corp id.
    pub wechat_api_corp_id: Option<String>,
    /// Telegram.
    pub telegram_api_url: Option<String>,
    /// Webex.
    pub webex_api_url: Option<String>,
}

fn default_resolve_timeout() -> Duration {
    Duration::from_secs(300)
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            resolve_timeout: default_resolve_timeout(),
            http_config: HttpConfig::default(),
            smtp_from: None,
            smtp_hello: None,
            smtp_smarthost: None,
            smtp_auth_username: None,
            smtp_auth_password: None,
            smtp_auth_password_file: None,
            smtp_auth_secret: None,
            smtp_auth_identity: None,
            smtp_require_tls: None,
            slack_api_url: None,
            slack_api_url_file: None,
            pagerduty_url: None,
            opsgenie_api_url: None,
            opsgenie_api_key: None,
            opsgenie_api_key_file: None,
            victorops_api_url: None,
            victorops_api_key: None,
            victorops_api_key_file: None,
            wechat_api_url: None,
            wechat_api_secret: None,
            wechat_api_corp_id: None,
            telegram_api_url: None,
            webex_api_url: None,
        }
    }
}

/// `http_config:` (Prometheus's common HTTP client settings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header.
    pub authorization: Option<Authorization>,
    /// Deprecated bearer token.
    pub bearer_token: Option<Secret>,
    /// Deprecated bearer token file.
    pub bearer_token_file: Option<String>,
    /// TLS.
    #[serde(default)]
    pub tls_config: TlsClientConfig,
    /// Proxy.
    pub proxy_url: Option<String>,
    /// Follow redirects (default true).
    pub follow_redirects: Option<bool>,
    /// HTTP/2 (default true).
    pub enable_http2: Option<bool>,
}

/// One node of the routing tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver (inherited when absent).
    pub receiver: Option<Spanned<String>>,
    /// Labels to group by; `...` groups by all.
    pub group_by: Option<Vec<String>>,
    /// Keep matching siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match")]
    pub match_equal: BTreeMap<String, String>,
    /// Deprecated regex matchers.
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    /// Matchers in text syntax.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Wait before the first notification of a group.
    pub group_wait: Option<Duration>,
    /// Wait between notifications of a group that changed.
    pub group_interval: Option<Duration>,
    /// Wait before repeating an unchanged notification.
    pub repeat_interval: Option<Duration>,
    /// Mute during these intervals.
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Notify only during these intervals.
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// tocsin: override `send_resolved` of the receiver's integrations for this route.
    pub send_resolved: Option<bool>,
    /// tocsin: notifications list only alerts that changed since the last one.
    pub notify_only_changes: Option<bool>,
    /// Child routes.
    #[serde(default)]
    pub routes: Vec<Spanned<Self>>,
}

/// An inhibition rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Deprecated.
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated.
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    /// Matchers of the inhibiting alert.
    #[serde(default)]
    pub source_matchers: Vec<String>,
    /// Deprecated.
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated.
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    /// Matchers of the inhibited alert.
    #[serde(default)]
    pub target_matchers: Vec<String>,
    /// Labels that must be equal in both.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Unique name.
    pub name: String,
    /// Webhooks.
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Email over SMTP.
    #[serde(default)]
    pub email_configs: Vec<Spanned<EmailConfig>>,
    /// Slack-compatible incoming webhooks.
    #[serde(default)]
    pub slack_configs: Vec<Spanned<SlackConfig>>,
    /// PagerDuty Events API v2.
    #[serde(default)]
    pub pagerduty_configs: Vec<Spanned<PagerdutyConfig>>,
    /// tocsin: hand the group to the on-call stage (a service or an escalation policy).
    #[serde(default)]
    pub oncall_configs: Vec<Spanned<OncallConfig>>,
    /// Not delivered by this version (refused).
    pub opsgenie_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub wechat_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub pushover_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub victorops_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub sns_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub telegram_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub webex_configs: Option<Spanned<serde::de::IgnoredAny>>,
    /// Not delivered by this version (refused).
    pub discord_configs: Option<Spanned<serde::de::IgnoredAny>>,
}

/// `webhook_configs:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings.
    pub http_config: Option<HttpConfig>,
    /// Where to POST.
    pub url: Option<Secret>,
    /// File holding the URL.
    pub url_file: Option<String>,
    /// Most alerts per message (0 = all).
    #[serde(default)]
    pub max_alerts: u64,
}

pub(crate) fn default_true() -> bool {
    true
}

/// A named list of time intervals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    /// Name referenced by routes.
    pub name: String,
    /// The intervals (any one matching is enough).
    #[serde(default)]
    pub time_intervals: Vec<TimeInterval>,
}

pub use crate::receivers::oncall::OncallConfig;

pub use crate::receivers::config::{
    EmailConfig, PagerdutyConfig, PagerdutyImage, PagerdutyLink, SlackAction, SlackConfig,
    SlackConfirmationField, SlackField,
};

pub(crate) fn located(source: &str, at: &serde_saphyr::Location, message: String) -> YamlError {
    YamlError {
        source_name: source.to_owned(),
        line: Some(at.line()).filter(|&l| l > 0),
        column: Some(at.column()).filter(|&c| c > 0),
        message,
        snippet: None,
    }
}

/// Equality and regex maps plus text matchers, sorted as Alertmanager sorts them.
pub(crate) fn build_matchers(
    equal: &BTreeMap<String, String>,
    regex: &BTreeMap<String, String>,
    text: &[String],
) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for (name, value) in equal {
        check_label_name(name)?;
        out.push(Matcher::new(MatchType::Equal, name, value).map_err(|e| e.to_string())?);
    }
    for (name, value) in regex {
        check_label_name(name)?;
        out.push(Matcher::new(MatchType::Regex, name, value).map_err(|e| e.to_string())?);
    }
    for line in text {
        out.extend(parse_matchers(line).map_err(|e| e.to_string())?);
    }
    sort_matchers(&mut out);
    Ok(out)
}

fn check_label_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(format!("{name:?} is not a valid label name"))
    }
}

impl AlertmanagerConfig {
    /// Parses and validates; `source` names the file in errors.
    pub fn parse(source: &str, text: &str) -> Result<Self, YamlError> {
        let config: Self = tocsin_config::yaml::from_str(source, text)?;
        config.validate(source)?;
        Ok(config)
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Self, YamlError> {
        let config: Self = tocsin_config::yaml::from_file(path)?;
        config.validate(&path.display().to_string())?;
        let base_dir = path.parent().unwrap_or_else(|| Path::new("."));
        crate::receivers::check(&config, &path.display().to_string(), base_dir)?;
        Ok(config)
    }

    /// The default tocsin runs without a file: everything to one receiver that only records
    /// history (`tocsin alerts history` shows what would have been sent).
    pub fn embedded_default() -> Self {
        // Fixed text that is known to parse; a failure here is a bug caught by tests.
        Self::parse(
            "<embedded alerting default>",
            "route:\n  receiver: history\n  group_by: [alertname]\nreceivers:\n  - name: history\n",
        )
        .expect("invariant: the embedded alerting default is valid")
    }

    /// Every interval by name (both sections).
    pub fn intervals(&self) -> BTreeMap<String, Vec<TimeInterval>> {
        self.time_intervals
            .iter()
            .chain(&self.mute_time_intervals)
            .map(|ti| (ti.value.name.clone(), ti.value.time_intervals.clone()))
            .collect()
    }

    fn validate(&self, source: &str) -> Result<(), YamlError> {
        let mut receivers = HashSet::new();
        for receiver in &self.receivers {
            let r = &receiver.value;
            let at = |m: String| located(source, &receiver.referenced, m);
            if r.name.is_empty() {
                return Err(at("receiver name must not be empty".to_owned()));
            }
            if !receivers.insert(r.name.as_str()) {
                return Err(at(format!(
                    "receiver {:?} is defined more than once; receiver names must be unique",
                    r.name
                )));
            }
            for (field, set) in [
                ("opsgenie_configs", &r.opsgenie_configs),
                ("wechat_configs", &r.wechat_configs),
                ("pushover_configs", &r.pushover_configs),
                ("victorops_configs", &r.victorops_configs),
                ("sns_configs", &r.sns_configs),
                ("telegram_configs", &r.telegram_configs),
                ("webex_configs", &r.webex_configs),
                ("discord_configs", &r.discord_configs),
            ] {
                if let Some(spanned) = set {
                    return Err(located(
                        source,
                        &spanned.referenced,
                        format!(
                            "receiver {:?}: {field} are not supported by this version of tocsin \
                             (webhook, slack, email, pagerduty and oncall configs are); send to a \
                             webhook bridge meanwhile",
                            r.name
                        ),
                    ));
                }
            }
            crate::receivers::config::validate(source, &r.name, r, &self.global)?;
            for webhook in &r.webhook_configs {
                match (&webhook.url, &webhook.url_file) {
                    (Some(_), Some(_)) => {
                        return Err(at(format!(
                            "receiver {:?}: webhook url and url_file are mutually exclusive",
                            r.name
                        )));
                    }
                    (None, None) => {
                        return Err(at(format!(
                            "receiver {:?}: webhook needs url or url_file",
                            r.name
                        )));
                    }
                    (Some(url), None) => {
                        let url = url.expose();
                        if reqwest::Url::parse(url).is_err()
                            || !(url.starts_with("http://") || url.starts_with("https://"))
                        {
                            return Err(at(format!(
                                "receiver {:?}: webhook url is not an http(s) URL",
                                r.name
                            )));
                        }
                    }
                    (None, Some(_)) => {}
                }
            }
        }
        let mut intervals = HashSet::new();
        for ti in self.time_intervals.iter().chain(&self.mute_time_intervals) {
            if !intervals.insert(ti.value.name.as_str()) {
                return Err(located(
                    source,
                    &ti.referenced,
                    format!(
                        "time interval {:?} is defined more than once",
                        ti.value.name
                    ),
                ));
            }
        }
        let root = &self.route;
        let root_at = |m: String| located(source, &root.referenced, m);
        if root.value.receiver.is_none() {
            return Err(root_at(
                "root route must specify a default receiver".to_owned(),
            ));
        }
        if !root.value.matchers.is_empty()
            || !root.value.match_equal.is_empty()
            || !root.value.match_re.is_empty()
        {
            return Err(root_at("root route must not have any matchers".to_owned()));
        }
        if root.value.continue_matching {
            return Err(root_at("cannot have continue in root route".to_owned()));
        }
        if !root.value.mute_time_intervals.is_empty()
            || !root.value.active_time_intervals.is_empty()
        {
            return Err(root_at(
                "root route must not have any mute or active time intervals".to_owned(),
            ));
        }
        validate_route(source, root, &receivers, &intervals)?;
        for rule in &self.inhibit_rules {
            let r = &rule.value;
            build_matchers(&r.source_match, &r.source_match_re, &r.source_matchers)
                .and_then(|_| {
                    build_matchers(&r.target_match, &r.target_match_re, &r.target_matchers)
                })
                .map_err(|m| located(source, &rule.referenced, format!("inhibit rule: {m}")))?;
            for name in &r.equal {
                check_label_name(name).map_err(|m| {
                    located(source, &rule.referenced, format!("inhibit rule equal: {m}"))
                })?;
            }
        }
        Ok(())
    }
}

fn validate_route(
    source: &str,
    route: &Spanned<RouteConfig>,
    receivers: &HashSet<&str>,
    intervals: &HashSet<&str>,
) -> Result<(), YamlError> {
    let r = &route.value;
    let at = |m: String| located(source, &route.referenced, m);
    if let Some(receiver) = &r.receiver
        && !receivers.contains(receiver.value.as_str())
    {
        return Err(located(
            source,
            &receiver.referenced,
            format!("undefined receiver {:?} used in route", receiver.value),
        ));
    }
    build_matchers(&r.match_equal, &r.match_re, &r.matchers).map_err(at)?;
    if let Some(group_by) = &r.group_by {
        let mut seen = HashSet::new();
        for name in group_by {
            if name == "..." {
                if group_by.len() > 1 {
                    return Err(at(format!(
                        "cannot have wildcard group_by (`...`) and other labels at the same time: {group_by:?}"
                    )));
                }
                continue;
            }
            check_label_name(name).map_err(|m| at(format!("group_by: {m}")))?;
            if !seen.insert(name) {
                return Err(at(format!("duplicated label {name:?} in group_by")));
            }
        }
    }
    if r.group_interval.is_some_and(Duration::is_zero) {
        return Err(at("group_interval cannot be zero".to_owned()));
    }
    if r.repeat_interval.is_some_and(Duration::is_zero) {
        return Err(at("repeat_interval cannot be zero".to_owned()));
    }
    for name in r.mute_time_intervals.iter().chain(&r.active_time_intervals) {
        if !intervals.contains(name.as_str()) {
            return Err(at(format!(
                "undefined time interval {name:?} used in route"
            )));
        }
    }
    for child in &r.routes {
        validate_route(source, child, receivers, intervals)?;
    }
    Ok(())
}
