//! The alert router against the real things: amtool and Prometheus 2.42 talking to tocsin,
//! the same alert stream into Debian's Alertmanager 0.25 and tocsin with their webhook
//! notifications compared, and kill -9 between a notification and its repeat.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::support::{TestServer, free_port, get_json, http, reference_tool};

/// Receives webhook posts on loopback; keeps (path, body).
struct Collector {
    addr: String,
    received: Arc<Mutex<Vec<(String, Value)>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Collector {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let sink = Arc::clone(&received);
        let app =
            axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
                let sink = Arc::clone(&sink);
                async move {
                    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    sink.lock().push((uri.path().to_owned(), value));
                    "ok"
                }
            });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            received,
            _task: task,
        }
    }

    fn on(&self, path: &str) -> Vec<Value> {
        self.received
            .lock()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn am_config(collector: &str, path: &str) -> String {
    format!(
        r#"route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['team="db"']
      receiver: db
      group_by: [alertname, instance]
receivers:
  - name: hook
    webhook_configs: [{{url: "http://{collector}{path}/hook"}}]
  - name: db
    webhook_configs: [{{url: "http://{collector}{path}/db", send_resolved: false}}]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [service]
"#
    )
}

fn start_tocsin(dir: &Path, am: &str) -> TestServer {
    std::fs::write(dir.join("alertmanager.yml"), am).unwrap();
    std::fs::write(
        dir.join("tocsin.yml"),
        "alerting:\n  config_file: alertmanager.yml\n",
    )
    .unwrap();
    TestServer::start(dir, &["--config", "tocsin.yml"])
}

async fn post_alerts(base: &str, alerts: &Value) {
    let response = http()
        .post(format!("{base}/api/v2/alerts"))
        .json(alerts)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{base}: {}", response.text().await.unwrap());
}

/// Polls `check` every 100 ms for at most `secs`.
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

/// A notification reduced to what must match between implementations.
fn summary(body: &Value) -> (String, String, String, BTreeSet<String>) {
    let alerts = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["labels"], a["status"].as_str().unwrap()))
        .collect();
    (
        body["groupKey"].as_str().unwrap().to_owned(),
        body["status"].as_str().unwrap().to_owned(),
        body["groupLabels"].to_string(),
        alerts,
    )
}

