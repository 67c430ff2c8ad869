//! The alerting stage inside the server: the state store, the router built from the
//! Alertmanager configuration file that `alerting.config_file` names (or the embedded
//! default), reloads, and Alertmanager's API v2 JSON through `tocsin_api::AlertmanagerApi`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_alerting::config::AlertmanagerConfig;
use tocsin_alerting::feedback::{FeedbackInput, FeedbackTarget, ReportQuery, Verdict};
use tocsin_alerting::matcher::{Matcher, parse_matchers};
use tocsin_alerting::silence::{Silence, SilenceState, match_type};
use tocsin_alerting::time::{SharedClock, SystemClock, format_api, parse_rfc3339};
use tocsin_alerting::webhook::{ReqwestPost, UrlPolicy};
use tocsin_alerting::{
    AlertFilter, AlertView, Alerting, AlertingMetrics, AlertingOptions, PostableAlert, SilenceInput,
};
use tocsin_api::{AlertmanagerApi, ApiFuture, ApiResult, Params};
use tocsin_config::Config;
use tocsin_store::Store;
use tocsin_store::alerting::{HistoryFilter, ReportBy};
use tocsin_telemetry::Registry;

use super::reload::{ReloadCommit, commit};
use crate::BUILD;

/// The Alertmanager configuration `config` points at, with its text (for `/api/v2/status`).
pub(crate) fn load_alertmanager_config(
    config: &Config,
    base_dir: &Path,
) -> Result<(AlertmanagerConfig, String, PathBuf), String> {
    match &config.alerting.config_file {
        None => Ok((
            AlertmanagerConfig::embedded_default(),
            "route:\n  receiver: history\n  group_by: [alertname]\nreceivers:\n  - name: history\n"
                .to_owned(),
            base_dir.to_path_buf(),
        )),
        Some(file) => {
            let path = if Path::new(file).is_absolute() {
                PathBuf::from(file)
            } else {
                base_dir.join(file)
            };
            let parsed = AlertmanagerConfig::load(&path).map_err(|err| match &err.snippet {
                Some(snippet) => format!("{err}\n{snippet}"),
                None => err.to_string(),
            })?;
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            Ok((parsed, text, dir))
        }
    }
}

/// The running stage and its API.
pub(crate) struct AlertingStage {
    alerting: Alerting,
    store: Store,
    config_text: RwLock<String>,
    started: String,
}

