//! Alerting's tables: alert state (so acknowledged alerts and the inhibitions they cause
//! survive a restart), silences, the notification log, history of every alert state change
//! and notification, acknowledgements of groups, and feedback on notifications.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query;
use crate::{Backend, Error, Feature, Migration, Result, Store};

/// Alerting's migrations.
pub const FEATURE: Feature = Feature {
    name: "alerting",
    migrations: &[
        Migration {
            version: 1,
            name: "init",
            sqlite: include_str!("../migrations/sqlite/alerting/0001_init.sql"),
            postgres: include_str!("../migrations/postgres/alerting/0001_init.sql"),
        },
        Migration {
            version: 2,
            name: "ack_alerts",
            sqlite: include_str!("../migrations/sqlite/alerting/0002_ack_alerts.sql"),
            postgres: include_str!("../migrations/postgres/alerting/0002_ack_alerts.sql"),
        },
        Migration {
            version: 3,
            name: "feedback_links",
            sqlite: include_str!("../migrations/sqlite/alerting/0003_feedback_links.sql"),
            postgres: include_str!("../migrations/postgres/alerting/0003_feedback_links.sql"),
        },
    ],
};

/// Rows per multi-row INSERT: at most 12 columns × 256 rows = 3,072 parameters, well under
/// SQLite's (32,766) and PostgreSQL's (65,535) limits. Binding is linear in the parameters
/// since SQLite gets anonymous `?` ([`placeholders`]).
const BATCH_ROWS: usize = 256;

/// An alert as last received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Alertmanager's fingerprint of the labels (16 hex digits).
    pub fingerprint: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Unix ms.
    pub starts_at: i64,
    /// Unix ms.
    pub ends_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Link back to the rule.
    pub generator_url: String,
    /// Whether `ends_at` was set by tocsin (no end given by the sender).
    pub timeout: bool,
}

/// A silence matcher as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatcherRow {
    /// Label name.
    pub name: String,
    /// Value or pattern.
    pub value: String,
    /// `=~`/`!~`.
    pub is_regex: bool,
    /// `=`/`=~` (false: `!=`/`!~`).
    pub is_equal: bool,
}

/// A silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRow {
    /// UUID.
    pub id: String,
    /// Matchers, all of which must match.
    pub matchers: Vec<MatcherRow>,
    /// Unix ms.
    pub starts_at: i64,
    /// Unix ms.
    pub ends_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Author.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// tocsin: recurrence (a time-interval spec as JSON); the silence mutes only inside it.
    pub recurrence: Option<String>,
    /// tocsin: warn this many ms before the silence ends.
    pub warn_before: Option<i64>,
    /// tocsin: when the expiry warning was sent.
    pub warned_at: Option<i64>,
}

/// A notification log entry: what a receiver integration was last told about a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NflogRow {
    /// `receiver/integration/index`.
    pub receiver: String,
    /// The aggregation group key.
    pub group_key: String,
    /// Hashes of the alerts firing at that notification.
    pub firing: Vec<u64>,
    /// Hashes of the alerts resolved at that notification.
    pub resolved: Vec<u64>,
    /// Unix ms.
    pub sent_at: i64,
    /// Unix ms after which the entry is forgotten.
    pub expires_at: i64,
}

/// One history record: an alert state change or a notification attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Assigned on insert.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// `alert` or `notification` (or `silence`, `ack`).
    pub kind: String,
    /// Alert fingerprint, for alert records.
    pub fingerprint: Option<String>,
    /// The alertname label.
    pub alertname: Option<String>,
    /// The service label.
    pub service: Option<String>,
    /// Aggregation group key.
    pub group_key: Option<String>,
    /// Receiver (notifications).
    pub receiver: Option<String>,
    /// Route key.
    pub route: Option<String>,
    /// `firing`, `resolved`, `sent`, `failed`, ...
    pub state: String,
    /// Outcome detail for notifications: `success`, `retry`, `error`.
    pub outcome: Option<String>,
    /// The id a notification carried in its payload (notifications only).
    pub notification_id: Option<String>,
    /// JSON detail (labels, alert counts, error).
    pub detail: String,
}