struct Child9(Child);
impl Drop for Child9 {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn alertmanager_and_tocsin_send_the_same_notifications() {
    let Some(alertmanager) = reference_tool("prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    // Alertmanager 0.25, clustering off, on loopback.
    std::fs::write(dir.path().join("am.yml"), am_config(&collector.addr, "/am")).unwrap();
    let am_port = free_port();
    let am_log = std::fs::File::create(dir.path().join("am.log")).unwrap();
    let _am = Child9(
        Command::new(alertmanager)
            .args([
                "--config.file=am.yml",
                "--storage.path=am-data",
                &format!("--web.listen-address=127.0.0.1:{am_port}"),
                "--cluster.listen-address=",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(am_log)
            .spawn()
            .unwrap(),
    );
    let am_url = format!("http://127.0.0.1:{am_port}");
    let tocsin_dir = dir.path().join("tocsin");
    std::fs::create_dir_all(&tocsin_dir).unwrap();
    let mut tocsin = start_tocsin(&tocsin_dir, &am_config(&collector.addr, "/tocsin"));
    tocsin.wait_ready().await;
    let client = http();
    let mut ready = false;
    for _ in 0..200 {
        if client
            .get(format!("{am_url}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "alertmanager did not start: {}",
        std::fs::read_to_string(dir.path().join("am.log")).unwrap_or_default()
    );
    let bases = [am_url.clone(), tocsin.url("")];

    let firing = json!([
        {"labels": {"alertname": "Down", "instance": "a", "service": "api", "severity": "warning"}},
        {"labels": {"alertname": "Down", "instance": "b", "service": "web", "severity": "warning"}},
        {"labels": {"alertname": "Disk", "instance": "x", "team": "db"}},
        {"labels": {"alertname": "Disk", "instance": "y", "team": "db"}},
        {"labels": {"alertname": "Outage", "service": "api", "severity": "critical"}},
    ]);
    for base in &bases {
        post_alerts(base, &firing).await;
    }
    // After group_wait: Down{b} (Down{a} is inhibited by Outage), Disk per instance, Outage.
    assert!(
        eventually(10, || collector.on("/am/hook").len()
            + collector.on("/am/db").len()
            >= 4
            && collector.on("/tocsin/hook").len()
                + collector.on("/tocsin/db").len()
                >= 4)
        .await,
        "first notifications missing: {:?}",
        collector.received.lock()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Then: the outage resolves (Down{a} is released), one Disk alert resolves.
    let now = jiff_now();
    let resolved = json!([
        {"labels": {"alertname": "Outage", "service": "api", "severity": "critical"}, "endsAt": now},
        {"labels": {"alertname": "Disk", "instance": "x", "team": "db"}, "endsAt": now},
    ]);
    for base in &bases {
        post_alerts(base, &resolved).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;

    let for_system = |prefix: &str| -> Vec<(String, String, String, BTreeSet<String>)> {
        let mut all: Vec<_> = collector
            .received
            .lock()
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(p, body)| {
                let mut s = summary(body);
                s.1 = format!("{} {}", p.trim_start_matches(prefix), s.1);
                s
            })
            .collect();
        all.sort();
        all
    };
    let am = for_system("/am");
    let ours = for_system("/tocsin");
    assert!(
        am.len() >= 6,
        "alertmanager sent too little to compare: {am:#?}"
    );
    assert_eq!(ours, am, "tocsin and Alertmanager notified differently");
}

fn jiff_now() -> String {
    jiff::Timestamp::now().to_string()
}

#[tokio::test]
async fn amtool_queries_alerts_and_manages_silences() {
    let Some(amtool) = reference_tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_tocsin(dir.path(), &am_config("127.0.0.1:9", ""));
    server.wait_ready().await;
    post_alerts(
        &server.url(""),
        &json!([{"labels": {"alertname": "AmtoolSees", "job": "api"}, "annotations": {"summary": "s"}}]),
    )
    .await;
    let url = format!("--alertmanager.url={}", server.url(""));
    let run = |args: &[&str]| {
        let out = Command::new(&amtool).arg(&url).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "amtool {args:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let alerts = run(&["alert", "query"]);
    assert!(alerts.contains("AmtoolSees"), "{alerts}");
    let id = run(&[
        "silence",
        "add",
        "alertname=AmtoolSees",
        "--comment=maintenance",
        "--author=ci",
        "--duration=1h",
    ]);
    let id = id.trim().to_owned();
    assert_eq!(id.len(), 36, "not a silence id: {id}");
    let listed = run(&["silence", "query"]);
    assert!(
        listed.contains(&id) && listed.contains("maintenance"),
        "{listed}"
    );
    let silenced = run(&["alert", "query", "--silenced"]);
    assert!(silenced.contains("AmtoolSees"), "{silenced}");
    let active_only = run(&["alert", "query", "--active"]);
    assert!(!active_only.contains("AmtoolSees"), "{active_only}");
    run(&["silence", "expire", &id]);
    let listed = run(&["silence", "query"]);
    assert!(!listed.contains(&id), "{listed}");
    let expired = run(&["silence", "query", "--expired"]);
    assert!(expired.contains(&id), "{expired}");
    // Configuration errors come with file:line:column.
    std::fs::write(
        dir.path().join("bad.yml"),
        "route:\n  receiver: nope\nreceivers: [{name: x}]\n",
    )
    .unwrap();
    let out = Command::new(crate::support::BIN)
        .args(["check", "alertmanager", "bad.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("bad.yml:2:13: undefined receiver \"nope\""),
        "{said}"
    );
}

#[tokio::test]
async fn prometheus_sends_its_alerts_to_tocsin() {
    let Some(prometheus) = reference_tool("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_tocsin(dir.path(), &am_config("127.0.0.1:9", ""));
    server.wait_ready().await;
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n        labels: {severity: page}\n        annotations: {summary: from prometheus}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{}']}}]\n",
            server.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prom.log")).unwrap();
    let _prom = Child9(
        Command::new(prometheus)
            .args([
                "--config.file=prometheus.yml",
                "--storage.tsdb.path=prom-data",
                // Alertmanagers are discovered after ~5s; resend soon after, not after 1m.
                "--rules.alert.resend-delay=1s",
                &format!("--web.listen-address=127.0.0.1:{port}"),
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let client = http();
    let mut found = Value::Null;
    for _ in 0..300 {
        let alerts: Value = client
            .get(server.url("/api/v2/alerts"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(a) = alerts.as_array().and_then(|a| {
            a.iter()
                .find(|a| a["labels"]["alertname"] == "AlwaysFiring")
        }) {
            found = a.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        found.is_object(),
        "no alert from Prometheus within 30s; prometheus log:\n{}",
        std::fs::read_to_string(dir.path().join("prom.log")).unwrap_or_default()
    );
    assert_eq!(found["labels"]["severity"], "page");
    assert_eq!(found["annotations"]["summary"], "from prometheus");
    assert!(
        found["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/graph?g0.expr="),
        "{found}"
    );
    assert_eq!(found["status"]["state"], "active");
}

#[tokio::test]
async fn kill_9_between_a_notification_and_its_repeat_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    let config = am_config(&collector.addr, "");
    let mut server = start_tocsin(dir.path(), &config);
    server.wait_ready().await;
    let alert = json!([
        {"labels": {"alertname": "Once", "instance": "i"}, "endsAt": "2100-01-01T00:00:00Z"},
        {"labels": {"alertname": "Muted", "instance": "i"}, "endsAt": "2100-01-01T00:00:00Z"},
    ]);
    let silence = http()
        .post(server.url("/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "Muted", "isRegex": false, "isEqual": true}],
            "startsAt": "2000-01-01T00:00:00Z", "endsAt": "2100-01-01T00:00:00Z",
            "createdBy": "ci", "comment": "quiet"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(silence.status(), 200);
    post_alerts(&server.url(""), &alert).await;
    assert!(eventually(10, || collector.on("/hook").len() == 1).await);
    // kill -9: no shutdown, no flush.
    server.signal("KILL");
    server.wait_exit().await;
    let mut again = start_tocsin(dir.path(), &config);
    again.wait_ready().await;
    // Prometheus re-sends its alerts after a restart.
    post_alerts(&again.url(""), &alert).await;
    // group_wait (1s) and several group intervals pass: no repeat (repeat_interval 1h), and
    // the silenced alert stays silenced.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let sent = collector.on("/hook");
    assert_eq!(sent.len(), 1, "notified again after the restart: {sent:#?}");
    let silences: Value = get_json(&again, "/api/v2/silences").await;
    assert_eq!(silences.as_array().unwrap().len(), 1, "{silences}");
    assert_eq!(silences[0]["status"]["state"], "active");
    let history: Value = get_json(&again, "/api/tocsin/v1/alerts/history?kind=notification").await;
    let states: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["sent"], "{history}");
}

#[tokio::test]
async fn feedback_from_the_notification_link_and_the_cli_feeds_the_noise_report() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    let mut server = start_tocsin(dir.path(), &am_config(&collector.addr, ""));
    server.wait_ready().await;
    post_alerts(
        &server.url(""),
        &json!([{"labels": {"alertname": "Flappy", "service": "api"}, "endsAt": "2100-01-01T00:00:00Z"}]),
    )
    .await;
    assert!(eventually(10, || collector.on("/hook").len() == 1).await);
    let body = collector.on("/hook").remove(0);
    let id = body["tocsin"]["notificationID"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = body["tocsin"]["feedbackURL"].as_str().unwrap().to_owned();
    assert!(
        link.ends_with(&format!("/api/tocsin/v1/alerts/feedback?notification={id}")),
        "{link}"
    );

    // The link opens a form and records nothing; its buttons post the form.
    let page_url = server.url(&format!("/api/tocsin/v1/alerts/feedback?notification={id}"));
    let page = http().get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("name=\"notification\" value=\"{id}\"")),
        "{html}"
    );
    let thanks = http()
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("notification={id}&by=alice&verdict=noise&comment="))
        .send()
        .await
        .unwrap();
    assert_eq!(thanks.status(), 200);
    assert!(
        thanks
            .text()
            .await
            .unwrap()
            .contains("Recorded: noise for Flappy")
    );

    // JSON by group key; a bad verdict is a 400 that says what is allowed.
    let group_key = body["groupKey"].as_str().unwrap();
    let bad = http()
        .post(server.url("/api/tocsin/v1/alerts/feedback"))
        .json(&json!({"group_key": group_key, "verdict": "meh", "by": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("neither \\\"actionable\\\" nor \\\"noise\\\"")
    );

    // The CLI: feedback by id, then the report.
    let cli = |args: &[&str]| {
        let out = Command::new(crate::support::BIN)
            .args(args)
            .args(["--url", &server.url("")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let said = cli(&[
        "alerts",
        "feedback",
        &id,
        "--verdict",
        "actionable",
        "--by",
        "carol",
    ]);
    assert!(
        said.starts_with("recorded actionable by carol for Flappy"),
        "{said}"
    );
    let report = cli(&["alerts", "report", "--by", "service", "--step", "1h"]);
    let api_line = report
        .lines()
        .find(|l| l.starts_with("api "))
        .unwrap_or_default();
    let columns: Vec<&str> = api_line.split_whitespace().collect();
    // FIRED NOTIFICATIONS ACTIONABLE NOISE RATIO
    assert_eq!(columns, ["api", "1", "1", "1", "1", "50%"], "{report}");
    assert!(report.contains("top noisy:"), "{report}");
    let json: Value = serde_json::from_str(&cli(&[
        "alerts",
        "report",
        "--by",
        "alertname",
        "--step",
        "1d",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["series"][0]["key"], "Flappy");
    assert_eq!(json["series"][0]["buckets"].as_array().unwrap().len(), 7);
}
