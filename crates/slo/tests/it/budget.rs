//! Error budgets over a fake timeline in an in-memory store, computed with the real engine:
//! the gate flipping when the budget runs out, exclusions, calendar months, timeslices and
//! threshold SLIs.

use tocsin_slo::budget::compute;
use tocsin_slo::gate::{GateOverride, decide};

use crate::sim::{EPOCH, STEP_MS, Sim, slo_99_9};

const HOUR_STEPS: i64 = 240;

fn healthy(sim: &mut Sim, from_step: i64, steps: i64) -> i64 {
    for step in from_step..from_step + steps {
        sim.scrape(EPOCH + step * STEP_MS, 150.0, 0.0);
    }
    from_step + steps
}

#[test]
fn the_gate_flips_from_allow_to_block_when_the_budget_runs_out() {
    let slo = slo_99_9("");
    let mut sim = Sim::new(&slo);
    let step = healthy(&mut sim, 0, 2 * HOUR_STEPS);
    let now = EPOCH + (step - 1) * STEP_MS;
    let first = decide(
        &slo,
        compute(&sim.engine, &sim.store, &slo, now).unwrap(),
        &[],
    );
    assert!(first.allowed, "{first:?}");
    assert_eq!(first.remaining, Some(1.0));

    // 1% errors: ten times the budget's pace. The window's error ratio crosses 0.1% once
    // the failing stretch is a ninth of the healthy one (54 scrapes).
    let mut previous = 1.0;
    let mut blocked_at = None;
    for k in 1..=80 {
        let t = EPOCH + (step + k - 1) * STEP_MS;
        sim.scrape(t, 148.5, 1.5);
        let decision = decide(
            &slo,
            compute(&sim.engine, &sim.store, &slo, t).unwrap(),
            &[],
        );
        let remaining = decision.remaining.unwrap();
        assert!(
            remaining < previous,
            "remaining budget must fall: {remaining} after {previous}"
        );
        previous = remaining;
        if !decision.allowed {
            assert!(remaining < 0.0);
            assert!(
                decision.reason.starts_with("error budget exhausted"),
                "{}",
                decision.reason
            );
            blocked_at = Some(k);
            let mut overridden = decide(
                &slo,
                decision.budget,
                &[GateOverride {
                    by: "alice".to_owned(),
                    reason: "rollback of the faulty release".to_owned(),
                    created_at: t - 1,
                    expires_at: Some(t + 3_600_000),
                }],
            );
            assert!(overridden.allowed);
            assert!(
                overridden.reason.starts_with("overridden by alice"),
                "{}",
                overridden.reason
            );
            overridden.budget.burn_rates.clear();
            insta::assert_yaml_snapshot!("gate_overridden", overridden);
            break;
        }
        assert!(
            remaining >= 0.0,
            "allowed with {remaining} remaining at {k}"
        );
    }
    assert_eq!(blocked_at, Some(54));
}

#[test]
fn exclusions_leave_maintenance_out_of_the_budget() {
    // Hours 0-1 healthy, 1-1.5 total outage (maintenance), 1.5-3 healthy.
    let maintenance = "    tocsin:\n      exclusions:\n        - start: 2026-01-01T01:00:00Z\n          end: 2026-01-01T01:30:00Z\n          reason: database upgrade\n";
    let excluded = slo_99_9(maintenance);
    let plain = slo_99_9("");
    let mut sim = Sim::new(&plain);
    let mut step = healthy(&mut sim, 0, HOUR_STEPS + 1);
    for _ in 0..HOUR_STEPS / 2 {
        sim.scrape(EPOCH + step * STEP_MS, 0.0, 150.0);
        step += 1;
    }
    step = healthy(&mut sim, step, HOUR_STEPS * 3 / 2);
    let now = EPOCH + (step - 1) * STEP_MS;

    let counted = compute(&sim.engine, &sim.store, &plain, now).unwrap();
    assert!(counted.remaining.unwrap() < -100.0, "{counted:?}");
    let report = compute(&sim.engine, &sim.store, &excluded, now).unwrap();
    assert_eq!(report.excluded_seconds, 1800.0);
    // The intervals touching the maintenance window see a scrape or so of it (rate() reads
    // the sample just after it): close to full budget, not a spent one.
    let remaining = report.remaining.unwrap();
    assert!(remaining > 0.5, "{report:?}");
    let events = report.events.unwrap();
    assert!(
        events.total > 80_000.0 && events.bad < events.total * 0.001,
        "{events:?}"
    );
}