impl AlertingStage {
    pub(crate) async fn start(
        config: &Config,
        base_dir: &Path,
        data_dir: &Path,
        registry: &Registry,
        external_url: String,
        oncall: Option<Arc<dyn tocsin_alerting::receivers::oncall::OncallHandoff>>,
    ) -> anyhow::Result<Arc<Self>> {
        let (am, text, am_dir) =
            load_alertmanager_config(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = Store::open(&config.storage.state, data_dir).await?;
        let metrics = AlertingMetrics::register(registry)?;
        let http = ReqwestPost::new(
            UrlPolicy {
                allowed_prefixes: config.alerting.allowed_urls.clone(),
                block_private_networks: config.alerting.block_private_networks,
            },
            Duration::from_secs(10),
            &format!("tocsin/{}", BUILD.version),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let clock: SharedClock = Arc::new(SystemClock);
        let started = format_api(clock.now());
        let alerting = Alerting::start(
            am,
            store.clone(),
            clock,
            metrics,
            AlertingOptions {
                external_url: config.alerting.external_url.clone().unwrap_or(external_url),
                http: Arc::new(http),
                base_dir: am_dir,
                gc_interval: Duration::from_secs(30 * 60),
                maintenance_interval: Duration::from_secs(30),
                retention: Duration::from_secs(120 * 3600),
                // The incident stage takes `oncall_configs` groups (opens incidents, pages).
                oncall,
            },
        )
        .await?;
        Ok(Arc::new(Self {
            alerting,
            store,
            config_text: RwLock::new(text),
            started,
        }))
    }

    /// The router, for stages that post alerts into it (rules).
    pub(crate) fn router(&self) -> Alerting {
        self.alerting.clone()
    }

    /// Loads the Alertmanager file of a reloaded tocsin.yml and builds its routes and
    /// receivers (templates and URL files read); the commit swaps them in.
    pub(crate) fn prepare_reload(
        self: &Arc<Self>,
        config: &Config,
        base_dir: &Path,
    ) -> Result<ReloadCommit, String> {
        let (am, text, _) = load_alertmanager_config(config, base_dir)?;
        let file = config
            .alerting
            .config_file
            .as_deref()
            .unwrap_or("the embedded Alertmanager configuration");
        let prepared = self
            .alerting
            .prepare(&am)
            .map_err(|e| format!("{file}: {e}"))?;
        let stage = Arc::clone(self);
        Ok(commit(move || {
            stage.alerting.apply_prepared(prepared);
            *stage.config_text.write() = text;
        }))
    }

    /// Stops routing, writes queued history, closes the store.
    pub(crate) async fn stop(&self) {
        self.alerting.stop().await;
        self.store.close().await;
    }
}

/// The body of `POST /api/tocsin/v1/alerts/groups/{group_key}/ack`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    by: String,
    #[serde(default)]
    comment: String,
    /// RFC 3339.
    #[serde(default)]
    expires_at: Option<String>,
    /// Prometheus duration from now (`2h`); exclusive with `expires_at`.
    #[serde(default)]
    duration: Option<String>,
}

fn ack_json(ack: &tocsin_alerting::ack::Ack) -> Value {
    json!({
        "group_key": ack.group_key,
        "by": ack.by,
        "comment": ack.comment,
        "acked_at": format_api(ack.at),
        "expires_at": ack.expires_at.map(format_api),
        "alerts": ack.alerts.len(),
    })
}

/// The body of `POST /api/tocsin/v1/alerts/feedback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    /// The id the notification carried; or
    #[serde(default)]
    notification: Option<String>,
    /// the group key, with
    #[serde(default)]
    group_key: Option<String>,
    /// the receiver when the group went to several.
    #[serde(default)]
    receiver: Option<String>,
    /// `actionable` or `noise`.
    verdict: String,
    /// Who judged.
    #[serde(default)]
    by: String,
    #[serde(default)]
    comment: String,
}

/// A time parameter: RFC 3339 or Unix seconds.
fn time_param(name: &str, text: &str) -> Result<i64, (u16, String)> {
    parse_rfc3339(text)
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite())
                .map(|s| (s * 1000.0) as i64)
        })
        .ok_or_else(|| {
            bad(format!(
                "{name} {text:?} is neither RFC 3339 nor Unix seconds"
            ))
        })
}

fn ack_error(e: tocsin_alerting::Error) -> (u16, String) {
    match e {
        tocsin_alerting::Error::GroupNotFound(_) => (404, e.to_string()),
        tocsin_alerting::Error::Invalid(m) => bad(m),
        e => (500, e.to_string()),
    }
}

fn bad(message: impl Into<String>) -> (u16, String) {
    (400, message.into())
}

fn flag(params: &Params, name: &str) -> Result<bool, (u16, String)> {
    match params.iter().rev().find(|(k, _)| k == name) {
        None => Ok(true),
        Some((_, v)) => v
            .parse()
            .map_err(|_| bad(format!("{name} must be true or false, not {v:?}"))),
    }
}

