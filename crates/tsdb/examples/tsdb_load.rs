//! Loads generated or recorded samples into a store and prints memory and disk figures, for
//! the comparisons with VictoriaMetrics in `bench/tsdb-vs-victoriametrics.sh`. The same
//! command prints the identical data in the text format with timestamps (`emit`), which the
//! script posts to VictoriaMetrics's import API, so both stores get the same samples.
//!
//! ```text
//! tsdb_load emit  --kind gauge|random|node --series N --samples M [--node-file F]
//! tsdb_load load  --kind ... --series N --samples M --dir D [--compact] [--crash]
//! tsdb_load reopen --dir D
//! ```
//!
//! `load` closes the store and reopens it (a clean restart); with `--crash` it exits right
//! after loading without closing (as a SIGKILL would: nothing flushed or fsynced by tocsin),
//! and `reopen` then times the restart.
//!
//! Kinds: `gauge` (noisy 2-decimal gauges, as the issue's remote_write generator),
//! `random` (uniform random floats: the worst case), `node` (recorded node_exporter scrapes,
//! one snapshot per sample time, replicated over instances).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    missing_docs,
    reason = "a benchmark tool"
)]

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use tocsin_model::storage::{Appendable, SeriesRef};
use tocsin_model::{Label, Labels};
use tocsin_tsdb::{Tsdb, TsdbOptions, WalSync};

const STEP: i64 = 15_000;
const START: i64 = 1_764_000_000_000;

