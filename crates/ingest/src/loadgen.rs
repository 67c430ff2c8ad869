//! `tocsin bench remote-write`: a remote_write load generator with node_exporter-like
//! series, for tocsin or any receiver. Each worker owns a slice of the series and sends it
//! round after round, one sample per series per round at the current time, over kept-alive
//! connections. The requests are encoded and compressed once and patched each round
//! ([`PatchableBody`]): on a machine shared with the receiver, the generator's CPU is taken
//! from the server being measured, so it should spend as little as a real sender's
//! already-built queue would. Both processes' CPU time over the steady phase is reported.

mod body;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

pub use self::body::PatchableBody;

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The receiver, e.g. `http://127.0.0.1:9095/api/v1/write`.
    pub url: String,
    /// Active series.
    pub series: usize,
    /// How long to send after the first round.
    pub duration: Duration,
    /// Requests in flight.
    pub concurrency: usize,
    /// Samples per request.
    pub batch: usize,
    /// `X-Scope-OrgID`, if any.
    pub tenant: Option<String>,
    /// The receiver's process id on this machine, to report its CPU time.
    pub server_pid: Option<u32>,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Series sent.
    pub series: usize,
    /// Seconds the first round (every series created) took.
    pub first_round_secs: f64,
    /// Seconds of the steady phase measured.
    pub steady_secs: f64,
    /// Samples acknowledged with 2xx in the steady phase.
    pub accepted: u64,
    /// Samples sent in the steady phase.
    pub sent: u64,
    /// Samples acknowledged with 2xx over the whole run, first round included.
    pub accepted_total: u64,
    /// Requests by HTTP status (or `transport` for connection errors), whole run.
    pub statuses: BTreeMap<String, u64>,
    /// Request latencies in the steady phase, milliseconds, sorted.
    pub latencies_ms: Vec<f64>,
    /// CPU seconds (user + system) the generator used in the steady phase.
    pub generator_cpu_secs: Option<f64>,
    /// CPU seconds the receiver's process used in the steady phase (with `server_pid`).
    pub server_cpu_secs: Option<f64>,
}

impl LoadReport {
    /// Accepted samples per second in the steady phase.
    pub fn samples_per_second(&self) -> f64 {
        if self.steady_secs > 0.0 {
            self.accepted as f64 / self.steady_secs
        } else {
            0.0
        }
    }

    /// Cores a process kept busy on average over the steady phase.
    pub fn cores(&self, cpu_secs: Option<f64>) -> Option<f64> {
        cpu_secs
            .filter(|_| self.steady_secs > 0.0)
            .map(|cpu| cpu / self.steady_secs)
    }

    /// A latency percentile (0–100) in milliseconds.
    pub fn latency(&self, percentile: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        let rank = (percentile / 100.0 * (self.latencies_ms.len() - 1) as f64).round() as usize;
        self.latencies_ms[rank.min(self.latencies_ms.len() - 1)]
    }
}

/// node_exporter-like families: name, kind, and per-host label sets.
/// A family: metric name, whether it is a counter, and the label sets of one host.
type Family = (&'static str, bool, Vec<Vec<(&'static str, String)>>);

