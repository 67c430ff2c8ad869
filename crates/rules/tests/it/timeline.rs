//! Alert lifecycles on a fake clock: every evaluation is driven by hand, nothing sleeps.

use std::sync::Arc;

use tocsin_model::storage::mem::MemStorage;
use tocsin_model::{Labels, is_stale_nan};

use crate::support::{Harness, harness, harness_on, options};

const S: i64 = 1000;
const M: i64 = 60 * S;

fn labels(text: &str) -> Labels {
    tocsin_rules::series::parse_metric(text).expect("labels")
}

/// Pushes `value(t)` for `series` every 5s in `[from, to)`.
fn fill(h: &Harness, series: &str, from: i64, to: i64, value: impl Fn(i64) -> f64) {
    let mut t = from;
    while t < to {
        h.push(series, t, value(t));
        t += 5 * S;
    }
}

/// Evaluation times of the first group up to `until`.
fn eval_times(h: &Harness, until: i64) -> Vec<i64> {
    let g = &h.manager.groups()[0];
    let off = g.eval_offset_ms();
    (0..)
        .map(|k| off + k * g.interval_ms)
        .filter(|&t| t > 0)
        .take_while(|&t| t <= until)
        .collect()
}

const DOWN: &str = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n    labels: {severity: page}\n";

#[test]
fn pending_turns_firing_after_for_and_alerts_series_follow() {
    let h = harness(DOWN, 15 * S);
    fill(&h, "up{job=\"a\"}", 0, 10 * M, |_| 0.0);
    let evals = eval_times(&h, 10 * M);
    let e1 = evals[0];
    h.run_until(e1);
    assert_eq!(
        h.states(),
        vec![(
            "{alertname=\"Down\", job=\"a\", severity=\"page\"}".to_owned(),
            "pending"
        )]
    );
    h.run_until(e1 + 45 * S);
    assert_eq!(h.states()[0].1, "pending");
    let pending =
        labels("ALERTS{alertname=\"Down\", alertstate=\"pending\", job=\"a\", severity=\"page\"}");
    assert_eq!(h.value_at(&pending, e1 + 45 * S), Some(1.0));
    h.run_until(e1 + M);
    assert_eq!(h.states()[0].1, "firing");
    let firing =
        labels("ALERTS{alertname=\"Down\", alertstate=\"firing\", job=\"a\", severity=\"page\"}");
    assert_eq!(h.value_at(&firing, e1 + M), Some(1.0));
    // The pending series ends with a stale marker when the alert changes state.
    assert!(h.value_at(&pending, e1 + M).is_some_and(is_stale_nan));
    let for_state = labels("ALERTS_FOR_STATE{alertname=\"Down\", job=\"a\", severity=\"page\"}");
    #[allow(clippy::cast_precision_loss)]
    let active_at_secs = (e1 / 1000) as f64;
    assert_eq!(h.value_at(&for_state, e1 + M), Some(active_at_secs));
    // Sent once on firing, with startsAt the firing time and endsAt 4 resend delays later.
    let sent = h.sink.sent.lock().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1.starts_at, e1 + M);
    assert_eq!(sent[0].1.ends_at, e1 + M + 4 * M);
    assert!(
        sent[0]
            .1
            .generator_url
            .starts_with("http://tocsin.test/graph?g0.expr=up+%3D%3D+0"),
        "{}",
        sent[0].1.generator_url
    );
}

#[test]
fn condition_gone_before_for_drops_the_pending_alert_silently() {
    let h = harness(DOWN, 15 * S);
    let evals = eval_times(&h, 10 * M);
    let e1 = evals[0];
    fill(&h, "up{job=\"a\"}", 0, e1 + 30 * S, |_| 0.0);
    fill(&h, "up{job=\"a\"}", e1 + 30 * S, 10 * M, |_| 1.0);
    h.run_until(e1 + 5 * M);
    assert!(h.states().is_empty());
    assert!(h.sink.sent.lock().is_empty());
}

