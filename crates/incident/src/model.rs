//! The incident model: ids, severities, the status lifecycle and its validation, roles,
//! sources and timeline entries, and their conversion from the store's rows.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use tocsin_store::incident::{IncidentRow, TimelineRow};

use crate::{Error, Result};

/// `INC-42` for id 42.
pub fn display_id(id: i64) -> String {
    format!("INC-{id}")
}

/// Reads `INC-42`, `inc-42` or `42`.
pub fn parse_id(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("INC-")
        .or_else(|| trimmed.strip_prefix("inc-"))
        .unwrap_or(trimmed);
    match digits.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::BadId(text.to_owned())),
    }
}

/// RFC 3339 with milliseconds, for messages and JSON.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| format!("{ms}ms"), |t| t.to_string())
}

/// How bad: SEV1 (worst) to SEV4. One scheme everywhere; other vocabularies map onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// Critical: customer-facing outage or data loss.
    #[serde(rename = "SEV1")]
    Sev1,
    /// Major degradation of a customer-facing function.
    #[serde(rename = "SEV2")]
    Sev2,
    /// Minor or internal degradation.
    #[serde(rename = "SEV3")]
    Sev3,
    /// Low impact, informational.
    #[serde(rename = "SEV4")]
    Sev4,
}

impl Severity {
    /// `SEV1`..`SEV4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sev1 => "SEV1",
            Self::Sev2 => "SEV2",
            Self::Sev3 => "SEV3",
            Self::Sev4 => "SEV4",
        }
    }

    /// Reads `SEV1`..`SEV4` (any case, or `1`..`4`) and the common words alerts and PagerDuty
    /// use: critical/page → SEV1, high/error/major → SEV2, warning/medium/minor → SEV3,
    /// info/low/none → SEV4.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "sev1" | "1" | "critical" | "page" => Self::Sev1,
            "sev2" | "2" | "high" | "error" | "major" => Self::Sev2,
            "sev3" | "3" | "warning" | "medium" | "minor" => Self::Sev3,
            "sev4" | "4" | "info" | "low" | "none" => Self::Sev4,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened; nobody has taken it yet.
    Triage,
    /// Someone is working on it.
    Acknowledged,
    /// The impact has stopped; the cause may remain.
    Mitigated,
    /// Fixed.
    Resolved,
    /// Reviewed and done (post-mortem written where required).
    Closed,
    /// Not an incident after all (a false alarm, a duplicate).
    Cancelled,
}

impl Status {
    /// All statuses in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::Triage,
        Self::Acknowledged,
        Self::Mitigated,
        Self::Resolved,
        Self::Closed,
        Self::Cancelled,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Acknowledged => "acknowledged",
            Self::Mitigated => "mitigated",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a status name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the incident still needs work (paging continues, triggers dedup into it).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Triage | Self::Acknowledged | Self::Mitigated)
    }

    /// The statuses reachable from this one.
    pub fn next(self) -> &'static [Self] {
        match self {
            Self::Triage => &[
                Self::Acknowledged,
                Self::Mitigated,
                Self::Resolved,
                Self::Cancelled,
            ],
            Self::Acknowledged => &[Self::Mitigated, Self::Resolved, Self::Cancelled],
            Self::Mitigated => &[Self::Resolved],
            Self::Resolved => &[Self::Closed],
            Self::Closed | Self::Cancelled => &[],
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that `from` may become `to`, with an error naming the current status and what is
/// allowed instead.
pub fn check_transition(id: i64, from: Status, to: Status) -> Result<()> {
    if from.next().contains(&to) {
        return Ok(());
    }
    let hint = if from == to {
        format!("it is already {to}")
    } else if from.next().is_empty() {
        format!("{from} is final")
    } else {
        let names: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
        format!("from {from} it can become {}", names.join(", "))
    };
    Err(Error::Transition {
        id: display_id(id),
        from: from.as_str(),
        to: to.as_str(),
        hint,
    })
}

/// Incident roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the response and decides.
    Commander,
    /// Keeps the record.
    Scribe,
    /// Talks to stakeholders and customers.
    Communications,
}

