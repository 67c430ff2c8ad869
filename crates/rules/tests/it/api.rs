//! `/api/v1/rules` and `/api/v1/alerts` bodies, snapshotted.

use serde_json::Value;
use tocsin_rules::api::{RulesFilter, alerts_json, rules_json};

use crate::support::harness;

const RULES: &str = "groups:
- name: availability
  interval: 15s
  labels: {team: sre}
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 30s
    labels: {severity: page}
    annotations: {summary: instance down}
  - alert: Slow
    expr: latency > 1
    resolve_expr: latency < 0.5
- name: other
  rules:
  - record: one
    expr: vector(1)
";

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("serializable")
}

/// Evaluation durations vary run to run.
fn redact(mut v: Value) -> Value {
    match &mut v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "evaluationTime" {
                    *x = Value::from(0);
                } else {
                    *x = redact(x.take());
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = redact(x.take());
            }
        }
        _ => {}
    }
    v
}

fn fixture() -> crate::support::Harness {
    let h = harness(RULES, 60_000);
    let start = 1_764_374_400_000; // 2025-11-29T00:00:00Z
    for k in 0..30 {
        let t = start + k * 5_000;
        h.push("up{job=\"api\", instance=\"a\"}", t, 0.0);
        h.push("up{job=\"api\", instance=\"b\"}", t, 1.0);
        h.push("latency{job=\"api\"}", t, 2.5);
    }
    h.clock.set(start);
    h.manager.update(
        tocsin_rules::parse_rule_file("rules.yml", RULES).expect("valid"),
        crate::support::options(60_000),
    );
    h.run_until(start + 100_000);
    h
}

#[test]
fn rules_endpoint_matches_prometheus_json() {
    let h = fixture();
    let groups = h.manager.groups();
    let all = rules_json(&groups, &RulesFilter::default()).expect("valid filter");
    insta::assert_snapshot!("rules_all", pretty(&redact(all)));
    let alerts_only = rules_json(
        &groups,
        &RulesFilter {
            kind: Some("alert".into()),
            rule_names: vec!["Slow".into()],
            ..RulesFilter::default()
        },
    )
    .expect("valid filter");
    insta::assert_snapshot!("rules_alert_slow", pretty(&redact(alerts_only)));
    let records = rules_json(
        &groups,
        &RulesFilter {
            kind: Some("record".into()),
            rule_groups: vec!["availability".into()],
            ..RulesFilter::default()
        },
    )
    .expect("valid filter");
    let names: Vec<&str> = records["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["job:up:sum"]);
    assert_eq!(records["groups"].as_array().map(Vec::len), Some(1));
    let err = rules_json(
        &groups,
        &RulesFilter {
            kind: Some("alerts".into()),
            ..RulesFilter::default()
        },
    )
    .expect_err("bad type");
    assert!(err.contains("must be either 'alert' or 'record'"));
    let by_file = rules_json(
        &groups,
        &RulesFilter {
            files: vec!["other.yml".into()],
            ..RulesFilter::default()
        },
    )
    .expect("valid");
    assert_eq!(by_file["groups"].as_array().map(Vec::len), Some(0));
}

#[test]
fn alerts_endpoint_matches_prometheus_json() {
    let h = fixture();
    insta::assert_snapshot!("alerts", pretty(&alerts_json(&h.manager.groups())));
}
