//! The traits through which the incident stage reaches the rest of tocsin: the clock,
//! paging (the on-call stage's escalation engine) and SLO impact (the SLO stage's budgets).

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Now, in Unix milliseconds. Tests use a hand-driven clock.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// Who to page for an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageTarget {
    /// The service.
    pub service: String,
    /// Its escalation policy, when configured.
    pub escalation_policy: Option<String>,
}

/// What a page says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// `INC-42`.
    pub incident: String,
    /// One line.
    pub title: String,
    /// `SEV1`..`SEV4`.
    pub severity: String,
    /// The service.
    pub service: String,
    /// Runbook link.
    pub runbook_url: Option<String>,
}

/// Paging people about incidents: the on-call stage's escalation engine, keyed by the
/// incident id (`INC-42`). Errors are messages for the log and the timeline.
pub trait Paging: Send + Sync {
    /// Starts escalating (idempotent per key).
    fn start<'a>(
        &'a self,
        key: &'a str,
        target: &'a PageTarget,
        page: &'a Page,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Stops escalating until `expires_at` (Unix ms), or for good with `None`.
    fn ack<'a>(
        &'a self,
        key: &'a str,
        by: &'a str,
        expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Stops escalating for good.
    fn resolve<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// Paging when no on-call stage runs: incidents are recorded, nobody is paged, and the
/// timeline says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPaging;

impl Paging for NoPaging {
    fn start<'a>(
        &'a self,
        _key: &'a str,
        _target: &'a PageTarget,
        _page: &'a Page,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("no on-call stage is configured; nobody was paged".to_owned()) })
    }
    fn ack<'a>(
        &'a self,
        _key: &'a str,
        _by: &'a str,
        _expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn resolve<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// The error budget one SLO lost during an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloImpact {
    /// SLO name.
    pub slo: String,
    /// Fraction of the SLO window's error budget burned between the two instants.
    pub budget_consumed: f64,
    /// Bad events (requests failed) in that time, for event-based SLIs.
    pub bad_events: Option<f64>,
    /// All events in that time, for event-based SLIs.
    pub total_events: Option<f64>,
}

/// What an incident cost in SLO terms: the SLO stage's budgets between two instants.
pub trait Impact: Send + Sync {
    /// The impact on every SLO of `service` between `from` and `to` (Unix ms).
    fn impact<'a>(
        &'a self,
        service: &'a str,
        from: i64,
        to: i64,
    ) -> BoxFuture<'a, Result<Vec<SloImpact>, String>>;
}

/// Impact when no SLO stage runs: no SLOs, so nothing burned.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoImpact;

impl Impact for NoImpact {
    fn impact<'a>(
        &'a self,
        _service: &'a str,
        _from: i64,
        _to: i64,
    ) -> BoxFuture<'a, Result<Vec<SloImpact>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
