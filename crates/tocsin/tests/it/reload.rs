//! Reloads are all or nothing, as in Prometheus: when any file a new tocsin.yml names is bad,
//! none of the new configuration applies (web security, scrape jobs, rules, routes), the
//! error names the bad file and line, and a later good reload applies everything.

use serde_json::Value;

use crate::support::{TestServer, bcrypt_hash, http};

const ALERTMANAGER_V1: &str =
    "route:\n  receiver: first-team\n  group_by: [alertname]\nreceivers:\n  - name: first-team\n";
const ALERTMANAGER_V2: &str =
    "route:\n  receiver: second-team\n  group_by: [alertname]\nreceivers:\n  - name: second-team\n";
// Line 3 has a misspelt key.
const ALERTMANAGER_BROKEN: &str = "route:\n  receiver: second-team\n  group_byy: [alertname]\nreceivers:\n  - name: second-team\n";

const RULES_FIRST: &str =
    "groups:\n  - name: first-group\n    rules:\n      - record: first:up\n        expr: up\n";
const RULES_SECOND: &str =
    "groups:\n  - name: second-group\n    rules:\n      - record: second:up\n        expr: up\n";
// Line 5 holds an expression that does not parse.
const RULES_BROKEN: &str =
    "groups:\n  - name: second-group\n    rules:\n      - record: second:up\n        expr: sum(\n";

/// The first configuration: one scrape job, one rule file, no authentication.
fn first_config() -> String {
    "alerting:\n  config_file: alertmanager.yml\n\
     rule_files: ['rules/first.yml']\n\
     scrape_configs:\n  - job_name: first-job\n    static_configs:\n      - targets: ['127.0.0.1:1']\n"
        .to_owned()
}

/// The second: basic authentication, a second scrape job and a second rule file; the
/// second job trusts `ca_file` when one is given.
fn second_config(password_hash: &str, ca_file: Option<&str>) -> String {
    let tls = ca_file.map_or(String::new(), |file| {
        format!("    tls_config:\n      ca_file: {file}\n")
    });
    format!(
        "web:\n  basic_auth_users:\n    admin: '{password_hash}'\n\
         alerting:\n  config_file: alertmanager.yml\n\
         rule_files: ['rules/first.yml', 'rules/second.yml']\n\
         scrape_configs:\n  - job_name: first-job\n    static_configs:\n      - targets: ['127.0.0.1:1']\n\
         \x20 - job_name: second-job\n{tls}    static_configs:\n      - targets: ['127.0.0.1:2']\n"
    )
}

/// What the running server has in force, read through its HTTP API.
#[derive(Debug, PartialEq, Eq)]
struct InForce {
    anonymous_status: u16,
    scrape_jobs: Vec<String>,
    rule_groups: Vec<String>,
    alertmanager_receiver: String,
    last_reload_successful: Option<String>,
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    http()
        .get(server.url(path))
        .basic_auth("admin", Some("open-sesame"))
        .send()
        .await
        .unwrap()
}

