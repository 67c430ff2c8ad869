//! The on-call stage's self-metrics (`tocsin_oncall_*`). Label values are bounded: contact
//! kinds and outcomes, never user ids or addresses.

use tocsin_telemetry::{IntCounter, IntCounterVec, Opts, Registry};

/// Metrics, registered once.
#[derive(Debug, Clone)]
pub struct OncallMetrics {
    /// Pages by contact kind (`inbox`, `webhook`, `slack`, `email`) and outcome (`sent`,
    /// `failed`, `unknown`).
    pub pages: IntCounterVec,
    /// Escalations started.
    pub escalations_started: IntCounter,
    /// Steps taken (the first and every later one).
    pub steps: IntCounter,
    /// Acknowledgements.
    pub acks: IntCounter,
    /// Acknowledgements that expired and restarted an escalation.
    pub ack_expiries: IntCounter,
    /// Escalations that ran out of steps unacknowledged.
    pub exhausted: IntCounter,
}

fn build() -> Result<OncallMetrics, tocsin_telemetry::Error> {
    Ok(OncallMetrics {
        pages: IntCounterVec::new(
            Opts::new(
                "tocsin_oncall_pages_total",
                "Pages by contact kind and outcome (sent, failed, unknown: interrupted and not resent).",
            ),
            &["contact", "outcome"],
        )?,
        escalations_started: IntCounter::new(
            "tocsin_oncall_escalations_started_total",
            "Escalations started (a start for a key already open is not counted).",
        )?,
        steps: IntCounter::new(
            "tocsin_oncall_escalation_steps_total",
            "Escalation steps taken.",
        )?,
        acks: IntCounter::new("tocsin_oncall_acks_total", "Escalations acknowledged.")?,
        ack_expiries: IntCounter::new(
            "tocsin_oncall_ack_expiries_total",
            "Acknowledgements that expired unresolved and restarted their escalation.",
        )?,
        exhausted: IntCounter::new(
            "tocsin_oncall_escalations_exhausted_total",
            "Escalations whose every step fired without an acknowledgement.",
        )?,
    })
}

impl OncallMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self, tocsin_telemetry::Error> {
        let m = build()?;
        registry.register(m.pages.clone())?;
        registry.register(m.escalations_started.clone())?;
        registry.register(m.steps.clone())?;
        registry.register(m.acks.clone())?;
        registry.register(m.ack_expiries.clone())?;
        registry.register(m.exhausted.clone())?;
        Ok(m)
    }

    /// Metrics that are counted but exported nowhere (tests, tools).
    pub fn unregistered() -> Self {
        build().expect("invariant: metric definitions are valid")
    }
}

/// The kind of a contact key (`webhook:…` → `webhook`).
pub(crate) fn contact_kind(contact: &str) -> &'static str {
    match contact.split(':').next() {
        Some("inbox") => "inbox",
        Some("webhook") => "webhook",
        Some("slack") => "slack",
        Some("email") => "email",
        _ => "other",
    }
}