struct Args {
    cmd: String,
    kind: String,
    series: usize,
    samples: usize,
    dir: PathBuf,
    node_file: PathBuf,
    compact: bool,
    crash: bool,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        cmd: it.next().unwrap_or_default(),
        kind: "gauge".into(),
        series: 10_000,
        samples: 480,
        dir: "tsdb-load".into(),
        node_file: "node-scrapes.txt".into(),
        compact: false,
        crash: false,
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--kind" => a.kind = it.next().unwrap(),
            "--series" => a.series = it.next().unwrap().parse().unwrap(),
            "--samples" => a.samples = it.next().unwrap().parse().unwrap(),
            "--dir" => a.dir = it.next().unwrap().into(),
            "--node-file" => a.node_file = it.next().unwrap().into(),
            "--compact" => a.compact = true,
            "--crash" => a.crash = true,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// xorshift64*: the same stream in `emit` and `load`.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Parses `name{a="b",...} value` (node_exporter output; no timestamps).
fn parse_line(line: &str) -> Option<(Labels, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    let (name, rest) = match series.find('{') {
        Some(i) => (&series[..i], &series[i + 1..series.len() - 1]),
        None => (series, ""),
    };
    let mut labels = vec![Label::new("__name__", name)];
    let mut chars = rest.chars().peekable();
    loop {
        let lname: String = chars
            .by_ref()
            .take_while(|&c| c != '=')
            .collect::<String>()
            .trim_matches(|c| c == ',' || c == ' ')
            .to_owned();
        if lname.is_empty() {
            break;
        }
        chars.next(); // opening quote
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(o) => value.push(o),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.push(Label::new(lname, value));
    }
    Labels::new(labels).ok().map(|l| (l, value))
}

/// Every (labels, value) for sample index `k`, in a stable series order.
struct Source {
    kind: String,
    series: usize,
    names: Vec<Labels>,
    node: Vec<Vec<(Labels, f64)>>,
    state: Vec<f64>,
    rng: Rng,
}

impl Source {
    fn new(a: &Args) -> Self {
        let mut node = Vec::new();
        let mut names = Vec::new();
        if a.kind == "node" {
            let text = std::fs::read_to_string(&a.node_file).unwrap();
            let mut current = Vec::new();
            for line in text.lines() {
                if line.starts_with("# SCRAPE") {
                    if !current.is_empty() {
                        node.push(std::mem::take(&mut current));
                    }
                } else if let Some(p) = parse_line(line) {
                    current.push(p);
                }
            }
            if !current.is_empty() {
                node.push(current);
            }
            let per_scrape = node[0].len();
            let instances = a.series.div_ceil(per_scrape);
            for i in 0..instances {
                for (l, _) in &node[0] {
                    let mut b = l.to_builder();
                    b.set("instance", &format!("host-{i:05}:9100"));
                    b.set("job", "node");
                    names.push(b.build());
                }
            }
            names.truncate(a.series);
        } else {
            for i in 0..a.series {
                names.push(
                    Labels::from_pairs([
                        ("__name__", format!("bench_metric_{}", i % 100)),
                        ("instance", format!("host-{:05}:9100", i / 100)),
                        ("job", "bench".to_owned()),
                    ])
                    .unwrap(),
                );
            }
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let state = (0..a.series)
            .map(|_| (rng.unit() * 100.0 * 100.0).round() / 100.0)
            .collect();
        Self {
            kind: a.kind.clone(),
            series: a.series,
            names,
            node,
            state,
            rng,
        }
    }

    fn value(&mut self, k: usize, i: usize) -> f64 {
        match self.kind.as_str() {
            // A noisy gauge with 2 decimals: a random walk around its level.
            "gauge" => {
                let step = ((self.rng.unit() - 0.5) * 2.0 * 100.0).round() / 100.0;
                self.state[i] = ((self.state[i] + step) * 100.0).round() / 100.0;
                self.state[i]
            }
            "random" => self.rng.unit() * 1e6,
            "node" => {
                let snap = &self.node[k % self.node.len()];
                let per = snap.len();
                snap[i % per].1
            }
            other => panic!("unknown kind {other}"),
        }
    }
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|e| {
            e.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Opens the store in `dir` and prints how long the restart took.
fn reopen(dir: &std::path::Path) {
    let reopen = Instant::now();
    let db = Tsdb::open(
        dir,
        TsdbOptions {
            retention_time: None,
            ..TsdbOptions::default()
        },
        None,
    )
    .unwrap();
    let report = db.open_report();
    println!(
        "reopen (WAL replay): {:.2}s ({:.2}s loading head chunk files), {} samples replayed, {} samples found in {} head chunks on disk, rss {} bytes",
        reopen.elapsed().as_secs_f64(),
        report.head_chunks_duration.as_secs_f64(),
        report.replayed_samples,
        report.samples_in_head_chunks,
        report.head_chunks_loaded,
        rss()
    );
    println!("dir: {} bytes total on disk", dir_size(dir));
}

fn main() -> std::process::ExitCode {
    let a = args();
    if a.cmd == "reopen" {
        reopen(&a.dir);
        return std::process::ExitCode::SUCCESS;
    }
    let mut src = Source::new(&a);
    match a.cmd.as_str() {
        "emit" => {
            let out = std::io::stdout().lock();
            let mut out = BufWriter::with_capacity(1 << 20, out);
            for k in 0..a.samples {
                let t = START + k as i64 * STEP;
                for i in 0..src.series {
                    let v = src.value(k, i);
                    let l = &src.names[i];
                    let name = l.metric_name().unwrap_or("x");
                    write!(out, "{name}{{").unwrap();
                    let mut first = true;
                    for lab in l.iter().filter(|x| x.name != "__name__") {
                        if !first {
                            out.write_all(b",").unwrap();
                        }
                        first = false;
                        let escaped = lab
                            .value
                            .replace('\\', "\\\\")
                            .replace('"', "\\\"")
                            .replace('\n', "\\n");
                        write!(out, "{}=\"{escaped}\"", lab.name).unwrap();
                    }
                    writeln!(out, "}} {v} {t}").unwrap();
                }
            }
        }
        "load" => {
            let _ = std::fs::remove_dir_all(&a.dir);
            // The tool's own copy of the label sets is allocated before the baseline.
            let names = std::mem::take(&mut src.names);
            let mut refs: Vec<SeriesRef> = vec![0; src.series];
            let before = rss();
            let opts = TsdbOptions {
                retention_time: None,
                wal_sync: WalSync::Interval(std::time::Duration::from_millis(100)),
                ..TsdbOptions::default()
            };
            let db = Tsdb::open(&a.dir, opts, None).unwrap();
            let started = Instant::now();
            for k in 0..a.samples {
                let t = START + k as i64 * STEP;
                for (chunk_start, chunk) in
                    names.chunks(5000).enumerate().map(|(c, ch)| (c * 5000, ch))
                {
                    let mut app = db.appender();
                    for (j, l) in chunk.iter().enumerate() {
                        let i = chunk_start + j;
                        let v = src.value(k, i);
                        refs[i] = match refs[i] {
                            0 => app.append(0, l, t, v).unwrap(),
                            r => app.append_by_ref(r, t, v).unwrap().unwrap(),
                        };
                    }
                    app.commit().unwrap();
                }
            }
            let took = started.elapsed();
            let total = (a.series * a.samples) as f64;
            // Let allocator caches settle before reading RSS.
            let after = rss();
            let head = db.head().stats();
            println!(
                "kind={} series={} samples_per_series={} total_samples={}",
                a.kind, a.series, a.samples, total
            );
            println!(
                "ingest: {:.1}s, {:.0} samples/s",
                took.as_secs_f64(),
                total / took.as_secs_f64()
            );
            println!(
                "rss: {} bytes before, {} after; {:.0} bytes/series",
                before,
                after,
                (after.saturating_sub(before)) as f64 / a.series as f64
            );
            println!(
                "head: {} series, {} chunks, {:.3} bytes/sample in chunks",
                head.series,
                head.chunks,
                head.chunk_bytes as f64 / head.samples.max(1) as f64
            );
            if a.compact {
                let maxt = START + a.samples as i64 * STEP + 1;
                db.compact_head_range(START, maxt).unwrap();
                let blocks = db.blocks();
                let bytes: u64 = blocks.iter().map(|b| b.size()).sum();
                let samples: u64 = blocks.iter().map(|b| b.meta().stats.num_samples).sum();
                println!(
                    "blocks: {} block(s), {bytes} bytes, {samples} samples, {:.3} bytes/sample on disk",
                    blocks.len(),
                    bytes as f64 / samples.max(1) as f64
                );
            }
            if a.crash {
                // Like a SIGKILL: no close, no flush, no fsync by the store.
                println!("exiting without closing the store (crash)");
                // Forgetting skips Drop, which would close and fsync the store.
                std::mem::forget(db);
                return std::process::ExitCode::SUCCESS;
            }
            db.close().unwrap();
            drop(db);
            reopen(&a.dir);
        }
        other => {
            eprintln!(
                "usage: tsdb_load emit|load|reopen --kind gauge|random|node --series N --samples M [--dir D] [--compact] [--crash] [--node-file F] (got {other:?})"
            );
            return std::process::ExitCode::from(2);
        }
    }
    std::process::ExitCode::SUCCESS
}
