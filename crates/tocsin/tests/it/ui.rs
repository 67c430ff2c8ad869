//! The web UI in headless Chromium, driven by playwright-core (`crates/ui/e2e/run.mjs`)
//! against the real binary: each page loads without console errors, hostile labels stay
//! text, a silence and an ack are made through the UI, a chart renders, an incident is
//! acknowledged and a refused change shows its 409, a page is acknowledged from an inbox, an
//! override is created, the reports render. Screenshots land in
//! `target/ui-screenshots/`. Skips with a notice when Chromium, node or the node modules
//! are missing, unless TOCSIN_REQUIRE_REFERENCE_TOOLS is set (CI installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{TestServer, http, reference_tool};

const SLO: &str = r#"version: prometheus/v1
service: checkout
slos:
  - name: checkout-availability
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutAvailability
"#;

const ALERTMANAGER: &str = r#"route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 1h
receivers:
  - name: blackhole
"#;

// Two schedules, so the page shows a primary and a secondary; the policy pages the primary
// at once, which puts an item in its inbox when an incident opens.
const ONCALL: &str = r#"users:
  - {id: alice, name: Alice Liddell, time_zone: Europe/London}
  - {id: bob, name: "Bob <b>Tables</b>", time_zone: America/New_York}
  - {id: chen, time_zone: Asia/Tokyo}
teams:
  - {id: payments, name: Payments, members: [alice, bob, chen]}
services:
  - {id: checkout, name: Checkout, team: payments, escalation_policy: payments-default}
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {name: main, rotation: daily, handoff: "09:00", start: 2026-01-05, participants: [alice, bob]}
  - id: secondary
    time_zone: UTC
    layers:
      - {name: backup, rotation: weekly, start: 2026-01-05, participants: [chen, alice]}
escalation_policies:
  - id: payments-default
    steps:
      - delay: 30m
        targets: [{schedule: primary}]
      - delay: 30m
        targets: [{schedule: secondary}]
"#;

const INCIDENTS: &str = r"services:
  checkout:
    team: payments
    escalation_policy: payments-default
";

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/e2e")
}

/// Node, Chromium and playwright-core, or None (after a notice) when one is missing.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let node = reference_tool("node")?;
    let chromium = reference_tool("chromium")?;
    if !e2e_dir().join("node_modules/playwright-core").is_dir() {
        assert!(
            std::env::var_os("TOCSIN_REQUIRE_REFERENCE_TOOLS").is_none(),
            "playwright-core is required (TOCSIN_REQUIRE_REFERENCE_TOOLS is set) but not \
             installed; run `npm ci` in crates/ui/e2e (.ci/run does)"
        );
        eprintln!("SKIPPED: playwright-core not installed (npm ci in crates/ui/e2e)");
        return None;
    }
    Some((node, chromium))
}

#[tokio::test]
async fn pages_work_in_headless_chromium() {
    let Some((node, chromium)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slo.yml"), SLO).unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), ALERTMANAGER).unwrap();
    std::fs::write(dir.path().join("oncall.yml"), ONCALL).unwrap();
    std::fs::write(dir.path().join("incidents.yml"), INCIDENTS).unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "slo_files: [slo.yml]\nalerting:\n  config_file: alertmanager.yml\n\
         oncall:\n  files: [oncall.yml]\nincidents:\n  config_file: incidents.yml\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;

    // One alert whose label and annotation try to inject markup and script.
    let response = http()
        .post(server.url("/api/v2/alerts"))
        .json(&json!([{
            "labels": {"alertname": "HostileAlert", "service": "<script>window.pwned=1</script>"},
            "annotations": {"summary": "<img src=x onerror=\"window.pwned=1\">"},
        }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    // Two incidents opened by hand: INC-1 (hostile title) is acknowledged through the UI;
    // INC-2 stays in triage so its page waits in the primary's inbox.
    for title in [
        "<img src=x onerror=window.pwned=2> checkout down",
        "checkout slow",
    ] {
        let response = http()
            .post(server.url("/api/tocsin/v1/incidents"))
            .json(&json!({"title": title, "service": "checkout", "severity": "SEV2", "by": "e2e"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir above tmp")
        .join("ui-screenshots");
    let mut child = Command::new(node)
        .arg(e2e_dir().join("run.mjs"))
        .arg(server.url(""))
        .arg(&shots)
        .arg(chromium)
        .current_dir(e2e_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: each browser step has a 15 s timeout; the whole run gets 180 s.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = child.wait_with_output().unwrap();
    let report = format!(
        "stdout:\n{}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.logs()
    );
    let status = status.unwrap_or_else(|| panic!("browser test timed out after 180 s\n{report}"));
    assert!(status.success(), "browser test failed ({status})\n{report}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("all UI checks passed"),
        "{report}"
    );
    for page in [
        "overview",
        "slo",
        "alerts",
        "alerts-silenced",
        "incidents",
        "incident",
        "oncall",
        "oncall-override",
        "reports",
        "query",
    ] {
        assert!(
            shots.join(format!("{page}.png")).is_file(),
            "{page}.png missing"
        );
    }
}
