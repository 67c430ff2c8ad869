//! The incident stage's tables: incidents (with a unique "open key" per source so a second
//! trigger finds the incident still open), their timelines, the alerts they cover, SLO budget
//! burned, post-mortems, action items, the audit of runbook actions, and change events.
//!
//! Updates of an incident are compare-and-set on `updated_at`: two replicas (or a CLI and a
//! webhook) changing the same incident at once cannot overwrite each other silently.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query;
use crate::{Error, Feature, Migration, Result, Store};

/// The incident stage's migrations.
pub const FEATURE: Feature = Feature {
    name: "incident",
    migrations: &[Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/incident/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/incident/0001_init.sql"),
    }],
};

/// An incident as stored. Statuses, severities and sources are the incident crate's names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncidentRow {
    /// Assigned on insert (shown as `INC-<id>`).
    pub id: i64,
    /// One line.
    pub title: String,
    /// The affected service.
    pub service: String,
    /// The team owning the service (empty when unknown).
    pub team: String,
    /// `SEV1`..`SEV4`.
    pub severity: String,
    /// Lifecycle status.
    pub status: String,
    /// `alert_group`, `pagerduty` or `manual`.
    pub source_kind: String,
    /// Group key or dedup key.
    pub source_key: Option<String>,
    /// Unique while the incident is open, `None` once it is resolved: a new trigger with the
    /// same key then opens a new incident.
    pub open_key: Option<String>,
    /// Unix ms when the problem began (the alert's `startsAt`), if known.
    pub detected_at: Option<i64>,
    /// Unix ms.
    pub opened_at: i64,
    /// Unix ms.
    pub acknowledged_at: Option<i64>,
    /// Unix ms.
    pub mitigated_at: Option<i64>,
    /// Unix ms.
    pub resolved_at: Option<i64>,
    /// Unix ms.
    pub closed_at: Option<i64>,
    /// Unix ms.
    pub cancelled_at: Option<i64>,
    /// Incident commander.
    pub commander: Option<String>,
    /// Scribe.
    pub scribe: Option<String>,
    /// Communications lead.
    pub communications: Option<String>,
    /// Runbook link.
    pub runbook_url: Option<String>,
    /// Labels of the source (alert group labels, PagerDuty payload fields).
    pub labels: BTreeMap<String, String>,
    /// Unix ms of the last change; the compare-and-set token.
    pub updated_at: i64,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// Assigned on insert.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// Unix ms.
    pub at: i64,
    /// `opened`, `status`, `note`, `alert_firing`, `page_sent`, ...
    pub kind: String,
    /// Who (a user, `pagerduty`, `tocsin`).
    pub actor: Option<String>,
    /// Human-readable line.
    pub message: String,
    /// JSON detail.
    pub detail: String,
}

/// An alert an incident covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentAlertRow {
    /// The incident.
    pub incident_id: i64,
    /// Alert fingerprint (or a PagerDuty dedup key).
    pub fingerprint: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Unix ms.
    pub starts_at: i64,
    /// Unix ms, once resolved.
    pub resolved_at: Option<i64>,
}

/// Error budget an incident burned, per SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRow {
    /// The incident.
    pub incident_id: i64,
    /// SLO name.
    pub slo: String,
    /// Fraction of the window's budget burned during the incident (0.25 = 25%).
    pub consumed: f64,
    /// Bad events during the incident, for event-based SLIs.
    pub bad_events: Option<f64>,
    /// All events during the incident, for event-based SLIs.
    pub total_events: Option<f64>,
    /// Unix ms when it was measured.
    pub at: i64,
}