impl Role {
    /// The name used in the API and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commander => "commander",
            Self::Scribe => "scribe",
            Self::Communications => "communications",
        }
    }

    /// Reads `commander` (or `ic`, `incident_commander`), `scribe`, `communications` (or
    /// `comms`).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "commander" | "ic" | "incident_commander" => Self::Commander,
            "scribe" => Self::Scribe,
            "communications" | "comms" => Self::Communications,
            _ => return None,
        })
    }
}

/// How an incident was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An alert group handed over by the router's `oncall_configs` receiver.
    AlertGroup,
    /// A PagerDuty Events API v2 trigger.
    Pagerduty,
    /// By a person (API or CLI).
    Manual,
}

impl SourceKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlertGroup => "alert_group",
            Self::Pagerduty => "pagerduty",
            Self::Manual => "manual",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::AlertGroup, Self::Pagerduty, Self::Manual]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The open key of a source key: unique among open incidents.
    pub fn open_key(self, key: &str) -> String {
        format!("{}:{key}", self.as_str())
    }
}

/// Who holds each role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// Incident commander.
    pub commander: Option<String>,
    /// Scribe.
    pub scribe: Option<String>,
    /// Communications lead.
    pub communications: Option<String>,
}

/// An incident as the API and CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// `INC-42`.
    pub id: String,
    /// 42.
    pub number: i64,
    /// One line.
    pub title: String,
    /// The affected service.
    pub service: String,
    /// The owning team (empty when unknown).
    pub team: String,
    /// SEV1..SEV4.
    pub severity: Severity,
    /// Lifecycle status.
    pub status: Status,
    /// How it was opened.
    pub source: SourceKind,
    /// The alert group key or PagerDuty dedup key.
    pub source_key: Option<String>,
    /// When the problem began, if known (Unix ms).
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
    /// Roles.
    pub roles: Roles,
    /// Runbook link.
    pub runbook_url: Option<String>,
    /// Labels of the source.
    pub labels: BTreeMap<String, String>,
    /// Unix ms of the last change.
    pub updated_at: i64,
}

impl Incident {
    /// Reads a stored row; a status or severity this version does not know is a decode error.
    pub fn from_row(row: &IncidentRow) -> Result<Self> {
        let bad = |what: &str, value: &str| {
            Error::Store(tocsin_store::Error::Decode {
                table: "incident_incidents",
                reason: format!("{what} {value:?} of incident {}", row.id),
            })
        };
        Ok(Self {
            id: display_id(row.id),
            number: row.id,
            title: row.title.clone(),
            service: row.service.clone(),
            team: row.team.clone(),
            severity: Severity::parse(&row.severity)
                .ok_or_else(|| bad("severity", &row.severity))?,
            status: Status::parse(&row.status).ok_or_else(|| bad("status", &row.status))?,
            source: SourceKind::parse(&row.source_kind)
                .ok_or_else(|| bad("source", &row.source_kind))?,
            source_key: row.source_key.clone(),
            detected_at: row.detected_at,
            opened_at: row.opened_at,
            acknowledged_at: row.acknowledged_at,
            mitigated_at: row.mitigated_at,
            resolved_at: row.resolved_at,
            closed_at: row.closed_at,
            cancelled_at: row.cancelled_at,
            roles: Roles {
                commander: row.commander.clone(),
                scribe: row.scribe.clone(),
                communications: row.communications.clone(),
            },
            runbook_url: row.runbook_url.clone(),
            labels: row.labels.clone(),
            updated_at: row.updated_at,
        })
    }

    /// The latest instant of the lifecycle so far (a new change must not be earlier).
    pub fn last_change(&self) -> (Status, i64) {
        [
            (Status::Acknowledged, self.acknowledged_at),
            (Status::Mitigated, self.mitigated_at),
            (Status::Resolved, self.resolved_at),
            (Status::Closed, self.closed_at),
            (Status::Cancelled, self.cancelled_at),
        ]
        .into_iter()
        .filter_map(|(s, at)| at.map(|at| (s, at)))
        .fold((Status::Triage, self.opened_at), |best, (s, at)| {
            if at >= best.1 { (s, at) } else { best }
        })
    }

