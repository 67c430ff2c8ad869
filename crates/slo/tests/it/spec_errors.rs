//! What a wrong spec says: every error names the file, line (and column where the YAML
//! parser knows it) and what to do instead.

const CASES: &[(&str, &str)] = &[
    (
        "unknown field",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alertin: {}\n",
    ),
    (
        "plugin SLI",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      plugin:\n        id: sloth-common/availability\n    alerting: {name: A}\n",
    ),
    (
        "two SLI kinds",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      raw: {error_ratio_query: 'vector(0)'}\n      events: {error_query: 'vector(0)', total_query: 'vector(1)'}\n    alerting: {name: A}\n",
    ),
    (
        "objective out of range",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 100\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: A}\n",
    ),
    (
        "bad PromQL",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'sum(rate(x[{{.window}}])'}}\n    alerting: {name: A}\n",
    ),
    (
        "missing alert name",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n",
    ),
    (
        "objective is text",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: high\n",
    ),
    (
        "unknown version",
        "version: prometheus/v2\nservice: s\nslos: []\n",
    ),
    ("not a spec", "groups: []\n"),
    (
        "unknown tier",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: A}\n    tocsin:\n      tiers: [1h5m, 2h10m]\n",
    ),
    (
        "guard without total",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: A}\n    tocsin: {min_events: 10}\n",
    ),
    (
        "window not days",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: A}\n    tocsin: {window: 36h}\n",
    ),
    (
        "openslo unsupported source",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: s\n  indicator:\n    metadata: {name: i}\n    spec:\n      ratioMetric:\n        good: {metricSource: {type: Datadog, spec: {query: 'x'}}}\n        total: {metricSource: {type: Datadog, spec: {query: 'y'}}}\n  timeWindow: [{duration: 28d, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n",
    ),
    (
        "openslo timeslices without window",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: s\n  indicator:\n    metadata: {name: i}\n    spec:\n      ratioMetric:\n        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok[{{.window}}]))'}}}\n        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[{{.window}}]))'}}}\n  timeWindow: [{duration: 28d, isRolling: true}]\n  budgetingMethod: Timeslices\n  objectives: [{target: 0.99, timeSliceTarget: 0.9}]\n",
    ),
    (
        "openslo dangling ref",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: s\n  indicatorRef: nowhere\n  timeWindow: [{duration: 28d, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n",
    ),
    (
        "openslo kind",
        "apiVersion: openslo/v1\nkind: Budget\nmetadata: {name: a}\nspec: {}\n",
    ),
    (
        "openslo calendar week",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: s\n  indicatorRef: x\n  timeWindow: [{duration: 1w, isRolling: false, calendar: {startTime: '2026-01-01 00:00:00', timeZone: UTC}}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n",
    ),
    (
        "second document",
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: A}\n---\nversion: prometheus/v1\nservice: s\nslos:\n  - name: b\n    objective: 99\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: B}\n    bogus: 1\n",
    ),
];

#[test]
fn strict_parse_errors() {
    let mut table = String::new();
    for (name, spec) in CASES {
        let err = match tocsin_slo::load_str("slo.yml", spec) {
            Ok(slos) => panic!("{name}: accepted {slos:?}"),
            Err(err) => err.to_string(),
        };
        assert!(err.starts_with("slo.yml:"), "{name}: no location in {err}");
        table.push_str(&format!("{name}:\n  {err}\n"));
    }
    insta::assert_snapshot!(table);
}
