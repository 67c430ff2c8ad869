//! Scrape timelines on tokio's paused clock with a scripted fetcher: what is stored, when,
//! with which labels, and when series go stale.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tocsin_config::Config;
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::{Sample, is_stale_nan};
use tocsin_telemetry::{BuildInfo, Registry};

use super::*;
use crate::clock::TokioClock;
use crate::metrics::IngestMetrics;

const BASE: i64 = 1_700_000_000_000;

/// A scripted response: content type and body, or an error.
type Response = Result<(String, String), String>;

#[derive(Debug, Default)]
struct Script {
    responses: Mutex<HashMap<String, Response>>,
}

impl Script {
    fn set(&self, url: &str, body: &str) {
        self.responses.lock().insert(
            url.to_owned(),
            Ok(("text/plain; version=0.0.4".to_owned(), body.to_owned())),
        );
    }

    fn set_om(&self, url: &str, body: &str) {
        self.responses.lock().insert(
            url.to_owned(),
            Ok((
                "application/openmetrics-text; version=1.0.0".to_owned(),
                body.to_owned(),
            )),
        );
    }

    fn fail(&self, url: &str, error: &str) {
        self.responses
            .lock()
            .insert(url.to_owned(), Err(error.to_owned()));
    }
}

impl Fetch for Script {
    fn fetch<'a>(&'a self, url: &'a str, _timeout: Duration) -> FetchFuture<'a> {
        let response = self
            .responses
            .lock()
            .get(url)
            .cloned()
            .unwrap_or_else(|| Err(format!("no response scripted for {url}")));
        Box::pin(async move {
            response.map(|(content_type, body)| Fetched {
                content_type: Some(content_type),
                body: bytes::Bytes::from(body),
            })
        })
    }
}

struct Harness {
    manager: Arc<ScrapeManager>,
    store: MemStorage,
    script: Arc<Script>,
    registry: Registry,
}

fn harness() -> Harness {
    let store = MemStorage::new();
    let script = Arc::new(Script::default());
    let registry = Registry::new(&BuildInfo {
        version: "0",
        revision: "r",
        branch: "b",
        build_date: "d",
        rustc_version: "1.95.0",
    })
    .unwrap();
    let manager = Arc::new(
        ScrapeManager::new(
            Arc::new(store.clone()),
            Arc::new(TokioClock::starting_at(BASE)),
            IngestMetrics::register(&registry).unwrap(),
            std::env::temp_dir(),
            "tocsin-test".to_owned(),
        )
        .with_fetcher(Arc::clone(&script) as Arc<dyn Fetch>),
    );
    Harness {
        manager,
        store,
        script,
        registry,
    }
}

fn config(text: &str) -> Config {
    Config::parse("tocsin.yml", text).unwrap()
}

/// Stored series as `labels -> [(ms after BASE, value or "stale")]`.
fn timeline(store: &MemStorage) -> BTreeMap<String, Vec<(i64, String)>> {
    store
        .dump()
        .into_iter()
        .map(|(labels, samples)| {
            (
                labels.to_string(),
                samples
                    .iter()
                    .map(|s: &Sample| {
                        let v = if is_stale_nan(s.v) {
                            "stale".to_owned()
                        } else {
                            s.v.to_string()
                        };
                        (s.t - BASE, v)
                    })
                    .collect(),
            )
        })
        .collect()
}

fn values(store: &MemStorage, series: &str) -> Vec<String> {
    timeline(store)
        .get(series)
        .map(|samples| samples.iter().map(|(_, v)| v.clone()).collect())
        .unwrap_or_default()
}

const NODE: &str = "scrape_configs:\n  - job_name: node\n    scrape_interval: 10s\n    scrape_timeout: 5s\n    static_configs:\n      - targets: ['a:9100']\n        labels: {env: prod}\n";
const URL: &str = "http://a:9100/metrics";

