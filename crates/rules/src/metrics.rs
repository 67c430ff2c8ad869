//! The rule engine's self-metrics, named like Prometheus's `prometheus_rule_*` with a
//! `tocsin_rule_` prefix.

use tocsin_telemetry::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Metrics, registered once per process.
#[derive(Debug, Clone)]
pub struct RuleMetrics {
    /// Rule evaluations by group.
    pub evaluations: IntCounterVec,
    /// Failed rule evaluations by group.
    pub evaluation_failures: IntCounterVec,
    /// Evaluations missed because the previous one was late.
    pub iterations_missed: IntCounterVec,
    /// Group evaluations run.
    pub iterations: IntCounterVec,
    /// Duration of the last group evaluation, seconds.
    pub last_duration: GaugeVec,
    /// Time of the last group evaluation, Unix seconds.
    pub last_evaluation: GaugeVec,
    /// Rules per group.
    pub rules: IntGaugeVec,
    /// Alerts sent to the sink.
    pub alerts_sent: IntCounterVec,
}

fn build() -> Result<RuleMetrics, tocsin_telemetry::Error> {
    let group = &["rule_group"];
    Ok(RuleMetrics {
        evaluations: IntCounterVec::new(
            Opts::new(
                "tocsin_rule_evaluations_total",
                "Rule evaluations, by group.",
            ),
            group,
        )?,
        evaluation_failures: IntCounterVec::new(
            Opts::new(
                "tocsin_rule_evaluation_failures_total",
                "Rule evaluations that failed, by group.",
            ),
            group,
        )?,
        iterations_missed: IntCounterVec::new(
            Opts::new(
                "tocsin_rule_group_iterations_missed_total",
                "Group evaluations skipped because the previous one ran late.",
            ),
            group,
        )?,
        iterations: IntCounterVec::new(
            Opts::new(
                "tocsin_rule_group_iterations_total",
                "Group evaluations run.",
            ),
            group,
        )?,
        last_duration: GaugeVec::new(
            Opts::new(
                "tocsin_rule_group_last_duration_seconds",
                "Duration of the last evaluation of the group.",
            ),
            group,
        )?,
        last_evaluation: GaugeVec::new(
            Opts::new(
                "tocsin_rule_group_last_evaluation_timestamp_seconds",
                "When the group was last evaluated (Unix seconds).",
            ),
            group,
        )?,
        rules: IntGaugeVec::new(
            Opts::new("tocsin_rule_group_rules", "Rules in the group."),
            group,
        )?,
        alerts_sent: IntCounterVec::new(
            Opts::new(
                "tocsin_rule_alerts_sent_total",
                "Alerts handed to the router and Alertmanagers.",
            ),
            &["state"],
        )?,
    })
}

impl RuleMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self, tocsin_telemetry::Error> {
        let m = build()?;
        registry.register(m.evaluations.clone())?;
        registry.register(m.evaluation_failures.clone())?;
        registry.register(m.iterations_missed.clone())?;
        registry.register(m.iterations.clone())?;
        registry.register(m.last_duration.clone())?;
        registry.register(m.last_evaluation.clone())?;
        registry.register(m.rules.clone())?;
        registry.register(m.alerts_sent.clone())?;
        Ok(m)
    }

    /// Metrics exported nowhere (tests, `tocsin test rules`).
    pub fn unregistered() -> Self {
        build().expect("invariant: metric definitions are valid")
    }
}
