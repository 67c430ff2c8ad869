//! Scraping a real node_exporter: every series it exposes arrives with the target's labels,
//! plus the synthetic series.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tocsin_config::Config;
use tocsin_ingest::IngestMetrics;
use tocsin_ingest::clock::SystemClock;
use tocsin_ingest::exposition::{Entry, Format, Parser};
use tocsin_ingest::scrape::ScrapeManager;
use tocsin_model::storage::mem::MemStorage;
use tocsin_telemetry::{BuildInfo, Registry};

use crate::support::reference_tool;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_node_exporter() {
    let Some(binary) = reference_tool("prometheus-node-exporter") else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let _exporter = Killed(
        Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    let exposed = loop {
        if let Ok(response) = client.get(&url).send().await {
            break response.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "node_exporter did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut names = BTreeSet::new();
    let mut parser = Parser::new(&exposed, Format::PrometheusText);
    while let Some(entry) = parser.next().unwrap() {
        if let Entry::Sample(s) = entry {
            names.insert(s.name.to_string());
        }
    }

    let store = MemStorage::new();
    let registry = Registry::new(&BuildInfo {
        version: "0",
        revision: "r",
        branch: "b",
        build_date: "d",
        rustc_version: "1",
    })
    .unwrap();
    let manager = Arc::new(ScrapeManager::new(
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        IngestMetrics::register(&registry).unwrap(),
        std::env::temp_dir(),
        "tocsin/test".to_owned(),
    ));
    let config = Config::parse(
        "t.yml",
        &format!("scrape_configs:\n  - job_name: node\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    )
    .unwrap();
    assert!(manager.apply(&config).is_empty());
    let up = format!(r#"{{__name__="up", instance="127.0.0.1:{port}", job="node"}}"#);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dump = store.dump();
        if dump.iter().any(|(labels, samples)| {
            labels.to_string() == up && samples.iter().filter(|s| s.v == 1.0).count() >= 2
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no two successful scrapes within 20s: {:?}",
            manager.targets_json(None)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    manager.stop().await;
    let stored: BTreeSet<String> = store
        .dump()
        .keys()
        .filter(|labels| {
            labels.get("instance") == Some(&format!("127.0.0.1:{port}"))
                && labels.get("job") == Some("node")
        })
        .filter_map(|labels| labels.metric_name().map(str::to_owned))
        .collect();
    let synthetic: BTreeSet<String> = [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let missing: Vec<_> = names.difference(&stored).collect();
    assert!(missing.is_empty(), "exposed but not stored: {missing:?}");
    let extra: Vec<_> = stored
        .difference(&names)
        .filter(|n| !synthetic.contains(*n))
        .collect();
    assert!(extra.is_empty(), "stored but not exposed: {extra:?}");
    assert!(synthetic.is_subset(&stored));
}

/// The agent's host metrics against node_exporter's on the same machine: same series for
/// the families both have, same values for what cannot move between two reads, close
/// values for counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_host_metrics_match_node_exporter() {
    use std::collections::BTreeMap;
    use tocsin_ingest::agent::{Collector, HostCollector};

    let Some(binary) = reference_tool("prometheus-node-exporter") else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let _exporter = Killed(
        Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    let exposed = loop {
        if let Ok(response) = client.get(&url).send().await {
            break response.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "node_exporter did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut mut_collector = HostCollector::new(std::path::Path::new("/proc"), 0);
    let mut points = Vec::new();
    mut_collector.collect(&mut points);
    let key = |name: &str, labels: &mut Vec<(String, String)>| {
        labels.retain(|(n, _)| n != "__name__");
        labels.sort();
        let inner: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
        format!("{name}{{{}}}", inner.join(","))
    };
    let mut ours: BTreeMap<String, f64> = BTreeMap::new();
    for (mut labels, value) in points {
        let name = labels
            .iter()
            .find(|(n, _)| n == "__name__")
            .unwrap()
            .1
            .clone();
        ours.insert(key(&name, &mut labels), value);
    }
    let mut theirs: BTreeMap<String, f64> = BTreeMap::new();
    let mut parser = Parser::new(&exposed, Format::PrometheusText);
    while let Some(entry) = parser.next().unwrap() {
        if let Entry::Sample(s) = entry {
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            theirs.insert(key(&s.name, &mut labels), s.value);
        }
    }
    let families = [
        "node_cpu_seconds_total",
        "node_network_receive_bytes_total",
        "node_network_transmit_packets_total",
        "node_disk_read_bytes_total",
        "node_load1",
        "node_memory_MemTotal_bytes",
        "node_filesystem_size_bytes",
    ];
    let mut compared = 0;
    for family in families {
        let of = |m: &BTreeMap<String, f64>| -> BTreeSet<String> {
            m.keys()
                .filter(|k| k.starts_with(&format!("{family}{{")))
                .cloned()
                .collect()
        };
        assert_eq!(of(&ours), of(&theirs), "series of {family} differ");
        for series in of(&ours) {
            let (a, b) = (ours[&series], theirs[&series]);
            let ok = match family {
                "node_memory_MemTotal_bytes" | "node_filesystem_size_bytes" => a == b,
                "node_load1" => (a - b).abs() < 1.0,
                "node_cpu_seconds_total" => (a - b).abs() < 5.0,
                _ => (a - b).abs() <= (b * 0.01).max(1e6),
            };
            assert!(ok, "{series}: agent {a}, node_exporter {b}");
            compared += 1;
        }
    }
    assert!(compared > 10, "compared only {compared} series");
}
