//! A small rule-evaluation loop over the real PromQL engine and an in-memory store: the
//! generated SLI recording rules are evaluated in order every step and written back, then
//! the alert expressions are evaluated. The rule engine's `for` handling is not needed.

use tocsin_model::storage::Appendable;
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::{Labels, Timestamp};
use tocsin_promql::{Engine, EngineOptions, QueryLimits, Value};
use tocsin_slo::{RuleFile, Slo, TierName};

pub(crate) const STEP_MS: i64 = 15_000;
/// 2026-01-01T00:00:00Z: any fixed instant works; the timeline is fake.
pub(crate) const EPOCH: Timestamp = 1_767_225_600_000;

pub(crate) struct Sim {
    pub(crate) store: MemStorage,
    pub(crate) engine: Engine,
    rules: RuleFile,
    tiers: Vec<(TierName, String)>,
    good: f64,
    bad: f64,
}

impl Sim {
    pub(crate) fn new(slo: &Slo) -> Self {
        let slos = std::slice::from_ref(slo);
        let options = tocsin_slo::GenerateOptions::default();
        let mut rules = tocsin_slo::rule_groups(slos, &options);
        // Recording rules only; alerts are evaluated per tier below.
        rules
            .groups
            .retain(|g| !g.name.starts_with("sloth-slo-alerts-"));
        Self {
            store: MemStorage::new(),
            engine: Engine::new(QueryLimits::default(), EngineOptions::default()),
            rules,
            tiers: tocsin_slo::tier_exprs(slo)
                .into_iter()
                .map(|(tier, expr)| (tier.name, expr))
                .collect(),
            // Counters start high, as a long-running service's do (rate() then extrapolates
            // both series alike).
            good: 1_000_000.0,
            bad: 10_000.0,
        }
    }

    /// Records one scrape at `t`: `good` and `bad` requests since the previous one.
    pub(crate) fn scrape(&mut self, t: Timestamp, good: f64, bad: f64) {
        self.good += good;
        self.bad += bad;
        let mut app = self.store.appender();
        for (code, value) in [("200", self.good), ("500", self.bad)] {
            let labels = Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "app"),
                ("code", code),
            ])
            .expect("valid labels");
            app.append(0, &labels, t, value).expect("append");
        }
        app.commit().expect("commit");
    }

    /// Evaluates the recording rules at `t` and returns the tiers whose alert expression
    /// returns something.
    pub(crate) fn evaluate(&mut self, t: Timestamp) -> Vec<TierName> {
        for group in &self.rules.groups {
            for rule in &group.rules {
                let Some(record) = &rule.record else { continue };
                let result = self
                    .engine
                    .instant_query(&self.store, &rule.expr, t)
                    .unwrap_or_else(|e| panic!("{}: {e}", rule.expr));
                let samples = match result.value {
                    Value::Vector(v) => v,
                    other => panic!("{record}: expected a vector, got {other:?}"),
                };
                let mut app = self.store.appender();
                for sample in samples {
                    let mut builder = sample.labels.to_builder();
                    builder.set("__name__", record);
                    for (k, v) in &rule.labels {
                        builder.set(k, v);
                    }
                    app.append(0, &builder.build(), t, sample.v)
                        .expect("append");
                }
                app.commit().expect("commit");
            }
        }
        self.tiers
            .iter()
            .filter(|(_, expr)| {
                let result = self
                    .engine
                    .instant_query(&self.store, expr, t)
                    .unwrap_or_else(|e| panic!("{expr}: {e}"));
                matches!(result.value, Value::Vector(v) if !v.is_empty())
            })
            .map(|(name, _)| *name)
            .collect()
    }
}

pub(crate) fn slo_99_9(extra: &str) -> Slo {
    let spec = format!(
        r#"version: prometheus/v1
service: app
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{{job="app",code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(http_requests_total{{job="app"}}[{{{{.window}}}}]))
    alerting:
      name: AppAvailability
{extra}"#
    );
    let mut slos = tocsin_slo::load_str("<test>", &spec).unwrap_or_else(|e| panic!("{e}"));
    slos.remove(0)
}
