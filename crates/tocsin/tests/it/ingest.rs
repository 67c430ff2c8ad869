//! Ingestion through the real binary and its store: remote_write status codes, hostile
//! input, durability of acknowledged samples across SIGKILL, and a real Prometheus 2.42
//! remote-writing to tocsin while both scrape the same node_exporter.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tocsin_ingest::remote_write::{V1Encoder, compress};
use tocsin_model::storage::{Queryable, SelectHints};
use tocsin_model::{Matcher, Sample};

use crate::support::{TestServer, free_port, get_json, http, reference_tool};

/// Every series of `metric` in the store of a stopped server, as `(labels, samples)`.
fn read_store(data_dir: &Path, metric: &str) -> Vec<(String, Vec<Sample>)> {
    let db = tocsin_tsdb::Tsdb::open(
        &data_dir.join("tsdb"),
        tocsin_tsdb::TsdbOptions {
            retention_time: None,
            ..tocsin_tsdb::TsdbOptions::default()
        },
        None,
    )
    .unwrap();
    let querier = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = Vec::new();
    for mut series in querier
        .select(
            &SelectHints {
                start: i64::MIN,
                end: i64::MAX,
            },
            &[Matcher::equal("__name__", metric)],
        )
        .unwrap()
    {
        let mut samples = Vec::new();
        while let Some(sample) = series.samples.next() {
            samples.push(sample);
        }
        out.push((series.labels.to_string(), samples));
    }
    out
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn body(series: &[(&[(&str, &str)], Sample)]) -> Vec<u8> {
    let mut encoder = V1Encoder::new();
    for (labels, sample) in series {
        encoder.add_series(labels, &[*sample]);
    }
    compress(encoder.as_bytes())
}

async fn post(
    server: &TestServer,
    body: Vec<u8>,
    content_type: &str,
    encoding: &str,
) -> (u16, String) {
    let response = http()
        .post(server.url("/api/v1/write"))
        .header("Content-Type", content_type)
        .header("Content-Encoding", encoding)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn remote_write_status_codes_and_durability_across_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(dir.path(), &["--data-dir", "data"]);
    server.wait_ready().await;
    let t = now_ms();
    let good: Vec<(&[(&str, &str)], Sample)> = vec![
        (&[("__name__", "rw_test"), ("i", "1")], Sample::new(t, 1.5)),
        (
            &[("__name__", "rw_test"), ("i", "2")],
            Sample::new(t, f64::INFINITY),
        ),
        // Unsorted, as some senders send them.
        (&[("i", "3"), ("__name__", "rw_test")], Sample::new(t, -2.0)),
    ];
    assert_eq!(
        post(&server, body(&good), "application/x-protobuf", "snappy")
            .await
            .0,
        204
    );

    // Hostile input: each gets its status, and the server stays healthy.
    let bomb = vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'];
    let (status, message) = post(&server, bomb, "application/x-protobuf", "snappy").await;
    assert_eq!(status, 413, "{message}");
    assert_eq!(
        post(
            &server,
            b"garbage".to_vec(),
            "application/x-protobuf",
            "snappy"
        )
        .await
        .0,
        400
    );
    assert_eq!(
        post(&server, body(&good), "application/json", "snappy")
            .await
            .0,
        415
    );
    assert_eq!(
        post(&server, body(&good), "application/x-protobuf", "gzip")
            .await
            .0,
        415
    );
    let mixed: Vec<(&[(&str, &str)], Sample)> = vec![
        (&[("__name__", "rw_test"), ("i", "4")], Sample::new(t, 4.0)),
        (
            &[("__name__", "rw_test"), ("a", "x"), ("a", "y")],
            Sample::new(t, 5.0),
        ),
        (&[("job", "no-name")], Sample::new(t, 6.0)),
        (
            &[("__name__", "rw_test"), ("i", "5")],
            Sample::new(t + 86_400_000, 7.0),
        ),
        (
            &[("__name__", "rw_test"), ("i", "6")],
            Sample::new(t, f64::NAN),
        ),
    ];
    let (status, message) = post(&server, body(&mixed), "application/x-protobuf", "snappy").await;
    assert_eq!(status, 400, "{message}");
    assert!(
        message.contains("3 of 5 samples refused (2 stored)"),
        "{message}"
    );
    assert!(
        message.contains("label name \"a\" appears more than once"),
        "{message}"
    );
    assert!(message.contains("no __name__ label"), "{message}");
    assert!(
        message.contains("ahead of the receiver's clock"),
        "{message}"
    );
    let healthy = http().get(server.url("/-/healthy")).send().await.unwrap();
    assert_eq!(healthy.status(), 200);
    let metrics = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "tocsin_ingest_samples_rejected_total{reason=\"duplicate_label_name\",tenant=\"default\"} 1",
        "tocsin_ingest_requests_rejected_total{reason=\"decompressed_body_too_large\",tenant=\"default\"} 1",
        "tocsin_ingest_requests_rejected_total{reason=\"unsupported_content_type\",tenant=\"default\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}");
    }

    // Acknowledged means durable: kill -9 right after the acknowledgements.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut stored = read_store(&dir.path().join("data"), "rw_test");
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<(String, Vec<u64>)> = stored
        .iter()
        .map(|(l, s)| (l.clone(), s.iter().map(|s| s.v.to_bits()).collect()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                r#"{__name__="rw_test", i="1"}"#.to_owned(),
                vec![1.5f64.to_bits()]
            ),
            (
                r#"{__name__="rw_test", i="2"}"#.to_owned(),
                vec![f64::INFINITY.to_bits()]
            ),
            (
                r#"{__name__="rw_test", i="3"}"#.to_owned(),
                vec![(-2.0f64).to_bits()]
            ),
            (
                r#"{__name__="rw_test", i="4"}"#.to_owned(),
                vec![4.0f64.to_bits()]
            ),
            (
                r#"{__name__="rw_test", i="6"}"#.to_owned(),
                vec![f64::NAN.to_bits()]
            ),
        ]
    );
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http()
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer within 30s");
}

