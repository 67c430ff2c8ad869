//! The server's life: start on the embedded default, probes, self-metrics, reload and
//! shutdown.

use std::process::{Command, Stdio};

use crate::support::{TestServer, bcrypt_hash, reference_tool};

#[tokio::test]
async fn starts_in_an_empty_directory_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    server.wait_ready().await;
    assert!(dir.path().join("data").is_dir(), "./data was not created");
    assert!(dir.path().join("data/lock").is_file());
    let client = crate::support::http();
    let healthy = client.get(server.url("/-/healthy")).send().await.unwrap();
    assert_eq!(healthy.status(), 200);
    assert_eq!(healthy.text().await.unwrap(), "tocsin is Healthy.\n");
    let home = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("<title>tocsin</title>"));
    assert!(
        server.logs().contains("(embedded default)"),
        "{}",
        server.logs()
    );
}

#[tokio::test]
async fn self_metrics_pass_promtool_check_metrics() {
    let Some(promtool) = reference_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    server.wait_ready().await;
    let client = crate::support::http();
    // Make the request metrics non-empty first.
    client.get(server.url("/-/healthy")).send().await.unwrap();
    client.get(server.url("/nope")).send().await.unwrap();
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tocsin_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("process_resident_memory_bytes"),
        "{metrics}"
    );
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), metrics.as_bytes()).unwrap();
    let output = check.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{said}\n{metrics}"
    );
    assert!(
        said.trim().is_empty(),
        "promtool reported lint problems:\n{said}"
    );
}

#[tokio::test]
async fn reload_requires_auth_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt_hash("open-sesame");
    std::fs::write(
        dir.path().join("tocsin.yml"),
        format!("web:\n  basic_auth_users:\n    admin: '{hash}'\n"),
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    server.wait_ready().await;
    let client = crate::support::http();
    let anonymous = client.post(server.url("/-/reload")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Basic realm=\"tocsin\""
    );
    let wrong = client
        .post(server.url("/-/reload"))
        .basic_auth("admin", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let authenticated = client
        .post(server.url("/-/reload"))
        .basic_auth("admin", Some("open-sesame"))
        .send()
        .await
        .unwrap();
    assert_eq!(authenticated.status(), 200);
    assert!(
        server.logs().contains("configuration reloaded"),
        "{}",
        server.logs()
    );
    // Probes stay open for orchestrators.
    let probe = client.get(server.url("/-/healthy")).send().await.unwrap();
    assert_eq!(probe.status(), 200);
}

#[tokio::test]
async fn bad_reload_keeps_the_running_config_and_sighup_applies_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tocsin.yml");
    let with_header = |value: &str| {
        format!("web:\n  http_server_config:\n    headers:\n      X-Frame-Options: {value}\n")
    };
    std::fs::write(&config, with_header("deny")).unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    server.wait_ready().await;
    let client = crate::support::http();

    std::fs::write(&config, "web:\n  http_server_config:\n    headerz: {}\n").unwrap();
    let refused = client.post(server.url("/-/reload")).send().await.unwrap();
    assert_eq!(refused.status(), 500);
    let reason = refused.text().await.unwrap();
    assert!(
        reason.starts_with("failed to reload config: tocsin.yml:3:5: unknown field `headerz`"),
        "{reason}"
    );
    let probe = client.get(server.url("/-/healthy")).send().await.unwrap();
    assert_eq!(
        probe.headers()["x-frame-options"],
        "deny",
        "old config must stay"
    );
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tocsin_config_last_reload_successful 0"),
        "{metrics}"
    );

    std::fs::write(&config, with_header("sameorigin")).unwrap();
    server.signal("HUP");
    // A reload swaps the web settings first and reports success after every stage applied
    // the new file, so wait for the report, not for the header.
    let url = server.url("/metrics");
    server
        .wait_until(|| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                match client.get(url).send().await {
                    Ok(r) => r
                        .text()
                        .await
                        .is_ok_and(|m| m.contains("tocsin_config_last_reload_successful 1")),
                    Err(_) => false,
                }
            }
        })
        .await;
    let probe = client.get(server.url("/-/healthy")).send().await.unwrap();
    assert_eq!(probe.headers()["x-frame-options"], "sameorigin");
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tocsin_config_last_reload_successful 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn sigterm_and_sigint_shut_down_gracefully() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let mut server = TestServer::start(dir.path(), &[]);
        server.wait_ready().await;
        server.signal(signal);
        assert_eq!(server.wait_exit().await, Some(0), "{}", server.logs());
        let logs = server.logs();
        assert!(logs.contains("shutting down gracefully"), "{logs}");
        assert!(logs.contains("tocsin stopped"), "{logs}");
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = TestServer::start(dir.path(), &[]);
    first.wait_ready().await;
    let mut second = TestServer::start(dir.path(), &[]);
    assert_eq!(second.wait_exit().await, Some(1));
    assert!(
        second
            .logs()
            .contains("is in use by another tocsin process"),
        "{}",
        second.logs()
    );
}

#[tokio::test]
async fn a_bad_config_at_start_exits_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tocsin.yml"),
        "global:\n  scrape_interval: soon\n",
    )
    .unwrap();
    let mut server = TestServer::start(dir.path(), &[]);
    assert_eq!(server.wait_exit().await, Some(1));
    let logs = server.logs();
    assert!(
        logs.contains("tocsin: error: tocsin.yml:2:20: invalid duration \"soon\""),
        "{logs}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(dir.path(), &["--log-format", "json"]);
    server.wait_ready().await;
    let logs = server.logs();
    let first = logs.lines().next().unwrap();
    let event: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(event["level"], "INFO", "{first}");
    assert_eq!(event["message"], "starting tocsin", "{first}");
    assert_eq!(event["config"], "(embedded default)", "{first}");
}
