//! The generated tiered alerts under Prometheus's own rule evaluator: `promtool test rules`
//! replays the total outage of `outage.rs` (healthy traffic, then every request failing)
//! and must fire the 14.4× tier at 60 s and nothing at 45 s, as our engine does. Only that
//! tier is generated, so two healthy hours fill its windows (promtool evaluates every step
//! from zero and caps samples per query, so three days would take minutes).

use std::process::Command;

use crate::sim::slo_99_9;
use crate::support::reference_tool;

#[test]
fn promtool_fires_the_page_tier_on_the_same_step() {
    let Some(promtool) = reference_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let slo = slo_99_9("    tocsin:\n      min_events: 100\n      tiers: [1h5m]\n");
    let rules = tocsin_slo::rule_groups_yaml(
        std::slice::from_ref(&slo),
        &tocsin_slo::GenerateOptions::default(),
    );
    // promtool orders groups randomly unless told (it sorts on an empty order map), and the
    // alerts read the recording rules of the same step: evaluate them in generation order.
    let group_order: Vec<String> = rules
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- name: "))
        .map(|name| format!("  - {name}\n"))
        .collect();
    assert_eq!(group_order.len(), 3, "{rules}");
    std::fs::write(dir.path().join("rules.yml"), &rules).unwrap();

    // Index h is the last healthy scrape; the outage fills h+1 onwards.
    let h: u64 = 2 * 240;
    let ok_last = 1_000_000 + 150 * h;
    let page = |at_seconds: u64, firing: bool| {
        let alerts = if firing {
            r#"
          - exp_labels:
              burnrate_tier: 1h5m
              sloth_severity: page
              sloth_id: app-availability
              sloth_service: app
              sloth_slo: availability
            exp_annotations:
              title: (page) app availability SLO error budget burn rate is too fast.
              summary: app availability SLO error budget burn rate is over expected."#
        } else {
            " []"
        };
        format!(
            "      - eval_time: {}s\n        alertname: AppAvailability\n        exp_alerts:{alerts}\n",
            h * 15 + at_seconds
        )
    };
    let tests = format!(
        r#"rule_files: [rules.yml]
evaluation_interval: 15s
group_eval_order:
{}tests:
  - interval: 15s
    input_series:
      - series: 'http_requests_total{{job="app",code="200"}}'
        values: '1000000+150x{h} {ok_last}+0x20'
      - series: 'http_requests_total{{job="app",code="500"}}'
        values: '10000+0x{h} 10150+150x19'
    alert_rule_test:
{}{}{}"#,
        group_order.concat(),
        page(0, false),
        page(45, false),
        page(60, true),
    );
    std::fs::write(dir.path().join("test.yml"), tests).unwrap();
    let out = Command::new(promtool)
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool disagrees:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
