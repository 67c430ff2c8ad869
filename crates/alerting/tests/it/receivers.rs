//! Slack, PagerDuty and email receivers against loopback fakes, with snapshots of what they
//! send; the configuration errors they report; and Slack and PagerDuty payloads compared
//! with Debian's Alertmanager 0.25 given the same configuration and alerts.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tocsin_alerting::alert::{Alert, LabelSet};
use tocsin_alerting::config::AlertmanagerConfig;
use tocsin_alerting::notify::{Integration, Notification};
use tocsin_alerting::receivers::{BuildContext, Templates, build_integrations, pagerduty};
use tocsin_alerting::time::ZERO_TIME;
use tocsin_alerting::webhook::{HttpPost, ReqwestPost, UrlPolicy};

use crate::recorders::{HttpRecorder, SmtpRecorder};
use crate::support::reference_tool;

/// 2026-01-01T00:00:00Z.
const STARTS: i64 = 1_767_225_600_000;
const NOW: i64 = STARTS + 60_000;
const GROUP_KEY: &str = "{}:{alertname=\"HighLatency\"}";
const EXTERNAL_URL: &str = "http://am.example.com:9093";

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn alert(instance: &str, resolved: bool) -> Alert {
    Alert {
        labels: labels(&[
            ("alertname", "HighLatency"),
            ("instance", instance),
            ("job", "api"),
            ("severity", "page"),
        ]),
        annotations: labels(&[
            ("summary", "latency is high"),
            ("runbook_url", "https://runbooks.example.com/latency"),
        ]),
        starts_at: STARTS,
        ends_at: if resolved { NOW - 1000 } else { ZERO_TIME },
        updated_at: STARTS,
        generator_url: "http://prometheus.example.com/graph?g0.expr=up".to_owned(),
        timeout: false,
    }
}

fn http() -> Arc<dyn HttpPost> {
    // The binary installs ring at start-up; the workspace's reqwest has no provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(ReqwestPost::new(UrlPolicy::default(), Duration::from_secs(5), "tocsin-test").unwrap())
}

fn integrations(yaml: &str, dir: &std::path::Path) -> Vec<Arc<dyn Integration>> {
    let config = AlertmanagerConfig::parse("alertmanager.yml", yaml).unwrap();
    let mut templates = Templates::load(&config.templates, dir).unwrap();
    let http = http();
    let cx = BuildContext {
        external_url: EXTERNAL_URL,
        http: &http,
        base_dir: dir,
        oncall: None,
    };
    build_integrations(&config, &config.receivers[0].value, &mut templates, &cx).unwrap()
}

async fn notify(integration: &dyn Integration, alerts: &[Alert]) {
    let group_labels = labels(&[("alertname", "HighLatency")]);
    let n = Notification {
        receiver: "team-api",
        group_key: GROUP_KEY,
        group_labels: &group_labels,
        alerts,
        now: NOW,
        id: "",
    };
    integration.notify(&n).await.unwrap();
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[tokio::test]
async fn slack_posts_alertmanagers_attachment() {
    let rec = HttpRecorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("custom.tmpl"),
        r#"{{ define "custom.text" }}{{ range .Alerts }}*{{ .Labels.instance }}*: {{ .Annotations.summary }}
{{ end }}{{ end }}"#,
    )
    .unwrap();
    let yaml = format!(
        r##"
global:
  slack_api_url: http://{addr}/slack-global
templates: ["*.tmpl"]
route: {{receiver: team-api}}
receivers:
  - name: team-api
    slack_configs:
      - channel: "#alerts"
        send_resolved: true
      - api_url: http://{addr}/slack-custom
        text: '{{{{ template "custom.text" . }}}}'
        fields:
          - title: Severity
            value: '{{{{ .CommonLabels.severity }}}}'
        actions:
          - type: button
            text: Runbook
            url: '{{{{ (index .Alerts 0).Annotations.runbook_url }}}}'
"##,
        addr = rec.addr
    );
    let integrations = integrations(&yaml, dir.path());
    assert_eq!(integrations.len(), 2);
    let alerts = [alert("a:1", false), alert("b:1", true)];
    for i in &integrations {
        notify(i.as_ref(), &alerts).await;
    }
    notify(integrations[0].as_ref(), &[alert("a:1", true)]).await;
    let global = rec.bodies("/slack-global");
    assert_eq!(global.len(), 2);
    insta::assert_snapshot!("slack_default_firing", pretty(&global[0]));
    insta::assert_snapshot!("slack_default_resolved", pretty(&global[1]));
    let custom = rec.bodies("/slack-custom");
    insta::assert_snapshot!("slack_custom", pretty(&custom[0]));
}

