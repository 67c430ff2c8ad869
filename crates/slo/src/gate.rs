//! The deploy gate: the error-budget policy applied to a budget report, with overrides.

use serde::{Deserialize, Serialize};
use tocsin_model::Timestamp;

use crate::budget::BudgetReport;
use crate::spec::{NoData, Slo};

/// A recorded decision to let releases through despite the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateOverride {
    /// Who decided.
    pub by: String,
    /// Why (required).
    pub reason: String,
    /// When (Unix ms).
    pub created_at: Timestamp,
    /// Until when (Unix ms); None: until the next override or forever.
    pub expires_at: Option<Timestamp>,
}

impl GateOverride {
    /// Whether the override is in force at `now`.
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.created_at <= now && self.expires_at.is_none_or(|e| now < e)
    }
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateDecision {
    /// SLO name.
    pub slo: String,
    /// Whether a release may proceed.
    pub allowed: bool,
    /// `allow` or `block`.
    pub decision: &'static str,
    /// Why, in one sentence with the numbers.
    pub reason: String,
    /// Remaining budget ratio (None: no data).
    pub remaining: Option<f64>,
    /// The policy's minimum remaining ratio.
    pub block_below_remaining: f64,
    /// Share of the budget burned in the last 24 h.
    pub burned_last_24h: Option<f64>,
    /// The policy's post-mortem share (0: off).
    pub postmortem_after_burning: f64,
    /// The override that let a blocked release through, if any.
    pub override_applied: Option<GateOverride>,
    /// The numbers the decision was made on.
    pub budget: BudgetReport,
}

fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

/// Applies `slo`'s policy to `report`; `overrides` are the recorded overrides, newest last.
pub fn decide(slo: &Slo, report: BudgetReport, overrides: &[GateOverride]) -> GateDecision {
    let policy = &slo.tocsin.policy;
    let blocked: Option<String> = match report.remaining {
        None => match policy.on_no_data {
            NoData::Allow => None,
            NoData::Block => {
                Some("no SLI data in the window and the policy blocks without data".to_owned())
            }
        },
        Some(remaining) if remaining < policy.block_below_remaining => Some(format!(
            "error budget exhausted: {} remaining over {} (policy blocks below {})",
            pct(remaining),
            report.window,
            pct(policy.block_below_remaining)
        )),
        Some(_) => match report.burned_last_24h {
            Some(burned)
                if policy.postmortem_after_burning > 0.0
                    && burned > policy.postmortem_after_burning =>
            {
                Some(format!(
                    "the last 24h burned {} of the error budget; the policy requires a post-mortem above {} (record an override once it is written)",
                    pct(burned),
                    pct(policy.postmortem_after_burning)
                ))
            }
            _ => None,
        },
    };
    let active = overrides
        .iter()
        .rev()
        .find(|o| o.active_at(report.evaluated_at))
        .cloned();
    let (allowed, reason, override_applied) = match (blocked, active) {
        (None, _) => (
            true,
            match report.remaining {
                Some(r) => format!(
                    "{} of the error budget remains over {} (policy blocks below {})",
                    pct(r),
                    report.window,
                    pct(policy.block_below_remaining)
                ),
                None => {
                    "no SLI data in the window; the policy allows releases without data".to_owned()
                }
            },
            None,
        ),
        (Some(why), Some(o)) => (
            true,
            format!("overridden by {}: {} (would block: {why})", o.by, o.reason),
            Some(o),
        ),
        (Some(why), None) => (false, why, None),
    };
    GateDecision {
        slo: slo.name.clone(),
        allowed,
        decision: if allowed { "allow" } else { "block" },
        reason,
        remaining: report.remaining,
        block_below_remaining: policy.block_below_remaining,
        burned_last_24h: report.burned_last_24h,
        postmortem_after_burning: policy.postmortem_after_burning,
        override_applied,
        budget: report,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn slo(policy: &str) -> Slo {
        let spec = format!(
            "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {{raw: {{error_ratio_query: 'vector(0)'}}}}\n    alerting: {{name: A}}\n    tocsin:\n      policy: {policy}\n"
        );
        let mut slos = crate::load_str("t.yml", &spec).unwrap_or_else(|e| panic!("{e}"));
        slos.remove(0)
    }

    fn report(remaining: Option<f64>, burned_last_24h: Option<f64>) -> BudgetReport {
        BudgetReport {
            slo: "a".to_owned(),
            service: "s".to_owned(),
            objective: 99.0,
            window: "30d".to_owned(),
            budgeting: "occurrences",
            window_start: 0,
            evaluated_at: 10_000,
            period_ms: 30 * 86_400_000,
            excluded_seconds: 0.0,
            error_ratio: remaining.map(|r| (1.0 - r) * 0.01),
            error_budget: 0.01,
            consumed: remaining.map(|r| 1.0 - r),
            remaining,
            burn_rates: BTreeMap::new(),
            current_burn_rate: None,
            time_to_exhaustion_seconds: None,
            burned_last_24h,
            events: None,
            sla: None,
        }
    }

    #[test]
    fn a_threshold_above_zero_blocks_earlier() {
        let strict = slo("{block_below_remaining: 0.25}");
        assert!(!decide(&strict, report(Some(0.2), None), &[]).allowed);
        assert!(decide(&strict, report(Some(0.3), None), &[]).allowed);
        assert!(decide(&slo("{}"), report(Some(0.0), None), &[]).allowed);
        assert!(!decide(&slo("{}"), report(Some(-0.01), None), &[]).allowed);
    }

    #[test]
    fn a_big_burn_in_a_day_requires_a_post_mortem() {
        let d = decide(&slo("{}"), report(Some(0.7), Some(0.25)), &[]);
        assert!(!d.allowed);
        assert!(d.reason.contains("post-mortem"), "{}", d.reason);
        let off = decide(
            &slo("{postmortem_after_burning: 0}"),
            report(Some(0.7), Some(0.25)),
            &[],
        );
        assert!(off.allowed);
    }

    #[test]
    fn no_data_follows_the_policy() {
        assert!(decide(&slo("{}"), report(None, None), &[]).allowed);
        assert!(!decide(&slo("{on_no_data: block}"), report(None, None), &[]).allowed);
    }

    #[test]
    fn only_overrides_in_force_apply() {
        let expired = GateOverride {
            by: "bob".to_owned(),
            reason: "old".to_owned(),
            created_at: 1_000,
            expires_at: Some(5_000),
        };
        let future = GateOverride {
            created_at: 20_000,
            expires_at: None,
            ..expired.clone()
        };
        let blocked = report(Some(-0.5), None);
        assert!(!decide(&slo("{}"), blocked.clone(), &[expired.clone(), future]).allowed);
        let current = GateOverride {
            by: "carol".to_owned(),
            reason: "INC-7 fix".to_owned(),
            created_at: 9_000,
            expires_at: None,
        };
        let d = decide(&slo("{}"), blocked, &[expired, current.clone()]);
        assert!(d.allowed);
        assert_eq!(d.override_applied, Some(current));
    }
}
