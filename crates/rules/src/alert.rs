//! Alert state as Prometheus keeps it per alerting rule.

use std::collections::BTreeMap;

use tocsin_model::{Labels, Timestamp};

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    /// Resolved (kept for 15 minutes so the resolution is sent).
    Inactive,
    /// The condition holds, for less than the rule's `for`.
    Pending,
    /// The condition held for `for`.
    Firing,
}

impl AlertState {
    /// Prometheus's spelling (`inactive`, `pending`, `firing`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
        }
    }
}

/// Why a firing alert resolved (tocsin extension, sent as the `resolved_reason` annotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// The series still exists but no longer meets the condition (or `resolve_expr` returned it).
    ConditionCleared,
    /// The series the alert was computed from are gone (target down, relabelled away, deleted).
    SeriesVanished,
}

impl Resolution {
    /// `condition_cleared` or `series_vanished`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConditionCleared => "condition_cleared",
            Self::SeriesVanished => "series_vanished",
        }
    }
}

/// Name of the annotation a resolved alert carries with its [`Resolution`].
pub const RESOLVED_REASON_ANNOTATION: &str = "resolved_reason";

/// One alert of an alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identity: the sample's labels without `__name__`, plus rule labels and `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// Labels of the sample `expr` returned, without `__name__` (matched against
    /// `resolve_expr` and the selectors to tell why the alert resolved).
    pub source: Labels,
    /// State.
    pub state: AlertState,
    /// Last value of the expression.
    pub value: f64,
    /// When the condition was first seen (ms).
    pub active_at: Timestamp,
    /// When it started firing (ms).
    pub fired_at: Option<Timestamp>,
    /// When it resolved (ms).
    pub resolved_at: Option<Timestamp>,
    /// When it was last sent (ms).
    pub last_sent_at: Option<Timestamp>,
    /// `endsAt` of the last send (ms).
    pub valid_until: Timestamp,
    /// Since when it has been kept firing by `keep_firing_for` or `resolve_expr` (ms).
    pub keep_firing_since: Option<Timestamp>,
    /// Since when `resolve_expr` has returned it while `expr` did not (ms).
    pub resolve_since: Option<Timestamp>,
    /// Why it resolved.
    pub resolution: Option<Resolution>,
}

impl Alert {
    /// Prometheus's `needsSending`: firing alerts every `resend_delay`, resolutions at once.
    pub fn needs_sending(&self, ts: Timestamp, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (_, None) => true,
            (Some(resolved), Some(sent)) if resolved > sent => true,
            (_, Some(sent)) => sent + resend_delay_ms < ts,
        }
    }

    /// `startsAt` as Prometheus sends it (the firing time).
    pub fn starts_at(&self) -> Timestamp {
        self.fired_at.unwrap_or(self.active_at)
    }

    /// `endsAt`: the resolution time, or how long the last send is valid.
    pub fn ends_at(&self) -> Timestamp {
        self.resolved_at.unwrap_or(self.valid_until)
    }
}
