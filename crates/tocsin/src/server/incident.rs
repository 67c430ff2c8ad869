//! The incident stage in the server: reads `incidents.config_file`, opens its tables in the
//! state store, pages through the on-call stage's escalation engine (and records what the
//! engine does on the incident's timeline), measures SLO impact with the PromQL engine, takes
//! alert groups from the router's `oncall_configs` receiver and PagerDuty Events v2 at
//! `/v2/enqueue`, and serves `/api/tocsin/v1/incidents…`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use axum::body::Bytes;
use serde::Deserialize;
use serde_json::json;
use tocsin_alerting::notify::BoxFuture as AlertingFuture;
use tocsin_alerting::receivers::oncall::{OncallHandoff, OncallPage};
use tocsin_api::{ApiFuture, EventFuture, IncidentApi, Params};
use tocsin_config::Config;
use tocsin_incident::config::IncidentsFile;
use tocsin_incident::model::{Role, Status, parse_id, rfc3339, timeline_json};
use tocsin_incident::{
    ActionItemRequest, AlertGroup, BoxFuture, GroupAlert, Impact, Incidents, NoPaging, OpenRequest,
    Page, PageTarget, Paging, SloImpact, SystemClock, pagerduty,
};
use tocsin_model::storage::Queryable;
use tocsin_oncall::Escalator;
use tocsin_oncall::escalation::{EscalationObserver, PageEvent};
use tocsin_promql::Engine;
use tocsin_slo::Slo;
use tocsin_store::Store;
use tocsin_store::incident::IncidentFilter;

/// Reads the incidents file `incidents.config_file` names (none: an empty file).
pub(crate) fn load_file(config: &Config, base_dir: &Path) -> Result<IncidentsFile, String> {
    let Some(file) = &config.incidents.config_file else {
        return Ok(IncidentsFile::default());
    };
    let path = base_dir.join(file);
    IncidentsFile::load(&path).map_err(|e| e.to_string())
}

/// Services of the on-call directory that the incidents file does not list, so teams,
/// runbooks and escalation policies defined there apply to incidents too.
fn merge_directory(mut file: IncidentsFile, escalator: Option<&Escalator>) -> IncidentsFile {
    let Some(escalator) = escalator else {
        return file;
    };
    let directory = escalator.directory();
    let ids: Vec<String> = directory
        .list(tocsin_oncall::directory::Kind::Service)
        .iter()
        .filter_map(|s| {
            s.get("id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    for id in ids {
        let Some(spec) = directory.service(&id) else {
            continue;
        };
        let entry = file.services.entry(id).or_default();
        if entry.team.is_empty() {
            entry.team = spec.team.clone().unwrap_or_default();
        }
        if entry.runbook_url.is_none() {
            entry.runbook_url.clone_from(&spec.runbook_url);
        }
        if entry.escalation_policy.is_none() {
            entry.escalation_policy.clone_from(&spec.escalation_policy);
        }
    }
    file
}

/// Paging through the on-call stage's escalation engine.
struct EscalatorPaging(Arc<Escalator>);

impl Paging for EscalatorPaging {
    fn start<'a>(
        &'a self,
        key: &'a str,
        target: &'a PageTarget,
        page: &'a Page,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let policy = target
                .escalation_policy
                .clone()
                .or_else(|| {
                    self.0
                        .directory()
                        .service(&target.service)
                        .and_then(|s| s.escalation_policy.clone())
                })
                .ok_or_else(|| {
                    format!(
                        "service {:?} has no escalation policy in the on-call directory or the incidents file",
                        target.service
                    )
                })?;
            let oncall_page = tocsin_oncall::Page {
                title: format!("{} {}", page.incident, page.title),
                body: format!("{} on {}", page.severity, page.service),
                service: Some(page.service.clone()),
                severity: Some(page.severity.clone()),
                link: page.runbook_url.clone(),
                labels: BTreeMap::from([("incident".to_owned(), page.incident.clone())]),
            };
            self.0
                .start(key, &policy, oncall_page)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn ack<'a>(
        &'a self,
        key: &'a str,
        by: &'a str,
        expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let expires = expires_at
                .map(jiff::Timestamp::from_millisecond)
                .transpose()
                .map_err(|e| e.to_string())?;
            match self.0.ack(key, by, expires).await {
                // No escalation for this incident (nobody was paged): nothing to stop.
                Err(tocsin_oncall::Error::NotFound { .. }) => Ok(()),
                other => other.map_err(|e| e.to_string()),
            }
        })
    }

    fn resolve<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match self.0.resolve(key).await {
                Err(tocsin_oncall::Error::NotFound { .. }) => Ok(()),
                other => other.map_err(|e| e.to_string()),
            }
        })
    }
}