/// A post-mortem document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemRow {
    /// The incident.
    pub incident_id: i64,
    /// `draft`, `in_review` or `published`.
    pub status: String,
    /// The Markdown.
    pub markdown: String,
    /// Who created it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A post-mortem action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItemRow {
    /// Assigned on insert.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// What to do.
    pub title: String,
    /// Who.
    pub owner: String,
    /// Unix ms.
    pub due_at: Option<i64>,
    /// `P1`..`P4`.
    pub priority: String,
    /// Tracker link.
    pub link: Option<String>,
    /// `open`, `in_progress`, `done`, `wont_do`.
    pub status: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// The audit record of one runbook action run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookRunRow {
    /// Assigned on insert.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// Action name.
    pub action: String,
    /// Who asked (a user, or `tocsin` for actions run on trigger).
    pub requested_by: String,
    /// `request` or `trigger`.
    pub trigger: String,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms.
    pub finished_at: i64,
    /// JSON: the argv or the webhook URL and body that ran.
    pub invocation: String,
    /// `success`, `failed`, `timeout`, `error`.
    pub outcome: String,
    /// Exit code of a command, HTTP status of a webhook.
    pub exit_status: Option<i64>,
    /// Captured output, at most the action's limit.
    pub output: String,
    /// Whether output was cut at the limit.
    pub truncated: bool,
}

/// A change event (deploy, config change) on a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Assigned on insert.
    pub id: i64,
    /// The service.
    pub service: String,
    /// Unix ms.
    pub at: i64,
    /// One line.
    pub summary: String,
    /// Where it came from.
    pub source: String,
    /// JSON detail (links, custom details).
    pub detail: String,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Only these statuses (empty: all).
    pub statuses: Vec<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this team.
    pub team: Option<String>,
    /// Opened at or after (Unix ms).
    pub opened_since: Option<i64>,
    /// Opened before (Unix ms).
    pub opened_until: Option<i64>,
    /// Most rows, newest first (default 1000).
    pub limit: Option<i64>,
}

/// The incident stage's queries. Obtained from [`Store::incident`].
#[derive(Debug, Clone, Copy)]
pub struct IncidentRepo<'a> {
    store: &'a Store,
}

impl Store {
    /// The incident stage's repository.
    pub fn incident(&self) -> IncidentRepo<'_> {
        IncidentRepo { store: self }
    }
}

const INCIDENT_COLUMNS: &str = "id, title, service, team, severity, status, source_kind, \
    source_key, open_key, detected_at, opened_at, acknowledged_at, mitigated_at, resolved_at, \
    closed_at, cancelled_at, commander, scribe, communications, runbook_url, labels, updated_at";

fn decode_err(table: &'static str) -> impl Fn(&str, sqlx::Error) -> Error {
    move |column, err| Error::Decode {
        table,
        reason: format!("{column}: {err}"),
    }
}

fn get<'r, T>(row: &'r AnyRow, table: &'static str, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|e| decode_err(table)(column, e))
}

fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

fn labels_from(table: &'static str, text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| Error::Decode {
        table,
        reason: format!("labels: {e}"),
    })
}

fn incident_from(row: &AnyRow) -> Result<IncidentRow> {
    const T: &str = "incident_incidents";
    let labels: String = get(row, T, "labels")?;
    Ok(IncidentRow {
        id: get(row, T, "id")?,
        title: get(row, T, "title")?,
        service: get(row, T, "service")?,
        team: get(row, T, "team")?,
        severity: get(row, T, "severity")?,
        status: get(row, T, "status")?,
        source_kind: get(row, T, "source_kind")?,
        source_key: get(row, T, "source_key")?,
        open_key: get(row, T, "open_key")?,
        detected_at: get(row, T, "detected_at")?,
        opened_at: get(row, T, "opened_at")?,
        acknowledged_at: get(row, T, "acknowledged_at")?,
        mitigated_at: get(row, T, "mitigated_at")?,
        resolved_at: get(row, T, "resolved_at")?,
        closed_at: get(row, T, "closed_at")?,
        cancelled_at: get(row, T, "cancelled_at")?,
        commander: get(row, T, "commander")?,
        scribe: get(row, T, "scribe")?,
        communications: get(row, T, "communications")?,
        runbook_url: get(row, T, "runbook_url")?,
        labels: labels_from(T, &labels)?,
        updated_at: get(row, T, "updated_at")?,
    })
}

fn timeline_from(row: &AnyRow) -> Result<TimelineRow> {
    const T: &str = "incident_timeline";
    Ok(TimelineRow {
        id: get(row, T, "id")?,
        incident_id: get(row, T, "incident_id")?,
        at: get(row, T, "at")?,
        kind: get(row, T, "kind")?,
        actor: get(row, T, "actor")?,
        message: get(row, T, "message")?,
        detail: get(row, T, "detail")?,
    })
}