#[test]
fn keep_firing_for_holds_a_cleared_alert_then_resolves() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Hot\n    expr: temp > 10\n    keep_firing_for: 2m\n";
    let h = harness(rules, 15 * S);
    let evals = eval_times(&h, 20 * M);
    let e1 = evals[0];
    let clear = e1 + 3 * M;
    fill(&h, "temp", 0, clear, |_| 20.0);
    fill(&h, "temp", clear, 20 * M, |_| 5.0);
    h.run_until(e1);
    assert_eq!(h.states()[0].1, "firing", "for: 0 fires at once");
    // Cleared at the first evaluation at or after `clear`; kept firing for 2m from there.
    let first_clear_eval = *evals.iter().find(|&&t| t >= clear).expect("eval");
    h.run_until(first_clear_eval + 2 * M - 15 * S);
    assert_eq!(h.states()[0].1, "firing");
    h.run_until(first_clear_eval + 2 * M);
    assert!(h.states().is_empty(), "{:?}", h.states());
    let sent = h.sink.sent.lock().clone();
    let resolved: Vec<_> = sent.iter().filter(|(at, a)| a.ends_at <= *at).collect();
    assert_eq!(resolved[0].1.ends_at, first_clear_eval + 2 * M);
    assert_eq!(
        resolved[0]
            .1
            .annotations
            .get("resolved_reason")
            .map(String::as_str),
        Some("condition_cleared")
    );
}

#[test]
fn resolve_expr_keeps_a_flapping_alert_firing_until_it_clears() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Latency\n    expr: latency > 10\n    resolve_expr: latency < 5\n";
    let h = harness(rules, 15 * S);
    let e1 = eval_times(&h, M)[0];
    // 20 (firing) → 7 (neither condition) → 20 → 7 → 3 (resolved).
    let phases = [
        (20.0, 2 * M),
        (7.0, 4 * M),
        (20.0, 5 * M),
        (7.0, 8 * M),
        (3.0, 12 * M),
    ];
    let value = move |t: i64| {
        phases
            .iter()
            .find(|(_, end)| t < *end)
            .map_or(3.0, |(v, _)| *v)
    };
    fill(&h, "latency{svc=\"api\"}", 0, 12 * M, value);
    h.run_until(e1);
    assert_eq!(h.states()[0].1, "firing");
    for t in [3 * M, 4 * M + 30 * S, 7 * M, 8 * M - S] {
        h.run_until(t);
        assert_eq!(h.states().len(), 1, "at {t}: {:?}", h.states());
        assert_eq!(h.states()[0].1, "firing", "at {t}");
    }
    h.run_until(8 * M + 15 * S);
    assert!(h.states().is_empty(), "{:?}", h.states());
    let sent = h.sink.sent.lock().clone();
    let firing_sends = sent.iter().filter(|(at, a)| a.ends_at > *at).count();
    let resolved: Vec<_> = sent.iter().filter(|(at, a)| a.ends_at <= *at).collect();
    assert!(
        firing_sends >= 7,
        "re-sent every minute while held: {firing_sends}"
    );
    assert_eq!(
        resolved[0]
            .1
            .annotations
            .get("resolved_reason")
            .map(String::as_str),
        Some("condition_cleared")
    );
}