#[tokio::test(start_paused = true)]
async fn timeline_with_synthetic_series_and_staleness() {
    let h = harness();
    h.script.set(URL, "m{k=\"1\"} 1\nm{k=\"2\"} 2\n");
    assert!(h.manager.apply(&config(NODE)).is_empty());
    let up = r#"{__name__="up", env="prod", instance="a:9100", job="node"}"#;

    // The first scrape comes within one interval, at the target's offset; then one per
    // interval, exactly.
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let first = timeline(&h.store)[up][0].0;
    assert!((0..10_000).contains(&first), "{first}");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let ts: Vec<i64> = timeline(&h.store)[up].iter().map(|(t, _)| *t).collect();
    assert_eq!(ts, [first, first + 10_000]);

    // Series 2 disappears: it gets a stale marker at the next scrape.
    h.script.set(URL, "m{k=\"1\"} 3\n");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let m2 = r#"{__name__="m", env="prod", instance="a:9100", job="node", k="2"}"#;
    assert_eq!(values(&h.store, m2), ["2", "2", "stale"]);
    assert_eq!(
        timeline(&h.store)[m2][2].0,
        first + 20_000,
        "the marker has the scrape's timestamp"
    );

    // A failed scrape: up 0, everything stale.
    h.script.fail(URL, "connection refused");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let m1 = r#"{__name__="m", env="prod", instance="a:9100", job="node", k="1"}"#;
    assert_eq!(values(&h.store, m1), ["1", "1", "3", "stale"]);
    assert_eq!(values(&h.store, up), ["1", "1", "1", "0"]);
    let targets = h.manager.active_targets();
    assert_eq!(targets["node"][0].last_error(), "connection refused");
    assert_eq!(targets["node"][0].health(), TargetHealth::Down);

    // Back: series return; nothing is marked twice.
    h.script.set(URL, "m{k=\"1\"} 4\n");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    assert_eq!(values(&h.store, m1), ["1", "1", "3", "stale", "4"]);
    assert_eq!(values(&h.store, m2), ["2", "2", "stale"]);
    let series =
        |name: &str| format!(r#"{{__name__="{name}", env="prod", instance="a:9100", job="node"}}"#);
    assert_eq!(
        values(&h.store, &series("scrape_samples_scraped")),
        ["2", "2", "1", "0", "1"]
    );
    assert_eq!(
        values(&h.store, &series("scrape_series_added")),
        ["2", "0", "0", "0", "0"]
    );
    assert_eq!(
        values(&h.store, &series("scrape_samples_post_metric_relabeling")),
        ["2", "2", "1", "0", "1"]
    );
    assert_eq!(
        values(&h.store, &series("scrape_duration_seconds")).len(),
        5
    );

    // The target goes away (job removed on reload): its series and the synthetic ones go
    // stale.
    assert!(h.manager.apply(&config("")).is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(values(&h.store, m1).last().unwrap(), "stale");
    assert_eq!(values(&h.store, up).last().unwrap(), "stale");
    let metrics = h.registry.encode();
    assert!(
        metrics.contains("tocsin_scrapes_total{job=\"node\",result=\"success\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tocsin_scrapes_total{job=\"node\",result=\"failure\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(start_paused = true)]
async fn honor_labels_and_timestamps() {
    let h = harness();
    let text = "scrape_configs:\n  - job_name: fed\n    scrape_interval: 10s\n    honor_labels: HONOR\n    honor_timestamps: HONOR\n    static_configs:\n      - targets: ['a:9100']\n";
    h.script.set(
        URL,
        "m{job=\"inner\",instance=\"x\",exported_job=\"taken\"} 1 1600000000000\n",
    );
    h.manager.apply(&config(&text.replace("HONOR", "false")));
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let stored = timeline(&h.store);
    let key = r#"{__name__="m", exported_exported_job="inner", exported_instance="x", exported_job="taken", instance="a:9100", job="fed"}"#;
    let samples = &stored[key];
    assert!(samples[0].0 >= 0, "scrape time, not the exposed one");
    h.manager.stop().await;

    let h = harness();
    h.script
        .set(URL, "m{job=\"inner\",instance=\"x\"} 1 1600000000000\n");
    h.manager.apply(&config(&text.replace("HONOR", "true")));
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let stored = timeline(&h.store);
    let samples = &stored[r#"{__name__="m", instance="x", job="inner"}"#];
    assert_eq!(
        samples[0].0,
        1_600_000_000_000 - BASE,
        "the exposed timestamp"
    );
    h.manager.stop().await;
}

#[tokio::test(start_paused = true)]
async fn metric_relabelling_and_limits_fail_the_scrape() {
    let h = harness();
    let text = "scrape_configs:\n  - job_name: j\n    scrape_interval: 10s\n    sample_limit: 2\n    label_value_length_limit: 10\n    metric_relabel_configs:\n      - {source_labels: [__name__], regex: 'go_.*', action: drop}\n    static_configs:\n      - targets: ['a:9100']\n";
    // Three samples, one dropped by relabelling: within the limit of 2.
    h.script
        .set_om(URL, "# TYPE go_x gauge\ngo_x 1\na 1\nb 2\n# EOF\n");
    h.manager.apply(&config(text));
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let series = |name: &str| format!(r#"{{__name__="{name}", instance="a:9100", job="j"}}"#);
    assert_eq!(values(&h.store, &series("up")), ["1"]);
    assert_eq!(values(&h.store, &series("scrape_samples_scraped")), ["3"]);
    assert_eq!(
        values(&h.store, &series("scrape_samples_post_metric_relabeling")),
        ["2"]
    );
    assert!(values(&h.store, &series("go_x")).is_empty());
    // Three after relabelling: over the sample limit, the scrape fails and stores nothing
    // of its samples.
    h.script.set_om(URL, "a 5\nb 6\nc 7\n# EOF\n");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    assert_eq!(values(&h.store, &series("up")), ["1", "0"]);
    assert_eq!(values(&h.store, &series("a")), ["1", "stale"]);
    assert!(values(&h.store, &series("c")).is_empty());
    let targets = h.manager.active_targets();
    assert!(
        targets["j"][0]
            .last_error()
            .contains("sample limit exceeded"),
        "{}",
        targets["j"][0].last_error()
    );
    // A label value over the limit fails it too; a parse error as well.
    h.script.set_om(URL, "a{v=\"0123456789abc\"} 1\n# EOF\n");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    assert!(
        targets["j"][0]
            .last_error()
            .contains("label_value_length_limit exceeded")
    );
    h.script.set_om(URL, "a 1\n");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    assert!(
        targets["j"][0].last_error().contains("# EOF"),
        "{}",
        targets["j"][0].last_error()
    );
    assert_eq!(values(&h.store, &series("up")), ["1", "0", "0", "0"]);
    h.manager.stop().await;
}

#[tokio::test(start_paused = true)]
async fn file_sd_targets_follow_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.json");
    std::fs::write(
        &file,
        r#"[{"targets": ["a:9100"], "labels": {"team": "x"}}]"#,
    )
    .unwrap();
    let h = harness();
    h.script.set(URL, "m 1\n");
    h.script.set("http://b:9100/metrics", "m 2\n");
    let text = format!(
        "scrape_configs:\n  - job_name: files\n    scrape_interval: 10s\n    file_sd_configs:\n      - files: ['{}/*.json']\n    relabel_configs:\n      - {{source_labels: [__meta_filepath], regex: '.*/(.*)', target_label: source}}\n",
        dir.path().display()
    );
    h.manager.apply(&config(&text));
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let urls = |h: &Harness| -> Vec<String> {
        h.manager.active_targets()["files"]
            .iter()
            .map(|t| t.url.clone())
            .collect()
    };
    assert_eq!(urls(&h), [URL]);
    let a = r#"{__name__="m", instance="a:9100", job="files", source="targets.json", team="x"}"#;
    assert_eq!(values(&h.store, a), ["1"]);
    std::fs::write(
        &file,
        r#"[{"targets": ["b:9100"], "labels": {"team": "x"}}]"#,
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(20_000)).await;
    assert_eq!(urls(&h), ["http://b:9100/metrics"]);
    assert_eq!(values(&h.store, a).last().unwrap(), "stale");
    h.manager.stop().await;
}

#[tokio::test(start_paused = true)]
async fn targets_json_like_prometheus() {
    let h = harness();
    h.script.set("http://a:9100/metrics?module=x", "m 1\n");
    let text = "scrape_configs:\n  - job_name: node\n    scrape_interval: 10s\n    scrape_timeout: 5s\n    params: {module: [x]}\n    static_configs:\n      - targets: ['a:9100', 'drop:1']\n    relabel_configs:\n      - {source_labels: [__address__], regex: 'drop:.*', action: drop}\n";
    h.manager.apply(&config(text));
    let before: serde_json::Value = serde_json::from_str(&h.manager.targets_json(None)).unwrap();
    assert_eq!(before["data"]["activeTargets"][0]["health"], "unknown");
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let json: serde_json::Value =
        serde_json::from_str(&h.manager.targets_json(Some("any"))).unwrap();
    let active = &json["data"]["activeTargets"][0];
    assert_eq!(json["status"], "success");
    assert_eq!(active["health"], "up");
    assert_eq!(active["scrapePool"], "node");
    assert_eq!(active["scrapeUrl"], "http://a:9100/metrics?module=x");
    assert_eq!(
        active["labels"],
        serde_json::json!({"instance": "a:9100", "job": "node"})
    );
    assert_eq!(active["discoveredLabels"]["__param_module"], "x");
    assert_eq!(active["scrapeInterval"], "10s");
    assert_eq!(active["scrapeTimeout"], "5s");
    assert_eq!(active["lastError"], "");
    assert!(
        active["lastScrape"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:1"),
        "{active}"
    );
    assert_eq!(
        json["data"]["droppedTargets"][0]["discoveredLabels"]["__address__"],
        "drop:1"
    );
    let only_dropped: serde_json::Value =
        serde_json::from_str(&h.manager.targets_json(Some("dropped"))).unwrap();
    assert!(only_dropped["data"].get("activeTargets").is_none());
    h.manager.stop().await;
}

#[test]
fn jitter_spreads_targets_over_the_interval() {
    let job = JobSettings::new(&Config::default(), &config(NODE).scrape_configs[0]);
    let store = MemStorage::new();
    let mut delays = Vec::new();
    for i in 0..200 {
        let group = BTreeMap::new();
        let (_, target) = populate_labels(
            &group,
            &[("__address__".to_owned(), format!("h{i}:9100"))],
            &job,
        )
        .unwrap();
        let scrape_loop = ScrapeLoop::new(
            Arc::new(target.unwrap()),
            "node".to_owned(),
            Arc::new(Script::default()),
            Arc::new(store.clone()),
            Arc::new(crate::clock::SystemClock),
            Default::default(),
            None,
        );
        let delay = scrape_loop.first_delay(BASE).as_millis() as i64;
        assert!((0..10_000).contains(&delay));
        // The slot is stable: one interval later, the same delay.
        assert_eq!(
            scrape_loop.first_delay(BASE + 10_000).as_millis() as i64,
            delay
        );
        delays.push(delay);
    }
    // Spread: every 1-second bucket of the 10-second interval has targets.
    let mut buckets = [0; 10];
    for d in delays {
        buckets[(d / 1000) as usize] += 1;
    }
    assert!(buckets.iter().all(|&n| n > 5), "{buckets:?}");
}

#[test]
fn populate_labels_rules() {
    let job = JobSettings::new(
        &Config::default(),
        &config("scrape_configs:\n  - job_name: j\n    scheme: https\n    metrics_path: /m\n    relabel_configs:\n      - {source_labels: [__meta_x], target_label: meta_copy}\n      - {source_labels: [__address__], regex: '(.*):80', target_label: __address__, replacement: '${1}:8080'}\n").scrape_configs[0],
    );
    let group: BTreeMap<String, String> = [("__meta_x".to_owned(), "m".to_owned())].into();
    let (discovered, target) = populate_labels(
        &group,
        &[("__address__".to_owned(), "h:80".to_owned())],
        &job,
    )
    .unwrap();
    let target = target.unwrap();
    assert_eq!(target.url, "https://h:8080/m");
    let public: Vec<(String, String)> = target
        .public_labels()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    assert_eq!(
        public,
        [
            ("instance".into(), "h:8080".into()),
            ("job".into(), "j".into()),
            ("meta_copy".into(), "m".into())
        ]
    );
    assert!(discovered.iter().any(|l| l.name == "__meta_x"));
    assert!(!target.labels.iter().any(|l| l.name.starts_with("__meta_")));
    let err = populate_labels(
        &BTreeMap::new(),
        &[("__address__".to_owned(), String::new())],
        &job,
    )
    .unwrap_err();
    assert!(err.contains("no address"), "{err}");
}
