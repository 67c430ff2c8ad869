//! Concurrent HTTP, TCP and DNS probes: every interval each probe fires `concurrency`
//! attempts at once and records successes, failures and latencies, so intermittent
//! failures (one DNS lookup in twenty) show as a failure rate, not as noise.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::{Collector, Point};

/// What a probe checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    /// `GET` answers 2xx or 3xx.
    Http(String),
    /// A TCP connection opens (`host:port`).
    Tcp(String),
    /// The name resolves to at least one address.
    Dns(String),
}

impl ProbeTarget {
    /// Parses `http://…`/`https://…`, `tcp://host:port`, `dns://name`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            Ok(Self::Http(text.to_owned()))
        } else if let Some(addr) = text.strip_prefix("tcp://") {
            Ok(Self::Tcp(addr.to_owned()))
        } else if let Some(name) = text.strip_prefix("dns://") {
            Ok(Self::Dns(name.to_owned()))
        } else {
            Err(format!(
                "probe {text:?}: write http://host/path, https://..., tcp://host:port or dns://name"
            ))
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::Tcp(_) => "tcp",
            Self::Dns(_) => "dns",
        }
    }

    fn target(&self) -> &str {
        match self {
            Self::Http(t) | Self::Tcp(t) | Self::Dns(t) => t,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Stats {
    successes: u64,
    failures: u64,
    last_ratio: f64,
    last_latencies: Vec<f64>,
}

/// Runs probes in the background; as a [`Collector`] it reports their results.
#[derive(Debug, Clone)]
pub struct Probes {
    stats: Arc<Mutex<BTreeMap<(String, String), Stats>>>,
}

async fn attempt(client: &reqwest::Client, target: &ProbeTarget, timeout: Duration) -> bool {
    let work = async {
        match target {
            ProbeTarget::Http(url) => client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success() || r.status().is_redirection()),
            ProbeTarget::Tcp(addr) => tokio::net::TcpStream::connect(addr).await.is_ok(),
            ProbeTarget::Dns(name) => tokio::net::lookup_host(format!("{name}:0"))
                .await
                .is_ok_and(|mut addrs| addrs.next().is_some()),
        }
    };
    tokio::time::timeout(timeout, work).await.unwrap_or(false)
}

impl Probes {
    /// Starts `targets`, each every `interval` with `concurrency` attempts of at most
    /// `timeout`, until `stop`.
    pub fn spawn(
        targets: Vec<ProbeTarget>,
        interval: Duration,
        timeout: Duration,
        concurrency: usize,
        stop: CancellationToken,
    ) -> Self {
        let stats: Arc<Mutex<BTreeMap<(String, String), Stats>>> = Arc::default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap_or_default();
        for target in targets {
            let stats = Arc::clone(&stats);
            let stop = stop.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        () = stop.cancelled() => return,
                    }
                    let mut round = tokio::task::JoinSet::new();
                    for _ in 0..concurrency.max(1) {
                        let client = client.clone();
                        let target = target.clone();
                        round.spawn(async move {
                            let started = Instant::now();
                            let ok = attempt(&client, &target, timeout).await;
                            (ok, started.elapsed().as_secs_f64())
                        });
                    }
                    let results: Vec<(bool, f64)> = round.join_all().await;
                    let ok = results.iter().filter(|(ok, _)| *ok).count() as u64;
                    let mut latencies: Vec<f64> = results.iter().map(|(_, d)| *d).collect();
                    latencies.sort_by(f64::total_cmp);
                    let mut stats = stats.lock();
                    let entry = stats
                        .entry((target.kind().to_owned(), target.target().to_owned()))
                        .or_default();
                    entry.successes += ok;
                    entry.failures += results.len() as u64 - ok;
                    entry.last_ratio = ok as f64 / results.len().max(1) as f64;
                    entry.last_latencies = latencies;
                }
            });
        }
        Self { stats }
    }
}