#[test]
fn calendar_months_start_counting_on_the_first() {
    let calendar = slo_99_9("    tocsin:\n      window: month\n");
    let rolling = slo_99_9("");
    let mut sim = Sim::new(&rolling);
    // A bad hour on 31 December, then a good day from 1 January.
    let start = -2 * HOUR_STEPS;
    let mut step = start;
    for _ in 0..HOUR_STEPS {
        sim.scrape(EPOCH + step * STEP_MS, 0.0, 150.0);
        step += 1;
    }
    step = healthy(&mut sim, step, 2 * HOUR_STEPS);
    let now = EPOCH + (step - 1) * STEP_MS;
    let month = compute(&sim.engine, &sim.store, &calendar, now).unwrap();
    assert_eq!(month.window_start, EPOCH);
    assert_eq!(month.period_ms, 31 * 86_400_000, "January has 31 days");
    assert!(month.remaining.unwrap() > 0.9, "{month:?}");
    let thirty_days = compute(&sim.engine, &sim.store, &rolling, now).unwrap();
    assert!(thirty_days.remaining.unwrap() < 0.0, "{thirty_days:?}");
}

#[test]
fn timeslices_count_bad_minutes_and_thresholds_count_bad_points() {
    let spec = r#"apiVersion: openslo/v1
kind: SLI
metadata:
  name: app-errors
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{job="app",code="500"}
    total:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{job="app"}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: app-minutes
spec:
  service: app
  indicatorRef: app-errors
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - target: 0.9
      timeSliceTarget: 0.95
      timeSliceWindow: 1m
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: app-latency
spec:
  service: app
  indicator:
    metadata:
      name: p99
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: sum(rate(http_requests_total{job="app",code="500"}[1m]))
  timeWindow:
    - duration: 7d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.9
      op: lt
      value: 0.5
"#;
    let slos = tocsin_slo::load_str("openslo.yml", spec).unwrap();
    assert_eq!(slos.len(), 2);
    let mut sim = Sim::new(&slos[0]);
    // One hour: 10 bad minutes (10% errors) in 60, the rest clean.
    for step in 0..HOUR_STEPS {
        let minute = step / 4;
        let bad = if minute % 6 == 0 { 15.0 } else { 0.0 };
        sim.scrape(EPOCH + step * STEP_MS, 150.0 - bad, bad);
    }
    let now = EPOCH + (HOUR_STEPS - 1) * STEP_MS;
    let minutes = compute(&sim.engine, &sim.store, &slos[0], now).unwrap();
    assert_eq!(minutes.budgeting, "timeslices");
    let ratio = minutes.error_ratio.unwrap();
    // Ten of the ~60 one-minute slices miss 95% good (rate() smears a bad scrape into the
    // next slice too, so allow a slice or two more).
    assert!((0.15..=0.40).contains(&ratio), "bad slice ratio {ratio}");
    let latency = compute(&sim.engine, &sim.store, &slos[1], now).unwrap();
    let ratio = latency.error_ratio.unwrap();
    // Error rate above 0.5/s (bad minutes) counts as bad points; the rest are good.
    assert!(ratio > 0.05 && ratio < 0.5, "threshold ratio {ratio}");
}

#[test]
fn a_service_without_errors_burns_nothing() {
    // Only the total series exists: no 5xx was ever counted.
    let slo = slo_99_9("");
    let sim = Sim::new(&slo);
    let mut app = tocsin_model::storage::Appendable::appender(&sim.store);
    let labels = tocsin_model::Labels::from_pairs([
        ("__name__", "http_requests_total"),
        ("job", "app"),
        ("code", "200"),
    ])
    .unwrap();
    for step in 0..HOUR_STEPS {
        app.append(0, &labels, EPOCH + step * STEP_MS, (step * 150) as f64)
            .unwrap();
    }
    app.commit().unwrap();
    let now = EPOCH + (HOUR_STEPS - 1) * STEP_MS;
    let report = compute(&sim.engine, &sim.store, &slo, now).unwrap();
    assert_eq!(report.remaining, Some(1.0));
    assert_eq!(report.burn_rates.get("1h"), Some(&Some(0.0)));
    assert_eq!(report.current_burn_rate, Some(0.0));
    assert_eq!(report.time_to_exhaustion_seconds, None);
    let decision = decide(&slo, report, &[]);
    assert!(decision.allowed, "{}", decision.reason);
}