fn families() -> Vec<Family> {
    let cpus = 8;
    let modes = [
        "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    let devices = ["eth0", "eth1", "lo", "docker0"];
    let disks = ["nvme0n1", "nvme1n1", "sda", "sdb"];
    let mounts = [
        ("/", "ext4", "/dev/nvme0n1p2"),
        ("/boot", "vfat", "/dev/nvme0n1p1"),
        ("/data", "xfs", "/dev/nvme1n1"),
        ("/run", "tmpfs", "tmpfs"),
    ];
    let mut cpu = Vec::new();
    for c in 0..cpus {
        for mode in modes {
            cpu.push(vec![("cpu", c.to_string()), ("mode", mode.to_owned())]);
        }
    }
    let per = |values: &[&str], name: &'static str| -> Vec<Vec<(&'static str, String)>> {
        values
            .iter()
            .map(|v| vec![(name, (*v).to_owned())])
            .collect()
    };
    let fs: Vec<Vec<(&'static str, String)>> = mounts
        .iter()
        .map(|(m, t, d)| {
            vec![
                ("device", (*d).to_owned()),
                ("fstype", (*t).to_owned()),
                ("mountpoint", (*m).to_owned()),
            ]
        })
        .collect();
    vec![
        ("node_cpu_seconds_total", true, cpu),
        (
            "node_network_receive_bytes_total",
            true,
            per(&devices, "device"),
        ),
        (
            "node_network_transmit_bytes_total",
            true,
            per(&devices, "device"),
        ),
        (
            "node_network_receive_packets_total",
            true,
            per(&devices, "device"),
        ),
        (
            "node_network_transmit_packets_total",
            true,
            per(&devices, "device"),
        ),
        ("node_disk_read_bytes_total", true, per(&disks, "device")),
        ("node_disk_written_bytes_total", true, per(&disks, "device")),
        (
            "node_disk_io_time_seconds_total",
            true,
            per(&disks, "device"),
        ),
        ("node_filesystem_avail_bytes", false, fs.clone()),
        ("node_filesystem_size_bytes", false, fs.clone()),
        ("node_filesystem_files_free", false, fs),
        ("node_memory_MemAvailable_bytes", false, vec![vec![]]),
        ("node_memory_MemFree_bytes", false, vec![vec![]]),
        ("node_memory_Cached_bytes", false, vec![vec![]]),
        ("node_load1", false, vec![vec![]]),
        ("node_load5", false, vec![vec![]]),
        ("node_load15", false, vec![vec![]]),
    ]
}

/// One generated series: its labels, protobuf-encoded once, and how its value moves.
#[derive(Debug, Clone)]
pub struct GeneratedSeries {
    /// The labels as `(name, value)`, sorted.
    pub labels: Vec<(String, String)>,
    counter: bool,
    seed: u64,
}

/// `n` node_exporter-like series: hosts `host-N:9100` with ~100 series each.
pub fn generate_series(n: usize) -> Vec<GeneratedSeries> {
    let families = families();
    let mut out = Vec::with_capacity(n);
    let mut host = 0usize;
    'hosts: loop {
        for (name, counter, label_sets) in &families {
            for extra in label_sets {
                if out.len() == n {
                    break 'hosts;
                }
                let mut labels: Vec<(String, String)> = vec![
                    ("__name__".to_owned(), (*name).to_owned()),
                    ("instance".to_owned(), format!("host-{host}:9100")),
                    ("job".to_owned(), "node".to_owned()),
                ];
                labels.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
                labels.sort();
                let seed = out.len() as u64;
                out.push(GeneratedSeries {
                    labels,
                    counter: *counter,
                    seed,
                });
            }
        }
        host += 1;
    }
    out
}

impl GeneratedSeries {
    /// The value in round `round`: counters grow, gauges wander.
    pub fn value(&self, round: u64) -> f64 {
        let base = (self.seed % 1000) as f64;
        if self.counter {
            base * 1000.0 + round as f64 * (1.0 + (self.seed % 7) as f64)
        } else {
            base * 1e6 + ((round + self.seed) % 97) as f64 * 4096.0
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    statuses: BTreeMap<String, u64>,
    latencies_ms: Vec<f64>,
    accepted: u64,
    accepted_total: u64,
    sent: u64,
    first_round_done: Vec<Instant>,
    /// Generator and server CPU seconds when the steady phase started.
    cpu_at_steady: (Option<f64>, Option<f64>),
}

/// CPU seconds (user + system) process `pid` (this process for `None`) has used so far,
/// from `/proc/<pid>/stat`; `None` where that is unavailable.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |pid| format!("/proc/{pid}/stat"),
    );
    let text = std::fs::read_to_string(path).ok()?;
    parse_cpu_ticks(&text)
        .map(|ticks| ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// utime + stime from a `/proc/<pid>/stat` line. The command name in parentheses may hold
/// spaces and parentheses itself, so fields are counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn cpu_now(server_pid: Option<u32>) -> (Option<f64>, Option<f64>) {
    (
        cpu_seconds(None),
        server_pid.and_then(|pid| cpu_seconds(Some(pid))),
    )
}

/// Runs the load and reports. Each of `concurrency` workers owns a slice of the series and
/// sends it round after round; the steady phase starts when every worker has sent its
/// first round (which creates the series).
pub async fn run(options: &LoadOptions) -> Result<LoadReport, String> {
    if options.series == 0 || options.concurrency == 0 || options.batch == 0 {
        return Err("--series, --concurrency and --batch must be at least 1".to_owned());
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
    let series = Arc::new(generate_series(options.series));
    let shared = Arc::new(Mutex::new(Shared::default()));
    let started = Instant::now();
    let steady_from = Arc::new(Mutex::new(None::<Instant>));
    let workers = options.concurrency.min(options.series);
    let per_worker = options.series.div_ceil(workers);
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let range = worker * per_worker..((worker + 1) * per_worker).min(options.series);
        let series = Arc::clone(&series);
        let shared = Arc::clone(&shared);
        let steady_from = Arc::clone(&steady_from);
        let client = client.clone();
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            worker_loop(client, options, series, range, shared, steady_from, workers).await;
        }));
    }
    for task in tasks {
        task.await.map_err(|err| format!("worker failed: {err}"))?;
    }
    let ended = Instant::now();
    let (generator_cpu, server_cpu) = cpu_now(options.server_pid);
    let shared = std::mem::take(&mut *shared.lock());
    let (generator_from, server_from) = shared.cpu_at_steady;
    let used = |now: Option<f64>, from: Option<f64>| Some(now? - from?);
    let steady = steady_from.lock().unwrap_or(ended);
    let mut latencies = shared.latencies_ms;
    latencies.sort_by(f64::total_cmp);
    Ok(LoadReport {
        series: options.series,
        first_round_secs: steady.duration_since(started).as_secs_f64(),
        steady_secs: ended.duration_since(steady).as_secs_f64(),
        accepted: shared.accepted,
        accepted_total: shared.accepted_total,
        sent: shared.sent,
        statuses: shared.statuses,
        latencies_ms: latencies,
        generator_cpu_secs: used(generator_cpu, generator_from),
        server_cpu_secs: used(server_cpu, server_from),
    })
}

