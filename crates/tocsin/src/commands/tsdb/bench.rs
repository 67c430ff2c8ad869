//! `tocsin bench tsdb`: the work of `promtool tsdb bench write`, on our store. Series are
//! split into batches of 1000; every round of 100 scrapes runs every batch concurrently
//! (on a pool of threads), each committing one batch per scrape (timestamps 30s apart, counters growing by 1000); WAL on,
//! compaction off. It prints promtool's lines (stages, total samples, samples/sec) and then
//! memory and WAL figures.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use tocsin_model::Labels;
use tocsin_model::storage::{Appendable, SeriesRef};
use tocsin_tsdb::{Tsdb, TsdbOptions};

use crate::cli::TsdbBenchArgs;
use crate::output;

const TIME_DELTA: i64 = 30_000;
const BATCH: usize = 1000;
const SCRAPES_PER_ROUND: usize = 100;

fn stage<T>(name: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Duration)> {
    output::line(&format!(">> start stage={name}"));
    let started = Instant::now();
    let out = f()?;
    let took = started.elapsed();
    output::line(&format!(">> completed stage={name} duration={took:?}"));
    Ok((out, took))
}

/// Label sets from a promtool-format file (one JSON object per line), deduplicated, at
/// most `n`.
fn read_labels(path: &Path, n: usize) -> anyhow::Result<Vec<Labels>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        if out.len() >= n {
            break;
        }
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let map: std::collections::BTreeMap<String, String> = serde_json::from_str(&line)
            .with_context(|| {
                format!(
                    "{}:{}: not a JSON object of label names to values",
                    path.display(),
                    i + 1
                )
            })?;
        let labels =
            Labels::from_pairs(map).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        if seen.insert(labels.stable_hash()) {
            out.push(labels);
        }
    }
    if out.len() < n {
        anyhow::bail!(
            "{} holds only {} distinct series; {n} were asked for",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

/// node_exporter-like label sets: 50 metric names per host.
fn generate_labels(n: usize) -> Vec<Labels> {
    const NAMES: [&str; 10] = [
        "node_cpu_seconds_total",
        "node_memory_MemFree_bytes",
        "node_network_receive_bytes_total",
        "node_disk_read_bytes_total",
        "node_filesystem_avail_bytes",
        "node_load1",
        "node_netstat_Tcp_InSegs",
        "node_vmstat_pgfault",
        "process_resident_memory_bytes",
        "go_goroutines",
    ];
    (0..n)
        .map(|i| {
            let host = i / 50;
            let k = i % 50;
            Labels::from_pairs([
                ("__name__", NAMES[k % 10].to_owned()),
                ("instance", format!("host-{host:06}.example.org:9100")),
                ("job", "node".to_owned()),
                ("device", format!("dev{}", k / 10)),
            ])
            .expect("invariant: generated labels are valid")
        })
        .collect()
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn ingest_shard(db: &Tsdb, labels: &[Labels], scrapes: usize, base: i64) -> anyhow::Result<u64> {
    let mut refs: Vec<SeriesRef> = vec![0; labels.len()];
    let mut values: Vec<i64> = vec![123_456_789; labels.len()];
    let mut ts = base;
    let mut total = 0;
    for _ in 0..scrapes {
        let mut app = db.appender();
        ts += TIME_DELTA;
        for (i, l) in labels.iter().enumerate() {
            values[i] += 1000;
            refs[i] = app
                .append(refs[i], l, ts, values[i] as f64)
                .map_err(|err| anyhow::anyhow!("append refused: {err}"))?;
            total += 1;
        }
        app.commit()
            .map_err(|err| anyhow::anyhow!("commit failed: {err}"))?;
    }
    Ok(total)
}

/// `tocsin bench tsdb`.
pub(crate) fn bench(args: &TsdbBenchArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() {
        std::fs::remove_dir_all(&args.out)
            .with_context(|| format!("cannot remove {}", args.out.display()))?;
    }
    let (labels, _) = stage("readData", || match &args.file {
        Some(path) => read_labels(path, args.series),
        None => Ok(generate_labels(args.series)),
    })?;
    let rss_before = rss_bytes().unwrap_or(0);
    let db = Tsdb::open(&args.out, TsdbOptions::default(), None)
        .with_context(|| format!("cannot open a store in {}", args.out.display()))?;
    let (total, took) = stage("ingestScrapes", || {
        let mut total = 0u64;
        let mut round = 0;
        while round < args.scrapes {
            let scrapes = SCRAPES_PER_ROUND.min(args.scrapes - round);
            let base = TIME_DELTA * round as i64;
            // promtool starts one goroutine per batch; OS threads are not that cheap, so a
            // pool of a few threads per core takes the batches from a shared counter: the
            // same batches, commits and concurrency as far as the store can tell.
            let batches: Vec<&[Labels]> = labels.chunks(BATCH).collect();
            let next = std::sync::atomic::AtomicUsize::new(0);
            let workers = std::thread::available_parallelism()
                .map_or(2, |n| n.get() * 4)
                .min(batches.len());
            let results: Vec<anyhow::Result<u64>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        let (db, batches, next) = (&db, &batches, &next);
                        scope.spawn(move || {
                            let mut total = 0;
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(batch) = batches.get(i) else {
                                    return Ok(total);
                                };
                                total += ingest_shard(db, batch, scrapes, base)?;
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow::anyhow!("a writer thread panicked")))
                    })
                    .collect()
            });
            for r in results {
                total += r?;
            }
            round += SCRAPES_PER_ROUND;
        }
        output::line("ingestion completed");
        Ok(total)
    })?;
    output::line(&format!(" > total samples: {total}"));
    output::line(&format!(
        " > samples/sec: {}",
        total as f64 / took.as_secs_f64()
    ));
    let rss = rss_bytes().unwrap_or(0);
    let head = db.head().stats();
    let wal = dir_bytes(&args.out.join("wal"));
    output::line(&format!(
        " > head: {} series, {} chunks, {} samples, {:.2} bytes/sample in chunks",
        head.series,
        head.chunks,
        head.samples,
        head.chunk_bytes as f64 / head.samples.max(1) as f64
    ));
    output::line(&format!(
        " > RSS: {} bytes ({:.0} bytes/series above the {} before the store opened)",
        rss,
        rss.saturating_sub(rss_before) as f64 / head.series.max(1) as f64,
        rss_before
    ));
    output::line(&format!(
        " > WAL: {wal} bytes ({:.2} bytes/sample)",
        wal as f64 / total.max(1) as f64
    ));
    stage("stopStorage", || db.close().context("closing the store"))?;
    Ok(ExitCode::SUCCESS)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