fn action_item_from(row: &AnyRow) -> Result<ActionItemRow> {
    const T: &str = "incident_action_items";
    Ok(ActionItemRow {
        id: get(row, T, "id")?,
        incident_id: get(row, T, "incident_id")?,
        title: get(row, T, "title")?,
        owner: get(row, T, "owner")?,
        due_at: get(row, T, "due_at")?,
        priority: get(row, T, "priority")?,
        link: get(row, T, "link")?,
        status: get(row, T, "status")?,
        created_at: get(row, T, "created_at")?,
        updated_at: get(row, T, "updated_at")?,
    })
}

/// Whether a driver error is a unique-constraint violation (a concurrent open of the same
/// source), which the caller resolves by reading the winner.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

async fn insert_timeline_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    incident_id: i64,
    entries: &[TimelineRow],
) -> Result<()> {
    for e in entries {
        sqlx::query(
            "INSERT INTO incident_timeline (incident_id, at, kind, actor, message, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(incident_id)
        .bind(e.at)
        .bind(e.kind.clone())
        .bind(e.actor.clone())
        .bind(e.message.clone())
        .bind(e.detail.clone())
        .execute(&mut **tx)
        .await
        .map_err(query("insert timeline entry"))?;
    }
    Ok(())
}

/// What [`IncidentRepo::insert_incident`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new incident with this id.
    New(i64),
    /// An incident with the same open key is already open (another writer won the race).
    Existing(Box<IncidentRow>),
}