fn filter_matchers(params: &Params) -> Result<Vec<Matcher>, (u16, String)> {
    let mut out = Vec::new();
    for (_, text) in params.iter().filter(|(k, _)| k == "filter") {
        out.extend(parse_matchers(text).map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}

fn alert_filter(params: &Params) -> Result<AlertFilter, (u16, String)> {
    let receiver = match params.iter().find(|(k, _)| k == "receiver") {
        Some((_, re)) => Some(
            regex::Regex::new(&format!("^(?:{re})$"))
                .map_err(|e| bad(format!("invalid receiver regex: {e}")))?,
        ),
        None => None,
    };
    Ok(AlertFilter {
        matchers: filter_matchers(params)?,
        active: flag(params, "active")?,
        silenced: flag(params, "silenced")?,
        inhibited: flag(params, "inhibited")?,
        receiver,
    })
}

fn alert_json(v: &AlertView) -> Value {
    json!({
        "annotations": v.alert.annotations,
        "endsAt": format_api(v.alert.ends_at),
        "fingerprint": v.fingerprint,
        "receivers": v.receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "startsAt": format_api(v.alert.starts_at),
        "status": {
            "inhibitedBy": v.inhibited_by,
            "silencedBy": v.silenced_by,
            "state": v.state,
        },
        "updatedAt": format_api(v.alert.updated_at),
        "generatorURL": v.alert.generator_url,
        "labels": v.alert.labels,
    })
}

fn silence_json(s: &Silence, now: i64) -> Value {
    let mut out = silence_json_am(s, now);
    // tocsin's extensions, only when used, so Alertmanager clients see what they expect.
    if let Some(map) = out.as_object_mut() {
        if let Some(r) = &s.recurrence {
            map.insert("recurrence".to_owned(), r.spec.clone());
        }
        if let Some(w) = s.warn_before {
            map.insert("warnBefore".to_owned(), format!("{}s", w / 1000).into());
        }
    }
    out
}

fn silence_json_am(s: &Silence, now: i64) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": format_api(s.updated_at),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": format_api(s.ends_at),
        "startsAt": format_api(s.starts_at),
        "matchers": s.matchers.iter().map(|m| {
            use tocsin_alerting::matcher::MatchType;
            json!({
                "name": m.name,
                "value": m.value,
                "isRegex": matches!(m.kind, MatchType::Regex | MatchType::NotRegex),
                "isEqual": matches!(m.kind, MatchType::Equal | MatchType::Regex),
            })
        }).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostedAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostedMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostedSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<PostedMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
    /// tocsin: Alertmanager time intervals the silence mutes in.
    #[serde(default)]
    recurrence: Option<Value>,
    /// tocsin: warn this long (`15m`) before `endsAt`.
    #[serde(default)]
    warn_before: Option<String>,
}

fn instant(text: &Option<String>, what: &str) -> Result<Option<i64>, String> {
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => parse_rfc3339(t)
            .map(Some)
            .ok_or_else(|| format!("{what} {t:?} is not an RFC 3339 time")),
    }
}

impl AlertmanagerApi for AlertingStage {
    fn get_alerts(&self, params: &Params) -> ApiResult {
        let filter = alert_filter(params)?;
        Ok(Value::Array(
            self.alerting
                .alerts(&filter)
                .iter()
                .map(alert_json)
                .collect(),
        ))
    }