/// What to return from the history.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this alert.
    pub fingerprint: Option<String>,
    /// Only this alertname.
    pub alertname: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this group.
    pub group_key: Option<String>,
    /// Only this receiver.
    pub receiver: Option<String>,
    /// Only this notification.
    pub notification_id: Option<String>,
    /// Only this state (`sent`, `firing`, ...).
    pub state: Option<String>,
    /// From (Unix ms, inclusive).
    pub since: Option<i64>,
    /// To (Unix ms, exclusive).
    pub until: Option<i64>,
    /// Most records, newest first (default 1000).
    pub limit: Option<i64>,
}

/// An acknowledgement of an alert group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRow {
    /// The group.
    pub group_key: String,
    /// Who.
    pub acked_by: String,
    /// Why.
    pub comment: String,
    /// Unix ms.
    pub acked_at: i64,
    /// Unix ms after which the group notifies again; `None` until it resolves.
    pub expires_at: Option<i64>,
    /// Label hashes (16 hex digits) of the alerts the acknowledgement covers.
    pub alerts: Vec<String>,
}

/// Feedback on a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRow {
    /// Assigned on insert.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// The group notified.
    pub group_key: String,
    /// Receiver.
    pub receiver: String,
    /// Route key.
    pub route: String,
    /// alertname of the group (or empty).
    pub alertname: String,
    /// service label of the group (or empty).
    pub service: String,
    /// `actionable` or `noise`.
    pub verdict: String,
    /// Who said so.
    pub author: String,
    /// Why.
    pub comment: String,
    /// The notification the feedback is about, when it was named.
    pub notification_id: Option<String>,
}

/// One cell of the noise report: one grouping value in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Grouping value (alertname, service or route; empty when the label is missing).
    pub key: String,
    /// Start of the bucket (Unix ms).
    pub bucket_start: i64,
    /// Notifications delivered.
    pub notifications: i64,
    /// Alerts that started firing.
    pub alerts_fired: i64,
    /// Feedback marked actionable.
    pub actionable: i64,
    /// Feedback marked noise.
    pub noise: i64,
}

/// Alerting's queries. Obtained from [`Store::alerting`].
#[derive(Debug, Clone, Copy)]
pub struct AlertingRepo<'a> {
    store: &'a Store,
}

impl Store {
    /// Alerting's repository.
    pub fn alerting(&self) -> AlertingRepo<'_> {
        AlertingRepo { store: self }
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Maps of strings and vectors of numbers always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn from_json<T: for<'de> Deserialize<'de>>(table: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|err| Error::Decode {
        table,
        reason: err.to_string(),
    })
}

fn get<'r, T>(row: &'r AnyRow, table: &'static str, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(|err| Error::Decode {
        table,
        reason: format!("{column}: {err}"),
    })
}

/// `($1, $2, ...), ($n+1, ...)` for `rows` rows of `columns` columns; on SQLite, anonymous
/// `?` instead. Both bind in order, but SQLite finds a numbered parameter by scanning every
/// parameter name of the statement (`sqlite3_bind_parameter_name`), so binding `$N` costs the
/// square of a statement's parameters: it was a tenth of all instructions in an alert storm.
fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(row * columns + column + 1).to_string());
                }
            }
        }
        out.push(')');
    }
    out
}