impl IncidentRepo<'_> {
    fn pool(&self) -> &sqlx::AnyPool {
        &self.store.pool
    }

    /// Inserts an incident (its `id` is ignored) with its first timeline entries in one
    /// transaction. When `open_key` is taken by an open incident, returns that one instead.
    pub async fn insert_incident(
        &self,
        row: &IncidentRow,
        timeline: &[TimelineRow],
    ) -> Result<Inserted> {
        // Looked up first: a PostgreSQL sequence value spent on a failed insert leaves a gap
        // in the incident numbers, so only a true race should reach the constraint.
        if let Some(key) = &row.open_key
            && let Some(existing) = self.find_open(key).await?
        {
            return Ok(Inserted::Existing(Box::new(existing)));
        }
        let mut tx = self.pool().begin().await.map_err(query("begin"))?;
        let inserted = sqlx::query(
            "INSERT INTO incident_incidents (title, service, team, severity, status, \
             source_kind, source_key, open_key, detected_at, opened_at, acknowledged_at, \
             mitigated_at, resolved_at, closed_at, cancelled_at, commander, scribe, \
             communications, runbook_url, labels, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id",
        )
        .bind(row.title.clone())
        .bind(row.service.clone())
        .bind(row.team.clone())
        .bind(row.severity.clone())
        .bind(row.status.clone())
        .bind(row.source_kind.clone())
        .bind(row.source_key.clone())
        .bind(row.open_key.clone())
        .bind(row.detected_at)
        .bind(row.opened_at)
        .bind(row.acknowledged_at)
        .bind(row.mitigated_at)
        .bind(row.resolved_at)
        .bind(row.closed_at)
        .bind(row.cancelled_at)
        .bind(row.commander.clone())
        .bind(row.scribe.clone())
        .bind(row.communications.clone())
        .bind(row.runbook_url.clone())
        .bind(labels_json(&row.labels))
        .bind(row.updated_at)
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(r) => get(&r, "incident_incidents", "id")?,
            Err(err) if is_unique_violation(&err) => {
                drop(tx);
                let key = row.open_key.as_deref().unwrap_or_default();
                return match self.find_open(key).await? {
                    Some(existing) => Ok(Inserted::Existing(Box::new(existing))),
                    None => Err(query("insert incident")(err)),
                };
            }
            Err(err) => return Err(query("insert incident")(err)),
        };
        insert_timeline_in(&mut tx, id, timeline).await?;
        tx.commit().await.map_err(query("commit incident"))?;
        Ok(Inserted::New(id))
    }

    /// One incident.
    pub async fn get(&self, id: i64) -> Result<Option<IncidentRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incident_incidents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(query("get incident"))?;
        row.as_ref().map(incident_from).transpose()
    }

    /// The open incident holding `open_key`.
    pub async fn find_open(&self, open_key: &str) -> Result<Option<IncidentRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incident_incidents WHERE open_key = $1"
        )))
        .bind(open_key.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(query("find open incident"))?;
        row.as_ref().map(incident_from).transpose()
    }

    /// The most recent incident from `source_kind`/`source_key`, open or not.
    pub async fn find_latest_by_source(
        &self,
        source_kind: &str,
        source_key: &str,
    ) -> Result<Option<IncidentRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incident_incidents \
             WHERE source_kind = $1 AND source_key = $2 ORDER BY id DESC LIMIT 1"
        )))
        .bind(source_kind.to_owned())
        .bind(source_key.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(query("find incident by source"))?;
        row.as_ref().map(incident_from).transpose()
    }

    /// Writes `row` if the stored incident still has `expected_updated_at`, with timeline
    /// entries in the same transaction. Returns false when someone else changed it first.
    pub async fn update_incident(
        &self,
        row: &IncidentRow,
        expected_updated_at: i64,
        timeline: &[TimelineRow],
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.map_err(query("begin"))?;
        let done = sqlx::query(
            "UPDATE incident_incidents SET title = $1, service = $2, team = $3, severity = $4, \
             status = $5, open_key = $6, detected_at = $7, acknowledged_at = $8, \
             mitigated_at = $9, resolved_at = $10, closed_at = $11, cancelled_at = $12, \
             commander = $13, scribe = $14, communications = $15, runbook_url = $16, \
             labels = $17, updated_at = $18 WHERE id = $19 AND updated_at = $20",
        )
        .bind(row.title.clone())
        .bind(row.service.clone())
        .bind(row.team.clone())
        .bind(row.severity.clone())
        .bind(row.status.clone())
        .bind(row.open_key.clone())
        .bind(row.detected_at)
        .bind(row.acknowledged_at)
        .bind(row.mitigated_at)
        .bind(row.resolved_at)
        .bind(row.closed_at)
        .bind(row.cancelled_at)
        .bind(row.commander.clone())
        .bind(row.scribe.clone())
        .bind(row.communications.clone())
        .bind(row.runbook_url.clone())
        .bind(labels_json(&row.labels))
        .bind(row.updated_at)
        .bind(row.id)
        .bind(expected_updated_at)
        .execute(&mut *tx)
        .await
        .map_err(query("update incident"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_timeline_in(&mut tx, row.id, timeline).await?;
        tx.commit().await.map_err(query("commit incident"))?;
        Ok(true)
    }

    /// Incidents matching `filter`, newest first.
    pub async fn list(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRow>> {
        let mut sql = format!("SELECT {INCIDENT_COLUMNS} FROM incident_incidents WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        let mut statuses = Vec::new();
        if !filter.statuses.is_empty() {
            let marks: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| {
                    statuses.push(s.clone());
                    format!("${}", next())
                })
                .collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        }
        if filter.service.is_some() {
            sql.push_str(&format!(" AND service = ${}", next()));
        }
        if filter.team.is_some() {
            sql.push_str(&format!(" AND team = ${}", next()));
        }
        if filter.opened_since.is_some() {
            sql.push_str(&format!(" AND opened_at >= ${}", next()));
        }
        if filter.opened_until.is_some() {
            sql.push_str(&format!(" AND opened_at < ${}", next()));
        }
        sql.push_str(&format!(
            " ORDER BY opened_at DESC, id DESC LIMIT ${}",
            next()
        ));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in statuses {
            q = q.bind(s);
        }
        if let Some(v) = &filter.service {
            q = q.bind(v.clone());
        }
        if let Some(v) = &filter.team {
            q = q.bind(v.clone());
        }
        if let Some(v) = filter.opened_since {
            q = q.bind(v);
        }
        if let Some(v) = filter.opened_until {
            q = q.bind(v);
        }
        q = q.bind(filter.limit.unwrap_or(1000));
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(query("list incidents"))?;
        rows.iter().map(incident_from).collect()
    }

    /// Appends timeline entries of one incident (their `id` and `incident_id` are ignored).
    pub async fn append_timeline(&self, incident_id: i64, entries: &[TimelineRow]) -> Result<()> {
        let mut tx = self.pool().begin().await.map_err(query("begin"))?;
        insert_timeline_in(&mut tx, incident_id, entries).await?;
        tx.commit().await.map_err(query("commit timeline"))?;
        Ok(())
    }

    /// An incident's timeline, oldest first (ties in insertion order).
    pub async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineRow>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, at, kind, actor, message, detail FROM incident_timeline \
             WHERE incident_id = $1 ORDER BY at, id",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await
        .map_err(query("read timeline"))?;
        rows.iter().map(timeline_from).collect()
    }

    /// Records an alert as covered (insert or update by fingerprint).
    pub async fn upsert_alert(&self, alert: &IncidentAlertRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_alerts (incident_id, fingerprint, labels, starts_at, \
             resolved_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, fingerprint) \
             DO UPDATE SET labels = excluded.labels, starts_at = excluded.starts_at, \
             resolved_at = excluded.resolved_at",
        )
        .bind(alert.incident_id)
        .bind(alert.fingerprint.clone())
        .bind(labels_json(&alert.labels))
        .bind(alert.starts_at)
        .bind(alert.resolved_at)
        .execute(self.pool())
        .await
        .map_err(query("upsert incident alert"))?;
        Ok(())
    }

    /// The alerts of an incident, by fingerprint.
    pub async fn alerts(&self, incident_id: i64) -> Result<Vec<IncidentAlertRow>> {
        const T: &str = "incident_alerts";
        let rows = sqlx::query(
            "SELECT incident_id, fingerprint, labels, starts_at, resolved_at FROM \
             incident_alerts WHERE incident_id = $1 ORDER BY fingerprint",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await
        .map_err(query("list incident alerts"))?;
        rows.iter()
            .map(|row| {
                let labels: String = get(row, T, "labels")?;
                Ok(IncidentAlertRow {
                    incident_id: get(row, T, "incident_id")?,
                    fingerprint: get(row, T, "fingerprint")?,
                    labels: labels_from(T, &labels)?,
                    starts_at: get(row, T, "starts_at")?,
                    resolved_at: get(row, T, "resolved_at")?,
                })
            })
            .collect()
    }

    /// Records the budget an incident burned on one SLO (replacing an earlier measurement).
    pub async fn upsert_budget(&self, b: &BudgetRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_budget (incident_id, slo, consumed, bad_events, total_events, \
             at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id, slo) DO UPDATE SET \
             consumed = excluded.consumed, bad_events = excluded.bad_events, \
             total_events = excluded.total_events, at = excluded.at",
        )
        .bind(b.incident_id)
        .bind(b.slo.clone())
        .bind(b.consumed)
        .bind(b.bad_events)
        .bind(b.total_events)
        .bind(b.at)
        .execute(self.pool())
        .await
        .map_err(query("upsert incident budget"))?;
        Ok(())
    }

    /// Budget burned by an incident, per SLO (by name).
    pub async fn budgets(&self, incident_id: i64) -> Result<Vec<BudgetRow>> {
        self.budget_rows("WHERE incident_id = $1", Some(incident_id), None)
            .await
    }

    /// Every budget record above `threshold` (a fraction), by incident.
    pub async fn budgets_above(&self, threshold: f64) -> Result<Vec<BudgetRow>> {
        self.budget_rows("WHERE consumed > $1", None, Some(threshold))
            .await
    }

    async fn budget_rows(
        &self,
        filter: &str,
        id: Option<i64>,
        threshold: Option<f64>,
    ) -> Result<Vec<BudgetRow>> {
        const T: &str = "incident_budget";
        let sql = format!(
            "SELECT incident_id, slo, consumed, bad_events, total_events, at FROM \
             incident_budget {filter} ORDER BY incident_id, slo"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(id) = id {
            q = q.bind(id);
        }
        if let Some(t) = threshold {
            q = q.bind(t);
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(query("read incident budgets"))?;
        rows.iter()
            .map(|row| {
                Ok(BudgetRow {
                    incident_id: get(row, T, "incident_id")?,
                    slo: get(row, T, "slo")?,
                    consumed: get(row, T, "consumed")?,
                    bad_events: get(row, T, "bad_events")?,
                    total_events: get(row, T, "total_events")?,
                    at: get(row, T, "at")?,
                })
            })
            .collect()
    }

    /// Stores a post-mortem (insert or replace; `created_*` are kept on replace).
    pub async fn upsert_postmortem(&self, p: &PostmortemRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_postmortems (incident_id, status, markdown, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id) \
             DO UPDATE SET status = excluded.status, markdown = excluded.markdown, \
             updated_at = excluded.updated_at",
        )
        .bind(p.incident_id)
        .bind(p.status.clone())
        .bind(p.markdown.clone())
        .bind(p.created_by.clone())
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(self.pool())
        .await
        .map_err(query("upsert post-mortem"))?;
        Ok(())
    }

    /// The post-mortem of an incident.
    pub async fn postmortem(&self, incident_id: i64) -> Result<Option<PostmortemRow>> {
        const T: &str = "incident_postmortems";
        let row = sqlx::query(
            "SELECT incident_id, status, markdown, created_by, created_at, updated_at FROM \
             incident_postmortems WHERE incident_id = $1",
        )
        .bind(incident_id)
        .fetch_optional(self.pool())
        .await
        .map_err(query("get post-mortem"))?;
        row.map(|row| {
            Ok(PostmortemRow {
                incident_id: get(&row, T, "incident_id")?,
                status: get(&row, T, "status")?,
                markdown: get(&row, T, "markdown")?,
                created_by: get(&row, T, "created_by")?,
                created_at: get(&row, T, "created_at")?,
                updated_at: get(&row, T, "updated_at")?,
            })
        })
        .transpose()
    }

    /// Ids of the incidents that have a post-mortem.
    pub async fn postmortem_ids(&self) -> Result<Vec<i64>> {
        sqlx::query_scalar("SELECT incident_id FROM incident_postmortems ORDER BY incident_id")
            .fetch_all(self.pool())
            .await
            .map_err(query("list post-mortems"))
    }

    /// Adds an action item (its `id` is ignored); returns its id.
    pub async fn insert_action_item(&self, a: &ActionItemRow) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO incident_action_items (incident_id, title, owner, due_at, priority, \
             link, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(a.incident_id)
        .bind(a.title.clone())
        .bind(a.owner.clone())
        .bind(a.due_at)
        .bind(a.priority.clone())
        .bind(a.link.clone())
        .bind(a.status.clone())
        .bind(a.created_at)
        .bind(a.updated_at)
        .fetch_one(self.pool())
        .await
        .map_err(query("insert action item"))?;
        get(&row, "incident_action_items", "id")
    }

    /// Replaces an action item's fields; false when there is no such item.
    pub async fn update_action_item(&self, a: &ActionItemRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE incident_action_items SET title = $1, owner = $2, due_at = $3, \
             priority = $4, link = $5, status = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(a.title.clone())
        .bind(a.owner.clone())
        .bind(a.due_at)
        .bind(a.priority.clone())
        .bind(a.link.clone())
        .bind(a.status.clone())
        .bind(a.updated_at)
        .bind(a.id)
        .execute(self.pool())
        .await
        .map_err(query("update action item"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes an action item; false when there was none.
    pub async fn delete_action_item(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM incident_action_items WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(query("delete action item"))?;
        Ok(done.rows_affected() > 0)
    }

    /// One action item.
    pub async fn action_item(&self, id: i64) -> Result<Option<ActionItemRow>> {
        let row = sqlx::query(
            "SELECT id, incident_id, title, owner, due_at, priority, link, status, created_at, \
             updated_at FROM incident_action_items WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(query("get action item"))?;
        row.as_ref().map(action_item_from).transpose()
    }

    /// Action items of one incident, or of all incidents, by id.
    pub async fn action_items(&self, incident_id: Option<i64>) -> Result<Vec<ActionItemRow>> {
        let base = "SELECT id, incident_id, title, owner, due_at, priority, link, status, \
                    created_at, updated_at FROM incident_action_items";
        let rows = match incident_id {
            Some(id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{base} WHERE incident_id = $1 ORDER BY id"
                )))
                .bind(id)
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{base} ORDER BY id")))
                    .fetch_all(self.pool())
                    .await
            }
        }
        .map_err(query("list action items"))?;
        rows.iter().map(action_item_from).collect()
    }

    /// Records a runbook action run; returns its id.
    pub async fn insert_runbook_run(&self, r: &RunbookRunRow) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO incident_runbook_runs (incident_id, action, requested_by, run_trigger, \
             started_at, finished_at, invocation, outcome, exit_status, output, truncated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(r.incident_id)
        .bind(r.action.clone())
        .bind(r.requested_by.clone())
        .bind(r.trigger.clone())
        .bind(r.started_at)
        .bind(r.finished_at)
        .bind(r.invocation.clone())
        .bind(r.outcome.clone())
        .bind(r.exit_status)
        .bind(r.output.clone())
        .bind(i64::from(r.truncated))
        .fetch_one(self.pool())
        .await
        .map_err(query("insert runbook run"))?;
        get(&row, "incident_runbook_runs", "id")
    }

    /// The runbook runs of an incident, oldest first.
    pub async fn runbook_runs(&self, incident_id: i64) -> Result<Vec<RunbookRunRow>> {
        const T: &str = "incident_runbook_runs";
        let rows = sqlx::query(
            "SELECT id, incident_id, action, requested_by, run_trigger, started_at, \
             finished_at, invocation, outcome, exit_status, output, truncated FROM \
             incident_runbook_runs WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await
        .map_err(query("list runbook runs"))?;
        rows.iter()
            .map(|row| {
                let truncated: i64 = get(row, T, "truncated")?;
                Ok(RunbookRunRow {
                    id: get(row, T, "id")?,
                    incident_id: get(row, T, "incident_id")?,
                    action: get(row, T, "action")?,
                    requested_by: get(row, T, "requested_by")?,
                    trigger: get(row, T, "run_trigger")?,
                    started_at: get(row, T, "started_at")?,
                    finished_at: get(row, T, "finished_at")?,
                    invocation: get(row, T, "invocation")?,
                    outcome: get(row, T, "outcome")?,
                    exit_status: get(row, T, "exit_status")?,
                    output: get(row, T, "output")?,
                    truncated: truncated != 0,
                })
            })
            .collect()
    }

    /// Records a change event; returns its id.
    pub async fn insert_change(&self, c: &ChangeRow) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO incident_changes (service, at, summary, source, detail) VALUES ($1, \
             $2, $3, $4, $5) RETURNING id",
        )
        .bind(c.service.clone())
        .bind(c.at)
        .bind(c.summary.clone())
        .bind(c.source.clone())
        .bind(c.detail.clone())
        .fetch_one(self.pool())
        .await
        .map_err(query("insert change event"))?;
        get(&row, "incident_changes", "id")
    }

    /// Change events of a service in `[since, until)`, oldest first.
    pub async fn changes(&self, service: &str, since: i64, until: i64) -> Result<Vec<ChangeRow>> {
        const T: &str = "incident_changes";
        let rows = sqlx::query(
            "SELECT id, service, at, summary, source, detail FROM incident_changes WHERE \
             service = $1 AND at >= $2 AND at < $3 ORDER BY at, id",
        )
        .bind(service.to_owned())
        .bind(since)
        .bind(until)
        .fetch_all(self.pool())
        .await
        .map_err(query("list change events"))?;
        rows.iter()
            .map(|row| {
                Ok(ChangeRow {
                    id: get(row, T, "id")?,
                    service: get(row, T, "service")?,
                    at: get(row, T, "at")?,
                    summary: get(row, T, "summary")?,
                    source: get(row, T, "source")?,
                    detail: get(row, T, "detail")?,
                })
            })
            .collect()
    }
}
