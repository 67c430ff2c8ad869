//! Receivers beyond the webhook — Slack-compatible incoming webhooks, email over SMTP,
//! PagerDuty Events API v2 — and what they share: Alertmanager's notification template data,
//! our default templates, and the `templates:` files of `alertmanager.yml`.
//!
//! Every text field of a receiver is parsed once, when the configuration is built, as a named
//! template of one set, so a template error stops loading instead of failing a notification.

pub mod config;
pub mod email;
pub mod oncall;
pub mod pagerduty;
pub mod slack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tocsin_template::{GoTime, Template, Value, alertmanager};

use crate::alert::{Alert, LabelSet, fingerprint_hex};
use crate::config::{AlertmanagerConfig, ReceiverConfig};
use crate::notify::{Integration, Notification};
use crate::webhook::HttpPost;
use crate::{Error, Result};

/// tocsin's default templates (same output as Alertmanager 0.25's for the standard fields).
pub const DEFAULT_TEMPLATES: &str = include_str!("defaults.tmpl");

/// The template set of one configuration: defaults, then the user's files, then one named
/// template per receiver text field.
#[derive(Debug, Clone)]
pub struct Templates {
    set: Template,
    next: usize,
}

impl Templates {
    /// The defaults plus the files matched by `globs` (relative to `base_dir`), in glob order
    /// and, within a glob, in file-name order, as Alertmanager reads them.
    pub fn load(globs: &[String], base_dir: &Path) -> Result<Self> {
        let mut set = alertmanager::parse("default.tmpl", DEFAULT_TEMPLATES)
            .map_err(|e| Error::Invalid(format!("default templates: {e}")))?;
        for pattern in globs {
            for file in expand_glob(base_dir, pattern)? {
                let text = std::fs::read_to_string(&file).map_err(|err| {
                    Error::Invalid(format!(
                        "cannot read template file {}: {err}",
                        file.display()
                    ))
                })?;
                let name = file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                set.add(&name, &text).map_err(|e| {
                    Error::Invalid(format!("template file {}: {e}", file.display()))
                })?;
            }
        }
        Ok(Self { set, next: 0 })
    }

    /// Registers a receiver's text field; the handle renders it later.
    pub fn register(&mut self, what: &str, text: &str) -> Result<TextTemplate> {
        if text.is_empty() {
            return Ok(TextTemplate(None));
        }
        self.next += 1;
        let name = format!("\u{0}field{}", self.next);
        self.set
            .add(&name, text)
            .map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
        Ok(TextTemplate(Some(name)))
    }

    /// Renders a registered field.
    pub fn render(&self, field: &TextTemplate, data: &Value) -> Result<String, String> {
        match &field.0 {
            None => Ok(String::new()),
            Some(name) => self
                .set
                .execute_named(name, data)
                .map_err(|e| e.to_string()),
        }
    }

    /// Renders `text` once (tests, `tocsin` tooling).
    pub fn render_text(&self, text: &str, data: &Value) -> Result<String, String> {
        let mut one = self.clone();
        let field = one.register("template", text).map_err(|e| e.to_string())?;
        one.render(&field, data)
    }
}

/// A registered text field (empty text renders as the empty string without running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTemplate(Option<String>);

/// Go's `filepath.Glob` for the patterns Alertmanager users write: wildcards (`*`, `?`,
/// `[...]`) in the last path component only.
fn expand_glob(base_dir: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base_dir.join(pattern)
    };
    let (Some(dir), Some(last)) = (full.parent(), full.file_name()) else {
        return Ok(Vec::new());
    };
    let last = last.to_string_lossy();
    if dir.to_string_lossy().contains(['*', '?', '[']) {
        return Err(Error::Invalid(format!(
            "templates: {pattern:?}: wildcards are supported in the file name only"
        )));
    }
    if !last.contains(['*', '?', '[']) {
        return Ok(if full.exists() {
            vec![full]
        } else {
            Vec::new()
        });
    }
    let regex =
        glob_regex(&last).map_err(|m| Error::Invalid(format!("templates: {pattern:?}: {m}")))?;
    // Go's Glob ignores I/O errors: a missing directory matches nothing.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .filter(|e| regex.is_match(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

fn glob_regex(pattern: &str) -> std::result::Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    match c {
                        '^' | '!' if re.ends_with('[') => re.push('^'),
                        '\\' | '[' => {
                            re.push('\\');
                            re.push(c);
                        }
                        _ => re.push(c),
                    }
                }
                if !closed {
                    return Err("syntax error in pattern".to_owned());
                }
                re.push(']');
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    re.push_str(&regex::escape(&next.to_string()));
                }
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

fn kv(labels: &LabelSet) -> Value {
    Value::from(labels)
}