#[test]
fn a_vanished_series_resolves_as_series_vanished() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Latency\n    expr: latency > 10\n    resolve_expr: latency < 5\n  - alert: Plain\n    expr: latency > 10\n";
    let h = harness(rules, 15 * S);
    fill(&h, "latency{svc=\"api\"}", 0, 2 * M, |_| 20.0);
    h.run_until(2 * M);
    assert_eq!(h.states().len(), 2);
    // No samples after 2m: the series leaves the 5m lookback window at 7m.
    h.run_until(6 * M);
    assert_eq!(h.states().len(), 2, "still in lookback: {:?}", h.states());
    h.run_until(7 * M + 15 * S);
    assert!(h.states().is_empty(), "{:?}", h.states());
    let sent = h.sink.sent.lock().clone();
    let reasons: Vec<_> = sent
        .iter()
        .filter(|(at, a)| a.ends_at <= *at)
        .map(|(_, a)| {
            (
                a.labels["alertname"].clone(),
                a.annotations["resolved_reason"].clone(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("Latency".to_owned(), "series_vanished".to_owned())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("Plain".to_owned(), "series_vanished".to_owned())),
        "{reasons:?}"
    );
}

#[test]
fn firing_alerts_are_resent_every_minute_and_resolved_ones_for_15_minutes() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Hot\n    expr: temp > 10\n";
    let h = harness(rules, 15 * S);
    let e1 = eval_times(&h, M)[0];
    let clear = e1 + 5 * M;
    fill(&h, "temp", 0, clear, |_| 20.0);
    fill(&h, "temp", clear, 40 * M, |_| 0.0);
    h.run_until(e1 + 30 * M);
    let sent = h.sink.sent.lock().clone();
    let firing: Vec<i64> = sent
        .iter()
        .filter(|(at, a)| a.ends_at > *at)
        .map(|(at, _)| *at)
        .collect();
    // First send at e1, then whenever last send + 1m < now: every 75s at a 15s interval.
    assert_eq!(firing[0], e1);
    assert!(
        firing.windows(2).all(|w| w[1] - w[0] == 75 * S),
        "{firing:?}"
    );
    for (at, a) in sent.iter().filter(|(at, a)| a.ends_at > *at) {
        assert_eq!(
            a.ends_at,
            at + 4 * M,
            "endsAt = now + 4 × max(resend_delay, interval)"
        );
    }
    let resolved: Vec<i64> = sent
        .iter()
        .filter(|(at, a)| a.ends_at <= *at)
        .map(|(at, _)| *at)
        .collect();
    let resolved_at = resolved[0];
    assert!(resolved_at >= clear && resolved_at < clear + 15 * S);
    assert!(
        resolved.iter().all(|&t| t - resolved_at <= 15 * M),
        "{resolved:?}"
    );
    assert!(resolved.len() >= 11, "resent for 15 minutes: {resolved:?}");
    assert!(
        resolved.iter().any(|&t| t - resolved_at >= 14 * M),
        "{resolved:?}"
    );
}

#[test]
fn for_state_is_restored_after_a_restart() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: up == 0\n    for: 30m\n";
    let store = Arc::new(MemStorage::new());
    let h1 = harness_on(Arc::clone(&store), rules, 15 * S, 0);
    fill(&h1, "up", 0, 60 * M, |_| 0.0);
    h1.run_until(10 * M);
    let alert = h1.manager.active_alerts()[0].clone();
    let last_eval_before = h1.manager.groups()[0].last_eval.expect("evaluated");
    drop(h1);
    // Down for 10 minutes, then a new process on the same store.
    let h2 = harness_on(Arc::clone(&store), rules, 15 * S, 20 * M);
    let first = h2.advance_to(20 * M).expect("next eval");
    h2.advance_to(first);
    let restored = h2.manager.active_alerts()[0].clone();
    // Time already spent pending is kept; the outage is not counted.
    let expected = alert.active_at / 1000 * 1000 + (first - last_eval_before / 1000 * 1000);
    assert_eq!(restored.active_at, expected);
    assert_eq!(restored.state.as_str(), "pending");
    let fires_at = expected + 30 * M;
    h2.run_until(fires_at - S);
    assert_eq!(h2.states()[0].1, "pending");
    h2.run_until(fires_at + 15 * S);
    assert_eq!(h2.states()[0].1, "firing");
}

#[test]
fn restore_gives_at_least_the_grace_period() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: up == 0\n    for: 15m\n";
    let store = Arc::new(MemStorage::new());
    let h1 = harness_on(Arc::clone(&store), rules, 15 * S, 0);
    fill(&h1, "up", 0, 60 * M, |_| 0.0);
    h1.run_until(12 * M);
    drop(h1);
    let h2 = harness_on(Arc::clone(&store), rules, 15 * S, 14 * M);
    let first = h2.advance_to(14 * M).expect("next eval");
    h2.advance_to(first);
    // Only ~3m were left, less than the 10m grace period: it fires 10m after the restart.
    let restored = h2.manager.active_alerts()[0].clone();
    assert_eq!(restored.active_at, first + 10 * M - 15 * M);
}