fn metric_value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Prometheus 2.42 scrapes node_exporter and remote-writes to tocsin, which scrapes the
/// same node_exporter itself: Prometheus reports no failed sends, and tocsin's own `up`
/// for the target agrees with Prometheus's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_remote_write_and_scrape_agree() {
    let (Some(prometheus), Some(node_exporter)) = (
        reference_tool("prometheus"),
        reference_tool("prometheus-node-exporter"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ne_port = free_port();
    let _ne = Killed(
        Command::new(node_exporter)
            .arg(format!("--web.listen-address=127.0.0.1:{ne_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Both scrapers must find node_exporter listening from their first scrape on, or a
    // slow start on a loaded machine shows up as `up 0`.
    let ne_url = format!("http://127.0.0.1:{ne_port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http()
        .get(&ne_url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "node_exporter did not start in 30s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(
        dir.path().join("tocsin.yml"),
        format!(
            "scrape_configs:\n  - job_name: node-by-tocsin\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{ne_port}']\n"
        ),
    )
    .unwrap();
    let mut tocsin = TestServer::start(
        dir.path(),
        &["--data-dir", "data", "--config", "tocsin.yml"],
    );
    tocsin.wait_ready().await;
    let prom_port = free_port();
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    std::fs::write(
        prom_dir.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{ne_port}']\nremote_write:\n  - url: {}\n    queue_config: {{batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}}\n",
            tocsin.url("/api/v1/write")
        ),
    )
    .unwrap();
    let _prometheus = Killed(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                prom_dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");
    wait_http(&format!("{prom}/-/ready")).await;
    // Let both scrape a few times and Prometheus send several batches.
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        let metrics = http()
            .get(format!("{prom}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let sent = metric_value(&metrics, "prometheus_remote_storage_samples_total");
        if sent > 3000.0 {
            let failed = metric_value(&metrics, "prometheus_remote_storage_samples_failed_total");
            let retried = metric_value(&metrics, "prometheus_remote_storage_samples_retried_total");
            let dropped = metric_value(&metrics, "prometheus_remote_storage_samples_dropped_total");
            assert_eq!(
                (failed, retried, dropped),
                (0.0, 0.0, 0.0),
                "Prometheus saw failed sends"
            );
            break sent;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus sent only {sent} samples in 30s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let targets: serde_json::Value = get_json(&tocsin, "/api/v1/targets").await;
    assert_eq!(
        targets["data"]["activeTargets"][0]["health"], "up",
        "{targets}"
    );
    let prom_up: serde_json::Value = http()
        .get(format!("{prom}/api/v1/query?query=up"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prom_up["data"]["result"][0]["value"][1], "1", "{prom_up}");

    tocsin.signal("TERM");
    assert_eq!(tocsin.wait_exit().await, Some(0));
    let ups = read_store(&dir.path().join("data"), "up");
    let instance = format!("127.0.0.1:{ne_port}");
    let ours = ups
        .iter()
        .find(|(l, _)| l.contains("job=\"node-by-tocsin\""))
        .expect("tocsin's own up series");
    let forwarded = ups
        .iter()
        .find(|(l, _)| l.contains("job=\"node\""))
        .expect("up forwarded by Prometheus");
    assert!(ours.0.contains(&instance) && forwarded.0.contains(&instance));
    assert!(ours.1.len() >= 3, "{ours:?}");
    assert!(ours.1.iter().all(|s| s.v == 1.0), "tocsin's up: {ours:?}");
    assert!(
        forwarded.1.iter().all(|s| s.v == 1.0),
        "Prometheus's up: {forwarded:?}"
    );
    assert!(sent > 0.0);
}
