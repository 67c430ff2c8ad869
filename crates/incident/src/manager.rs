//! [`Incidents`]: the incident stage's operations over the state store, the clock, paging
//! and SLO impact. Every change of an incident is a compare-and-set on its `updated_at`
//! with its timeline entries in the same transaction, retried a few times on conflict.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use arc_swap::ArcSwap;
use serde::Deserialize;
use tocsin_store::Store;
use tocsin_store::incident::{
    ActionItemRow, BudgetRow, ChangeRow, FEATURE, IncidentAlertRow, IncidentFilter, IncidentRow,
    Inserted, PostmortemRow, RunbookRunRow, TimelineRow,
};

use crate::config::IncidentsFile;
use crate::metrics::IncidentMetrics;
use crate::model::{
    Incident, Role, Severity, SourceKind, Status, TimelineKind, apply_transition, display_id,
    entry, rfc3339,
};
use crate::pagerduty::{Action, ChangeEvent, Event};
use crate::postmortem::{DraftInput, ITEM_STATUSES, PRIORITIES, PolicyReport};
use crate::runbook::{Invocation, RunOutcome};
use crate::seams::{Clock, Impact, Page, PageTarget, Paging};
use crate::stats::{MAX_WEEKS, Report};
use crate::{Error, Result};

/// Attempts of a compare-and-set before giving up.
const CAS_ATTEMPTS: usize = 5;
/// Longest text accepted for titles, notes and names.
const MAX_TEXT: usize = 4096;

/// Opening an incident by hand (or from another source).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    /// One line.
    pub title: String,
    /// The affected service.
    pub service: String,
    /// SEV1..SEV4 (default SEV3).
    #[serde(default)]
    pub severity: Option<String>,
    /// Who opens it.
    #[serde(default)]
    pub by: Option<String>,
    /// When the problem began (RFC 3339), if known.
    #[serde(default)]
    pub detected_at: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Runbook link (default: the service's).
    #[serde(default)]
    pub runbook_url: Option<String>,
}

/// One alert of a group handed over by the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAlert {
    /// Alertmanager fingerprint.
    pub fingerprint: String,
    /// `firing` or `resolved`.
    pub firing: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Unix ms.
    pub starts_at: i64,
    /// Unix ms, when resolved.
    pub ends_at: Option<i64>,
}

/// An alert group from the router's `oncall_configs` receiver (the Alertmanager webhook
/// payload, plus where it should go).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertGroup {
    /// Aggregation group key.
    pub group_key: String,
    /// Common labels.
    pub common_labels: BTreeMap<String, String>,
    /// Common annotations.
    pub common_annotations: BTreeMap<String, String>,
    /// Alerts.
    pub alerts: Vec<GroupAlert>,
    /// Target service (else the `service` label).
    pub service: Option<String>,
    /// Escalation policy (else the service's).
    pub escalation_policy: Option<String>,
}

/// What a PagerDuty event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerdutyOutcome {
    /// The dedup key (generated for a trigger without one).
    pub dedup_key: String,
    /// The incident it applied to; `None` when an acknowledge or resolve found no open
    /// incident (PagerDuty drops those too).
    pub incident: Option<String>,
}

/// Creating or changing an action item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItemRequest {
    /// What to do.
    #[serde(default)]
    pub title: Option<String>,
    /// Who.
    #[serde(default)]
    pub owner: Option<String>,
    /// Due date: RFC 3339 or `YYYY-MM-DD` (UTC midnight); empty string clears it.
    #[serde(default)]
    pub due: Option<String>,
    /// P1..P4 (default P3).
    #[serde(default)]
    pub priority: Option<String>,
    /// Tracker link; empty string clears it.
    #[serde(default)]
    pub link: Option<String>,
    /// open, in_progress, done, wont_do.
    #[serde(default)]
    pub status: Option<String>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    paging: Arc<dyn Paging>,
    impact: Arc<dyn Impact>,
    config: ArcSwap<IncidentsFile>,
    http: reqwest::Client,
    metrics: IncidentMetrics,
}

/// The incident stage. Cheap to clone.
#[derive(Clone)]
pub struct Incidents {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Incidents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incidents")
            .field("services", &self.inner.config.load().services.len())
            .finish_non_exhaustive()
    }
}

fn text(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::Invalid(format!("{field} must not be empty")));
    }
    if trimmed.len() > MAX_TEXT {
        return Err(Error::Invalid(format!(
            "{field} is {} bytes; at most {MAX_TEXT} are accepted",
            trimmed.len()
        )));
    }
    Ok(trimmed.to_owned())
}

/// Reads RFC 3339, or a date `YYYY-MM-DD` (midnight UTC).
pub(crate) fn parse_time(field: &str, value: &str) -> Result<i64> {
    if let Ok(t) = value.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(d) = value.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    Err(Error::Invalid(format!(
        "{field} {value:?} must be an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02)"
    )))
}

fn severity(value: Option<&str>, default: Severity) -> Result<Severity> {
    match value {
        None => Ok(default),
        Some(v) => Severity::parse(v).ok_or_else(|| {
            Error::Invalid(format!(
                "severity {v:?} is not one of SEV1, SEV2, SEV3, SEV4 (or critical, high, warning, info)"
            ))
        }),
    }
}