#[tokio::test]
async fn slack_retries_server_errors_only() {
    let rec = HttpRecorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "route: {{receiver: r}}\nreceivers:\n  - name: r\n    slack_configs: [{{api_url: 'http://{}/s'}}]\n",
        rec.addr
    );
    let slack = &integrations(&yaml, dir.path())[0];
    let group_labels = LabelSet::new();
    let alerts = [alert("a:1", false)];
    let n = Notification {
        receiver: "r",
        group_key: "{}:{}",
        group_labels: &group_labels,
        alerts: &alerts,
        now: NOW,
        id: "",
    };
    *rec.status.lock() = 503;
    assert!(slack.notify(&n).await.unwrap_err().retry);
    *rec.status.lock() = 400;
    assert!(!slack.notify(&n).await.unwrap_err().retry);
}

#[tokio::test]
async fn pagerduty_triggers_and_resolves_with_the_group_key_hash() {
    let rec = HttpRecorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "file-key\n").unwrap();
    let yaml = format!(
        r#"
global:
  pagerduty_url: http://{addr}/v2/enqueue
route: {{receiver: team-api}}
receivers:
  - name: team-api
    pagerduty_configs:
      - routing_key: abc123
      - routing_key_file: key
        url: http://{addr}/custom
        severity: '{{{{ if eq .CommonLabels.severity "page" }}}}critical{{{{ else }}}}warning{{{{ end }}}}'
        class: latency
        component: '{{{{ .CommonLabels.job }}}}'
        group: prod
        details:
          firing: '{{{{ .Alerts.Firing | len }}}} firing'
          owner: team-api
        links:
          - href: '{{{{ .ExternalURL }}}}'
            text: Alertmanager
        send_resolved: false
"#,
        addr = rec.addr
    );
    let integrations = integrations(&yaml, dir.path());
    let firing = [alert("a:1", false), alert("b:1", true)];
    let resolved = [alert("a:1", true), alert("b:1", true)];
    for i in &integrations {
        notify(i.as_ref(), &firing).await;
        notify(i.as_ref(), &resolved).await;
    }
    let default = rec.bodies("/v2/enqueue");
    assert_eq!(default.len(), 2);
    assert_eq!(default[0]["dedup_key"], pagerduty::dedup_key(GROUP_KEY));
    assert_eq!(default[0]["event_action"], "trigger");
    assert_eq!(default[1]["event_action"], "resolve");
    insta::assert_snapshot!("pagerduty_default_trigger", pretty(&default[0]));
    insta::assert_snapshot!("pagerduty_default_resolve", pretty(&default[1]));
    // send_resolved: false sends the trigger only.
    let custom = rec.bodies("/custom");
    assert_eq!(custom.len(), 1);
    insta::assert_snapshot!("pagerduty_custom", pretty(&custom[0]));
}

#[test]
fn dedup_key_is_sha256_of_the_group_key() {
    // printf '%s' '{}:{}' | sha256sum
    assert_eq!(
        pagerduty::dedup_key("{}:{}"),
        "cc9772a1ec901d26ef71dae861793e4d08979fa5030a3f0a5f3ba549f1f2d0b6"
    );
}