impl Collector for Probes {
    fn collect(&mut self, out: &mut Vec<Point>) {
        for ((kind, target), stats) in self.stats.lock().iter() {
            let labels = |name: &str, extra: &[(&str, &str)]| {
                let mut all = vec![
                    ("__name__".to_owned(), name.to_owned()),
                    ("kind".to_owned(), kind.clone()),
                    ("target".to_owned(), target.clone()),
                ];
                all.extend(
                    extra
                        .iter()
                        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
                );
                all
            };
            out.push((
                labels(
                    "tocsin_agent_probe_attempts_total",
                    &[("result", "success")],
                ),
                stats.successes as f64,
            ));
            out.push((
                labels(
                    "tocsin_agent_probe_attempts_total",
                    &[("result", "failure")],
                ),
                stats.failures as f64,
            ));
            out.push((
                labels("tocsin_agent_probe_success_ratio", &[]),
                stats.last_ratio,
            ));
            let n = stats.last_latencies.len();
            if n > 0 {
                for (q, name) in [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (1.0, "1")] {
                    let index = ((q * (n - 1) as f64).round() as usize).min(n - 1);
                    out.push((
                        labels("tocsin_agent_probe_duration_seconds", &[("quantile", name)]),
                        stats.last_latencies[index],
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(out: &[Point], name: &str, extra: Option<(&str, &str)>) -> Option<f64> {
        out.iter()
            .find(|(labels, _)| {
                labels.iter().any(|(n, v)| n == "__name__" && v == name)
                    && extra.is_none_or(|(k, x)| labels.iter().any(|(n, v)| n == k && v == x))
            })
            .map(|(_, v)| *v)
    }

    #[tokio::test]
    async fn tcp_http_and_dns_probes_count_successes_and_failures() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let stop = CancellationToken::new();
        let mut probes = Probes::spawn(
            vec![
                ProbeTarget::parse(&format!("tcp://{open}")).unwrap(),
                ProbeTarget::parse(&format!("tcp://{closed}")).unwrap(),
                ProbeTarget::parse(&format!("http://{open}/")).unwrap(),
                ProbeTarget::parse("dns://localhost").unwrap(),
            ],
            Duration::from_secs(3600),
            Duration::from_secs(2),
            10,
            stop.clone(),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let out = loop {
            let mut out = Vec::new();
            probes.collect(&mut out);
            if out.len() >= 4 * 7 {
                break out;
            }
            assert!(Instant::now() < deadline, "probes did not report: {out:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        stop.cancel();
        let for_target = |target: &str| -> Vec<Point> {
            out.iter()
                .filter(|(labels, _)| labels.iter().any(|(n, v)| n == "target" && v == target))
                .cloned()
                .collect()
        };
        let ok = for_target(&open.to_string());
        assert_eq!(
            value(&ok, "tocsin_agent_probe_success_ratio", None),
            Some(1.0)
        );
        assert_eq!(
            value(
                &ok,
                "tocsin_agent_probe_attempts_total",
                Some(("result", "success"))
            ),
            Some(10.0)
        );
        let bad = for_target(&closed.to_string());
        assert_eq!(
            value(&bad, "tocsin_agent_probe_success_ratio", None),
            Some(0.0)
        );
        assert_eq!(
            value(
                &bad,
                "tocsin_agent_probe_attempts_total",
                Some(("result", "failure"))
            ),
            Some(10.0)
        );
        let http = for_target(&format!("http://{open}/"));
        assert_eq!(
            value(&http, "tocsin_agent_probe_success_ratio", None),
            Some(1.0)
        );
        assert!(
            value(
                &http,
                "tocsin_agent_probe_duration_seconds",
                Some(("quantile", "0.99"))
            )
            .is_some()
        );
        let dns = for_target("localhost");
        assert_eq!(
            value(&dns, "tocsin_agent_probe_success_ratio", None),
            Some(1.0)
        );
        assert!(ProbeTarget::parse("ftp://x").is_err());
    }
}