async fn in_force(server: &TestServer) -> InForce {
    let anonymous_status = http()
        .get(server.url("/api/v1/targets"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let targets: Value = get(server, "/api/v1/targets").await.json().await.unwrap();
    let mut scrape_jobs: Vec<String> = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scrapePool"].as_str().unwrap().to_owned())
        .collect();
    scrape_jobs.sort();
    scrape_jobs.dedup();
    let rules: Value = get(server, "/api/v1/rules").await.json().await.unwrap();
    let mut rule_groups: Vec<String> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    rule_groups.sort();
    let status: Value = get(server, "/api/v2/status").await.json().await.unwrap();
    let original = status["config"]["original"].as_str().unwrap();
    let alertmanager_receiver = original
        .lines()
        .find_map(|line| line.trim().strip_prefix("receiver: "))
        .unwrap_or_default()
        .to_owned();
    let metrics = get(server, "/metrics").await.text().await.unwrap();
    let last_reload_successful = metrics
        .lines()
        .find_map(|line| line.strip_prefix("tocsin_config_last_reload_successful "))
        .map(str::to_owned);
    InForce {
        anonymous_status,
        scrape_jobs,
        rule_groups,
        alertmanager_receiver,
        last_reload_successful,
    }
}

fn first_in_force() -> InForce {
    InForce {
        anonymous_status: 200,
        scrape_jobs: vec!["first-job".to_owned()],
        rule_groups: vec!["first-group".to_owned()],
        alertmanager_receiver: "first-team".to_owned(),
        last_reload_successful: Some("1".to_owned()),
    }
}

/// Which file of the second configuration is bad: the Alertmanager file, the new rule file
/// or a scrape job's CA file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Broken {
    Alertmanager,
    Rule,
    /// A scrape job names a CA file that does not exist.
    ScrapeCa,
}

/// Starts on the first configuration, then writes the second with one file broken and
/// checks the reload changes nothing and names `expected_position`; then mends the file and
/// checks the next reload applies everything.
async fn refused_reload_changes_nothing(broken: Broken, expected_position: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::create_dir(path("rules")).unwrap();
    std::fs::write(path("tocsin.yml"), first_config()).unwrap();
    std::fs::write(path("alertmanager.yml"), ALERTMANAGER_V1).unwrap();
    std::fs::write(path("rules/first.yml"), RULES_FIRST).unwrap();
    let mut server = TestServer::start(dir.path(), &["--config", "tocsin.yml"]);
    server.wait_ready().await;
    assert_eq!(
        in_force(&server).await,
        first_in_force(),
        "{}",
        server.logs()
    );

    // Everything changes at once; exactly one file is bad.
    let hash = bcrypt_hash("open-sesame");
    let missing_ca = (broken == Broken::ScrapeCa).then_some("ca.pem");
    std::fs::write(path("tocsin.yml"), second_config(&hash, missing_ca)).unwrap();
    let (alertmanager, rules) = match broken {
        Broken::Alertmanager => (ALERTMANAGER_BROKEN, RULES_SECOND),
        Broken::Rule => (ALERTMANAGER_V2, RULES_BROKEN),
        Broken::ScrapeCa => (ALERTMANAGER_V2, RULES_SECOND),
    };
    std::fs::write(path("alertmanager.yml"), alertmanager).unwrap();
    std::fs::write(path("rules/second.yml"), rules).unwrap();
    let refused = http().post(server.url("/-/reload")).send().await.unwrap();
    assert_eq!(refused.status(), 500, "{}", server.logs());
    let reason = refused.text().await.unwrap();
    assert!(reason.contains(expected_position), "{reason}");
    assert_eq!(
        in_force(&server).await,
        InForce {
            last_reload_successful: Some("0".to_owned()),
            ..first_in_force()
        },
        "a refused reload must leave every stage on the old configuration\n{}",
        server.logs()
    );

    // Mended: the same reload now applies every change. Authentication is still the old
    // (none) when the reload is asked for, and in force after it.
    std::fs::write(path("tocsin.yml"), second_config(&hash, None)).unwrap();
    std::fs::write(path("alertmanager.yml"), ALERTMANAGER_V2).unwrap();
    std::fs::write(path("rules/second.yml"), RULES_SECOND).unwrap();
    let applied = http().post(server.url("/-/reload")).send().await.unwrap();
    assert_eq!(applied.status(), 200, "{}", server.logs());
    assert_eq!(
        in_force(&server).await,
        InForce {
            anonymous_status: 401,
            scrape_jobs: vec!["first-job".to_owned(), "second-job".to_owned()],
            rule_groups: vec!["first-group".to_owned(), "second-group".to_owned()],
            alertmanager_receiver: "second-team".to_owned(),
            last_reload_successful: Some("1".to_owned()),
        },
        "{}",
        server.logs()
    );
}

#[tokio::test]
async fn a_broken_alertmanager_file_refuses_the_whole_reload() {
    refused_reload_changes_nothing(
        Broken::Alertmanager,
        "alertmanager.yml:3:3: unknown field `group_byy`",
    )
    .await;
}

#[tokio::test]
async fn a_broken_rule_file_refuses_the_whole_reload() {
    refused_reload_changes_nothing(
        Broken::Rule,
        "rules/second.yml:5:15: group \"second-group\"",
    )
    .await;
}

#[tokio::test]
async fn a_missing_scrape_ca_file_refuses_the_whole_reload() {
    refused_reload_changes_nothing(
        Broken::ScrapeCa,
        "scrape config \"second-job\": tls_config.ca_file ca.pem",
    )
    .await;
}