/// Records what the escalation engine does on the incident's timeline. The engine calls
/// synchronously; the store write runs on the runtime.
struct TimelineObserver {
    incidents: Incidents,
    runtime: tokio::runtime::Handle,
}

impl TimelineObserver {
    fn record(
        &self,
        key: &str,
        kind: &'static str,
        actor: String,
        message: String,
        detail: serde_json::Value,
    ) {
        // Escalations not started by an incident (the router's own pages) are not ours.
        if parse_id(key).is_err() {
            return;
        }
        let incidents = self.incidents.clone();
        let key = key.to_owned();
        self.runtime.spawn(async move {
            if let Err(error) = incidents
                .record_paging_event(&key, kind, &actor, &message, detail)
                .await
            {
                tracing::warn!(%error, incident = %key, kind, "paging event not recorded on the timeline");
            }
        });
    }
}

impl EscalationObserver for TimelineObserver {
    fn page_sent(&self, event: &PageEvent) {
        let message = match &event.error {
            None => format!(
                "paged {} via {} (step {})",
                event.user,
                event.contact,
                event.step + 1
            ),
            Some(e) => format!("page to {} via {} failed: {e}", event.user, event.contact),
        };
        self.record(
            &event.key,
            "page_sent",
            "tocsin".to_owned(),
            message,
            serde_json::to_value(event).unwrap_or_default(),
        );
    }
    fn escalated(&self, key: &str, step: i64, repeat: i64) {
        self.record(
            key,
            "escalated",
            "tocsin".to_owned(),
            format!("escalated to step {} (round {})", step + 1, repeat + 1),
            json!({ "step": step, "repeat": repeat }),
        );
    }
    fn acked(&self, key: &str, by: &str) {
        self.record(
            key,
            "acked",
            by.to_owned(),
            format!("page acknowledged by {by}"),
            json!({}),
        );
    }
    fn ack_expired(&self, key: &str) {
        self.record(
            key,
            "ack_expired",
            "tocsin".to_owned(),
            "acknowledgement expired; paging again".to_owned(),
            json!({}),
        );
    }
}

/// SLO impact: for each SLO of the service, the bad and total events during the incident
/// (the window's counts at the end minus at the start) and the budget that burned
/// ([`tocsin_slo::budget::burned_by`]; for SLIs without events, the window's consumption at
/// the end minus at the start).
struct SloBudgets {
    slos: ArcSwap<Vec<Slo>>,
    engine: Arc<Engine>,
    storage: Arc<dyn Queryable>,
}

