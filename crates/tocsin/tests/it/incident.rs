//! Incidents through the real binary: PagerDuty Events v2 at `/v2/enqueue` opens an
//! incident, a second trigger with the same dedup_key joins it, a resolve resolves it; the
//! CLI acknowledges, notes, assigns, shows and drafts the post-mortem; a runbook action runs
//! with its output on the timeline; everything survives a restart.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{BIN, TestServer, get_json, http};

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn setup(dir: &Path) {
    std::fs::write(
        dir.join("tocsin.yml"),
        "incidents:\n  config_file: incidents.yml\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("incidents.yml"),
        format!(
            "services:\n  checkout:\n    team: payments\n    integration_keys: [{KEY}]\n    runbook_url: https://runbooks.example.com/checkout\nallowed_commands: [/bin/echo]\nrunbook_actions:\n  echo-source:\n    command: [/bin/echo, checked, \"{{{{source}}}}\"]\n    params:\n      source: {{}}\n    timeout: 5s\n"
        ),
    )
    .unwrap();
}

fn cli(server: &TestServer, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--server", &server.url("")])
        .env("USER", "alice")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn enqueue(server: &TestServer, body: &Value) -> (u16, Value) {
    let response = http()
        .post(server.url("/v2/enqueue"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn trigger(summary: &str) -> Value {
    json!({
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": "disk-full-db-1",
        "payload": {"summary": summary, "source": "db-1", "severity": "critical",
                    "component": "postgres", "custom_details": {"free": "0.4%"}},
        "links": [{"href": "https://grafana.example.com/d/db", "text": "dashboard"}],
        "client": "nagios"
    })
}

#[tokio::test]
async fn pagerduty_events_open_dedup_and_resolve_an_incident_the_cli_works_on() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;

    let (status, body) = enqueue(&server, &trigger("Disk full on db-1")).await;
    assert_eq!(status, 202, "{}", server.logs());
    assert_eq!(
        body,
        json!({"status": "success", "message": "Event processed", "dedup_key": "disk-full-db-1"})
    );
    let (status, body) = enqueue(&server, &trigger("Disk still full on db-1")).await;
    assert_eq!(
        (status, &body["dedup_key"]),
        (202, &json!("disk-full-db-1"))
    );

    let (status, body) = enqueue(
        &server,
        &json!({"routing_key": KEY, "event_action": "trigger", "payload": {"summary": "x"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": [
            "'payload.source' is missing or blank",
            "'payload.severity' is missing or blank"
        ]})
    );

    let (code, out, err) = cli(&server, &["incident", "list"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "one incident for two triggers: {out}");
    assert!(
        rows[0].starts_with("INC-1    SEV1  triage        checkout"),
        "{out}"
    );
    assert!(rows[0].ends_with("Disk full on db-1"), "{out}");

    let (code, out, err) = cli(&server, &["incident", "ack", "INC-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("INC-1 now acknowledged (SEV1 checkout"),
        "{out}"
    );
    let (code, _, err) = cli(&server, &["incident", "ack", "INC-1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "INC-1 is acknowledged; it cannot become acknowledged (it is already acknowledged)"
        ),
        "{err}"
    );
    let (code, _, err) = cli(
        &server,
        &["incident", "note", "INC-1", "freed 20 GB of WAL"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&server, &["incident", "assign", "1", "ic", "alice"]);
    assert_eq!(code, 0, "{err}");

    let ran: Value = http()
        .post(server.url("/api/tocsin/v1/incidents/INC-1/actions/echo-source"))
        .json(&json!({"by": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ran["outcome"], "success", "{ran}");
    assert_eq!(ran["output"], "checked db-1\n");

    let (status, body) = enqueue(
        &server,
        &json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": "disk-full-db-1"}),
    )
    .await;
    assert_eq!(
        (status, &body["dedup_key"]),
        (202, &json!("disk-full-db-1"))
    );

    let (code, out, err) = cli(&server, &["incident", "show", "INC-1", "--json"]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["incident"]["status"], "resolved");
    assert_eq!(shown["incident"]["roles"]["commander"], "alice");
    assert!(
        shown["times"]["time_to_acknowledge_seconds"]
            .as_f64()
            .unwrap()
            >= 0.0
    );
    assert!(shown["times"]["time_to_resolve_seconds"].as_f64().unwrap() >= 0.0);
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "opened",
        "pagerduty",
        "status",
        "note",
        "role",
        "runbook_action",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    let (code, out, err) = cli(&server, &["postmortem", "draft", "INC-1", "--save"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# Post-mortem: INC-1 Disk full on db-1"),
        "{out}"
    );
    assert!(out.contains("- Time to resolve: "), "{out}");
    assert!(
        out.contains("| note | alice | freed 20 GB of WAL |"),
        "{out}"
    );
    assert!(out.contains("## Contributing factors"), "{out}");

    let (code, out, err) = cli(
        &server,
        &[
            "postmortem",
            "actions",
            "add",
            "INC-1",
            "--title",
            "Alert on WAL growth",
            "--owner",
            "bob",
            "--due",
            "2020-01-01",
            "--priority",
            "P1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "action item #1 added to INC-1");
    let (code, out, _) = cli(&server, &["postmortem", "policy"]);
    assert_eq!(code, 1, "an overdue item fails the policy check: {out}");
    assert!(out.contains("#1 INC-1 P1 (bob,"), "{out}");

    let (code, out, err) = cli(&server, &["incident", "metrics", "--json"]);
    assert_eq!(code, 0, "{err}");
    let metrics: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(metrics["overall"]["incidents"], 1);
    assert_eq!(metrics["by_team"]["payments"]["resolved"], 1);

    // Durable: a restart keeps the incident, and the dedup key is free again.
    server.signal("TERM");
    assert_eq!(server.wait_exit().await, Some(0), "{}", server.logs());
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let (code, out, err) = cli(&server, &["incident", "list", "--status", "resolved"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("INC-1    SEV1  resolved"), "{out}");
    let (status, _) = enqueue(&server, &trigger("Disk full again")).await;
    assert_eq!(status, 202);
    let (_, out, _) = cli(&server, &["incident", "list", "--status", "open"]);
    assert!(out.contains("INC-2    SEV1  triage"), "{out}");
}

#[test]
fn check_config_reads_the_incidents_file_and_points_at_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let ok = Command::new(BIN)
        .args(["check", "config", "tocsin.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::write(
        dir.path().join("incidents.yml"),
        "services:\n  checkout:\n    teem: payments\n",
    )
    .unwrap();
    let bad = Command::new(BIN)
        .args(["check", "config", "tocsin.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("incidents.yml:3:5: unknown field `teem`"),
        "{err}"
    );
}

/// Polls (bounded: 100 tries, 10 s) until an incident list is not empty.
async fn first_incident(server: &TestServer) -> Value {
    for _ in 0..100 {
        let list: Value = get_json(server, "/api/tocsin/v1/incidents").await;
        if let Some(first) = list["incidents"].as_array().and_then(|a| a.first()) {
            return first.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no incident opened within 10 s: {}", server.logs());
}

#[tokio::test]
async fn an_alert_routed_to_an_oncall_receiver_opens_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "incidents:\n  config_file: incidents.yml\nalerting:\n  config_file: alertmanager.yml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        "route:\n  receiver: oncall\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: oncall\n    oncall_configs: [{service: checkout}]\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    let started = "2026-11-29T04:00:00Z";
    let response = http()
        .post(server.url("/api/v2/alerts"))
        .json(&json!([{
            "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "Checkout error ratio above SLO"},
            "startsAt": started
        }]))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", server.logs());
    let incident = first_incident(&server).await;
    assert_eq!(incident["id"], "INC-1");
    assert_eq!(incident["title"], "Checkout error ratio above SLO");
    assert_eq!(incident["service"], "checkout");
    assert_eq!(incident["team"], "payments");
    assert_eq!(incident["severity"], "SEV1");
    assert_eq!(incident["source"], "alert_group");
    assert_eq!(incident["detected_time"], started);
    let shown: Value = get_json(&server, "/api/tocsin/v1/incidents/INC-1").await;
    assert_eq!(shown["alerts"].as_array().unwrap().len(), 1, "{shown}");
    assert!(shown["times"]["time_to_detect_seconds"].as_f64().unwrap() > 0.0);
}

/// The loop of issue #8 in one run: an alert routed to an `oncall_configs` receiver opens an
/// incident, the service's escalation policy pages the on-call through her webhook and her
/// inbox, the CLI acknowledges and resolves, MTTA and MTTR are reported, and the post-mortem
/// draft carries the timeline and the quantified impact.
#[tokio::test]
async fn an_alert_pages_the_oncall_and_the_incident_runs_to_a_postmortem() {
    let (hook, received) = crate::oncall::webhook_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("oncall")).unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "oncall:\n  files: [oncall/*.yml]\nincidents:\n  config_file: incidents.yml\nalerting:\n  config_file: alertmanager.yml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("oncall/team.yml"),
        format!(
            r#"users:
  - id: alice
    time_zone: Europe/London
    contacts:
      - webhook: {hook}
  - {{id: bob, time_zone: America/New_York}}
teams:
  - {{id: payments, members: [alice, bob]}}
services:
  - {{id: checkout, team: payments, escalation_policy: payments-primary}}
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {{name: main, rotation: weekly, start: 2026-01-05, participants: [alice]}}
escalation_policies:
  - id: payments-primary
    steps:
      - {{delay: 10m, targets: [{{schedule: primary}}]}}
      - {{delay: 10m, targets: [{{user: bob}}]}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("incidents.yml"),
        "services:\n  checkout:\n    runbook_url: https://runbooks.example.com/checkout\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        "route:\n  receiver: oncall\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: oncall\n    oncall_configs: [{service: checkout}]\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;

    let response = http()
        .post(server.url("/api/v2/alerts"))
        .json(&json!([{
            "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "Checkout error ratio above SLO"},
            "startsAt": "2026-11-29T04:00:00Z"
        }]))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", server.logs());
    let incident = first_incident(&server).await;
    assert_eq!(incident["id"], "INC-1");
    assert_eq!(incident["team"], "payments", "{incident}");

    // The first step pages alice, the on-call of `primary`, on her webhook and in her inbox.
    let mut pages = Vec::new();
    for _ in 0..100 {
        pages = received.lock().clone();
        if !pages.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pages.len(), 1, "one page: {pages:?}\n{}", server.logs());
    assert_eq!(pages[0]["user"], "alice", "{pages:?}");
    let inbox: Value = get_json(&server, "/api/tocsin/v1/oncall/users/alice/inbox").await;
    assert_eq!(inbox["items"].as_array().map(Vec::len), Some(1), "{inbox}");

    let escalations = || async {
        http()
            .get(server.url("/api/tocsin/v1/oncall/escalations"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    // The incident's ack reaches the escalation (so bob is never paged), its resolve ends it.
    let (code, _, err) = cli(&server, &["incident", "ack", "INC-1"]);
    assert_eq!(code, 0, "{err}");
    let acked = escalations().await;
    assert_eq!(acked["escalations"][0]["state"], "acked", "{acked}");
    let (code, _, err) = cli(&server, &["incident", "resolve", "INC-1"]);
    assert_eq!(code, 0, "{err}");
    let after = escalations().await;
    assert_eq!(after["escalations"], json!([]), "{after}");

    let (code, out, err) = cli(&server, &["incident", "show", "INC-1", "--json"]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["incident"]["status"], "resolved", "{shown}");
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["opened", "alert_firing", "page_sent", "status"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let (code, out, err) = cli(&server, &["incident", "metrics", "--json"]);
    assert_eq!(code, 0, "{err}");
    let metrics: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(metrics["overall"]["resolved"], 1, "{metrics}");
    assert!(
        metrics["overall"]["mtta_seconds"].as_f64().is_some(),
        "{metrics}"
    );
    assert!(
        metrics["overall"]["mttr_seconds"].as_f64().is_some(),
        "{metrics}"
    );

    let (code, out, err) = cli(&server, &["postmortem", "draft", "INC-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("## Impact"), "{out}");
    assert!(out.contains("- Duration of impact: "), "{out}");
    assert!(
        out.contains("page_sent"),
        "the timeline is in the draft: {out}"
    );
    assert!(
        out.contains("https://runbooks.example.com/checkout"),
        "{out}"
    );
}