/// Labels (or annotations) every alert has with the same value.
fn common(alerts: &[Alert], pick: fn(&Alert) -> &LabelSet) -> LabelSet {
    let mut out = alerts.first().map(|a| pick(a).clone()).unwrap_or_default();
    for a in alerts.iter().skip(1) {
        out.retain(|k, v| pick(a).get(k) == Some(v));
    }
    out
}

/// Alertmanager's `template.Data` for a notification: `Receiver` (regex-quoted, as
/// Alertmanager does), `Status`, `Alerts` (each with `Status`, `Labels`, `Annotations`,
/// `StartsAt`, `EndsAt`, `GeneratorURL`, `Fingerprint`), `GroupLabels`, `CommonLabels`,
/// `CommonAnnotations`, `ExternalURL`; and tocsin's `NotificationID` and `FeedbackURL`.
pub fn template_data(n: &Notification<'_>, external_url: &str) -> Value {
    let firing = n.alerts.iter().any(|a| !a.resolved_at(n.now));
    let alerts = n
        .alerts
        .iter()
        .map(|a| {
            let mut m = BTreeMap::new();
            m.insert("Status".to_owned(), Value::from(a.status(n.now)));
            m.insert("Labels".to_owned(), kv(&a.labels));
            m.insert("Annotations".to_owned(), kv(&a.annotations));
            m.insert(
                "StartsAt".to_owned(),
                Value::Time(GoTime::from_unix_millis(a.starts_at)),
            );
            m.insert(
                "EndsAt".to_owned(),
                Value::Time(GoTime::from_unix_millis(a.ends_at)),
            );
            m.insert(
                "GeneratorURL".to_owned(),
                Value::from(a.generator_url.as_str()),
            );
            m.insert(
                "Fingerprint".to_owned(),
                Value::from(fingerprint_hex(&a.labels)),
            );
            Value::Map(m)
        })
        .collect();
    let mut m = BTreeMap::new();
    m.insert(
        "Receiver".to_owned(),
        Value::from(go_quote_meta(n.receiver)),
    );
    m.insert(
        "Status".to_owned(),
        Value::from(if firing { "firing" } else { "resolved" }),
    );
    m.insert("Alerts".to_owned(), Value::List(alerts));
    m.insert("GroupLabels".to_owned(), kv(n.group_labels));
    m.insert(
        "CommonLabels".to_owned(),
        kv(&common(n.alerts, |a| &a.labels)),
    );
    m.insert(
        "CommonAnnotations".to_owned(),
        kv(&common(n.alerts, |a| &a.annotations)),
    );
    m.insert("ExternalURL".to_owned(), Value::from(external_url));
    // tocsin's additions: templates may link to the feedback page (`{{ .FeedbackURL }}`).
    m.insert("NotificationID".to_owned(), Value::from(n.id));
    m.insert(
        "FeedbackURL".to_owned(),
        Value::from(if n.id.is_empty() {
            String::new()
        } else {
            crate::webhook::feedback_url(external_url, n.id)
        }),
    );
    Value::Map(m)
}

/// Go's `regexp.QuoteMeta`, which Alertmanager applies to the receiver name. Rust's
/// `regex::escape` also escapes `-`, `#`, `&` and `~`, which would change the text.
pub fn go_quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Cuts `text` to at most `max` characters, ending with `…` when cut (Alertmanager's
/// `notify.Truncate`).
pub(crate) fn truncate(text: String, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text, false);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    (out, true)
}

/// Reads a secret from a file named in the configuration (relative to `base_dir`).
pub(crate) fn read_secret_file(base_dir: &Path, file: &str, what: &str) -> Result<String> {
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        base_dir.join(file)
    };
    std::fs::read_to_string(&path)
        .map(|text| text.trim().to_owned())
        .map_err(|err| Error::Invalid(format!("cannot read {what} {}: {err}", path.display())))
}

/// What building integrations needs from the running stage.
#[derive(Clone)]
pub struct BuildContext<'a> {
    /// `externalURL` of the template data.
    pub external_url: &'a str,
    /// Outgoing HTTP with the URL policy.
    pub http: &'a Arc<dyn HttpPost>,
    /// Where relative file names are resolved.
    pub base_dir: &'a Path,
    /// The on-call stage `oncall_configs` hand groups to; `None` refuses such receivers.
    pub oncall: Option<&'a Arc<dyn oncall::OncallHandoff>>,
}

impl std::fmt::Debug for BuildContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("external_url", &self.external_url)
            .field("base_dir", &self.base_dir)
            .finish_non_exhaustive()
    }
}