/// Date, Message-ID and MIME boundaries change on every run.
fn redact_mail(data: &str) -> String {
    let mut out = String::new();
    let boundary = data.lines().find_map(|l| {
        l.split_once("boundary=\"")
            .map(|(_, b)| b.trim_end_matches('"').to_owned())
    });
    for line in data.lines() {
        let mut line = line.to_owned();
        if let Some(b) = &boundary {
            line = line.replace(b.as_str(), "BOUNDARY");
        }
        if line.starts_with("Date: ") {
            line = "Date: <date>".to_owned();
        }
        if line.starts_with("Message-ID: ") {
            line = "Message-ID: <id>".to_owned();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn email_is_sent_over_smtp_with_auth_headers_and_both_bodies() {
    let smtp = SmtpRecorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"
global:
  smtp_smarthost: {addr}
  smtp_from: alertmanager@example.com
  smtp_require_tls: false
route: {{receiver: team-api}}
receivers:
  - name: team-api
    email_configs:
      - to: oncall@example.com, lead@example.com
        hello: tocsin.example.com
        auth_username: tocsin
        auth_password: secret
        headers:
          x-team: '{{{{ .CommonLabels.job }}}}'
        text: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ .Status }}}}{{{{ "\n" }}}}{{{{ end }}}}'
"#,
        addr = smtp.addr
    );
    let integrations = integrations(&yaml, dir.path());
    notify(
        integrations[0].as_ref(),
        &[alert("a:1", false), alert("b:1", true)],
    )
    .await;
    let mut session = None;
    for _ in 0..100 {
        if let Some(s) = smtp.sessions.lock().first() {
            session = Some(s.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let session = session.expect("the SMTP server saw no session");
    assert_eq!(session.commands[0], "EHLO tocsin.example.com");
    // AUTH PLAIN with "\0tocsin\0secret".
    assert!(
        session
            .commands
            .iter()
            .any(|c| c == "AUTH PLAIN AHRvY3NpbgBzZWNyZXQ="),
        "{:?}",
        session.commands
    );
    assert!(
        session
            .commands
            .iter()
            .any(|c| c == "MAIL FROM:<alertmanager@example.com>"),
        "{:?}",
        session.commands
    );
    assert!(
        session
            .commands
            .iter()
            .any(|c| c == "RCPT TO:<oncall@example.com>")
    );
    assert!(
        session
            .commands
            .iter()
            .any(|c| c == "RCPT TO:<lead@example.com>")
    );
    insta::assert_snapshot!("email_data", redact_mail(&session.data));
}

#[test]
fn receiver_config_errors_name_the_place_and_the_fix() {
    let cases: &[(&str, &str)] = &[
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - channel: x\n",
            "alertmanager.yml:5:9: receiver \"r\": no global Slack API URL set",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: http://x/\n        api_url_file: f\n",
            "at most one of api_url & api_url_file must be configured",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: http://x/\n        fields: [{title: t}]\n",
            "missing field `value`",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: http://x/\n        actions: [{type: button, text: t}]\n",
            "missing name or url in Slack action configuration",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: http://x/\n        colour: red\n",
            "unknown field `colour`",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - smarthost: a:25\n        from: a@b\n",
            "missing to address in email config",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b\n        from: a@b\n",
            "no global SMTP smarthost set",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b\n        smarthost: a:25\n",
            "no global SMTP from set",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b\n        from: a@b\n        smarthost: nohost\n",
            "smarthost must be host:port",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - {to: a@b, from: a@b, smarthost: 'a:25', headers: {subject: x, Subject: y}}\n",
            "duplicate header \"Subject\" in email config",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs:\n      - severity: critical\n",
            "missing service or routing key in PagerDuty config",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs:\n      - service_key: k\n",
            "use routing_key",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs:\n      - routing_key: k\n        url: ftp://x\n",
            "pagerduty url is not an http(s) URL",
        ),
        (
            "route: {receiver: r}\nreceivers:\n  - name: r\n    opsgenie_configs: [{}]\n",
            "opsgenie_configs are not supported",
        ),
    ];
    for (yaml, want) in cases {
        let err = AlertmanagerConfig::parse("alertmanager.yml", yaml)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{yaml}\nwant {want:?}\ngot  {err}");
    }
}

#[test]
fn template_errors_are_found_when_the_configuration_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let config = AlertmanagerConfig::parse(
        "alertmanager.yml",
        "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - {api_url: 'http://x/', title: '{{ nope }}'}\n",
    )
    .unwrap();
    let mut templates = Templates::load(&[], dir.path()).unwrap();
    let http = http();
    let cx = BuildContext {
        external_url: EXTERNAL_URL,
        http: &http,
        base_dir: dir.path(),
        oncall: None,
    };
    let Err(err) = build_integrations(&config, &config.receivers[0].value, &mut templates, &cx)
    else {
        panic!("a template error must fail the build");
    };
    let err = err.to_string();
    assert!(
        err.contains("slack_configs[0].title") && err.contains("nope"),
        "{err}"
    );
}