impl AlertingRepo<'_> {
    fn pool(&self) -> &sqlx::AnyPool {
        &self.store.pool
    }

    /// Stores alerts (insert or replace by fingerprint) in one transaction.
    pub async fn upsert_alerts(&self, alerts: &[AlertRow]) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        // A fingerprint twice in one statement is an error in PostgreSQL; keep the last.
        let mut last: BTreeMap<&str, &AlertRow> = BTreeMap::new();
        for alert in alerts {
            last.insert(&alert.fingerprint, alert);
        }
        let rows: Vec<&AlertRow> = last.into_values().collect();
        let mut tx = self.pool().begin().await.map_err(query("begin"))?;
        for chunk in rows.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO alerting_alerts (fingerprint, labels, annotations, starts_at, \
                 ends_at, updated_at, generator_url, timeout) VALUES {} \
                 ON CONFLICT (fingerprint) DO UPDATE SET labels = excluded.labels, \
                 annotations = excluded.annotations, starts_at = excluded.starts_at, \
                 ends_at = excluded.ends_at, updated_at = excluded.updated_at, \
                 generator_url = excluded.generator_url, timeout = excluded.timeout",
                placeholders(self.store.backend(), chunk.len(), 8)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in chunk {
                q = q
                    .bind(a.fingerprint.clone())
                    .bind(to_json(&a.labels))
                    .bind(to_json(&a.annotations))
                    .bind(a.starts_at)
                    .bind(a.ends_at)
                    .bind(a.updated_at)
                    .bind(a.generator_url.clone())
                    .bind(i64::from(a.timeout));
            }
            q.execute(&mut *tx).await.map_err(query("upsert alerts"))?;
        }
        tx.commit().await.map_err(query("commit alerts"))?;
        Ok(())
    }

    /// Forgets alerts.
    pub async fn delete_alerts(&self, fingerprints: &[String]) -> Result<()> {
        let mut tx = self.pool().begin().await.map_err(query("begin"))?;
        for chunk in fingerprints.chunks(BATCH_ROWS) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM alerting_alerts WHERE fingerprint IN ({})",
                list.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for fp in chunk {
                q = q.bind(fp.clone());
            }
            q.execute(&mut *tx).await.map_err(query("delete alerts"))?;
        }
        tx.commit().await.map_err(query("commit alerts"))?;
        Ok(())
    }

    /// Every stored alert.
    pub async fn list_alerts(&self) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT fingerprint, labels, annotations, starts_at, ends_at, updated_at, \
             generator_url, timeout FROM alerting_alerts",
        )
        .fetch_all(self.pool())
        .await
        .map_err(query("list alerts"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "alerting_alerts";
                Ok(AlertRow {
                    fingerprint: get(row, T, "fingerprint")?,
                    labels: from_json(T, &get::<String>(row, T, "labels")?)?,
                    annotations: from_json(T, &get::<String>(row, T, "annotations")?)?,
                    starts_at: get(row, T, "starts_at")?,
                    ends_at: get(row, T, "ends_at")?,
                    updated_at: get(row, T, "updated_at")?,
                    generator_url: get(row, T, "generator_url")?,
                    timeout: get::<i64>(row, T, "timeout")? != 0,
                })
            })
            .collect()
    }

    /// Creates or replaces a silence.
    pub async fn upsert_silence(&self, s: &SilenceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO alerting_silences (id, matchers, starts_at, ends_at, updated_at, \
             created_by, comment, recurrence, warn_before, warned_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, \
             starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
             updated_at = excluded.updated_at, created_by = excluded.created_by, \
             comment = excluded.comment, recurrence = excluded.recurrence, \
             warn_before = excluded.warn_before, warned_at = excluded.warned_at",
        )
        .bind(s.id.clone())
        .bind(to_json(&s.matchers))
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(s.updated_at)
        .bind(s.created_by.clone())
        .bind(s.comment.clone())
        .bind(s.recurrence.clone())
        .bind(s.warn_before)
        .bind(s.warned_at)
        .execute(self.pool())
        .await
        .map_err(query("upsert silence"))?;
        Ok(())
    }

    /// Every silence.
    pub async fn list_silences(&self) -> Result<Vec<SilenceRow>> {
        let rows = sqlx::query(
            "SELECT id, matchers, starts_at, ends_at, updated_at, created_by, comment, \
             recurrence, warn_before, warned_at FROM alerting_silences",
        )
        .fetch_all(self.pool())
        .await
        .map_err(query("list silences"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "alerting_silences";
                Ok(SilenceRow {
                    id: get(row, T, "id")?,
                    matchers: from_json(T, &get::<String>(row, T, "matchers")?)?,
                    starts_at: get(row, T, "starts_at")?,
                    ends_at: get(row, T, "ends_at")?,
                    updated_at: get(row, T, "updated_at")?,
                    created_by: get(row, T, "created_by")?,
                    comment: get(row, T, "comment")?,
                    recurrence: get(row, T, "recurrence")?,
                    warn_before: get(row, T, "warn_before")?,
                    warned_at: get(row, T, "warned_at")?,
                })
            })
            .collect()
    }

    /// Deletes silences that ended before `before` (retention).
    pub async fn delete_silences_ended_before(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM alerting_silences WHERE ends_at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(query("delete silences"))?;
        Ok(done.rows_affected())
    }

    /// Records a notification (replacing the previous entry of that receiver and group).
    pub async fn upsert_nflog(&self, e: &NflogRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO alerting_nflog (receiver, group_key, firing, resolved, sent_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (receiver, group_key) DO UPDATE SET firing = excluded.firing, \
             resolved = excluded.resolved, sent_at = excluded.sent_at, \
             expires_at = excluded.expires_at",
        )
        .bind(e.receiver.clone())
        .bind(e.group_key.clone())
        .bind(to_json(&e.firing))
        .bind(to_json(&e.resolved))
        .bind(e.sent_at)
        .bind(e.expires_at)
        .execute(self.pool())
        .await
        .map_err(query("upsert nflog"))?;
        Ok(())
    }

    /// Every notification log entry.
    pub async fn list_nflog(&self) -> Result<Vec<NflogRow>> {
        let rows = sqlx::query(
            "SELECT receiver, group_key, firing, resolved, sent_at, expires_at FROM alerting_nflog",
        )
        .fetch_all(self.pool())
        .await
        .map_err(query("list nflog"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "alerting_nflog";
                Ok(NflogRow {
                    receiver: get(row, T, "receiver")?,
                    group_key: get(row, T, "group_key")?,
                    firing: from_json(T, &get::<String>(row, T, "firing")?)?,
                    resolved: from_json(T, &get::<String>(row, T, "resolved")?)?,
                    sent_at: get(row, T, "sent_at")?,
                    expires_at: get(row, T, "expires_at")?,
                })
            })
            .collect()
    }

    /// Forgets entries that expired before `now`.
    pub async fn delete_nflog_expired(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM alerting_nflog WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(query("delete nflog"))?;
        Ok(done.rows_affected())
    }

    /// Appends history records (their `id` is ignored and assigned by the database).
    pub async fn insert_history(&self, records: &[HistoryRow]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await.map_err(query("begin"))?;
        for chunk in records.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO alerting_history (at, kind, fingerprint, alertname, service, \
                 group_key, receiver, route, state, outcome, notification_id, detail) VALUES {}",
                placeholders(self.store.backend(), chunk.len(), 12)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(r.at)
                    .bind(r.kind.clone())
                    .bind(r.fingerprint.clone())
                    .bind(r.alertname.clone())
                    .bind(r.service.clone())
                    .bind(r.group_key.clone())
                    .bind(r.receiver.clone())
                    .bind(r.route.clone())
                    .bind(r.state.clone())
                    .bind(r.outcome.clone())
                    .bind(r.notification_id.clone())
                    .bind(r.detail.clone());
            }
            q.execute(&mut *tx).await.map_err(query("insert history"))?;
        }
        tx.commit().await.map_err(query("commit history"))?;
        Ok(())
    }

    /// History records matching `filter`, newest first.
    pub async fn query_history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryRow>> {
        let mut sql = String::from(
            "SELECT id, at, kind, fingerprint, alertname, service, group_key, receiver, route, \
             state, outcome, notification_id, detail FROM alerting_history WHERE 1 = 1",
        );
        let mut texts: Vec<String> = Vec::new();
        let mut n = 0;
        for (column, value) in [
            ("kind", &filter.kind),
            ("fingerprint", &filter.fingerprint),
            ("alertname", &filter.alertname),
            ("service", &filter.service),
            ("group_key", &filter.group_key),
            ("receiver", &filter.receiver),
            ("notification_id", &filter.notification_id),
            ("state", &filter.state),
        ] {
            if let Some(value) = value {
                n += 1;
                sql.push_str(&format!(" AND {column} = ${n}"));
                texts.push(value.clone());
            }
        }
        let mut numbers: Vec<i64> = Vec::new();
        if let Some(since) = filter.since {
            n += 1;
            sql.push_str(&format!(" AND at >= ${n}"));
            numbers.push(since);
        }
        if let Some(until) = filter.until {
            n += 1;
            sql.push_str(&format!(" AND at < ${n}"));
            numbers.push(until);
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT ${n}"));
        numbers.push(filter.limit.unwrap_or(1000).clamp(1, 100_000));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for text in texts {
            q = q.bind(text);
        }
        for number in numbers {
            q = q.bind(number);
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(query("query history"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "alerting_history";
                Ok(HistoryRow {
                    id: get(row, T, "id")?,
                    at: get(row, T, "at")?,
                    kind: get(row, T, "kind")?,
                    fingerprint: get(row, T, "fingerprint")?,
                    alertname: get(row, T, "alertname")?,
                    service: get(row, T, "service")?,
                    group_key: get(row, T, "group_key")?,
                    receiver: get(row, T, "receiver")?,
                    route: get(row, T, "route")?,
                    state: get(row, T, "state")?,
                    outcome: get(row, T, "outcome")?,
                    notification_id: get(row, T, "notification_id")?,
                    detail: get(row, T, "detail")?,
                })
            })
            .collect()
    }

    /// Deletes history older than `before` (retention).
    pub async fn prune_history(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM alerting_history WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(query("prune history"))?;
        Ok(done.rows_affected())
    }

    /// Acknowledges a group (replacing an earlier acknowledgement).
    pub async fn upsert_ack(&self, ack: &AckRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO alerting_acks (group_key, acked_by, comment, acked_at, expires_at, alerts) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (group_key) DO UPDATE SET \
             acked_by = excluded.acked_by, comment = excluded.comment, \
             acked_at = excluded.acked_at, expires_at = excluded.expires_at, \
             alerts = excluded.alerts",
        )
        .bind(ack.group_key.clone())
        .bind(ack.acked_by.clone())
        .bind(ack.comment.clone())
        .bind(ack.acked_at)
        .bind(ack.expires_at)
        .bind(to_json(&ack.alerts))
        .execute(self.pool())
        .await
        .map_err(query("upsert ack"))?;
        Ok(())
    }

    /// Removes a group's acknowledgement; whether there was one.
    pub async fn delete_ack(&self, group_key: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM alerting_acks WHERE group_key = $1")
            .bind(group_key.to_owned())
            .execute(self.pool())
            .await
            .map_err(query("delete ack"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Every acknowledgement.
    pub async fn list_acks(&self) -> Result<Vec<AckRow>> {
        let rows = sqlx::query(
            "SELECT group_key, acked_by, comment, acked_at, expires_at, alerts FROM alerting_acks",
        )
        .fetch_all(self.pool())
        .await
        .map_err(query("list acks"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "alerting_acks";
                Ok(AckRow {
                    group_key: get(row, T, "group_key")?,
                    acked_by: get(row, T, "acked_by")?,
                    comment: get(row, T, "comment")?,
                    acked_at: get(row, T, "acked_at")?,
                    expires_at: get(row, T, "expires_at")?,
                    alerts: from_json(T, &get::<String>(row, T, "alerts")?)?,
                })
            })
            .collect()
    }

    /// Records feedback on a notification.
    pub async fn insert_feedback(&self, f: &FeedbackRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO alerting_feedback (at, group_key, receiver, route, alertname, service, \
             verdict, author, comment, notification_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(f.at)
        .bind(f.group_key.clone())
        .bind(f.receiver.clone())
        .bind(f.route.clone())
        .bind(f.alertname.clone())
        .bind(f.service.clone())
        .bind(f.verdict.clone())
        .bind(f.author.clone())
        .bind(f.comment.clone())
        .bind(f.notification_id.clone())
        .execute(self.pool())
        .await
        .map_err(query("insert feedback"))?;
        Ok(())
    }

    /// Feedback given in `[since, until)`, newest first (at most `limit`).
    pub async fn list_feedback(
        &self,
        since: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<FeedbackRow>> {
        let rows = sqlx::query(
            "SELECT id, at, group_key, receiver, route, alertname, service, verdict, author, \
             comment, notification_id FROM alerting_feedback WHERE at >= $1 AND at < $2 \
             ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(since)
        .bind(until)
        .bind(limit.clamp(1, 100_000))
        .fetch_all(self.pool())
        .await
        .map_err(query("list feedback"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "alerting_feedback";
                Ok(FeedbackRow {
                    id: get(row, T, "id")?,
                    at: get(row, T, "at")?,
                    group_key: get(row, T, "group_key")?,
                    receiver: get(row, T, "receiver")?,
                    route: get(row, T, "route")?,
                    alertname: get(row, T, "alertname")?,
                    service: get(row, T, "service")?,
                    verdict: get(row, T, "verdict")?,
                    author: get(row, T, "author")?,
                    comment: get(row, T, "comment")?,
                    notification_id: get(row, T, "notification_id")?,
                })
            })
            .collect()
    }

    /// Per `by` value (`alertname`, `service` or `route`) and per bucket of `step` ms from
    /// `since` (bucket `i` covers `[since + i*step, since + (i+1)*step)`), up to `until`:
    /// notifications delivered (`sent`, and `recorded` by receivers without integrations),
    /// alerts that started firing, and feedback by verdict. Sorted by key, then bucket.
    pub async fn noise_report(
        &self,
        by: ReportBy,
        since: i64,
        until: i64,
        step: i64,
    ) -> Result<Vec<ReportRow>> {
        // The caller validates the step; this only keeps the division defined.
        let step = step.max(1);
        let (history_key, feedback_key) = match by {
            ReportBy::Alertname => ("COALESCE(alertname, '')", "alertname"),
            ReportBy::Route => ("COALESCE(route, '')", "route"),
            ReportBy::Service => ("COALESCE(service, '')", "service"),
        };
        // Buckets by integer division; positional GROUP BY works on both engines.
        let history_sql = format!(
            "SELECT {history_key} AS k, (at - $1) / $3 AS b, \
             SUM(CASE WHEN kind = 'notification' THEN 1 ELSE 0 END) AS notifications, \
             SUM(CASE WHEN kind = 'alert' THEN 1 ELSE 0 END) AS fired \
             FROM alerting_history WHERE at >= $1 AND at < $2 AND \
             ((kind = 'notification' AND state IN ('sent', 'recorded')) \
              OR (kind = 'alert' AND state = 'firing')) GROUP BY 1, 2"
        );
        let feedback_sql = format!(
            "SELECT {feedback_key} AS k, (at - $1) / $3 AS b, \
             SUM(CASE WHEN verdict = 'noise' THEN 1 ELSE 0 END) AS noise, \
             SUM(CASE WHEN verdict = 'noise' THEN 0 ELSE 1 END) AS actionable \
             FROM alerting_feedback WHERE at >= $1 AND at < $2 GROUP BY 1, 2"
        );
        let mut rows_out: BTreeMap<(String, i64), ReportRow> = BTreeMap::new();
        let history = sqlx::query(sqlx::AssertSqlSafe(history_sql))
            .bind(since)
            .bind(until)
            .bind(step)
            .fetch_all(self.pool())
            .await
            .map_err(query("noise report"))?;
        for row in &history {
            const T: &str = "alerting_history";
            let key: String = get(row, T, "k")?;
            let bucket: i64 = get(row, T, "b")?;
            let r = report_row(&mut rows_out, key, bucket, since, step);
            r.notifications += get::<i64>(row, T, "notifications")?;
            r.alerts_fired += get::<i64>(row, T, "fired")?;
        }
        let feedback = sqlx::query(sqlx::AssertSqlSafe(feedback_sql))
            .bind(since)
            .bind(until)
            .bind(step)
            .fetch_all(self.pool())
            .await
            .map_err(query("noise report"))?;
        for row in &feedback {
            const T: &str = "alerting_feedback";
            let key: String = get(row, T, "k")?;
            let bucket: i64 = get(row, T, "b")?;
            let r = report_row(&mut rows_out, key, bucket, since, step);
            r.noise += get::<i64>(row, T, "noise")?;
            r.actionable += get::<i64>(row, T, "actionable")?;
        }
        Ok(rows_out.into_values().collect())
    }
}

fn report_row(
    rows: &mut BTreeMap<(String, i64), ReportRow>,
    key: String,
    bucket: i64,
    since: i64,
    step: i64,
) -> &mut ReportRow {
    rows.entry((key.clone(), bucket))
        .or_insert_with(|| ReportRow {
            key,
            bucket_start: since + bucket * step,
            notifications: 0,
            alerts_fired: 0,
            actionable: 0,
            noise: 0,
        })
}

/// What the volume report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBy {
    /// The alertname label.
    Alertname,
    /// The service label.
    Service,
    /// The route.
    Route,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_major() {
        assert_eq!(placeholders(Backend::Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }
}