#[test]
fn recording_rules_write_results_and_stale_markers() {
    let rules = "groups:\n- name: g\n  rules:\n  - record: job:x:sum\n    expr: sum by (job) (x)\n    labels: {team: sre}\n";
    let h = harness(rules, 15 * S);
    fill(&h, "x{job=\"a\", i=\"1\"}", 0, 2 * M, |_| 1.0);
    fill(&h, "x{job=\"a\", i=\"2\"}", 0, 2 * M, |_| 2.0);
    fill(&h, "x{job=\"b\"}", 0, 20 * M, |_| 5.0);
    let evals = eval_times(&h, 10 * M);
    h.run_until(evals[3]);
    let a = labels("job:x:sum{job=\"a\", team=\"sre\"}");
    assert_eq!(h.value_at(&a, evals[3]), Some(3.0));
    h.run_until(10 * M);
    let dump = h.store.dump();
    let samples = &dump[&a];
    let last = samples.last().expect("samples");
    assert!(
        is_stale_nan(last.v),
        "series that disappear end with a stale marker"
    );
    let b = labels("job:x:sum{job=\"b\", team=\"sre\"}");
    assert!(dump[&b].iter().all(|s| s.v == 5.0));
}

#[test]
fn limit_fails_the_rule_and_drops_its_alerts() {
    let rules = "groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: Down\n    expr: up == 0\n";
    let h = harness(rules, 15 * S);
    fill(&h, "up{job=\"a\"}", 0, 5 * M, |_| 0.0);
    fill(&h, "up{job=\"b\"}", 0, 5 * M, |_| 0.0);
    h.run_until(M);
    assert!(h.states().is_empty());
    let g = &h.manager.groups()[0];
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
}

#[test]
fn reload_keeps_state_of_unchanged_rules_only() {
    let h = harness(DOWN, 15 * S);
    fill(&h, "up{job=\"a\"}", 0, 10 * M, |_| 0.0);
    h.run_until(40 * S);
    let before = h.manager.active_alerts()[0].clone();
    let groups = tocsin_rules::parse_rule_file("rules.yml", DOWN).expect("valid");
    h.manager.update(groups, options(15 * S));
    assert_eq!(h.manager.active_alerts()[0].active_at, before.active_at);
    let changed = DOWN.replace("up == 0", "up < 1");
    h.manager.update(
        tocsin_rules::parse_rule_file("rules.yml", &changed).expect("valid"),
        options(15 * S),
    );
    assert!(h.manager.active_alerts().is_empty());
}

#[test]
fn groups_are_spread_over_the_interval_by_hash() {
    let two =
        "groups:\n- name: a\n  interval: 1m\n  rules: []\n- name: b\n  interval: 1m\n  rules: []\n";
    let h = harness(two, 15 * S);
    let groups = h.manager.groups();
    let offsets: Vec<i64> = groups
        .iter()
        .map(tocsin_rules::Group::eval_offset_ms)
        .collect();
    assert!(offsets.iter().all(|&o| (0..M).contains(&o)));
    assert_ne!(offsets[0], offsets[1]);
    for g in &groups {
        let t = g.aligned_at_or_before(10 * M + 7 * S);
        assert_eq!((t - g.eval_offset_ms()).rem_euclid(M), 0);
        assert!(t <= 10 * M + 7 * S && t > 9 * M + 7 * S);
    }
}