/// The Slack, email, PagerDuty and on-call integrations of one receiver (webhooks are built
/// by the caller), sharing one template set.
pub fn build_integrations(
    config: &AlertmanagerConfig,
    receiver: &ReceiverConfig,
    templates: &mut Templates,
    cx: &BuildContext<'_>,
) -> Result<Vec<Arc<dyn Integration>>> {
    let mut out: Vec<Arc<dyn Integration>> = Vec::new();
    for (index, c) in receiver.slack_configs.iter().enumerate() {
        out.push(Arc::new(slack::Slack::new(
            &receiver.name,
            index,
            &c.value,
            &config.global,
            templates,
            cx,
        )?));
    }
    for (index, c) in receiver.email_configs.iter().enumerate() {
        out.push(Arc::new(email::Email::new(
            &receiver.name,
            index,
            &c.value,
            &config.global,
            templates,
            cx,
        )?));
    }
    for (index, c) in receiver.pagerduty_configs.iter().enumerate() {
        out.push(Arc::new(pagerduty::PagerDuty::new(
            &receiver.name,
            index,
            &c.value,
            &config.global,
            templates,
            cx,
        )?));
    }
    for (index, c) in receiver.oncall_configs.iter().enumerate() {
        let Some(handoff) = cx.oncall else {
            return Err(Error::Invalid(format!(
                "receiver {:?} (line {}): oncall_configs hand alerts to tocsin's on-call stage, \
                 which is not running in this process; configure `oncall:` in tocsin.yml, or \
                 route these alerts to a webhook, Slack, email or PagerDuty receiver",
                receiver.name,
                c.referenced.line()
            )));
        };
        out.push(Arc::new(oncall::Oncall::new(
            &receiver.name,
            index,
            &c.value,
            cx.external_url,
            Arc::clone(handoff),
        )));
    }
    Ok(out)
}

/// Loads the templates and parses every receiver's text fields, so `tocsin check
/// alertmanager` and start-up report a template error with the receiver's position.
pub fn check(
    config: &AlertmanagerConfig,
    source: &str,
    base_dir: &Path,
) -> std::result::Result<(), tocsin_config::YamlError> {
    let mut templates =
        Templates::load(&config.templates, base_dir).map_err(|e| tocsin_config::YamlError {
            source_name: source.to_owned(),
            line: None,
            column: None,
            message: e.to_string(),
            snippet: None,
        })?;
    let http: Arc<dyn HttpPost> = Arc::new(NoPost);
    // Whether the on-call stage runs is the server's business, not the file's.
    let oncall: Arc<dyn oncall::OncallHandoff> = Arc::new(NoPost);
    let cx = BuildContext {
        external_url: "",
        http: &http,
        base_dir,
        oncall: Some(&oncall),
    };
    for receiver in &config.receivers {
        build_integrations(config, &receiver.value, &mut templates, &cx)
            .map_err(|e| crate::config::located(source, &receiver.referenced, e.to_string()))?;
    }
    Ok(())
}

/// A transport and handoff for checking only: building integrations never sends.
struct NoPost;

impl oncall::OncallHandoff for NoPost {
    fn handoff<'a>(
        &'a self,
        _page: &'a oncall::OncallPage,
    ) -> crate::notify::BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("checking only".to_owned()) })
    }
}

impl HttpPost for NoPost {
    fn post_json<'a>(
        &'a self,
        _url: &'a str,
        _body: Vec<u8>,
    ) -> crate::notify::BoxFuture<'a, Result<u16, String>> {
        Box::pin(async { Err("checking only".to_owned()) })
    }
}

/// Renders a field, collecting the first error (Alertmanager's `TmplText`).
pub(crate) struct Renderer<'a> {
    pub(crate) templates: &'a Templates,
    pub(crate) data: &'a Value,
    pub(crate) error: Option<String>,
}

impl Renderer<'_> {
    pub(crate) fn text(&mut self, field: &TextTemplate) -> String {
        if self.error.is_some() {
            return String::new();
        }
        match self.templates.render(field, self.data) {
            Ok(text) => text,
            Err(err) => {
                self.error = Some(err);
                String::new()
            }
        }
    }

    pub(crate) fn finish(self) -> Result<(), crate::notify::NotifyFailure> {
        match self.error {
            None => Ok(()),
            Some(reason) => Err(crate::notify::NotifyFailure {
                retry: false,
                reason: format!("failed to template: {reason}"),
            }),
        }
    }
}

/// Maps an HTTP status to Alertmanager's retry decision (5xx and `extra` retry).
pub(crate) fn check_status(
    status: u16,
    extra_retry: &[u16],
) -> Result<(), crate::notify::NotifyFailure> {
    match status {
        200..=299 => Ok(()),
        _ => Err(crate::notify::NotifyFailure {
            retry: (500..=599).contains(&status) || extra_retry.contains(&status),
            reason: format!("unexpected status code {status}"),
        }),
    }
}

/// Posts through the transport; policy refusals are not retried.
pub(crate) async fn post(
    http: &dyn HttpPost,
    url: &str,
    body: Vec<u8>,
) -> Result<u16, crate::notify::NotifyFailure> {
    http.post_json(url, body)
        .await
        .map_err(|reason| crate::notify::NotifyFailure {
            retry: !reason.contains("alerting."),
            reason,
        })
}

#[cfg(test)]
mod tests;
