//! SLOs through the real binary: `slo_files` loaded by the server, budgets over data
//! written with remote_write, the deploy gate's exit code flipping from 0 to 1 when the budget
//! is spent, an override that lets releases through and survives a restart, exit code 2
//! without a server, and offline rule generation.

use std::path::Path;
use std::process::Command;

use tocsin_ingest::remote_write::{V1Encoder, compress};
use tocsin_model::Sample;

use crate::support::{BIN, TestServer, free_port, get_json, http};

const SPEC: &str = r#"version: prometheus/v1
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
    tocsin:
      sla: 95
"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Counter samples every 15 s from `from` to `to`, starting at `ok`/`bad`, adding the given
/// requests per scrape; returns the counters' last values.
async fn write(
    server: &TestServer,
    from: i64,
    to: i64,
    start: (f64, f64),
    per_scrape: (f64, f64),
) -> (f64, f64) {
    let (mut ok, mut bad) = start;
    let mut ok_samples = Vec::new();
    let mut bad_samples = Vec::new();
    let mut t = from;
    while t <= to {
        ok += per_scrape.0;
        bad += per_scrape.1;
        ok_samples.push(Sample { t, v: ok });
        bad_samples.push(Sample { t, v: bad });
        t += 15_000;
    }
    let mut encoder = V1Encoder::new();
    encoder.add_series(
        &[
            ("__name__", "http_requests_total"),
            ("job", "checkout"),
            ("code", "200"),
        ],
        &ok_samples,
    );
    encoder.add_series(
        &[
            ("__name__", "http_requests_total"),
            ("job", "checkout"),
            ("code", "500"),
        ],
        &bad_samples,
    );
    let response = http()
        .post(server.url("/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .body(compress(encoder.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        204,
        "{}",
        response.text().await.unwrap()
    );
    (ok, bad)
}

fn slo_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("slo").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn setup(dir: &Path) {
    std::fs::write(dir.join("slo.yml"), SPEC).unwrap();
    std::fs::write(
        dir.join("tocsin.yml"),
        "slo_files: [\"*.slo.yml\", slo.yml]\n",
    )
    .unwrap();
}

#[tokio::test]
async fn the_gate_blocks_once_the_budget_is_spent_and_honours_overrides() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let url = format!("http://{}", server.addr);

    // Half an hour of healthy traffic ending 10 minutes ago.
    let now = now_ms();
    let counters = write(
        &server,
        now - 40 * 60_000,
        now - 10 * 60_000,
        (0.0, 0.0),
        (100.0, 0.0),
    )
    .await;
    let (code, stdout, stderr) = slo_cli(&["gate", "checkout-availability", "--server", &url]);
    assert_eq!(code, 0, "healthy budget must allow: {stdout}{stderr}");
    assert!(
        stdout.starts_with("ALLOW: 100.00% of the error budget remains"),
        "{stdout}"
    );

    let (code, stdout, _) = slo_cli(&["list", "--server", &url]);
    assert_eq!(code, 0);
    let (code, status, stderr) = slo_cli(&["status", "checkout-availability", "--server", &url]);
    assert_eq!(code, 0, "{stderr}");
    assert!(status.contains("budget remaining:   100.00%"), "{status}");
    let (code, json, _) = slo_cli(&[
        "status",
        "checkout-availability",
        "--server",
        &url,
        "--json",
    ]);
    assert_eq!(code, 0);
    let body: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(body["slo"]["window"]["duration"], "30d");
    assert_eq!(body["budget"]["sla"]["breached"], false);
    assert!(
        stdout.contains("checkout-availability") && stdout.contains("100.00%"),
        "{stdout}"
    );

    // Then ten minutes in which every request fails: a third of the window's requests,
    // far over the 1% budget.
    write(
        &server,
        now - 10 * 60_000 + 15_000,
        now,
        counters,
        (0.0, 100.0),
    )
    .await;
    let (code, stdout, stderr) = slo_cli(&["gate", "checkout-availability", "--server", &url]);
    assert_eq!(code, 1, "spent budget must block: {stdout}{stderr}");
    assert!(
        stdout.starts_with("BLOCK: error budget exhausted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("BREACHED"),
        "the 95% SLA is broken too: {stdout}"
    );

    let (code, json, _) = slo_cli(&["gate", "checkout-availability", "--server", &url, "--json"]);
    assert_eq!(code, 1);
    let decision: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(decision["decision"], "block");
    assert!(decision["remaining"].as_f64().unwrap() < 0.0, "{decision}");
    let events = &decision["budget"]["events"];
    assert!(
        events["bad"].as_f64().unwrap() > 0.0
            && events["total"].as_f64().unwrap() > events["bad"].as_f64().unwrap()
    );

    // An override needs a reason and an author; then it lets releases through.
    let gate_override = server.url("/api/tocsin/v1/slos/checkout-availability/gate/override");
    let refused = http()
        .post(&gate_override)
        .body(r#"{"by": "alice", "reason": ""}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let accepted = http()
        .post(&gate_override)
        .body(r#"{"by": "alice", "reason": "hotfix for INC-42", "expires": "2h"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 200);
    let (code, stdout, _) = slo_cli(&["gate", "checkout-availability", "--server", &url]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("overridden by alice: hotfix for INC-42"),
        "{stdout}"
    );

    // The override is in the state store: it survives a restart.
    server.signal("TERM");
    assert_eq!(server.wait_exit().await, Some(0));
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let url = format!("http://{}", server.addr);
    let (code, json, _) = slo_cli(&["gate", "checkout-availability", "--server", &url, "--json"]);
    assert_eq!(code, 0, "{json}");
    let decision: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(decision["override_applied"]["by"], "alice");

    let unknown = http()
        .get(server.url("/api/tocsin/v1/slos/nope/gate"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let (code, _, stderr) = slo_cli(&["gate", "nope", "--server", &url]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_gate_exits_2_without_a_server() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let (code, _, stderr) = slo_cli(&["gate", "anything", "--server", &url]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[test]
fn generate_prints_rules_offline() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let file = dir.path().join("slo.yml");
    let (code, stdout, stderr) = slo_cli(&["generate", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("record: slo:sli_error:ratio_rate5m"));
    assert!(stdout.contains("burnrate_tier: 1h5m"));
    std::fs::write(dir.path().join("rules.yml"), &stdout).unwrap();
    // The rule engine reads the generated file as it reads any rule file.
    let groups = tocsin_rules::parse_rule_file("rules.yml", &stdout)
        .unwrap_or_else(|errors| panic!("{errors:?}"));
    assert_eq!(groups.len(), 3);
    if let Some(promtool) = crate::support::reference_tool("promtool") {
        let out = Command::new(promtool)
            .args(["check", "rules"])
            .arg(dir.path().join("rules.yml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    std::fs::write(dir.path().join("bad.yml"), "version: prometheus/v1\nservice: x\nslos:\n  - name: a\n    objective: 101\n    sli: {raw: {error_ratio_query: 'vector(0)'}}\n    alerting: {name: A}\n").unwrap();
    let (code, _, stderr) = slo_cli(&["generate", dir.path().join("bad.yml").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("objective 101 must be above 0 and below 100"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_server_evaluates_the_rules_its_slos_generate() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let body: serde_json::Value = get_json(&server, "/api/v1/rules").await;
    let rules: Vec<&serde_json::Value> = body["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert!(
        rules
            .iter()
            .any(|r| r["name"] == "slo:sli_error:ratio_rate5m" && r["type"] == "recording"),
        "{body:#}"
    );
    let tiers: Vec<&str> = rules
        .iter()
        .filter(|r| r["type"] == "alerting")
        .filter_map(|r| r["labels"]["burnrate_tier"].as_str())
        .collect();
    assert!(tiers.contains(&"1h5m"), "{body:#}");
    server.signal("TERM");
    assert_eq!(server.wait_exit().await, Some(0));
}