    /// The same incident as JSON with RFC 3339 times next to the Unix milliseconds.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            for (field, at) in [
                ("detected", self.detected_at),
                ("opened", Some(self.opened_at)),
                ("acknowledged", self.acknowledged_at),
                ("mitigated", self.mitigated_at),
                ("resolved", self.resolved_at),
                ("closed", self.closed_at),
                ("cancelled", self.cancelled_at),
            ] {
                if let Some(at) = at {
                    map.insert(format!("{field}_time"), rfc3339(at).into());
                }
            }
        }
        value
    }
}

/// Applies a validated status change to a row at `at`: sets the status's timestamp, frees
/// the open key once the incident no longer needs work.
pub fn apply_transition(
    row: &mut IncidentRow,
    current: &Incident,
    to: Status,
    at: i64,
) -> Result<()> {
    check_transition(row.id, current.status, to)?;
    let (last_status, last_at) = current.last_change();
    if at < last_at {
        return Err(Error::NotMonotonic {
            id: current.id.clone(),
            what: format!("becoming {to}"),
            at: rfc3339(at),
            status: last_status.as_str(),
            last: rfc3339(last_at),
        });
    }
    row.status = to.as_str().to_owned();
    match to {
        Status::Triage => {}
        Status::Acknowledged => row.acknowledged_at = Some(at),
        Status::Mitigated => row.mitigated_at = Some(at),
        Status::Resolved => row.resolved_at = Some(at),
        Status::Closed => row.closed_at = Some(at),
        Status::Cancelled => row.cancelled_at = Some(at),
    }
    if !to.is_open() {
        row.open_key = None;
    }
    Ok(())
}

/// Kinds of timeline entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineKind {
    /// The incident was opened.
    Opened,
    /// An alert started firing (or was added).
    AlertFiring,
    /// An alert resolved.
    AlertResolved,
    /// A PagerDuty event was applied (trigger repeated, acknowledge, resolve).
    Pagerduty,
    /// A page or notification was sent.
    PageSent,
    /// Escalated to the next step.
    Escalated,
    /// An acknowledgement through paging expired.
    AckExpired,
    /// Status change.
    Status,
    /// Role change.
    Role,
    /// A note.
    Note,
    /// A runbook link.
    RunbookLink,
    /// A runbook action ran.
    RunbookAction,
    /// Error budget burned.
    SloBudget,
    /// A change event on the service.
    Change,
    /// Severity or title changed.
    Updated,
    /// A post-mortem was drafted.
    Postmortem,
}

impl TimelineKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::AlertFiring => "alert_firing",
            Self::AlertResolved => "alert_resolved",
            Self::Pagerduty => "pagerduty",
            Self::PageSent => "page_sent",
            Self::Escalated => "escalated",
            Self::AckExpired => "ack_expired",
            Self::Status => "status",
            Self::Role => "role",
            Self::Note => "note",
            Self::RunbookLink => "runbook_link",
            Self::RunbookAction => "runbook_action",
            Self::SloBudget => "slo_budget",
            Self::Change => "change",
            Self::Updated => "updated",
            Self::Postmortem => "postmortem",
        }
    }
}

/// A timeline entry to store.
pub fn entry(
    at: i64,
    kind: TimelineKind,
    actor: Option<&str>,
    message: impl Into<String>,
    detail: serde_json::Value,
) -> TimelineRow {
    TimelineRow {
        id: 0,
        incident_id: 0,
        at,
        kind: kind.as_str().to_owned(),
        actor: actor.map(str::to_owned),
        message: message.into(),
        detail: detail.to_string(),
    }
}

/// A stored timeline entry as JSON.
pub fn timeline_json(row: &TimelineRow) -> serde_json::Value {
    serde_json::json!({
        "at": row.at,
        "time": rfc3339(row.at),
        "kind": row.kind,
        "actor": row.actor,
        "message": row.message,
        "detail": serde_json::from_str::<serde_json::Value>(&row.detail).unwrap_or(serde_json::Value::Null),
    })
}

#[cfg(test)]
mod tests;
