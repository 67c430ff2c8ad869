//! On-call through the real binary: a server with an on-call file answers `tocsin oncall
//! who`; an escalation started through the API pages the on-call user's webhook (a loopback
//! listener here) and inbox; the inbox acknowledges it; the schedule's iCal feed and report
//! are served; and a bad on-call file stops `tocsin check config` with its location.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::support::{BIN, TestServer, get_json, http};

const CONFIG: &str = "oncall:\n  files: [oncall/*.yml]\n";

fn directory(webhook: &str) -> String {
    format!(
        r#"users:
  - id: alice
    name: Alice Liddell
    time_zone: Europe/London
    contacts:
      - webhook: {webhook}
  - {{id: bob, time_zone: America/New_York}}
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {{name: main, rotation: weekly, start: 2026-01-05, participants: [alice]}}
escalation_policies:
  - id: sre
    steps:
      - {{delay: 5m, targets: [{{schedule: primary}}]}}
      - {{delay: 5m, targets: [{{user: bob}}]}}
"#
    )
}

fn oncall_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("oncall").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loopback webhook receiver that keeps every JSON body it gets.
pub(crate) async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock()
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), received)
}

#[tokio::test]
async fn who_answers_and_an_escalation_pages_the_webhook_and_the_inbox() {
    let (hook, received) = webhook_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tocsin.yml"), CONFIG).unwrap();
    std::fs::create_dir(dir.path().join("oncall")).unwrap();
    std::fs::write(dir.path().join("oncall/team.yml"), directory(&hook)).unwrap();
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let url = format!("http://{}", server.addr);

    let (code, out, err) = oncall_cli(&["who", "--server", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("primary") && out.contains("alice"), "{out}");
    let (code, out, err) = oncall_cli(&[
        "who",
        "--schedule",
        "primary",
        "--at",
        "2026-01-01T00:00:00Z",
        "--server",
        &url,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        body["schedules"][0]["on_call"],
        json!([]),
        "before the first handoff: nobody"
    );
    let (code, _, err) = oncall_cli(&["who", "--schedule", "nope", "--server", &url]);
    assert_eq!(code, 1);
    assert!(err.contains("no schedule named \"nope\""), "{err}");

    // An escalation pages alice (the on-call of `primary`) on her webhook and in her inbox.
    let started: Value = http()
        .post(server.url("/api/tocsin/v1/oncall/escalations"))
        .json(&json!({
            "key": "group-1",
            "policy": "sre",
            "page": {"title": "checkout error budget burning", "service": "checkout"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(started["outcome"], "started", "{started}");
    let again: Value = http()
        .post(server.url("/api/tocsin/v1/oncall/escalations"))
        .json(&json!({"key": "group-1", "policy": "sre", "page": {"title": "again"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["outcome"], "already_active", "{again}");
    let seen = Arc::clone(&received);
    server
        .wait_until(|| {
            let seen = Arc::clone(&seen);
            async move { !seen.lock().is_empty() }
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hooks = received.lock().clone();
    assert_eq!(hooks.len(), 1, "one page, not repeated: {hooks:?}");
    assert_eq!(hooks[0]["user"], "alice");
    assert_eq!(hooks[0]["key"], "group-1");
    assert_eq!(hooks[0]["page"]["title"], "checkout error budget burning");
    assert!(hooks[0]["page_id"].as_i64().is_some());

    let (code, out, err) = oncall_cli(&["inbox", "--user", "alice", "--server", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checkout error budget burning"), "{out}");
    let inbox: Value = get_json(&server, "/api/tocsin/v1/oncall/users/alice/inbox").await;
    let item = inbox["items"][0]["id"].as_i64().unwrap();
    let ack = http()
        .post(server.url(&format!(
            "/api/tocsin/v1/oncall/users/alice/inbox/{item}/ack"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);
    let escalations: Value = get_json(&server, "/api/tocsin/v1/oncall/escalations").await;
    assert_eq!(escalations["escalations"][0]["state"], "acked");
    assert_eq!(escalations["escalations"][0]["acked_by"], "alice");

    // The schedule's calendar and report.
    let ical = http()
        .get(server.url("/api/tocsin/v1/oncall/schedules/primary/ical"))
        .send()
        .await
        .unwrap();
    assert!(
        ical.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let ical = ical.text().await.unwrap();
    assert!(
        ical.starts_with("BEGIN:VCALENDAR\r\n") && ical.contains("BEGIN:VEVENT\r\n"),
        "{ical}"
    );
    let (code, out, err) = oncall_cli(&[
        "report",
        "--schedule",
        "primary",
        "--from",
        "2026-01-05T00:00:00Z",
        "--to",
        "2026-01-12T00:00:00Z",
        "--server",
        &url,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("100.0% covered"), "{out}");
    assert!(out.contains("alice") && out.contains("168.0"), "{out}");
}

#[test]
fn check_config_reports_a_bad_oncall_file_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tocsin.yml"), CONFIG).unwrap();
    std::fs::create_dir(dir.path().join("oncall")).unwrap();
    std::fs::write(
        dir.path().join("oncall/team.yml"),
        "teams:\n  - id: sre\n    members: [ghost]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "config"])
        .arg(dir.path().join("tocsin.yml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("team.yml:2:5: team \"sre\": member \"ghost\" is not a user"),
        "{stderr}"
    );
}