struct Child9(Child);
impl Drop for Child9 {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Alertmanager 0.25 and tocsin render the same Slack and PagerDuty bodies and mail headers
/// from the same configuration and alerts, firing then resolved (Alertmanager posts to the
/// recorders; ours are computed for the same group).
#[tokio::test]
async fn slack_pagerduty_and_email_equal_alertmanagers() {
    let Some(alertmanager) = reference_tool("prometheus-alertmanager") else {
        return;
    };
    let rec = HttpRecorder::start().await;
    let smtp = SmtpRecorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r##"
global:
  slack_api_url: http://{addr}/slack
  pagerduty_url: http://{addr}/pd
  smtp_smarthost: {smtp}
  smtp_from: am@example.com
  smtp_require_tls: false
route:
  receiver: team-api
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: team-api
    slack_configs:
      - channel: "#alerts"
        send_resolved: true
      - text: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ end }}}}'
        fields: [{{title: Job, value: '{{{{ .CommonLabels.job }}}}'}}]
    pagerduty_configs:
      - routing_key: abc
      - routing_key: def
        severity: critical
        class: c
        component: '{{{{ .CommonLabels.job }}}}'
        details: {{owner: me}}
    email_configs:
      - to: oncall@example.com
        send_resolved: true
        headers: {{X-Job: '{{{{ .CommonLabels.job }}}}'}}
