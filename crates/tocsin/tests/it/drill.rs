//! `tocsin drill` end to end: the catalogue, and for two scenarios a drill run twice at once,
//! once with a scripted strong responder (acknowledges the page if one came, runs the
//! scenario's checks, looks at the service's page, identifies, mitigates, submits a
//! post-mortem, finishes, all through the CLI and HTTP API) and once with one that does
//! nothing but finish. The reports must rank them and be written to the data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tocsin_sim::scenario::{self, Scenario};
use tocsin_sim::{Fleet, FleetConfig, Mitigation};

use crate::support::{BIN, TestServer, free_port, http};

/// Each test finishes inside this (both runs of a scenario go in parallel).
const LIMIT: Duration = Duration::from_secs(150);

/// How long a responder waits for the drill's page before acting without it.
const PAGE_WAIT: Duration = Duration::from_secs(60);

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("TOCSIN_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn drill_list_shows_the_catalogue() {
    let (ok, out) = cli(&["drill", "list"]);
    assert!(ok, "{out}");
    for s in scenario::CATALOGUE {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(s.name))
            .unwrap_or_else(|| panic!("{} missing from:\n{out}", s.name));
        assert!(line.ends_with(s.title), "{line}");
    }
    assert_eq!(out.lines().count(), scenario::CATALOGUE.len());
}