impl Impact for SloBudgets {
    fn impact<'a>(
        &'a self,
        service: &'a str,
        from: i64,
        to: i64,
    ) -> BoxFuture<'a, Result<Vec<SloImpact>, String>> {
        let slos: Vec<Slo> = self
            .slos
            .load()
            .iter()
            .filter(|s| s.service == service)
            .cloned()
            .collect();
        let engine = Arc::clone(&self.engine);
        let storage = Arc::clone(&self.storage);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                slos.iter()
                    .map(|slo| {
                        let at = |t| {
                            tocsin_slo::budget::compute(&engine, storage.as_ref(), slo, t)
                                .map_err(|e| format!("SLO {}: {e}", slo.name))
                        };
                        let (start, end) = (at(from)?, at(to)?);
                        let events = match (start.events, end.events) {
                            (Some(a), Some(b)) => Some((b.bad - a.bad, b.total - a.total)),
                            (None, Some(b)) => Some((b.bad, b.total)),
                            _ => None,
                        };
                        // From the incident's own events where the SLI counts them; else
                        // (time slices) the difference of the window's consumption.
                        let consumed = events
                            .and_then(|(bad, total)| {
                                tocsin_slo::budget::burned_by(
                                    bad,
                                    total,
                                    slo.error_budget_ratio(),
                                    to - from,
                                    end.period_ms,
                                )
                            })
                            .unwrap_or_else(|| {
                                end.consumed.unwrap_or(0.0) - start.consumed.unwrap_or(0.0)
                            });
                        Ok(SloImpact {
                            slo: slo.name.clone(),
                            budget_consumed: consumed.max(0.0),
                            bad_events: events.map(|e| e.0.max(0.0)),
                            total_events: events.map(|e| e.1.max(0.0)),
                        })
                    })
                    .collect()
            })
            .await
            .map_err(|e| format!("SLO impact computation failed: {e}"))?
        })
    }
}

/// The running incident stage.
pub(crate) struct IncidentStage {
    incidents: Incidents,
    budgets: Arc<SloBudgets>,
    escalator: Option<Arc<Escalator>>,
    store: Store,
}

impl std::fmt::Debug for IncidentStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentStage")
            .field("incidents", &self.incidents)
            .finish_non_exhaustive()
    }
}

/// What the stage is built from.
pub(crate) struct IncidentInputs {
    pub(crate) engine: Arc<Engine>,
    pub(crate) storage: Arc<dyn Queryable>,
    pub(crate) escalator: Option<Arc<Escalator>>,
    pub(crate) metrics: tocsin_incident::IncidentMetrics,
}

impl IncidentStage {
    /// Reads the incidents file and opens the state store (its own pool on the same
    /// database).
    pub(crate) async fn start(
        config: &Config,
        base_dir: &Path,
        data_dir: &Path,
        inputs: IncidentInputs,
    ) -> anyhow::Result<Arc<Self>> {
        let file = load_file(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let file = merge_directory(file, inputs.escalator.as_deref());
        let slos =
            super::slo::load_slo_files(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = Store::open(&config.storage.state, data_dir)
            .await
            .context("cannot open the state store for incidents")?;
        let budgets = Arc::new(SloBudgets {
            slos: ArcSwap::from_pointee(slos),
            engine: inputs.engine,
            storage: inputs.storage,
        });
        let paging: Arc<dyn Paging> = match &inputs.escalator {
            Some(e) => Arc::new(EscalatorPaging(Arc::clone(e))),
            None => Arc::new(NoPaging),
        };
        let http = reqwest::Client::builder()
            .user_agent(format!("tocsin/{}", crate::BUILD.version))
            .build()
            .context("cannot build the HTTP client for runbook webhooks")?;
        let incidents = Incidents::start(
            store.clone(),
            Arc::new(SystemClock),
            paging,
            Arc::clone(&budgets) as Arc<dyn Impact>,
            file,
            http,
            inputs.metrics,
        )
        .await
        .context("cannot migrate the incident tables")?;
        if let Some(escalator) = &inputs.escalator {
            escalator.set_observer(Arc::new(TimelineObserver {
                incidents: incidents.clone(),
                runtime: tokio::runtime::Handle::current(),
            }));
        }
        tracing::info!(
            services = incidents.config().services.len(),
            runbook_actions = incidents.config().runbook_actions.len(),
            "incident stage started"
        );
        Ok(Arc::new(Self {
            incidents,
            budgets,
            escalator: inputs.escalator,
            store,
        }))
    }

    /// Re-reads the incidents file and the SLOs; the commit puts them in force.
    pub(crate) fn prepare_reload(
        self: &Arc<Self>,
        config: &Config,
        base_dir: &Path,
    ) -> Result<super::reload::ReloadCommit, String> {
        let file = load_file(config, base_dir)?;
        let slos = super::slo::load_slo_files(config, base_dir)?;
        let stage = Arc::clone(self);
        Ok(super::reload::commit(move || {
            // Merged at commit, not before: the on-call stage commits its new directory
            // first, and the services it defines belong in this reload.
            stage
                .incidents
                .reload(merge_directory(file, stage.escalator.as_deref()));
            stage.budgets.slos.store(Arc::new(slos));
        }))
    }

    /// Closes the store.
    pub(crate) async fn stop(&self) {
        self.store.close().await;
    }
}

fn err(e: tocsin_incident::Error) -> (u16, String) {
    (e.http_status(), e.to_string())
}

fn id_of(text: &str) -> Result<i64, (u16, String)> {
    parse_id(text).map_err(err)
}

fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8], shape: &str) -> Result<T, (u16, String)> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| (400, format!("the body must be JSON {shape}: {e}")))
}