    fn post_alerts(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let posted: Vec<PostedAlert> = serde_json::from_slice(&body)
                .map_err(|e| bad(format!("cannot parse alerts: {e}")))?;
            let mut alerts = Vec::with_capacity(posted.len());
            for p in posted {
                alerts.push(PostableAlert {
                    starts_at: instant(&p.starts_at, "startsAt").map_err(bad)?,
                    ends_at: instant(&p.ends_at, "endsAt").map_err(bad)?,
                    labels: p.labels,
                    annotations: p.annotations,
                    generator_url: p.generator_url,
                });
            }
            match self.alerting.put_alerts(alerts).await {
                Ok(()) => Ok(Value::Null),
                Err(tocsin_alerting::Error::Invalid(m)) => Err(bad(m)),
                Err(e) => Err((500, e.to_string())),
            }
        })
    }

    fn get_groups(&self, params: &Params) -> ApiResult {
        let filter = alert_filter(params)?;
        Ok(Value::Array(
            self.alerting
                .groups(&filter)
                .iter()
                .map(|g| {
                    json!({
                        "alerts": g.alerts.iter().map(alert_json).collect::<Vec<_>>(),
                        "labels": g.labels,
                        "receiver": {"name": g.receiver},
                    })
                })
                .collect(),
        ))
    }

    fn tocsin_groups(&self, params: &Params) -> ApiResult {
        let filter = alert_filter(params)?;
        Ok(Value::Array(
            self.alerting
                .groups(&filter)
                .iter()
                .map(|g| {
                    json!({
                        "key": g.key,
                        "labels": g.labels,
                        "receiver": g.receiver,
                        "ack": g.ack.as_ref().map(ack_json),
                        "alerts": g.alerts.iter().map(alert_json).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ))
    }

    fn ack_group(&self, group_key: String, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let body: AckBody = serde_json::from_slice(&body).map_err(|e| {
                bad(format!(
                    "cannot parse the acknowledgement (fields: by, comment, expires_at, duration): {e}"
                ))
            })?;
            let now = self.alerting.now();
            let expires_at = match (&body.expires_at, &body.duration) {
                (Some(_), Some(_)) => {
                    return Err(bad("give either expires_at or duration, not both"));
                }
                (Some(at), None) => Some(
                    parse_rfc3339(at)
                        .ok_or_else(|| bad(format!("expires_at {at:?} is not an RFC 3339 time")))?,
                ),
                (None, Some(d)) => {
                    let d: tocsin_config::Duration = d.parse().map_err(|e| {
                        bad(format!("duration {d:?} is not a duration like 2h: {e}"))
                    })?;
                    Some(now + tocsin_alerting::time::millis(d))
                }
                (None, None) => None,
            };
            let ack = self
                .alerting
                .ack_group(tocsin_alerting::AckInput {
                    group_key,
                    by: body.by,
                    comment: body.comment,
                    expires_at,
                })
                .await
                .map_err(ack_error)?;
            Ok(ack_json(&ack))
        })
    }

    fn unack_group(&self, group_key: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let ack = self
                .alerting
                .unack_group(&group_key)
                .await
                .map_err(|e| match e {
                    tocsin_alerting::Error::GroupNotFound(_) => {
                        (404, format!("alert group {group_key} is not acknowledged"))
                    }
                    e => ack_error(e),
                })?;
            Ok(ack_json(&ack))
        })
    }

    fn feedback(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let body: FeedbackBody = serde_json::from_slice(&body).map_err(|e| {
                bad(format!(
                    "cannot parse the feedback (fields: notification or group_key and receiver, \
                     verdict, by, comment): {e}"
                ))
            })?;
            let target = match (body.notification, body.group_key) {
                (Some(id), None) if body.receiver.is_none() => FeedbackTarget::Notification(id),
                (None, Some(group_key)) => FeedbackTarget::Group {
                    group_key,
                    receiver: body.receiver.filter(|r| !r.is_empty()),
                },
                (Some(_), _) => {
                    return Err(bad(
                        "name the notification either by its id (notification) or by group_key \
                         and receiver, not both",
                    ));
                }
                (None, None) => {
                    return Err(bad(
                        "name the notification: notification (the id it carried) or group_key",
                    ));
                }
            };
            let verdict: Verdict = body
                .verdict
                .parse()
                .map_err(|e: tocsin_alerting::Error| bad(e.to_string()))?;
            let recorded = self
                .alerting
                .feedback(FeedbackInput {
                    target,
                    verdict,
                    by: body.by,
                    comment: body.comment,
                })
                .await
                .map_err(|e| match e {
                    tocsin_alerting::Error::NotificationNotFound(m) => (404, m),
                    tocsin_alerting::Error::Invalid(m) => bad(m),
                    e => (500, e.to_string()),
                })?;
            serde_json::to_value(recorded).map_err(|e| (500, e.to_string()))
        })
    }

    fn report(&self, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let get = |name: &str| {
                params
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty())
            };
            let by = match get("by").as_deref() {
                None | Some("alertname") => ReportBy::Alertname,
                Some("service") => ReportBy::Service,
                Some("route") => ReportBy::Route,
                Some(other) => {
                    return Err(bad(format!(
                        "by {other:?} is not one of alertname, service, route"
                    )));
                }
            };
            const DAY: i64 = 86_400_000;
            let to = match get("to") {
                Some(t) => time_param("to", &t)?,
                None => self.alerting.now(),
            };
            let from = match get("from") {
                Some(t) => time_param("from", &t)?,
                None => to - 7 * DAY,
            };
            let step = match get("step") {
                None => DAY,
                Some(text) => match text.parse::<tocsin_config::Duration>() {
                    Ok(d) => tocsin_alerting::time::millis(d),
                    Err(_) => text
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite())
                        .map(|s| (s * 1000.0) as i64)
                        .ok_or_else(|| {
                            bad(format!(
                                "step {text:?} is neither a duration like 1d nor seconds"
                            ))
                        })?,
                },
            };
            let report = self
                .alerting
                .report(ReportQuery { by, from, to, step })
                .await
                .map_err(|e| match e {
                    tocsin_alerting::Error::Invalid(m) => bad(m),
                    e => (500, e.to_string()),
                })?;
            serde_json::to_value(report).map_err(|e| (500, e.to_string()))
        })
    }

    fn get_silences(&self, params: &Params) -> ApiResult {
        let filter = filter_matchers(params)?;
        let now = self.alerting.now();
        let mut silences: Vec<Silence> = self
            .alerting
            .silences()
            .into_iter()
            .filter(|s| {
                // Alertmanager: the silence's equality matchers form a label set the filter
                // must match.
                let labels: BTreeMap<String, String> = s
                    .matchers
                    .iter()
                    .filter(|m| m.kind == tocsin_alerting::matcher::MatchType::Equal)
                    .map(|m| (m.name.clone(), m.value.clone()))
                    .collect();
                filter.iter().all(|f| f.matches_labels(&labels))
            })
            .collect();
        // Active by end, pending by start, expired latest first (Alertmanager's order).
        silences.sort_by(|a, b| {
            let (sa, sb) = (a.state(now), b.state(now));
            sa.cmp(&sb).then_with(|| match sa {
                SilenceState::Active => a.ends_at.cmp(&b.ends_at),
                SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
                SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
            })
        });
        Ok(Value::Array(
            silences.iter().map(|s| silence_json(s, now)).collect(),
        ))
    }

    fn post_silence(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let posted: PostedSilence = serde_json::from_slice(&body)
                .map_err(|e| bad(format!("cannot parse silence: {e}")))?;
            let mut matchers = Vec::new();
            for m in &posted.matchers {
                matchers.push(
                    Matcher::new(match_type(m.is_regex, m.is_equal), &m.name, &m.value)
                        .map_err(|e| bad(e.to_string()))?,
                );
            }
            let starts_at = parse_rfc3339(&posted.starts_at).ok_or_else(|| {
                bad(format!(
                    "startsAt {:?} is not an RFC 3339 time",
                    posted.starts_at
                ))
            })?;
            let ends_at = parse_rfc3339(&posted.ends_at).ok_or_else(|| {
                bad(format!(
                    "endsAt {:?} is not an RFC 3339 time",
                    posted.ends_at
                ))
            })?;
            let warn_before = match &posted.warn_before {
                None => None,
                Some(d) => {
                    let d: tocsin_config::Duration = d.parse().map_err(|e| {
                        bad(format!("warnBefore {d:?} is not a duration like 15m: {e}"))
                    })?;
                    Some(tocsin_alerting::time::millis(d))
                }
            };
            let id = self
                .alerting
                .set_silence(SilenceInput {
                    id: posted.id,
                    matchers,
                    starts_at,
                    ends_at,
                    created_by: posted.created_by,
                    comment: posted.comment,
                    recurrence: posted.recurrence,
                    warn_before,
                })
                .await
                .map_err(|e| match e {
                    tocsin_alerting::Error::SilenceNotFound(_) => (404, e.to_string()),
                    tocsin_alerting::Error::Invalid(_) | tocsin_alerting::Error::Matcher(_) => {
                        bad(e.to_string())
                    }
                    other => (500, other.to_string()),
                })?;
            Ok(json!({"silenceID": id}))
        })
    }

    fn get_silence(&self, id: &str) -> ApiResult {
        match self.alerting.silence(id) {
            Some(s) => Ok(silence_json(&s, self.alerting.now())),
            None => Err((404, format!("silence {id} not found"))),
        }
    }

    fn delete_silence(&self, id: String) -> ApiFuture<'_> {
        Box::pin(async move {
            match self.alerting.expire_silence(&id).await {
                Ok(()) => Ok(Value::Null),
                Err(tocsin_alerting::Error::SilenceNotFound(_)) => {
                    Err((404, format!("silence {id} not found")))
                }
                Err(tocsin_alerting::Error::Invalid(m)) => Err((500, m)),
                Err(e) => Err((500, e.to_string())),
            }
        })
    }

    fn status(&self) -> ApiResult {
        Ok(json!({
            "cluster": {"name": "", "peers": [], "status": "disabled"},
            "config": {"original": *self.config_text.read()},
            "uptime": self.started,
            "versionInfo": {
                "branch": BUILD.branch,
                "buildDate": BUILD.build_date,
                "buildUser": "tocsin",
                "goVersion": BUILD.rustc_version,
                "revision": BUILD.revision,
                "version": BUILD.version,
            },
        }))
    }

    fn receivers(&self) -> ApiResult {
        Ok(Value::Array(
            self.alerting
                .receivers()
                .into_iter()
                .map(|name| json!({"name": name}))
                .collect(),
        ))
    }

    fn history(&self, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let get = |name: &str| {
                params
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let time = |name: &str| -> Result<Option<i64>, (u16, String)> {
                match get(name) {
                    None => Ok(None),
                    Some(t) => parse_rfc3339(&t)
                        .or_else(|| t.parse::<f64>().ok().map(|s| (s * 1000.0) as i64))
                        .map(Some)
                        .ok_or_else(|| {
                            bad(format!("{name} {t:?} is neither RFC 3339 nor Unix seconds"))
                        }),
                }
            };
            let filter = HistoryFilter {
                kind: get("kind"),
                fingerprint: get("fingerprint"),
                alertname: get("alertname"),
                service: get("service"),
                group_key: get("group_key"),
                receiver: get("receiver"),
                notification_id: get("notification"),
                state: get("state"),
                since: time("since")?,
                until: time("until")?,
                limit: match get("limit") {
                    Some(l) => Some(l.parse().map_err(|_| bad("limit must be a number"))?),
                    None => None,
                },
            };
            self.alerting.flush_history().await;
            let rows = self
                .store
                .alerting()
                .query_history(&filter)
                .await
                .map_err(|e| (500, e.to_string()))?;
            Ok(json!({
                "status": "success",
                "data": rows.iter().map(|r| json!({
                    "at": format_api(r.at),
                    "kind": r.kind,
                    "fingerprint": r.fingerprint,
                    "alertname": r.alertname,
                    "service": r.service,
                    "groupKey": r.group_key,
                    "receiver": r.receiver,
                    "route": r.route,
                    "state": r.state,
                    "outcome": r.outcome,
                    "notificationID": r.notification_id,
                    "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
                })).collect::<Vec<_>>(),
            }))
        })
    }
}
