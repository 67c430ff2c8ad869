//! The incident stage's self-metrics (`tocsin_incident_*`). Label values are bounded:
//! sources, severities, statuses and outcomes, never titles, services or people.

use tocsin_telemetry::{
    Histogram, HistogramOpts, IntCounterVec, Opts, Registry, exponential_buckets,
};

/// Metrics, registered once.
#[derive(Debug, Clone)]
pub struct IncidentMetrics {
    /// Incidents opened, by source (`manual`, `alert`, `pagerduty`) and severity.
    pub opened: IntCounterVec,
    /// Status changes, by the status entered.
    pub status_changes: IntCounterVec,
    /// From opening to the first acknowledgement.
    pub time_to_acknowledge: Histogram,
    /// From opening to resolution.
    pub time_to_resolve: Histogram,
    /// Runbook action runs, by outcome (`success`, `failed`, `timeout`, `error`).
    pub runbook_actions: IntCounterVec,
}

fn build() -> Result<IncidentMetrics, tocsin_telemetry::Error> {
    // 10 s to about 1.9 days: an ack within a page's first minute to a long resolution.
    let buckets = || exponential_buckets(10.0, 2.0, 15);
    Ok(IncidentMetrics {
        opened: IntCounterVec::new(
            Opts::new(
                "tocsin_incidents_opened_total",
                "Incidents opened, by source (manual, alert, pagerduty) and severity.",
            ),
            &["source", "severity"],
        )?,
        status_changes: IntCounterVec::new(
            Opts::new(
                "tocsin_incident_status_changes_total",
                "Incident status changes, by the status entered.",
            ),
            &["to"],
        )?,
        time_to_acknowledge: Histogram::with_opts(
            HistogramOpts::new(
                "tocsin_incident_time_to_acknowledge_seconds",
                "Time from opening an incident to its first acknowledgement (MTTA).",
            )
            .buckets(buckets()?),
        )?,
        time_to_resolve: Histogram::with_opts(
            HistogramOpts::new(
                "tocsin_incident_time_to_resolve_seconds",
                "Time from opening an incident to its resolution (MTTR).",
            )
            .buckets(buckets()?),
        )?,
        runbook_actions: IntCounterVec::new(
            Opts::new(
                "tocsin_incident_runbook_actions_total",
                "Runbook action runs, by outcome (success, failed, timeout, error).",
            ),
            &["outcome"],
        )?,
    })
}

impl IncidentMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self, tocsin_telemetry::Error> {
        let m = build()?;
        registry.register(m.opened.clone())?;
        registry.register(m.status_changes.clone())?;
        registry.register(m.time_to_acknowledge.clone())?;
        registry.register(m.time_to_resolve.clone())?;
        registry.register(m.runbook_actions.clone())?;
        Ok(m)
    }

    /// Metrics that are counted but exported nowhere (tests, tools).
    pub fn unregistered() -> Self {
        build().expect("invariant: metric definitions are valid")
    }
}