fn time_param(name: &str, text: &str) -> Result<i64, (u16, String)> {
    if let Ok(d) = text.parse::<tocsin_config::Duration>() {
        let now = jiff::Timestamp::now().as_millisecond();
        return Ok(now - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            (
                400,
                format!("{name} {text:?} must be an RFC 3339 time or a duration ago (7d)"),
            )
        })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ByNote {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    role: String,
    /// Empty or absent: clears the role.
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostmortemBody {
    #[serde(default)]
    by: Option<String>,
    /// `draft`, `in_review`, `published`: sets the review status of the stored draft.
    #[serde(default)]
    status: Option<String>,
}

fn by(value: Option<String>) -> String {
    value
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "api".to_owned())
}

fn item_json(item: &tocsin_store::incident::ActionItemRow) -> serde_json::Value {
    json!({
        "id": item.id,
        "incident": tocsin_incident::model::display_id(item.incident_id),
        "title": item.title,
        "owner": item.owner,
        "due": item.due_at.map(rfc3339),
        "priority": item.priority,
        "link": item.link,
        "status": item.status,
        "created": rfc3339(item.created_at),
        "updated": rfc3339(item.updated_at),
    })
}

impl IncidentStage {
    async fn detail(&self, id: i64) -> Result<serde_json::Value, (u16, String)> {
        let incident = self.incidents.get(id).await.map_err(err)?;
        let timeline = self.incidents.timeline(id).await.map_err(err)?;
        let alerts = self.incidents.alerts(id).await.map_err(err)?;
        let budgets = self.incidents.budgets(id).await.map_err(err)?;
        let runs = self.incidents.runbook_runs(id).await.map_err(err)?;
        let config = self.incidents.config();
        let actions: Vec<&String> = config
            .runbook_actions
            .iter()
            .filter(|(_, a)| a.services.is_empty() || a.services.contains(&incident.service))
            .map(|(name, _)| name)
            .collect();
        Ok(json!({
            "incident": incident.to_json(),
            "times": tocsin_incident::stats::times(&incident),
            "timeline": timeline.iter().map(timeline_json).collect::<Vec<_>>(),
            "alerts": alerts.iter().map(|a| json!({
                "fingerprint": a.fingerprint,
                "labels": a.labels,
                "starts_at": rfc3339(a.starts_at),
                "resolved_at": a.resolved_at.map(rfc3339),
            })).collect::<Vec<_>>(),
            "slo_budget": budgets.iter().map(|b| json!({
                "slo": b.slo,
                "consumed": b.consumed,
                "bad_events": b.bad_events,
                "total_events": b.total_events,
            })).collect::<Vec<_>>(),
            "runbook_actions": actions,
            "runbook_runs": runs.iter().map(|r| json!({
                "id": r.id,
                "action": r.action,
                "requested_by": r.requested_by,
                "trigger": r.trigger,
                "started": rfc3339(r.started_at),
                "finished": rfc3339(r.finished_at),
                "invocation": serde_json::from_str::<serde_json::Value>(&r.invocation).unwrap_or_default(),
                "outcome": r.outcome,
                "exit_status": r.exit_status,
                "output": r.output,
                "truncated": r.truncated,
            })).collect::<Vec<_>>(),
        }))
    }
}

impl IncidentApi for IncidentStage {
    fn list(&self, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let mut filter = IncidentFilter::default();
            for (k, v) in params {
                match k.as_str() {
                    "status" => {
                        for s in v.split(',').filter(|s| !s.is_empty()) {
                            let status = if s == "open" {
                                filter.statuses.extend(
                                    ["triage", "acknowledged", "mitigated"].map(str::to_owned),
                                );
                                continue;
                            } else {
                                Status::parse(s).ok_or_else(|| {
                                    (400, format!("status {s:?} is not open, triage, acknowledged, mitigated, resolved, closed or cancelled"))
                                })?
                            };
                            filter.statuses.push(status.as_str().to_owned());
                        }
                    }
                    "service" => filter.service = Some(v),
                    "team" => filter.team = Some(v),
                    "since" => filter.opened_since = Some(time_param("since", &v)?),
                    "until" => filter.opened_until = Some(time_param("until", &v)?),
                    "limit" => {
                        filter.limit =
                            Some(v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                                (400, format!("limit {v:?} must be a positive integer"))
                            })?);
                    }
                    other => {
                        return Err((
                            400,
                            format!(
                                "unknown parameter {other:?}; use status, service, team, since, until, limit"
                            ),
                        ));
                    }
                }
            }
            let incidents = self.incidents.list(&filter).await.map_err(err)?;
            Ok(json!({
                "incidents": incidents.iter().map(|i| {
                    let mut v = i.to_json();
                    v["times"] = serde_json::to_value(tocsin_incident::stats::times(i)).unwrap_or_default();
                    v
                }).collect::<Vec<_>>()
            }))
        })
    }

    fn open(&self, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let request: OpenRequest = body(
                &bytes,
                "{\"title\": …, \"service\": …, \"severity\": optional, \"by\": optional}",
            )?;
            let incident = self.incidents.open(request).await.map_err(err)?;
            Ok(json!({ "incident": incident.to_json() }))
        })
    }

    fn get(&self, id: String) -> ApiFuture<'_> {
        Box::pin(async move { self.detail(id_of(&id)?).await })
    }

    fn update(&self, id: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id_of(&id)?;
            let b: UpdateBody = body(
                &bytes,
                "{\"severity\": optional, \"title\": optional, \"by\": optional}",
            )?;
            let incident = self
                .incidents
                .update(id, b.severity.as_deref(), b.title.as_deref(), &by(b.by))
                .await
                .map_err(err)?;
            Ok(json!({ "incident": incident.to_json() }))
        })
    }

    fn transition(&self, id: String, verb: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let to = match verb.as_str() {
                "ack" | "acknowledge" => Status::Acknowledged,
                "mitigate" => Status::Mitigated,
                "resolve" => Status::Resolved,
                "close" => Status::Closed,
                "cancel" => Status::Cancelled,
                other => {
                    return Err((
                        404,
                        format!(
                            "{other:?} is not an incident action; use ack, mitigate, resolve, close or cancel"
                        ),
                    ));
                }
            };
            let id = id_of(&id)?;
            let b: ByNote = body(&bytes, "{\"by\": optional, \"note\": optional}")?;
            let incident = self
                .incidents
                .transition(id, to, &by(b.by), b.note.as_deref())
                .await
                .map_err(err)?;
            Ok(
                json!({ "incident": incident.to_json(), "times": tocsin_incident::stats::times(&incident) }),
            )
        })
    }

    fn note(&self, id: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id_of(&id)?;
            let b: ByNote = body(&bytes, "{\"note\": …, \"by\": optional}")?;
            let note = b.note.ok_or((400, "a note needs `note`".to_owned()))?;
            self.incidents
                .note(id, &note, &by(b.by))
                .await
                .map_err(err)?;
            Ok(json!({ "status": "success" }))
        })
    }

    fn assign(&self, id: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id_of(&id)?;
            let b: AssignBody = body(&bytes, "{\"role\": …, \"person\": …, \"by\": optional}")?;
            let role = Role::parse(&b.role).ok_or_else(|| {
                (
                    400,
                    format!(
                        "role {:?} is not commander, scribe or communications",
                        b.role
                    ),
                )
            })?;
            let person = b.person.filter(|p| !p.trim().is_empty());
            let incident = self
                .incidents
                .assign(id, role, person.as_deref(), &by(b.by))
                .await
                .map_err(err)?;
            Ok(json!({ "incident": incident.to_json() }))
        })
    }

    fn timeline(&self, id: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let rows = self.incidents.timeline(id_of(&id)?).await.map_err(err)?;
            Ok(json!({ "timeline": rows.iter().map(timeline_json).collect::<Vec<_>>() }))
        })
    }

    fn run_action(&self, id: String, name: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id_of(&id)?;
            let b: RunBody = body(&bytes, "{\"by\": optional, \"params\": optional}")?;
            let run = self
                .incidents
                .run_action(id, &name, &by(b.by), &b.params, "request")
                .await
                .map_err(err)?;
            Ok(json!({
                "run": run.id,
                "action": run.action,
                "outcome": run.outcome,
                "exit_status": run.exit_status,
                "output": run.output,
                "truncated": run.truncated,
                "started": rfc3339(run.started_at),
                "finished": rfc3339(run.finished_at),
            }))
        })
    }

    fn postmortem(&self, id: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let markdown = self
                .incidents
                .postmortem_draft(id_of(&id)?, "api", false)
                .await
                .map_err(err)?;
            Ok(json!({ "markdown": markdown }))
        })
    }

    fn save_postmortem(&self, id: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id_of(&id)?;
            let b: PostmortemBody = body(&bytes, "{\"by\": optional, \"status\": optional}")?;
            let markdown = self
                .incidents
                .postmortem_draft(id, &by(b.by), true)
                .await
                .map_err(err)?;
            if let Some(status) = &b.status {
                self.incidents
                    .set_postmortem_status(id, status)
                    .await
                    .map_err(err)?;
            }
            Ok(
                json!({ "markdown": markdown, "status": b.status.unwrap_or_else(|| "draft".to_owned()) }),
            )
        })
    }

    fn action_items(&self, id: Option<String>) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id.as_deref().map(id_of).transpose()?;
            if let Some(id) = id {
                self.incidents.get(id).await.map_err(err)?;
            }
            let items = self.incidents.action_items(id).await.map_err(err)?;
            Ok(json!({ "action_items": items.iter().map(item_json).collect::<Vec<_>>() }))
        })
    }

    fn add_action_item(&self, id: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let id = id_of(&id)?;
            let req: ActionItemRequest = body(
                &bytes,
                "{\"title\": …, \"owner\": …, \"due\": optional, \"priority\": optional, \"link\": optional}",
            )?;
            let item = self.incidents.add_action_item(id, req).await.map_err(err)?;
            Ok(json!({ "action_item": item_json(&item) }))
        })
    }

    fn update_action_item(&self, item: String, bytes: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let item: i64 = item
                .trim_start_matches('#')
                .parse()
                .map_err(|_| (400, format!("{item:?} is not an action item number")))?;
            let req: ActionItemRequest = body(
                &bytes,
                "{\"title\", \"owner\", \"due\", \"priority\", \"link\", \"status\": all optional}",
            )?;
            let item = self
                .incidents
                .update_action_item(item, req)
                .await
                .map_err(err)?;
            Ok(json!({ "action_item": item_json(&item) }))
        })
    }

    fn delete_action_item(&self, item: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let item: i64 = item
                .trim_start_matches('#')
                .parse()
                .map_err(|_| (400, format!("{item:?} is not an action item number")))?;
            self.incidents.delete_action_item(item).await.map_err(err)?;
            Ok(json!({ "status": "success" }))
        })
    }

    fn metrics(&self, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let now = jiff::Timestamp::now().as_millisecond();
            let (mut from, mut to) = (now - 28 * 86_400_000, now);
            let (mut service, mut team) = (None, None);
            for (k, v) in params {
                match k.as_str() {
                    "from" => from = time_param("from", &v)?,
                    "to" => to = time_param("to", &v)?,
                    "service" => service = Some(v),
                    "team" => team = Some(v),
                    other => {
                        return Err((
                            400,
                            format!("unknown parameter {other:?}; use from, to, service, team"),
                        ));
                    }
                }
            }
            let report = self
                .incidents
                .metrics(from, to, service, team)
                .await
                .map_err(err)?;
            serde_json::to_value(report).map_err(|e| (500, e.to_string()))
        })
    }

    fn policy(&self) -> ApiFuture<'_> {
        Box::pin(async move {
            let report = self.incidents.policy().await.map_err(err)?;
            serde_json::to_value(report).map_err(|e| (500, e.to_string()))
        })
    }

    fn enqueue(&self, bytes: Bytes) -> EventFuture<'_> {
        Box::pin(async move {
            let event = match pagerduty::decode(&bytes) {
                Ok(event) => event,
                Err(errors) => return (400, pagerduty::invalid(&errors)),
            };
            match self.incidents.pagerduty(event).await {
                Ok(outcome) => (202, pagerduty::accepted(&outcome.dedup_key)),
                Err(e) if e.http_status() == 400 => (400, pagerduty::invalid(&[e.to_string()])),
                Err(e) => {
                    tracing::error!(error = %e, "PagerDuty event not processed");
                    // PagerDuty senders retry on 5xx.
                    (500, json!({ "status": "error", "message": e.to_string() }))
                }
            }
        })
    }

    fn change_enqueue(&self, bytes: Bytes) -> EventFuture<'_> {
        Box::pin(async move {
            let change = match pagerduty::decode_change(&bytes) {
                Ok(change) => change,
                Err(errors) => return (400, pagerduty::invalid(&errors)),
            };
            match self.incidents.pagerduty_change(change).await {
                Ok(()) => (202, pagerduty::change_accepted()),
                Err(e) if e.http_status() == 400 => (400, pagerduty::invalid(&[e.to_string()])),
                Err(e) => {
                    tracing::error!(error = %e, "PagerDuty change event not processed");
                    (500, json!({ "status": "error", "message": e.to_string() }))
                }
            }
        })
    }
}