impl Incidents {
    /// Migrates the incident tables and starts the stage. `http` posts webhook runbook
    /// actions (built by the caller, which owns the process's TLS provider).
    pub async fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        paging: Arc<dyn Paging>,
        impact: Arc<dyn Impact>,
        config: IncidentsFile,
        http: reqwest::Client,
        metrics: IncidentMetrics,
    ) -> Result<Self> {
        store.migrate(&FEATURE).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                paging,
                impact,
                config: ArcSwap::from_pointee(config),
                http,
                metrics,
            }),
        })
    }

    /// Swaps in a new incidents file.
    pub fn reload(&self, config: IncidentsFile) {
        self.inner.config.store(Arc::new(config));
    }

    /// The incidents file in effect.
    pub fn config(&self) -> Arc<IncidentsFile> {
        self.inner.config.load_full()
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn repo(&self) -> tocsin_store::incident::IncidentRepo<'_> {
        self.inner.store.incident()
    }

    /// One incident.
    pub async fn get(&self, id: i64) -> Result<Incident> {
        let row = self
            .repo()
            .get(id)
            .await?
            .ok_or_else(|| Error::NotFound(display_id(id)))?;
        Incident::from_row(&row)
    }

    /// Incidents matching `filter`, newest first.
    pub async fn list(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        self.repo()
            .list(filter)
            .await?
            .iter()
            .map(Incident::from_row)
            .collect()
    }

    /// An incident's timeline.
    pub async fn timeline(&self, id: i64) -> Result<Vec<TimelineRow>> {
        self.get(id).await?;
        Ok(self.repo().timeline(id).await?)
    }

    /// The alerts an incident covers.
    pub async fn alerts(&self, id: i64) -> Result<Vec<IncidentAlertRow>> {
        Ok(self.repo().alerts(id).await?)
    }

    /// Budget burned per SLO.
    pub async fn budgets(&self, id: i64) -> Result<Vec<BudgetRow>> {
        Ok(self.repo().budgets(id).await?)
    }

    /// Runbook runs (the audit).
    pub async fn runbook_runs(&self, id: i64) -> Result<Vec<RunbookRunRow>> {
        self.get(id).await?;
        Ok(self.repo().runbook_runs(id).await?)
    }

    /// Applies `change` to the incident, compare-and-set, retrying on concurrent changes.
    /// `change` returns the timeline entries to store with the update.
    async fn mutate<F>(&self, id: i64, mut change: F) -> Result<Incident>
    where
        F: FnMut(&mut IncidentRow, &Incident, i64) -> Result<Vec<TimelineRow>>,
    {
        for _ in 0..CAS_ATTEMPTS {
            let row = self
                .repo()
                .get(id)
                .await?
                .ok_or_else(|| Error::NotFound(display_id(id)))?;
            let current = Incident::from_row(&row)?;
            let now = self.now();
            let mut next = row.clone();
            let timeline = change(&mut next, &current, now)?;
            // The token must change even for two updates within one millisecond.
            next.updated_at = now.max(row.updated_at + 1);
            if self
                .repo()
                .update_incident(&next, row.updated_at, &timeline)
                .await?
            {
                return Incident::from_row(&next);
            }
            tracing::debug!(incident = %display_id(id), "concurrent change; retrying");
        }
        Err(Error::Conflict(display_id(id)))
    }

    /// Opens an incident by hand.
    pub async fn open(&self, request: OpenRequest) -> Result<Incident> {
        let title = text("title", &request.title)?;
        let service = text("service", &request.service)?;
        let severity = severity(request.severity.as_deref(), Severity::Sev3)?;
        let detected_at = request
            .detected_at
            .as_deref()
            .map(|d| parse_time("detected_at", d))
            .transpose()?;
        let now = self.now();
        if let Some(d) = detected_at
            && d > now
        {
            return Err(Error::Invalid(format!(
                "detected_at {} is in the future",
                rfc3339(d)
            )));
        }
        let by = request.by.unwrap_or_else(|| "unknown".to_owned());
        let (incident, _) = self
            .insert(
                NewIncident {
                    title,
                    service,
                    severity,
                    source: SourceKind::Manual,
                    source_key: None,
                    detected_at,
                    labels: request.labels,
                    runbook_url: request.runbook_url,
                    escalation_policy: None,
                },
                &by,
                "opened by hand".to_owned(),
                serde_json::json!({}),
            )
            .await?;
        Ok(incident)
    }

    async fn insert(
        &self,
        new: NewIncident,
        by: &str,
        message: String,
        detail: serde_json::Value,
    ) -> Result<(Incident, bool)> {
        let config = self.config();
        let service_config = config.services.get(&new.service);
        let runbook_url = new
            .runbook_url
            .or_else(|| service_config.and_then(|s| s.runbook_url.clone()));
        let now = self.now();
        let row = IncidentRow {
            id: 0,
            title: new.title,
            service: new.service.clone(),
            team: config.team_of(&new.service),
            severity: new.severity.as_str().to_owned(),
            status: Status::Triage.as_str().to_owned(),
            source_kind: new.source.as_str().to_owned(),
            open_key: new.source_key.as_deref().map(|k| new.source.open_key(k)),
            source_key: new.source_key,
            detected_at: new.detected_at,
            opened_at: now,
            labels: new.labels,
            runbook_url: runbook_url.clone(),
            updated_at: now,
            ..IncidentRow::default()
        };
        let mut timeline = vec![entry(now, TimelineKind::Opened, Some(by), message, detail)];
        if let Some(url) = &runbook_url {
            timeline.push(entry(
                now,
                TimelineKind::RunbookLink,
                Some("tocsin"),
                format!("runbook: {url}"),
                serde_json::json!({ "url": url }),
            ));
        }
        let id = match self.repo().insert_incident(&row, &timeline).await? {
            Inserted::New(id) => id,
            Inserted::Existing(existing) => return Ok((Incident::from_row(&existing)?, false)),
        };
        let incident = self.get(id).await?;
        tracing::info!(incident = %incident.id, service = %incident.service, severity = %incident.severity, source = incident.source.as_str(), "incident opened");
        self.inner
            .metrics
            .opened
            .with_label_values(&[incident.source.as_str(), incident.severity.as_str()])
            .inc();
        let policy = new
            .escalation_policy
            .or_else(|| service_config.and_then(|s| s.escalation_policy.clone()));
        self.page(&incident, policy).await;
        self.run_on_trigger(&incident);
        Ok((incident, true))
    }

    async fn page(&self, incident: &Incident, escalation_policy: Option<String>) {
        let target = PageTarget {
            service: incident.service.clone(),
            escalation_policy,
        };
        let page = Page {
            incident: incident.id.clone(),
            title: incident.title.clone(),
            severity: incident.severity.as_str().to_owned(),
            service: incident.service.clone(),
            runbook_url: incident.runbook_url.clone(),
        };
        if let Err(e) = self.inner.paging.start(&incident.id, &target, &page).await {
            tracing::warn!(incident = %incident.id, error = %e, "paging did not start");
            self.record_quietly(
                incident.number,
                TimelineKind::PageSent,
                "tocsin",
                format!("paging did not start: {e}"),
                serde_json::json!({ "error": e }),
            )
            .await;
        }
    }

    /// Appends a timeline entry; failures are logged (the timeline is a record, not a gate).
    async fn record_quietly(
        &self,
        id: i64,
        kind: TimelineKind,
        actor: &str,
        message: String,
        detail: serde_json::Value,
    ) {
        let row = entry(self.now(), kind, Some(actor), message, detail);
        if let Err(e) = self.repo().append_timeline(id, &[row]).await {
            tracing::warn!(incident = %display_id(id), error = %e, "timeline entry not recorded");
        }
    }

    /// Records an event from elsewhere (the escalation engine: `page_sent`, `escalated`,
    /// `acked`, `ack_expired`) on the incident whose page key is `key` (`INC-42`).
    pub async fn record_paging_event(
        &self,
        key: &str,
        kind: &str,
        actor: &str,
        message: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let id = crate::model::parse_id(key)?;
        self.get(id).await?;
        let kind = match kind {
            "page_sent" => TimelineKind::PageSent,
            "escalated" => TimelineKind::Escalated,
            "acked" => TimelineKind::Status,
            "ack_expired" => TimelineKind::AckExpired,
            other => {
                return Err(Error::Invalid(format!(
                    "paging event kind {other:?} is not page_sent, escalated, acked or ack_expired"
                )));
            }
        };
        let row = entry(self.now(), kind, Some(actor), message, detail);
        self.repo().append_timeline(id, &[row]).await?;
        // Acknowledging the page (inbox, link) acknowledges the incident: that is the
        // moment MTTA measures. Paging already knows, so it is not told again.
        if kind == TimelineKind::Status && self.get(id).await?.status == Status::Triage {
            self.change_status(id, Status::Acknowledged, actor, None, false)
                .await?;
        }
        Ok(())
    }

    /// Changes the status, pages accordingly (ack stops escalation, resolve ends it) and on
    /// resolution records the SLO budget the incident burned.
    pub async fn transition(
        &self,
        id: i64,
        to: Status,
        by: &str,
        note: Option<&str>,
    ) -> Result<Incident> {
        self.change_status(id, to, by, note, true).await
    }

    /// `transition`, telling paging only when the change did not come from it.
    async fn change_status(
        &self,
        id: i64,
        to: Status,
        by: &str,
        note: Option<&str>,
        tell_paging: bool,
    ) -> Result<Incident> {
        let by = text("by", by)?;
        let note = note.map(|n| text("note", n)).transpose()?;
        let incident = self
            .mutate(id, |row, current, now| {
                apply_transition(row, current, to, now)?;
                let mut message = format!("{} → {to}", current.status);
                if let Some(n) = &note {
                    message.push_str(": ");
                    message.push_str(n);
                }
                Ok(vec![entry(
                    now,
                    TimelineKind::Status,
                    Some(&by),
                    message,
                    serde_json::json!({ "from": current.status, "to": to }),
                )])
            })
            .await?;
        tracing::info!(incident = %incident.id, status = %to, by = %by, "incident status changed");
        self.observe_change(&incident, to);
        let paging = match to {
            _ if !tell_paging => Ok(()),
            Status::Acknowledged | Status::Mitigated => {
                self.inner.paging.ack(&incident.id, &by, None).await
            }
            Status::Resolved | Status::Cancelled => self.inner.paging.resolve(&incident.id).await,
            Status::Triage | Status::Closed => Ok(()),
        };
        if let Err(e) = paging {
            tracing::warn!(incident = %incident.id, error = %e, "paging not updated");
        }
        if to == Status::Resolved {
            self.measure_impact(&incident).await;
        }
        Ok(incident)
    }

    fn observe_change(&self, incident: &Incident, to: Status) {
        let metrics = &self.inner.metrics;
        metrics
            .status_changes
            .with_label_values(&[to.as_str()])
            .inc();
        let seconds = |from: i64, until: Option<i64>| {
            until.map(|until| (until - from).max(0) as f64 / 1000.0)
        };
        match to {
            Status::Acknowledged => {
                if let Some(s) = seconds(incident.opened_at, incident.acknowledged_at) {
                    metrics.time_to_acknowledge.observe(s);
                }
            }
            Status::Resolved => {
                if let Some(s) = seconds(incident.opened_at, incident.resolved_at) {
                    metrics.time_to_resolve.observe(s);
                }
            }
            _ => {}
        }
    }

    /// Measures and records the budget burned between the start of the problem and the
    /// resolution; failures are logged and noted on the timeline.
    pub async fn measure_impact(&self, incident: &Incident) {
        let from = incident.detected_at.unwrap_or(incident.opened_at);
        let to = incident.resolved_at.unwrap_or_else(|| self.now());
        match self.inner.impact.impact(&incident.service, from, to).await {
            Ok(impacts) => {
                for i in impacts {
                    let row = BudgetRow {
                        incident_id: incident.number,
                        slo: i.slo.clone(),
                        consumed: i.budget_consumed,
                        bad_events: i.bad_events,
                        total_events: i.total_events,
                        at: self.now(),
                    };
                    if let Err(e) = self.repo().upsert_budget(&row).await {
                        tracing::warn!(incident = %incident.id, error = %e, "budget not recorded");
                    }
                    self.record_quietly(
                        incident.number,
                        TimelineKind::SloBudget,
                        "tocsin",
                        format!(
                            "SLO {} burned {:.1}% of its error budget",
                            i.slo,
                            i.budget_consumed * 100.0
                        ),
                        serde_json::to_value(&i).unwrap_or_default(),
                    )
                    .await;
                }
            }
            Err(e) => {
                tracing::warn!(incident = %incident.id, error = %e, "SLO impact not measured");
                self.record_quietly(
                    incident.number,
                    TimelineKind::SloBudget,
                    "tocsin",
                    format!("SLO impact could not be measured: {e}"),
                    serde_json::json!({ "error": e }),
                )
                .await;
            }
        }
    }

    /// Assigns (or with `None`, clears) a role.
    pub async fn assign(
        &self,
        id: i64,
        role: Role,
        person: Option<&str>,
        by: &str,
    ) -> Result<Incident> {
        let by = text("by", by)?;
        let person = person.map(|p| text("person", p)).transpose()?;
        self.mutate(id, |row, current, now| {
            let slot = match role {
                Role::Commander => &mut row.commander,
                Role::Scribe => &mut row.scribe,
                Role::Communications => &mut row.communications,
            };
            let before = slot.clone();
            slot.clone_from(&person);
            let message = match (&before, &person) {
                (_, Some(p)) => format!("{} is now {}", p, role.as_str()),
                (Some(b), None) => format!("{b} is no longer {}", role.as_str()),
                (None, None) => format!("{} stays unassigned", role.as_str()),
            };
            let _ = current;
            Ok(vec![entry(
                now,
                TimelineKind::Role,
                Some(&by),
                message,
                serde_json::json!({ "role": role, "from": before, "to": person }),
            )])
        })
        .await
    }

    /// Adds a note to the timeline.
    pub async fn note(&self, id: i64, note: &str, by: &str) -> Result<()> {
        let note = text("note", note)?;
        let by = text("by", by)?;
        self.get(id).await?;
        let row = entry(
            self.now(),
            TimelineKind::Note,
            Some(&by),
            note,
            serde_json::json!({}),
        );
        self.repo().append_timeline(id, &[row]).await?;
        Ok(())
    }

    /// Changes severity or title.
    pub async fn update(
        &self,
        id: i64,
        severity_text: Option<&str>,
        title: Option<&str>,
        by: &str,
    ) -> Result<Incident> {
        let by = text("by", by)?;
        let new_severity = severity_text
            .map(|s| severity(Some(s), Severity::Sev3))
            .transpose()?;
        let title = title.map(|t| text("title", t)).transpose()?;
        self.mutate(id, |row, current, now| {
            let mut changes = Vec::new();
            if let Some(s) = new_severity
                && s != current.severity
            {
                row.severity = s.as_str().to_owned();
                changes.push(format!("severity {} → {s}", current.severity));
            }
            if let Some(t) = &title
                && *t != current.title
            {
                row.title.clone_from(t);
                changes.push(format!("title → {t:?}"));
            }
            Ok(if changes.is_empty() {
                Vec::new()
            } else {
                vec![entry(
                    now,
                    TimelineKind::Updated,
                    Some(&by),
                    changes.join("; "),
                    serde_json::json!({}),
                )]
            })
        })
        .await
    }

    /// Opens or updates the incident of an alert group. Returns `None` when the group has
    /// only resolved alerts and no open incident (nothing to do).
    pub async fn alert_group(&self, group: &AlertGroup) -> Result<Option<Incident>> {
        let open_key = SourceKind::AlertGroup.open_key(&group.group_key);
        let firing: Vec<&GroupAlert> = group.alerts.iter().filter(|a| a.firing).collect();
        let existing = self.repo().find_open(&open_key).await?;
        let (incident, is_new) = match existing {
            Some(row) => (Incident::from_row(&row)?, false),
            None if firing.is_empty() => return Ok(None),
            None => {
                let label = |name: &str| group.common_labels.get(name).cloned();
                let service = group
                    .service
                    .clone()
                    .or_else(|| label("service"))
                    .unwrap_or_else(|| "unknown".to_owned());
                let title = group
                    .common_annotations
                    .get("summary")
                    .cloned()
                    .or_else(|| label("alertname"))
                    .unwrap_or_else(|| format!("alert group {}", group.group_key));
                let sev = label("severity")
                    .and_then(|s| Severity::parse(&s))
                    .unwrap_or(Severity::Sev3);
                let detected_at = firing.iter().map(|a| a.starts_at).min();
                let (incident, is_new) = self
                    .insert(
                        NewIncident {
                            title,
                            service,
                            severity: sev,
                            source: SourceKind::AlertGroup,
                            source_key: Some(group.group_key.clone()),
                            detected_at,
                            labels: group.common_labels.clone(),
                            runbook_url: group.common_annotations.get("runbook_url").cloned(),
                            escalation_policy: group.escalation_policy.clone(),
                        },
                        "tocsin",
                        format!(
                            "opened from alert group {} ({} firing)",
                            group.group_key,
                            firing.len()
                        ),
                        serde_json::json!({ "group_key": group.group_key }),
                    )
                    .await?;
                (incident, is_new)
            }
        };
        let known: BTreeMap<String, IncidentAlertRow> = self
            .repo()
            .alerts(incident.number)
            .await?
            .into_iter()
            .map(|a| (a.fingerprint.clone(), a))
            .collect();
        let now = self.now();
        let mut timeline = Vec::new();
        for alert in &group.alerts {
            let before = known.get(&alert.fingerprint);
            let name = alert
                .labels
                .get("alertname")
                .cloned()
                .unwrap_or_else(|| alert.fingerprint.clone());
            let was_firing = before.is_some_and(|b| b.resolved_at.is_none());
            let resolved_at = (!alert.firing).then(|| alert.ends_at.unwrap_or(now));
            if before.is_some() && was_firing == alert.firing {
                continue;
            }
            if before.is_none() && !alert.firing && is_new {
                continue;
            }
            self.repo()
                .upsert_alert(&IncidentAlertRow {
                    incident_id: incident.number,
                    fingerprint: alert.fingerprint.clone(),
                    labels: alert.labels.clone(),
                    starts_at: alert.starts_at,
                    resolved_at,
                })
                .await?;
            let (kind, message) = if alert.firing {
                (TimelineKind::AlertFiring, format!("alert {name} firing"))
            } else {
                (
                    TimelineKind::AlertResolved,
                    format!("alert {name} resolved"),
                )
            };
            timeline.push(entry(
                now,
                kind,
                Some("tocsin"),
                message,
                serde_json::json!({
                    "fingerprint": alert.fingerprint,
                    "labels": alert.labels,
                    "starts_at": rfc3339(alert.starts_at),
                }),
            ));
        }
        // Only when this notification resolved something: repeats of a resolved group add
        // nothing.
        if firing.is_empty() && !timeline.is_empty() {
            timeline.push(entry(
                now,
                TimelineKind::AlertResolved,
                Some("tocsin"),
                "every alert of the group resolved",
                serde_json::json!({ "group_key": group.group_key }),
            ));
        }
        if !timeline.is_empty() {
            self.repo()
                .append_timeline(incident.number, &timeline)
                .await?;
        }
        Ok(Some(incident))
    }

    /// Applies a PagerDuty Events v2 alert event. An unknown routing key is invalid (400);
    /// acknowledge and resolve without an open incident are dropped, as PagerDuty does.
    pub async fn pagerduty(&self, event: Event) -> Result<PagerdutyOutcome> {
        let config = self.config();
        let service = config
            .service_for_key(&event.routing_key)
            .ok_or_else(|| {
                Error::Invalid(
                    "'routing_key' is not the integration key of any service in the incidents file"
                        .to_owned(),
                )
            })?
            .to_owned();
        let dedup_key = event
            .dedup_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let source_key = format!("{service}/{dedup_key}");
        let open_key = SourceKind::Pagerduty.open_key(&source_key);
        let existing = self.repo().find_open(&open_key).await?;
        let links = |event: &Event| -> Vec<TimelineRow> {
            let now = self.now();
            event
                .links
                .iter()
                .chain(event.images.iter())
                .map(|l| {
                    entry(
                        now,
                        TimelineKind::RunbookLink,
                        Some("pagerduty"),
                        format!(
                            "link: {}{}",
                            l.href,
                            l.text
                                .as_deref()
                                .map(|t| format!(" ({t})"))
                                .unwrap_or_default()
                        ),
                        serde_json::to_value(l).unwrap_or_default(),
                    )
                })
                .collect()
        };
        let incident = match (event.action, existing) {
            (Action::Trigger, None) => {
                let payload = event.payload.clone().ok_or_else(|| {
                    Error::Invalid("'payload' is missing or not an object".to_owned())
                })?;
                let mut labels = payload.labels();
                labels.insert("dedup_key".to_owned(), dedup_key.clone());
                let (incident, is_new) = self
                    .insert(
                        NewIncident {
                            title: payload.summary.clone(),
                            service,
                            severity: payload.severity,
                            source: SourceKind::Pagerduty,
                            source_key: Some(source_key),
                            detected_at: payload.timestamp.filter(|t| *t <= self.now()),
                            labels,
                            runbook_url: None,
                            escalation_policy: None,
                        },
                        "pagerduty",
                        format!(
                            "opened from PagerDuty event{}",
                            event
                                .client
                                .as_deref()
                                .map(|c| format!(" sent by {c}"))
                                .unwrap_or_default()
                        ),
                        serde_json::json!({
                            "dedup_key": dedup_key,
                            "client": event.client,
                            "client_url": event.client_url,
                            "custom_details": payload.custom_details,
                        }),
                    )
                    .await?;
                if is_new {
                    self.repo()
                        .append_timeline(incident.number, &links(&event))
                        .await?;
                    return Ok(PagerdutyOutcome {
                        dedup_key,
                        incident: Some(incident.id),
                    });
                }
                incident
            }
            (_, Some(row)) => Incident::from_row(&row)?,
            (Action::Acknowledge | Action::Resolve, None) => {
                tracing::debug!(dedup_key = %dedup_key, action = event.action.as_str(), "PagerDuty event for no open incident; dropped");
                return Ok(PagerdutyOutcome {
                    dedup_key,
                    incident: None,
                });
            }
        };
        match event.action {
            Action::Trigger => {
                let mut rows = vec![entry(
                    self.now(),
                    TimelineKind::Pagerduty,
                    Some("pagerduty"),
                    format!(
                        "trigger repeated: {}",
                        event.payload.as_ref().map_or("", |p| p.summary.as_str())
                    ),
                    serde_json::json!({
                        "dedup_key": dedup_key,
                        "custom_details": event.payload.as_ref().and_then(|p| p.custom_details.clone()),
                    }),
                )];
                rows.extend(links(&event));
                self.repo().append_timeline(incident.number, &rows).await?;
            }
            Action::Acknowledge => {
                if incident.status == Status::Triage {
                    self.transition(incident.number, Status::Acknowledged, "pagerduty", None)
                        .await?;
                } else {
                    self.record_quietly(
                        incident.number,
                        TimelineKind::Pagerduty,
                        "pagerduty",
                        format!("acknowledge received while {}", incident.status),
                        serde_json::json!({ "dedup_key": dedup_key }),
                    )
                    .await;
                }
            }
            Action::Resolve => {
                self.transition(incident.number, Status::Resolved, "pagerduty", None)
                    .await?;
            }
        }
        Ok(PagerdutyOutcome {
            dedup_key,
            incident: Some(incident.id),
        })
    }

    /// Records a PagerDuty change event on the service, and on the timeline of its open
    /// incidents (a deploy during an incident is a lead).
    pub async fn pagerduty_change(&self, change: ChangeEvent) -> Result<()> {
        let config = self.config();
        let service = config
            .service_for_key(&change.routing_key)
            .ok_or_else(|| {
                Error::Invalid(
                    "'routing_key' is not the integration key of any service in the incidents file"
                        .to_owned(),
                )
            })?
            .to_owned();
        let now = self.now();
        let at = change.timestamp.unwrap_or(now);
        let detail = serde_json::json!({
            "links": change.links,
            "custom_details": change.custom_details,
        });
        self.repo()
            .insert_change(&ChangeRow {
                id: 0,
                service: service.clone(),
                at,
                summary: change.summary.clone(),
                source: change.source.clone().unwrap_or_default(),
                detail: detail.to_string(),
            })
            .await?;
        let open = self
            .list(&IncidentFilter {
                statuses: ["triage", "acknowledged", "mitigated"]
                    .map(str::to_owned)
                    .to_vec(),
                service: Some(service),
                ..IncidentFilter::default()
            })
            .await?;
        for incident in open {
            self.record_quietly(
                incident.number,
                TimelineKind::Change,
                change.source.as_deref().unwrap_or("pagerduty"),
                format!("change: {}", change.summary),
                detail.clone(),
            )
            .await;
        }
        Ok(())
    }

    /// MTTA/MTTD/MTTR over incidents opened in `[from, to)`, optionally of one service or
    /// team.
    pub async fn metrics(
        &self,
        from: i64,
        to: i64,
        service: Option<String>,
        team: Option<String>,
    ) -> Result<Report> {
        if to <= from {
            return Err(Error::Invalid(format!(
                "the range end {} is not after its start {}",
                rfc3339(to),
                rfc3339(from)
            )));
        }
        if (to - from) / (7 * 86_400_000) > MAX_WEEKS {
            return Err(Error::Invalid(format!(
                "the range spans more than {MAX_WEEKS} weeks; choose a shorter one"
            )));
        }
        let incidents = self
            .list(&IncidentFilter {
                service,
                team,
                opened_since: Some(from),
                opened_until: Some(to),
                limit: Some(100_000),
                ..IncidentFilter::default()
            })
            .await?;
        Ok(crate::stats::report(&incidents, from, to))
    }

    /// Generates the post-mortem Markdown; with `save`, stores it (keeping its review
    /// status) so the policy counts it.
    pub async fn postmortem_draft(&self, id: i64, by: &str, save: bool) -> Result<String> {
        let incident = self.get(id).await?;
        if self.repo().budgets(id).await?.is_empty() && incident.resolved_at.is_some() {
            self.measure_impact(&incident).await;
        }
        let timeline = self.repo().timeline(id).await?;
        let budgets = self.repo().budgets(id).await?;
        let items = self.repo().action_items(Some(id)).await?;
        let runs = self.repo().runbook_runs(id).await?;
        let alerts = self.repo().alerts(id).await?.len();
        let markdown = crate::postmortem::draft(&DraftInput {
            incident: &incident,
            timeline: &timeline,
            budgets: &budgets,
            action_items: &items,
            runbook_runs: &runs,
            alerts,
        });
        if save {
            let now = self.now();
            let existing = self.repo().postmortem(id).await?;
            self.repo()
                .upsert_postmortem(&PostmortemRow {
                    incident_id: id,
                    status: existing
                        .as_ref()
                        .map_or_else(|| "draft".to_owned(), |p| p.status.clone()),
                    markdown: markdown.clone(),
                    created_by: by.to_owned(),
                    created_at: existing.as_ref().map_or(now, |p| p.created_at),
                    updated_at: now,
                })
                .await?;
            if existing.is_none() {
                self.record_quietly(
                    id,
                    TimelineKind::Postmortem,
                    by,
                    "post-mortem drafted".to_owned(),
                    serde_json::json!({}),
                )
                .await;
            }
        }
        Ok(markdown)
    }

    /// Sets the review status of a stored post-mortem (`draft`, `in_review`, `published`).
    pub async fn set_postmortem_status(&self, id: i64, status: &str) -> Result<()> {
        if !["draft", "in_review", "published"].contains(&status) {
            return Err(Error::Invalid(format!(
                "post-mortem status {status:?} is not draft, in_review or published"
            )));
        }
        let mut pm = self.repo().postmortem(id).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "post-mortem for {}; draft one with `tocsin postmortem draft {}`",
                display_id(id),
                display_id(id)
            ))
        })?;
        status.clone_into(&mut pm.status);
        pm.updated_at = self.now();
        self.repo().upsert_postmortem(&pm).await?;
        Ok(())
    }

    /// Adds an action item to an incident.
    pub async fn add_action_item(&self, id: i64, req: ActionItemRequest) -> Result<ActionItemRow> {
        self.get(id).await?;
        let now = self.now();
        let mut item = ActionItemRow {
            id: 0,
            incident_id: id,
            title: text("title", req.title.as_deref().unwrap_or(""))?,
            owner: text("owner", req.owner.as_deref().unwrap_or(""))?,
            due_at: None,
            priority: "P3".to_owned(),
            link: None,
            status: "open".to_owned(),
            created_at: now,
            updated_at: now,
        };
        apply_item(
            &mut item,
            ActionItemRequest {
                title: None,
                owner: None,
                ..req
            },
        )?;
        item.id = self.repo().insert_action_item(&item).await?;
        self.record_quietly(
            id,
            TimelineKind::Postmortem,
            &item.owner,
            format!("action item #{} added: {}", item.id, item.title),
            serde_json::json!({ "action_item": item.id }),
        )
        .await;
        Ok(item)
    }

    /// Changes an action item.
    pub async fn update_action_item(
        &self,
        item_id: i64,
        req: ActionItemRequest,
    ) -> Result<ActionItemRow> {
        let mut item = self
            .repo()
            .action_item(item_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("action item #{item_id}")))?;
        apply_item(&mut item, req)?;
        item.updated_at = self.now();
        if !self.repo().update_action_item(&item).await? {
            return Err(Error::NotFound(format!("action item #{item_id}")));
        }
        Ok(item)
    }

    /// Deletes an action item.
    pub async fn delete_action_item(&self, item_id: i64) -> Result<()> {
        if self.repo().delete_action_item(item_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound(format!("action item #{item_id}")))
        }
    }

    /// Action items of one incident or all.
    pub async fn action_items(&self, id: Option<i64>) -> Result<Vec<ActionItemRow>> {
        Ok(self.repo().action_items(id).await?)
    }

    /// Incidents the policy says need a post-mortem they lack, and overdue action items.
    pub async fn policy(&self) -> Result<PolicyReport> {
        let config = self.config();
        let threshold = config.postmortem.budget_threshold;
        let have: std::collections::BTreeSet<i64> =
            self.repo().postmortem_ids().await?.into_iter().collect();
        let mut reasons: BTreeMap<i64, String> = BTreeMap::new();
        for b in self.repo().budgets_above(threshold).await? {
            if have.contains(&b.incident_id) {
                continue;
            }
            let reason = format!(
                "burned {:.1}% of SLO {}'s error budget (policy: more than {:.0}%)",
                b.consumed * 100.0,
                b.slo,
                threshold * 100.0
            );
            reasons.entry(b.incident_id).or_insert(reason);
        }
        let always: Vec<Severity> = config
            .postmortem
            .always_for
            .iter()
            .filter_map(|s| Severity::parse(s))
            .collect();
        if !always.is_empty() {
            for incident in self
                .list(&IncidentFilter {
                    limit: Some(100_000),
                    ..IncidentFilter::default()
                })
                .await?
            {
                if always.contains(&incident.severity)
                    && incident.status != Status::Cancelled
                    && !have.contains(&incident.number)
                {
                    reasons.entry(incident.number).or_insert_with(|| {
                        format!("{} incidents always need one", incident.severity)
                    });
                }
            }
        }
        let mut missing = Vec::new();
        for (id, reason) in reasons {
            let incident = self.get(id).await?;
            if incident.status == Status::Cancelled {
                continue;
            }
            missing.push(crate::postmortem::MissingPostmortem {
                id: incident.id,
                title: incident.title,
                service: incident.service,
                reason,
            });
        }
        let items = self.repo().action_items(None).await?;
        Ok(PolicyReport {
            budget_threshold: threshold,
            missing_postmortems: missing,
            overdue_action_items: crate::postmortem::overdue(&items, self.now()),
        })
    }

    /// Runs a runbook action for an incident, records the audit row and the output on the
    /// timeline. `params` override values taken from the incident's labels.
    pub async fn run_action(
        &self,
        id: i64,
        name: &str,
        by: &str,
        params: &BTreeMap<String, String>,
        trigger: &str,
    ) -> Result<RunbookRunRow> {
        let by = text("by", by)?;
        let incident = self.get(id).await?;
        let config = self.config();
        let action = config
            .runbook_actions
            .get(name)
            .ok_or_else(|| Error::Action {
                action: name.to_owned(),
                reason: format!(
                    "no such action; the incidents file defines: {}",
                    config
                        .runbook_actions
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        if !action.services.is_empty() && !action.services.contains(&incident.service) {
            return Err(Error::Action {
                action: name.to_owned(),
                reason: format!(
                    "it applies to services {} and not to {}",
                    action.services.join(", "),
                    incident.service
                ),
            });
        }
        let values = crate::runbook::resolve_params(name, action, &incident.labels, params)?;
        let invocation = crate::runbook::invocation(action, &values, incident.to_json());
        let timeout = StdDuration::from_millis(action.timeout.as_millis());
        let max = usize::try_from(action.max_output.bytes()).unwrap_or(usize::MAX);
        let started_at = self.now();
        tracing::info!(incident = %incident.id, action = name, by = %by, "runbook action started");
        let outcome: RunOutcome = match &invocation {
            Invocation::Command { argv } => {
                crate::runbook::run_command(argv, &action.env, timeout, max).await
            }
            Invocation::Webhook { url, body } => {
                crate::runbook::run_webhook(&self.inner.http, url, body, timeout, max).await
            }
        };
        let finished_at = self.now().max(started_at);
        let mut run = RunbookRunRow {
            id: 0,
            incident_id: id,
            action: name.to_owned(),
            requested_by: by.clone(),
            trigger: trigger.to_owned(),
            started_at,
            finished_at,
            invocation: serde_json::to_string(&invocation).unwrap_or_default(),
            outcome: outcome.outcome.to_owned(),
            exit_status: outcome.exit_status,
            output: outcome.output.clone(),
            truncated: outcome.truncated,
        };
        run.id = self.repo().insert_runbook_run(&run).await?;
        tracing::info!(incident = %incident.id, action = name, outcome = outcome.outcome, exit_status = ?outcome.exit_status, "runbook action finished");
        self.inner
            .metrics
            .runbook_actions
            .with_label_values(&[outcome.outcome])
            .inc();
        self.record_quietly(
            id,
            TimelineKind::RunbookAction,
            &by,
            format!(
                "runbook action {name}: {}{}",
                outcome.outcome,
                outcome
                    .exit_status
                    .map(|s| format!(" (exit status {s})"))
                    .unwrap_or_default()
            ),
            serde_json::json!({
                "run": run.id,
                "invocation": invocation,
                "output": outcome.output,
                "truncated": outcome.truncated,
            }),
        )
        .await;
        Ok(run)
    }

    /// Starts the actions marked `on_trigger` for a new incident, in the background.
    fn run_on_trigger(&self, incident: &Incident) {
        let config = self.config();
        for (name, action) in &config.runbook_actions {
            if !action.on_trigger
                || (!action.services.is_empty() && !action.services.contains(&incident.service))
            {
                continue;
            }
            let this = self.clone();
            let name = name.clone();
            let id = incident.number;
            tokio::spawn(async move {
                if let Err(e) = this
                    .run_action(id, &name, "tocsin", &BTreeMap::new(), "trigger")
                    .await
                {
                    tracing::warn!(incident = %display_id(id), action = %name, error = %e, "runbook action on trigger not run");
                    this.record_quietly(
                        id,
                        TimelineKind::RunbookAction,
                        "tocsin",
                        format!("runbook action {name} not run: {e}"),
                        serde_json::json!({}),
                    )
                    .await;
                }
            });
        }
    }
}

struct NewIncident {
    title: String,
    service: String,
    severity: Severity,
    source: SourceKind,
    source_key: Option<String>,
    detected_at: Option<i64>,
    labels: BTreeMap<String, String>,
    runbook_url: Option<String>,
    escalation_policy: Option<String>,
}

fn apply_item(item: &mut ActionItemRow, req: ActionItemRequest) -> Result<()> {
    if let Some(t) = req.title {
        item.title = text("title", &t)?;
    }
    if let Some(o) = req.owner {
        item.owner = text("owner", &o)?;
    }
    if let Some(d) = req.due {
        item.due_at = if d.trim().is_empty() {
            None
        } else {
            Some(parse_time("due", d.trim())?)
        };
    }
    if let Some(p) = req.priority {
        let p = p.trim().to_ascii_uppercase();
        if !PRIORITIES.contains(&p.as_str()) {
            return Err(Error::Invalid(format!(
                "priority {p:?} is not one of {}",
                PRIORITIES.join(", ")
            )));
        }
        item.priority = p;
    }
    if let Some(l) = req.link {
        item.link = (!l.trim().is_empty()).then(|| l.trim().to_owned());
    }
    if let Some(s) = req.status {
        if !ITEM_STATUSES.contains(&s.as_str()) {
            return Err(Error::Invalid(format!(
                "status {s:?} is not one of {}",
                ITEM_STATUSES.join(", ")
            )));
        }
        item.status = s;
    }
    Ok(())
}