#[test]
fn keep_firing_for_counts_from_when_resolve_expr_holds() {
    let rules = "groups:\n- name: g\n  rules:\n  - alert: Latency\n    expr: latency > 10\n    resolve_expr: latency < 5\n    keep_firing_for: 2m\n";
    let h = harness(rules, 15 * S);
    let evals = eval_times(&h, 30 * M);
    // Above 10 until 2m, in between until 6m, below 5 afterwards.
    let value = |t: i64| {
        if t < 2 * M {
            20.0
        } else if t < 6 * M {
            7.0
        } else {
            3.0
        }
    };
    fill(&h, "latency", 0, 30 * M, value);
    let cleared = *evals.iter().find(|&&t| t >= 6 * M).expect("eval");
    h.run_until(cleared + 2 * M - 15 * S);
    assert_eq!(
        h.states().len(),
        1,
        "held by resolve_expr, then by keep_firing_for"
    );
    assert_eq!(h.states()[0].1, "firing");
    h.run_until(cleared + 2 * M);
    assert!(h.states().is_empty(), "{:?}", h.states());
}

#[test]
fn removed_groups_and_shutdown_mark_their_series_stale() {
    let two = "groups:\n- name: a\n  rules:\n  - record: a:x\n    expr: x\n- name: b\n  rules:\n  - record: b:x\n    expr: x\n";
    let h = harness(two, 15 * S);
    fill(&h, "x", 0, 10 * M, |_| 1.0);
    h.run_until(2 * M);
    let only_b = "groups:\n- name: b\n  rules:\n  - record: b:x\n    expr: x\n";
    h.clock.set(2 * M + 1);
    h.manager.update(
        tocsin_rules::parse_rule_file("rules.yml", only_b).expect("valid"),
        options(15 * S),
    );
    let dump = h.store.dump();
    let a = dump[&labels("a:x")].last().copied().expect("samples");
    assert!(is_stale_nan(a.v) && a.t == 2 * M + 1, "{a:?}");
    assert!(!is_stale_nan(
        dump[&labels("b:x")].last().expect("samples").v
    ));
    h.run_until(3 * M);
    h.clock.set(3 * M + 1);
    h.manager.stop();
    let b = h.store.dump()[&labels("b:x")]
        .last()
        .copied()
        .expect("samples");
    assert!(is_stale_nan(b.v) && b.t == 3 * M + 1, "{b:?}");
    assert!(h.manager.groups().is_empty());
}

#[test]
fn a_late_manager_evaluates_once_and_counts_missed_iterations() {
    let h = harness(DOWN, 15 * S);
    let first = h.advance_to(0).expect("next");
    // Wake up 10 intervals late: the 10 due evaluations before are skipped, one runs now.
    let next = h.advance_to(first + 10 * 15 * S).expect("next");
    let g = &h.manager.groups()[0];
    assert_eq!(g.last_eval, Some(first + 10 * 15 * S));
    assert_eq!(g.missed, 10);
    assert_eq!(next, first + 11 * 15 * S);
}

#[test]
fn groups_run_one_by_one_until_removed() {
    let two =
        "groups:\n- name: a\n  interval: 1m\n  rules: []\n- name: b\n  interval: 2m\n  rules: []\n";
    let h = harness(two, 15 * S);
    let keys = h.manager.group_keys();
    assert_eq!(
        keys,
        vec![
            ("rules.yml".to_owned(), "a".to_owned()),
            ("rules.yml".to_owned(), "b".to_owned())
        ]
    );
    let next_a = h.manager.run_group(&keys[0]).expect("exists");
    let next_b = h.manager.run_group(&keys[1]).expect("exists");
    h.clock.set(next_a);
    assert_eq!(h.manager.run_group(&keys[0]), Some(next_a + M));
    assert_eq!(h.manager.groups()[0].last_eval, Some(next_a));
    assert_eq!(h.manager.groups()[1].last_eval, None, "b was not due");
    assert!(next_b > 0);
    h.manager.update(
        tocsin_rules::parse_rule_file("rules.yml", "groups:\n- name: a\n  rules: []\n")
            .expect("valid"),
        options(15 * S),
    );
    assert_eq!(
        h.manager.run_group(&keys[1]),
        None,
        "removed groups end their loop"
    );
}
