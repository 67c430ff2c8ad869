//! `tocsin demo` end to end: the real binary with a fault 5 s after start; within a bounded
//! time an SLO page opens an incident, the on-call's inbox gets the page, and the scripted
//! responder drives the incident to resolved with a stored post-mortem.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{BIN, TestServer, free_port, http};

/// The whole loop must finish inside this (the brief's bound; it takes about 100 s).
const LIMIT: Duration = Duration::from_secs(150);

async fn get(client: &reqwest::Client, url: &str) -> Option<Value> {
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pages_opens_an_incident_and_its_responder_resolves_it() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("demo");
    let addr = format!("127.0.0.1:{}", free_port());
    let log_path = root.path().join("demo.log");
    let out_path = root.path().join("demo.out");
    let child = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            &addr,
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--fault-after",
            "5s",
        ])
        .current_dir(root.path())
        .env_remove("TOCSIN_CONFIG")
        .env_remove("TOCSIN_DATA_DIR")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = TestServer {
        child,
        addr,
        log_path,
    };
    let began = Instant::now();
    server.wait_ready().await;
    assert!(data_dir.join(".tocsin-demo").is_file());
    for file in [
        "tocsin.yml",
        "alertmanager.yml",
        "oncall.yml",
        "incidents.yml",
        "slos/fleet.yml",
        "rules/fleet.yml",
    ] {
        assert!(data_dir.join("config").join(file).is_file(), "{file}");
    }

    let client = http();
    let sim = get(&client, &server.url("/api/tocsin/v1/sim"))
        .await
        .unwrap();
    assert_eq!(sim["data"]["services"], 50);
    assert_eq!(sim["data"]["faults"][0]["kind"], "bad_deploy");

    // Bounded: poll every second until the incident is resolved with a post-mortem.
    let mut opened_after = None;
    let mut incident = Value::Null;
    while began.elapsed() < LIMIT {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "demo exited early with {status}; output:\n{}\nlog:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                server.logs()
            );
        }
        if let Some(list) = get(&client, &server.url("/api/tocsin/v1/incidents")).await
            && let Some(first) = list["incidents"].as_array().and_then(|a| a.last()).cloned()
        {
            opened_after.get_or_insert(began.elapsed());
            let done = first["status"] == "resolved";
            incident = first;
            if done && data_dir.join("postmortem-INC-1.md").is_file() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    eprintln!(
        "demo: incident opened after {opened_after:?}, done after {:?}\n{output}",
        began.elapsed()
    );
    assert_eq!(
        incident["status"],
        "resolved",
        "{incident}\n{output}\n{}",
        server.logs()
    );
    assert_eq!(incident["source"], "alert_group", "{incident}");
    assert_eq!(incident["severity"], "SEV1", "{incident}");
    let service = sim["data"]["faults"][0]["target"].as_str().unwrap();
    assert_eq!(incident["service"], service, "{incident}");
    assert!(incident["acknowledged_time"].is_string(), "{incident}");
    assert!(incident["mitigated_time"].is_string(), "{incident}");

    // Opened from the SLO's page alert.
    let detail = get(&client, &server.url("/api/tocsin/v1/incidents/INC-1"))
        .await
        .unwrap();
    let alerts = detail["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a["labels"]["sloth_service"] == service && a["labels"]["severity"] == "page"),
        "{detail}"
    );
    // The on-call of the follow-the-sun schedule got it in their inbox.
    let who = get(
        &client,
        &server.url("/api/tocsin/v1/oncall/who?schedule=follow-the-sun"),
    )
    .await
    .unwrap();
    let user = who["schedules"][0]["on_call"][0]["user"].as_str().unwrap();
    let inbox = get(
        &client,
        &server.url(&format!("/api/tocsin/v1/oncall/users/{user}/inbox")),
    )
    .await
    .unwrap();
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["escalation_key"] == "INC-1"),
        "{inbox}"
    );
    // The fault was ended by the responder's rollback, and the post-mortem is stored.
    let sim = get(&client, &server.url("/api/tocsin/v1/sim"))
        .await
        .unwrap();
    assert_eq!(sim["data"]["faults"][0]["status"], "mitigated", "{sim}");
    let draft = std::fs::read_to_string(data_dir.join("postmortem-INC-1.md")).unwrap();
    assert!(draft.contains("INC-1"), "{draft}");
    assert!(output.contains("PAGE after"), "{output}");
    assert!(output.contains("resolved"), "{output}");

    // Ctrl-C stops it cleanly.
    server.signal("INT");
    assert_eq!(server.wait_exit().await, Some(0), "{}", server.logs());
}

#[test]
fn the_demo_refuses_a_data_dir_it_did_not_make() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("precious.db"), "x").unwrap();
    let output = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
            root.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--data-dir"), "{stderr}");
    assert!(stderr.contains(".tocsin-demo"), "{stderr}");
    assert!(root.path().join("precious.db").is_file());
}