#[test]
fn drill_run_refuses_an_unknown_scenario_naming_the_catalogue() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let (ok, out) = cli(&[
        "drill",
        "run",
        "meteor-strike",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(out.contains("unknown scenario \"meteor-strike\""), "{out}");
    assert!(out.contains("bad-deploy"), "{out}");
}

/// The scenario as the drill builds it (same seed and scrape interval as the bundle).
fn answer_key(name: &str) -> Scenario {
    let fleet = Fleet::build(&FleetConfig {
        seed: 1,
        scrape_interval_ms: 10_000,
        ..FleetConfig::default()
    })
    .unwrap();
    scenario::build(name, &fleet, 0).unwrap()
}

fn mitigation_args(m: &Mitigation) -> Vec<String> {
    let s = |x: &str| x.to_owned();
    match m {
        Mitigation::Rollback { service } => vec![s("rollback"), s("--service"), service.clone()],
        Mitigation::RestoreDnsConfig { service } => {
            vec![s("restore_dns_config"), s("--service"), service.clone()]
        }
        Mitigation::RestartInstance {
            service,
            region,
            instance,
        } => vec![
            s("restart_instance"),
            s("--service"),
            service.clone(),
            s("--region"),
            region.clone(),
            s("--instance"),
            instance.to_string(),
        ],
        Mitigation::FreeDisk {
            service,
            region,
            instance,
        } => vec![
            s("free_disk"),
            s("--service"),
            service.clone(),
            s("--region"),
            region.clone(),
            s("--instance"),
            instance.to_string(),
        ],
        Mitigation::ScaleOut { service, factor } => vec![
            s("scale_out"),
            s("--service"),
            service.clone(),
            s("--size"),
            factor.to_string(),
        ],
        Mitigation::RaisePoolSize {
            service,
            max_connections,
        } => vec![
            s("raise_pool_size"),
            s("--service"),
            service.clone(),
            s("--size"),
            max_connections.to_string(),
        ],
        Mitigation::FailOverRegion { region } => {
            vec![s("fail_over_region"), s("--region"), region.clone()]
        }
    }
}

/// Percent-encodes a query parameter.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts `tocsin drill run NAME` in `dir`.
async fn start(root: &Path, name: &str, tag: &str) -> (TestServer, PathBuf, PathBuf) {
    let data_dir = root.join(format!("drill-{tag}"));
    let addr = format!("127.0.0.1:{}", free_port());
    let log_path = root.join(format!("{tag}.log"));
    let out_path = root.join(format!("{tag}.out"));
    let child = Command::new(BIN)
        .args([
            "drill",
            "run",
            name,
            "--listen",
            &addr,
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--time-limit",
            "5m",
        ])
        .current_dir(root)
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
    server.wait_ready().await;
    (server, data_dir, out_path)
}

/// The drill's first incident's id, once it paged (bounded by [`PAGE_WAIT`]).
async fn wait_for_page(server: &TestServer) -> Option<String> {
    let client = http();
    let deadline = Instant::now() + PAGE_WAIT;
    while Instant::now() < deadline {
        let answer: Option<Value> = match client
            .get(server.url("/api/tocsin/v1/incidents"))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        // Newest first: the drill's page is the oldest.
        if let Some(id) = answer
            .as_ref()
            .and_then(|a| a["incidents"].as_array()?.last()?["id"].as_str())
        {
            return Some(id.to_owned());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    None
}

const POSTMORTEM: &str = "# Post-mortem\n\n## Impact\n\nFor 6 minutes about 20% of requests failed \
(roughly 5000 requests); 12% of the monthly error budget was spent.\n\n## Timeline\n\n\
- 10:00 page\n- 10:01 acknowledged\n- 10:04 identified\n- 10:06 mitigated\n\n## Action items\n\n\
- Add an alert on the leading signal and a runbook entry\n- Add a canary stage to the release pipeline\n";

/// Works the drill like a strong responder; answers the `drill finish` output.
async fn strong(server: &TestServer, s: &Scenario, root: &Path) -> String {
    let url = server.url("");
    let url = url.trim_end_matches('/');
    if let Some(id) = wait_for_page(server).await {
        let (ok, out) = cli(&["incident", "ack", &id, "--server", url]);
        assert!(ok, "ack {id}: {out}");
    }
    let client = http();
    for check in &s.checks {
        let r = client
            .get(server.url(&format!("/api/v1/query?query={}", encode(&check.query))))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}: {}", check.query, r.status());
    }
    let who = s
        .answer
        .service
        .clone()
        .or_else(|| s.answer.location.clone())
        .unwrap();
    let r = client
        .post(server.url("/api/tocsin/v1/drill/views"))
        .json(&serde_json::json!({ "page": format!("/ui/#/slo/{who}") }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (ok, out) = cli(&[
        "drill",
        "identify",
        "--service",
        &who,
        "--cause",
        &s.answer.cause,
        "--server",
        url,
    ]);
    assert!(ok, "identify: {out}");
    let mut args = vec!["drill".to_owned(), "mitigate".to_owned()];
    args.extend(mitigation_args(&s.mitigation));
    args.extend(["--server".to_owned(), url.to_owned()]);
    let (ok, out) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "mitigate: {out}");
    assert!(out.contains("1 fault(s) ended"), "{out}");
    let pm = root.join(format!("{}-pm.md", s.name));
    std::fs::write(&pm, POSTMORTEM).unwrap();
    let (ok, out) = cli(&["drill", "postmortem", pm.to_str().unwrap(), "--server", url]);
    assert!(ok, "postmortem: {out}");
    let (ok, out) = cli(&["drill", "finish", "--server", url]);
    assert!(ok, "finish: {out}");
    out
}

/// Does nothing but wait for the page and finish.
async fn idle(server: &TestServer) -> String {
    let url = server.url("");
    let _ = wait_for_page(server).await;
    let (ok, out) = cli(&["drill", "finish", "--server", url.trim_end_matches('/')]);
    assert!(ok, "finish: {out}");
    out
}

fn report(data_dir: &Path) -> Value {
    assert!(data_dir.join("drill-report.md").is_file());
    let events = std::fs::read_to_string(data_dir.join("drill/events.jsonl")).unwrap();
    for line in events.lines() {
        let _: Value = serde_json::from_str(line).unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(data_dir.join("drill-report.json")).unwrap())
        .unwrap()
}

async fn strong_outscores_idle(name: &str) {
    let began = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let s = answer_key(name);
    let ((mut good, good_dir, good_out), (mut lazy, lazy_dir, _)) = tokio::join!(
        start(root.path(), name, "strong"),
        start(root.path(), name, "idle")
    );
    let (good_finish, lazy_finish) = tokio::join!(strong(&good, &s, root.path()), idle(&lazy));
    assert!(
        good_finish.contains(&format!("Drill {name}")),
        "{good_finish}"
    );
    assert!(lazy_finish.contains("Missed:"), "{lazy_finish}");
    // Finishing stops the drill's server.
    assert_eq!(good.wait_exit().await, Some(0), "{}", good.logs());
    assert_eq!(lazy.wait_exit().await, Some(0), "{}", lazy.logs());
    let good_report = report(&good_dir);
    let lazy_report = report(&lazy_dir);
    let total = |r: &Value| r["total"].as_f64().unwrap();
    let max = good_report["max"].as_f64().unwrap();
    assert!(
        total(&good_report) >= 0.75 * max,
        "strong responder: {good_report:#}"
    );
    assert!(
        total(&lazy_report) < 0.25 * max,
        "idle responder: {lazy_report:#}"
    );
    assert_eq!(
        good_report["strong_checks"].as_array().unwrap().len(),
        s.checks.len()
    );
    // The drill run printed the briefing and the report.
    let printed = std::fs::read_to_string(good_out).unwrap();
    assert!(printed.contains(&s.briefing), "{printed}");
    assert!(printed.contains("# Drill report"), "{printed}");
    assert!(began.elapsed() < LIMIT, "took {:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failures_drill_ranks_a_strong_responder_above_an_idle_one() {
    strong_outscores_idle("dns-failures").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deploy_drill_ranks_a_strong_responder_above_an_idle_one() {
    strong_outscores_idle("bad-deploy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_a_drill_with_a_report_of_what_was_done() {
    let root = tempfile::tempdir().unwrap();
    let (mut server, data_dir, out_path) = start(root.path(), "dns-failures", "interrupted").await;
    // The trainee names the fault, then presses Ctrl-C.
    let s = answer_key("dns-failures");
    let who = s
        .answer
        .service
        .clone()
        .or(s.answer.location.clone())
        .unwrap();
    let r = http()
        .post(server.url("/api/tocsin/v1/drill/identify"))
        .json(&serde_json::json!({ "service": who, "cause": s.answer.cause }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    server.signal("INT");
    assert_eq!(server.wait_exit().await, Some(0), "{}", server.logs());
    let report = report(&data_dir);
    let identify = report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "identify")
        .unwrap();
    assert!(identify["points"].as_f64().unwrap() > 0.0, "{report:#}");
    let printed = std::fs::read_to_string(out_path).unwrap();
    assert!(printed.contains("# Drill report"), "{printed}");
}