"##,
        addr = rec.addr,
        smtp = smtp.addr,
    );
    std::fs::write(dir.path().join("am.yml"), &yaml).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = std::fs::File::create(dir.path().join("am.log")).unwrap();
    let _am = Child9(
        Command::new(alertmanager)
            .args([
                "--config.file=am.yml",
                "--storage.path=am-data",
                &format!("--web.listen-address=127.0.0.1:{port}"),
                &format!("--web.external-url={EXTERNAL_URL}"),
                "--cluster.listen-address=",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let ours_http = http();
    let client = reqwest::Client::new();
    let firing = [alert("a:1", false), alert("b:1", false)];
    let resolved = [alert("a:1", true), alert("b:1", true)];
    let post_body = |ends_at: Option<String>| -> Vec<serde_json::Value> {
        firing
            .iter()
            .map(|a| {
                let mut v = serde_json::json!({
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "startsAt": "2026-01-01T00:00:00Z",
                    "generatorURL": a.generator_url,
                });
                if let Some(end) = &ends_at {
                    v["endsAt"] = serde_json::Value::String(end.clone());
                }
                v
            })
            .collect()
    };
    let mut posted = false;
    for _ in 0..100 {
        if client
            .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
            .json(&post_body(None))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            posted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        posted,
        "alertmanager did not start: {}",
        std::fs::read_to_string(dir.path().join("am.log")).unwrap_or_default()
    );
    // Waits (bounded) until `slack`, `pd` bodies and `mails` sessions have arrived.
    let wait_for = async |slack: usize, pd: usize, mails: usize| {
        for _ in 0..100 {
            if rec.bodies("/slack").len() >= slack
                && rec.bodies("/pd").len() >= pd
                && smtp.sessions.lock().len() >= mails
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let got = (
            rec.bodies("/slack"),
            rec.bodies("/pd"),
            smtp.sessions
                .lock()
                .iter()
                .map(|s| mail_headers(&s.data))
                .collect::<Vec<_>>(),
        );
        rec.received.lock().clear();
        smtp.sessions.lock().clear();
        got
    };
    let theirs_firing = wait_for(2, 2, 1).await;
    let now = jiff::Timestamp::now().to_string();
    client
        .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .json(&post_body(Some(now)))
        .send()
        .await
        .unwrap();
    // Resolved: the Slack entry with send_resolved, both PagerDuty entries, the mail.
    let theirs_resolved = wait_for(1, 2, 1).await;
    assert_eq!(
        (
            theirs_firing.0.len(),
            theirs_firing.1.len(),
            theirs_firing.2.len()
        ),
        (2, 2, 1),
        "alertmanager sent too little: {theirs_firing:?}"
    );
    assert_eq!(
        (
            theirs_resolved.0.len(),
            theirs_resolved.1.len(),
            theirs_resolved.2.len()
        ),
        (1, 2, 1),
        "alertmanager sent too little: {theirs_resolved:?}"
    );
    drop(ours_http);
    let ours = integrations(&yaml, dir.path());
    for i in &ours {
        notify(i.as_ref(), &firing).await;
    }
    let ours_firing = wait_for(2, 2, 1).await;
    for i in ours.iter().filter(|i| i.send_resolved()) {
        notify(i.as_ref(), &resolved).await;
    }
    let ours_resolved = wait_for(1, 2, 1).await;
    let sorted = |mut v: Vec<serde_json::Value>| {
        v.sort_by_key(ToString::to_string);
        pretty(&serde_json::Value::Array(v))
    };
    for (phase, ours, theirs) in [
        ("firing", ours_firing, theirs_firing),
        ("resolved", ours_resolved, theirs_resolved),
    ] {
        assert_eq!(sorted(ours.0), sorted(theirs.0), "{phase} Slack: ours left");
        assert_eq!(
            sorted(ours.1),
            sorted(theirs.1),
            "{phase} PagerDuty: ours left"
        );
        assert!(
            theirs
                .2
                .iter()
                .all(|h| h.len() == 4 && h[0].starts_with("From: ")),
            "{phase}: headers not found in {:?}",
            theirs.2
        );
        assert_eq!(ours.2, theirs.2, "{phase} mail headers: ours left");
    }
}

/// The headers that must agree between implementations (Date, Message-Id and the MIME
/// boundary differ by nature).
fn mail_headers(data: &str) -> Vec<String> {
    let mut out: Vec<String> = data
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            ["Subject:", "To:", "From:", "X-Job:"]
                .iter()
                .any(|h| l.to_ascii_lowercase().starts_with(&h.to_ascii_lowercase()))
        })
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

#[test]
fn loading_a_file_checks_templates_and_builds_every_receiver() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tmpl")).unwrap();
    std::fs::write(
        dir.path().join("tmpl/ok.tmpl"),
        r#"{{ define "mine" }}{{ .Status }}{{ end }}"#,
    )
    .unwrap();
    let good = "global:\n  smtp_smarthost: 'mail.example.com:587'\n  smtp_from: am@example.com\n\
                templates: ['tmpl/*.tmpl']\nroute: {receiver: r}\nreceivers:\n  - name: r\n    \
                email_configs: [{to: a@example.com, html: '{{ template \"mine\" . }}'}]\n    \
                pagerduty_configs: [{routing_key: k}]\n";
    std::fs::write(dir.path().join("am.yml"), good).unwrap();
    let config = AlertmanagerConfig::load(&dir.path().join("am.yml")).unwrap();
    assert_eq!(config.receivers[0].value.email_configs.len(), 1);
    let bad = good.replace(
        r#"html: '{{ template "mine" . }}'"#,
        "html: '{{ .Status | nope }}'",
    );
    assert_ne!(bad, good);
    std::fs::write(dir.path().join("am.yml"), bad).unwrap();
    let err = AlertmanagerConfig::load(&dir.path().join("am.yml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("am.yml:7:5") && err.contains("email_configs[0].html") && err.contains("nope"),
        "{err}"
    );
    std::fs::write(dir.path().join("tmpl/bad.tmpl"), "{{ end }}").unwrap();
    std::fs::write(dir.path().join("am.yml"), good).unwrap();
    let err = AlertmanagerConfig::load(&dir.path().join("am.yml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.tmpl"), "{err}");
}
