//! The alerting stage's self-metrics (`tocsin_alerts_*`, `tocsin_notifications_*`, ...).

use tocsin_telemetry::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Metrics, registered once.
#[derive(Debug, Clone)]
pub struct AlertingMetrics {
    /// Alerts received by status (`firing`, `resolved`).
    pub alerts_received: IntCounterVec,
    /// Alerts refused as invalid.
    pub alerts_invalid: IntCounterVec,
    /// Alerts held, by state (`active`, `suppressed`).
    pub alerts: IntGaugeVec,
    /// Notifications by integration and outcome (`success`, `retry`, `failure`).
    pub notifications: IntCounterVec,
    /// Notification latency by integration.
    pub notification_latency: HistogramVec,
    /// Aggregation groups.
    pub groups: IntGauge,
    /// Silences by state.
    pub silences: IntGaugeVec,
    /// Expiry warnings of silences.
    pub silence_expiry_warnings: IntCounter,
    /// Feedback on notifications, by verdict.
    pub feedback: IntCounterVec,
}

fn build() -> Result<AlertingMetrics, tocsin_telemetry::Error> {
    Ok(AlertingMetrics {
        alerts_received: IntCounterVec::new(
            Opts::new(
                "tocsin_alerts_received_total",
                "Alerts received through the API, by status.",
            ),
            &["status"],
        )?,
        alerts_invalid: IntCounterVec::new(
            Opts::new(
                "tocsin_alerts_invalid_total",
                "Alerts refused because they were invalid.",
            ),
            &["reason"],
        )?,
        alerts: IntGaugeVec::new(
            Opts::new("tocsin_alerts", "Alerts held by the router, by state."),
            &["state"],
        )?,
        notifications: IntCounterVec::new(
            Opts::new(
                "tocsin_notifications_total",
                "Notification attempts by integration and outcome.",
            ),
            &["integration", "outcome"],
        )?,
        notification_latency: HistogramVec::new(
            HistogramOpts::new(
                "tocsin_notification_latency_seconds",
                "Latency of notification attempts by integration.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["integration"],
        )?,
        groups: IntGauge::new(
            "tocsin_alerts_aggregation_groups",
            "Aggregation groups the dispatcher runs.",
        )?,
        silences: IntGaugeVec::new(
            Opts::new("tocsin_silences", "Silences by state."),
            &["state"],
        )?,
        silence_expiry_warnings: IntCounter::new(
            "tocsin_silence_expiry_warnings_total",
            "Silences that warned they were about to end (warn_before).",
        )?,
        feedback: IntCounterVec::new(
            Opts::new(
                "tocsin_alert_feedback_total",
                "Feedback given on notifications, by verdict (actionable, noise).",
            ),
            &["verdict"],
        )?,
    })
}

impl AlertingMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self, tocsin_telemetry::Error> {
        let m = build()?;
        registry.register(m.alerts_received.clone())?;
        registry.register(m.alerts_invalid.clone())?;
        registry.register(m.alerts.clone())?;
        registry.register(m.notifications.clone())?;
        registry.register(m.notification_latency.clone())?;
        registry.register(m.groups.clone())?;
        registry.register(m.silences.clone())?;
        registry.register(m.silence_expiry_warnings.clone())?;
        registry.register(m.feedback.clone())?;
        Ok(m)
    }

    /// Metrics that are counted but exported nowhere (tests, tools).
    pub fn unregistered() -> Self {
        build().expect("invariant: metric definitions are valid")
    }
}