/// Turns the router's webhook-shaped page into an alert group.
fn alert_group(page: &OncallPage) -> AlertGroup {
    let time = |text: &str| {
        text.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
            // Go's zero time means "not ended".
            .filter(|ms| *ms > 0)
    };
    let m = &page.message;
    AlertGroup {
        group_key: m.group_key.clone(),
        common_labels: m.common_labels.clone(),
        common_annotations: m.common_annotations.clone(),
        alerts: m
            .alerts
            .iter()
            .map(|a| GroupAlert {
                fingerprint: a.fingerprint.clone(),
                firing: a.status == "firing",
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: time(&a.starts_at).unwrap_or(0),
                ends_at: time(&a.ends_at),
            })
            .collect(),
        service: page.service.clone(),
        escalation_policy: page.escalation_policy.clone(),
    }
}

impl OncallHandoff for IncidentStage {
    fn handoff<'a>(&'a self, page: &'a OncallPage) -> AlertingFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let group = alert_group(page);
            match self.incidents.alert_group(&group).await {
                Ok(Some(incident)) => {
                    tracing::debug!(incident = %incident.id, group_key = %group.group_key, "alert group handed to incident");
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// The router's handoff, given to it before the incident stage exists and filled in once the
/// stage runs. A group arriving in between is refused, and the notification pipeline retries.
#[derive(Default)]
pub(crate) struct LateHandoff(std::sync::OnceLock<Arc<IncidentStage>>);

impl LateHandoff {
    /// Connects the running stage.
    pub(crate) fn set(&self, stage: Arc<IncidentStage>) {
        if self.0.set(stage).is_err() {
            tracing::warn!("the incident stage was connected to the router twice; kept the first");
        }
    }
}

impl OncallHandoff for LateHandoff {
    fn handoff<'a>(&'a self, page: &'a OncallPage) -> AlertingFuture<'a, Result<(), String>> {
        match self.0.get() {
            Some(stage) => stage.handoff(page),
            None => Box::pin(async { Err("the incident stage is still starting".to_owned()) }),
        }
    }
}
