//! Rules in the real server: samples arrive by remote_write, the alerting rule fires, the
//! alert is listed by `/api/v1/alerts` and reaches the router (`/api/v2/alerts`); a reload
//! picks up an edited rule file; `check rules` and `test rules` behave like promtool.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tocsin_ingest::remote_write::{V1Encoder, compress};
use tocsin_model::Sample;

use crate::support::{TestServer, get_json, http};

const BIN: &str = env!("CARGO_BIN_EXE_tocsin");

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn write(server: &TestServer, value: f64) {
    let mut encoder = V1Encoder::new();
    encoder.add_series(
        &[("__name__", "svc_up"), ("job", "checkout")],
        &[Sample::new(now_ms(), value)],
    );
    let response = http()
        .post(server.url("/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .body(compress(encoder.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
}

/// Polls `path` (writing a fresh sample each time) until `found` accepts the body; 20s at most.
async fn wait_for(server: &TestServer, path: &str, found: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        write(server, 0.0).await;
        let body = get_json(server, path).await;
        if found(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never matched; last body {body}\nlogs:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const RULES: &str = "groups:
  - name: checkout
    rules:
      - record: job:svc_up:min
        expr: min by (job) (svc_up)
      - alert: CheckoutDown
        expr: svc_up == 0
        labels: {severity: page}
        annotations:
          summary: '{{ $labels.job }} is down (value {{ $value }})'
";

#[tokio::test]
async fn a_rule_alert_reaches_the_api_and_the_router() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "global:\n  evaluation_interval: 1s\nrule_files: ['rules/*.yml']\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/checkout.yml"), RULES).unwrap();
    let mut server = TestServer::start(
        dir.path(),
        &["--data-dir", "data", "--config", "tocsin.yml"],
    );
    server.wait_ready().await;

    let alerts = wait_for(&server, "/api/v1/alerts", |b| {
        b["data"]["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(alerts["status"], "success");
    let alert = &alerts["data"]["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "CheckoutDown");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["state"], "firing");
    assert_eq!(
        alert["annotations"]["summary"],
        "checkout is down (value 0)"
    );

    let routed = wait_for(&server, "/api/v2/alerts", |b| {
        b.as_array()
            .is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == "CheckoutDown"))
    })
    .await;
    let routed = routed
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["labels"]["alertname"] == "CheckoutDown")
        .unwrap();
    assert_eq!(routed["labels"]["job"], "checkout");
    assert!(
        routed["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/graph?g0.expr=svc_up")
    );

    let rules = get_json(&server, "/api/v1/rules?type=record").await;
    assert_eq!(
        rules["data"]["groups"][0]["rules"][0]["name"],
        "job:svc_up:min"
    );
    let recorded = wait_for(&server, "/api/v1/query?query=job:svc_up:min", |b| {
        b["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    })
    .await;
    assert_eq!(recorded["data"]["result"][0]["value"][1], "0");

    let metrics = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains("tocsin_rule_evaluations_total{rule_group=\"rules/checkout.yml;checkout\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("tocsin_rule_alerts_sent_total{state=\"firing\"}"));

    // An edited rule file is picked up on reload; a broken one is refused and the old rules stay.
    std::fs::write(
        dir.path().join("rules/checkout.yml"),
        RULES.replace("CheckoutDown", "CheckoutUnavailable"),
    )
    .unwrap();
    let reload = http().post(server.url("/-/reload")).send().await.unwrap();
    assert_eq!(reload.status().as_u16(), 200, "{}", server.logs());
    wait_for(&server, "/api/v1/alerts", |b| {
        b["data"]["alerts"][0]["labels"]["alertname"] == "CheckoutUnavailable"
    })
    .await;
    std::fs::write(
        dir.path().join("rules/checkout.yml"),
        "groups:\n  - name: x\n    rules:\n      - record: y\n        expr: sum(\n",
    )
    .unwrap();
    let reload = http().post(server.url("/-/reload")).send().await.unwrap();
    assert_ne!(reload.status().as_u16(), 200);
    let rules = get_json(&server, "/api/v1/rules?rule_name[]=CheckoutUnavailable").await;
    assert_eq!(
        rules["data"]["groups"][0]["rules"][0]["name"],
        "CheckoutUnavailable"
    );
}

#[test]
fn check_rules_reports_positions_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yml"), RULES).unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n",
    )
    .unwrap();
    let good = Command::new(BIN)
        .args(["check", "rules", "good.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(good.status.success());
    assert_eq!(
        String::from_utf8_lossy(&good.stdout),
        "Checking good.yml\n  SUCCESS: 2 rules found\n\n"
    );
    let bad = Command::new(BIN)
        .args(["check", "rules", "good.yml", "bad.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad.yml:5:15: group \"g\", rule 1, \"A\": could not parse expression"),
        "{stderr}"
    );
}

#[test]
fn test_rules_runs_promtool_files() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/tests/promtool");
    let pass = Command::new(BIN)
        .args(["test", "rules"])
        .arg(base.join("pass/alerts.yml"))
        .output()
        .unwrap();
    assert!(
        pass.status.success(),
        "{}",
        String::from_utf8_lossy(&pass.stderr)
    );
    assert!(String::from_utf8_lossy(&pass.stdout).contains("  SUCCESS"));
    let fail = Command::new(BIN)
        .args(["test", "rules"])
        .arg(base.join("fail/too_early.yml"))
        .output()
        .unwrap();
    assert_eq!(fail.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&fail.stderr).contains("alertname: InstanceDown, time: 1m"));
}

#[tokio::test]
async fn alerts_also_go_to_external_alertmanagers_with_external_labels() {
    use std::sync::Arc;

    use parking_lot::Mutex;

    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = {
        let received = Arc::clone(&received);
        axum::Router::new().route(
            "/am/api/v2/alerts",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let received = Arc::clone(&received);
                async move {
                    received.lock().push(body);
                    axum::http::StatusCode::OK
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let am_addr = listener.local_addr().unwrap();
    let am = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        format!(
            "global:\n  evaluation_interval: 1s\n  external_labels: {{cluster: eu1}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - path_prefix: /am\n      static_configs:\n        - targets: ['{am_addr}']\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    let mut server = TestServer::start(
        dir.path(),
        &["--data-dir", "data", "--config", "tocsin.yml"],
    );
    server.wait_ready().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        write(&server, 0.0).await;
        let found = received
            .lock()
            .iter()
            .flat_map(|b| b.as_array().cloned().unwrap_or_default())
            .find(|a| a["labels"]["alertname"] == "CheckoutDown");
        if let Some(alert) = found {
            break alert;
        }
        assert!(
            Instant::now() < deadline,
            "no alert reached the Alertmanager\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(alert["labels"]["cluster"], "eu1");
    assert_eq!(alert["labels"]["severity"], "page");
    assert!(alert["startsAt"].as_str().unwrap().ends_with('Z'));
    assert!(alert["endsAt"].as_str().unwrap() > alert["startsAt"].as_str().unwrap());
    assert!(alert["generatorURL"].as_str().unwrap().contains("g0.expr="));
    // The router gets the same labels.
    let routed = wait_for(&server, "/api/v2/alerts", |b| {
        b.as_array()
            .is_some_and(|a| a.iter().any(|x| x["labels"]["cluster"] == "eu1"))
    })
    .await;
    assert!(routed.as_array().is_some_and(|a| !a.is_empty()));
    am.abort();
}
