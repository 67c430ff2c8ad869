//! Acknowledging an alert group through the CLI and the API of a running server: repeats
//! stop, the group shows its acknowledgement, history records it, un-acking resumes repeats.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{BIN, TestServer, get_json, http};

/// Counts webhook posts on loopback.
async fn counting_webhook() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let app = axum::Router::new().fallback(move || {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, count)
}

async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

fn cli(server: &TestServer, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("alerts")
        .args(args)
        .args(["--url", &server.url("")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn acked_group_stops_repeating_until_unacked() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, sent) = counting_webhook().await;
    // A nested route, so the group key holds a `/` the URL must encode.
    let am = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1s\n  routes:\n    - matchers: [team=db]\n      receiver: hook\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: \"http://{hook}/hook\"}}]\n"
    );
    std::fs::write(dir.path().join("alertmanager.yml"), am).unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "alerting:\n  config_file: alertmanager.yml\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let posted = http()
        .post(server.url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Down", "team": "db"}, "endsAt": "2100-01-01T00:00:00Z"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    // Repeats every ~2s while unacknowledged.
    assert!(eventually(10, || sent.load(Ordering::SeqCst) >= 2).await);

    let groups = get_json(&server, "/api/tocsin/v1/alerts/groups").await;
    let key = groups[0]["key"].as_str().unwrap().to_owned();
    assert!(key.contains('/'), "{key}");
    assert_eq!(groups[0]["ack"], Value::Null);
    let out = cli(&server, &["ack", &key, "--by", "alice", "--for", "2h"]);
    assert!(out.contains("acknowledged by alice"), "{out}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_ack = sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        at_ack,
        "repeated while acknowledged"
    );

    let groups = get_json(&server, "/api/tocsin/v1/alerts/groups").await;
    assert_eq!(groups[0]["ack"]["by"], "alice", "{groups}");
    let listed = cli(&server, &["groups"]);
    assert!(listed.contains("alice"), "{listed}");
    let refused = http()
        .post(server.url("/api/tocsin/v1/alerts/groups/nope/ack"))
        .json(&json!({"by": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);

    cli(&server, &["unack", &key]);
    assert!(eventually(10, || sent.load(Ordering::SeqCst) > at_ack).await);
    let history = get_json(&server, "/api/tocsin/v1/alerts/history?kind=ack").await;
    let states: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["unacked", "acked"], "{history}");
}