#[allow(clippy::too_many_arguments)]
async fn worker_loop(
    client: reqwest::Client,
    options: LoadOptions,
    series: Arc<Vec<GeneratedSeries>>,
    range: std::ops::Range<usize>,
    shared: Arc<Mutex<Shared>>,
    steady_from: Arc<Mutex<Option<Instant>>>,
    workers: usize,
) {
    let mut bodies: Vec<Option<PatchableBody>> = Vec::new();
    let mut round = 0u64;
    let mut deadline: Option<Instant> = None;
    loop {
        let steady = deadline.is_some();
        for (c, chunk) in series[range.clone()].chunks(options.batch).enumerate() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_millis() as i64);
            if bodies.len() <= c {
                bodies.push(None);
            }
            let patched = bodies[c]
                .as_mut()
                .is_some_and(|body| body.patch(t, |i| chunk[i].value(round)));
            if !patched {
                // First round, or the timestamp's varint grew a byte.
                bodies[c] = Some(PatchableBody::build(
                    chunk.iter().map(|s| s.labels.as_slice()),
                    t,
                    chunk.iter().map(|s| s.value(round)),
                ));
            }
            let body = bodies[c]
                .as_ref()
                .map_or_else(Bytes::new, |body| Bytes::copy_from_slice(body.as_bytes()));
            let mut request = client
                .post(&options.url)
                .header("Content-Type", "application/x-protobuf")
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .body(body);
            if let Some(tenant) = &options.tenant {
                request = request.header("X-Scope-OrgID", tenant);
            }
            let sent_at = Instant::now();
            let status = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    // Read the body so the connection can be reused.
                    let _ = response.bytes().await;
                    status.as_u16().to_string()
                }
                Err(_) => "transport".to_owned(),
            };
            let latency = sent_at.elapsed().as_secs_f64() * 1000.0;
            let mut shared = shared.lock();
            let ok = status.starts_with('2');
            *shared.statuses.entry(status).or_default() += 1;
            if ok {
                shared.accepted_total += chunk.len() as u64;
            }
            if steady {
                shared.sent += chunk.len() as u64;
                if ok {
                    shared.accepted += chunk.len() as u64;
                }
                shared.latencies_ms.push(latency);
            }
        }
        round += 1;
        if deadline.is_none() {
            // This worker's first round is done; the steady phase starts when all are.
            {
                let mut shared = shared.lock();
                shared.first_round_done.push(Instant::now());
                if shared.first_round_done.len() == workers {
                    shared.cpu_at_steady = cpu_now(options.server_pid);
                    *steady_from.lock() = Some(Instant::now());
                }
            }
            // Wait (bounded) until every worker is through its first round.
            let wait_until = Instant::now() + Duration::from_secs(600);
            loop {
                let start = *steady_from.lock();
                if let Some(start) = start {
                    deadline = Some(start + options.duration);
                    break;
                }
                if Instant::now() > wait_until {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_look_like_node_exporter_and_are_distinct() {
        let series = generate_series(1000);
        assert_eq!(series.len(), 1000);
        let distinct: std::collections::BTreeSet<_> = series.iter().map(|s| &s.labels).collect();
        assert_eq!(distinct.len(), 1000);
        assert!(
            series[0]
                .labels
                .iter()
                .any(|(n, v)| n == "__name__" && v == "node_cpu_seconds_total")
        );
        assert!(
            series
                .iter()
                .all(|s| s.labels.windows(2).all(|w| w[0].0 < w[1].0))
        );
        // Counters never decrease.
        assert!(series[0].value(2) > series[0].value(1));
    }

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        // A command name with spaces and a parenthesis must not shift the fields.
        let stat = "4242 (tocsin (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    250 75 0 0 20 0 3 0 100 1000000 500";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("4242 (short) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn cpu_seconds_of_this_process_and_of_a_missing_one() {
        let own = cpu_seconds(None).unwrap();
        assert!(own >= 0.0);
        assert_eq!(
            cpu_seconds(Some(std::process::id())).map(|s| s >= own),
            Some(true)
        );
        // Above the kernel's pid_max (2^22), so no such process.
        assert_eq!(cpu_seconds(Some(u32::MAX)), None);
    }
}
