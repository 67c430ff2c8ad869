//! `tocsin tsdb inspect|dump` and `tocsin bench tsdb`: offline tools over the embedded
//! store. They open it read-only and refuse a directory a running server holds.

mod bench;
mod format;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use tocsin_model::storage::{Queryable, SelectHints};
use tocsin_model::{MatchType, Matcher};
use tocsin_tsdb::Tsdb;

pub(crate) use self::bench::bench;
use self::format::{go_float, human_bytes};
use crate::output;
use tocsin_model::time::rfc3339_millis as millis_to_rfc3339;

/// The tsdb directory of a data directory (`DIR/tsdb`), or `DIR` itself if it is one.
fn tsdb_dir(data_dir: &Path) -> PathBuf {
    let nested = data_dir.join("tsdb");
    if nested.is_dir() {
        nested
    } else {
        data_dir.to_path_buf()
    }
}

fn open(data_dir: &Path) -> anyhow::Result<std::sync::Arc<Tsdb>> {
    let dir = tsdb_dir(data_dir);
    Tsdb::open_read_only(&dir).map_err(|err| match err {
        tocsin_tsdb::Error::Locked { .. } => anyhow::anyhow!(
            "{} is in use by a running tocsin server; stop it first, or copy the directory \
             and inspect the copy",
            dir.display()
        ),
        other => anyhow::anyhow!("cannot open {}: {other}", dir.display()),
    })
}

/// Parses a series selector (`up{job="node"}`) into matchers.
pub(crate) fn parse_selector(text: &str) -> anyhow::Result<Vec<Matcher>> {
    use promql_parser::label::MatchOp;
    use promql_parser::parser::Expr;
    let expr = tocsin_promql::parse_expr(text)
        .map_err(|err| anyhow::anyhow!("invalid selector {text:?}: {err}"))?;
    let Expr::VectorSelector(vs) = expr else {
        bail!("{text:?} is not a series selector; use the form metric{{label=\"value\"}}");
    };
    if !vs.matchers.or_matchers.is_empty() {
        bail!("{text:?}: `or` inside a selector is not supported here; run one dump per selector");
    }
    let mut out = Vec::new();
    if let Some(name) = &vs.name
        && !vs.matchers.matchers.iter().any(|m| m.name == "__name__")
    {
        out.push(Matcher::equal("__name__", name.clone()));
    }
    for m in &vs.matchers.matchers {
        let kind = match m.op {
            MatchOp::Equal => MatchType::Equal,
            MatchOp::NotEqual => MatchType::NotEqual,
            MatchOp::Re(_) => MatchType::Regex,
            MatchOp::NotRe(_) => MatchType::NotRegex,
        };
        out.push(Matcher::new(kind, m.name.clone(), m.value.clone())?);
    }
    tocsin_model::storage::check_selectable(&out)
        .map_err(|err| anyhow::anyhow!("{text:?}: {err}"))?;
    Ok(out)
}

/// `tocsin tsdb dump`.
pub(crate) fn dump(
    data_dir: &Path,
    selector: Option<&str>,
    min_time: Option<i64>,
    max_time: Option<i64>,
) -> anyhow::Result<ExitCode> {
    let matchers = match selector {
        Some(text) => parse_selector(text)?,
        None => vec![Matcher::new(MatchType::Regex, "__name__", ".+")?],
    };
    let db = open(data_dir)?;
    let (mint, maxt) = (min_time.unwrap_or(i64::MIN), max_time.unwrap_or(i64::MAX));
    let querier = db
        .querier(mint, maxt)
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let series = querier
        .select(
            &SelectHints {
                start: mint,
                end: maxt,
            },
            &matchers,
        )
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for mut s in series {
        let labels = s.labels.to_string();
        while let Some(sample) = s.samples.next() {
            use std::io::Write;
            // A closed pipe (`| head`) ends the dump quietly.
            if writeln!(out, "{labels} {} {}", go_float(sample.v), sample.t).is_err() {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    use std::io::Write;
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// `tocsin tsdb inspect`.
pub(crate) fn inspect(data_dir: &Path, top: usize) -> anyhow::Result<ExitCode> {
    let db = open(data_dir)?;
    let dir = db.dir().to_path_buf();
    output::line(&format!("Store: {}", dir.display()));
    let report = db.open_report();
    for c in &report.wal_corruptions {
        output::line(&format!(
            "WARNING: WAL damage (a server start cuts it off): {c}"
        ));
    }
    for (path, reason) in &report.quarantined_blocks {
        output::line(&format!(
            "WARNING: damaged block {}: {reason}",
            path.display()
        ));
    }

    let blocks = db.blocks();
    output::line("");
    output::line(&format!(
        "{:<26}  {:<24}  {:<24}  {:>10}  {:>12}  {:>10}  {:>9}  {:>10}  {:>8}  {:>5}",
        "BLOCK ULID",
        "MIN TIME",
        "MAX TIME",
        "DURATION",
        "SAMPLES",
        "CHUNKS",
        "SERIES",
        "SIZE",
        "B/SAMPLE",
        "LEVEL"
    ));
    let (mut block_samples, mut block_bytes) = (0u64, 0u64);
    for b in blocks.iter() {
        let m = b.meta();
        block_samples += m.stats.num_samples;
        block_bytes += b.size();
        output::line(&format!(
            "{:<26}  {:<24}  {:<24}  {:>10}  {:>12}  {:>10}  {:>9}  {:>10}  {:>8.3}  {:>5}",
            m.ulid,
            millis_to_rfc3339(m.min_time),
            millis_to_rfc3339(m.max_time),
            format!("{}s", (m.max_time - m.min_time) / 1000),
            m.stats.num_samples,
            m.stats.num_chunks,
            m.stats.num_series,
            human_bytes(b.size()),
            b.size() as f64 / m.stats.num_samples.max(1) as f64,
            m.compaction.level,
        ));
    }
    if blocks.is_empty() {
        output::line("(no blocks yet: the head is persisted after 1.5 block durations)");
    }

    let head = db.head().stats();
    let wal_bytes = dir_size(&dir.join("wal"));
    output::line("");
    output::line(&format!(
        "Head: {} series, {} chunks, {} samples, {} of chunk data{}",
        head.series,
        head.chunks,
        head.samples,
        human_bytes(head.chunk_bytes),
        match (db.head().min_time(), db.head().max_time()) {
            (Some(a), Some(b)) => format!(", {} .. {}", millis_to_rfc3339(a), millis_to_rfc3339(b)),
            _ => String::new(),
        }
    ));
    output::line(&format!(
        "WAL: {} in {} segment(s){}",
        human_bytes(wal_bytes),
        tocsin_tsdb::wal::list_segments(&dir.join("wal")).map_or(0, |s| s.len()),
        match tocsin_tsdb::wal::Checkpoint::latest(&dir.join("wal")) {
            Ok(Some(cp)) => format!(" + checkpoint.{:08}", cp.index),
            _ => String::new(),
        }
    ));
    output::line(&format!(
        "Blocks: {} blocks, {} samples, {} on disk, {:.3} bytes/sample",
        blocks.len(),
        block_samples,
        human_bytes(block_bytes),
        block_bytes as f64 / block_samples.max(1) as f64
    ));

    // Cardinality: merged over the head and every block (a series in several is counted
    // once per source, so counts are upper bounds when data spans sources).
    let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (n, v, c) in db.head().label_pairs() {
        *pairs.entry((n, v)).or_default() += c;
    }
    for b in blocks.iter() {
        for (n, v, c) in b.index().pair_counts().context("reading a block index")? {
            let e = pairs.entry((n, v)).or_default();
            *e = (*e).max(c);
        }
    }
    let mut values_per_name: BTreeMap<&str, u64> = BTreeMap::new();
    let mut series_per_name: BTreeMap<&str, u64> = BTreeMap::new();
    for ((n, _), c) in &pairs {
        *values_per_name.entry(n).or_default() += 1;
        *series_per_name.entry(n).or_default() += c;
    }
    let mut metrics: Vec<(&str, u64)> = pairs
        .iter()
        .filter(|((n, _), _)| n == "__name__")
        .map(|((_, v), c)| (v.as_str(), *c))
        .collect();
    metrics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut names: Vec<(&str, u64)> = values_per_name.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut pair_list: Vec<(&(String, String), &u64)> = pairs.iter().collect();
    pair_list.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));

    output::line("");
    output::line("Highest cardinality labels (distinct values):");
    for (n, c) in names.iter().take(top) {
        output::line(&format!("{c:>10} {n}"));
    }
    output::line("Highest cardinality metric names (series):");
    for (n, c) in metrics.iter().take(top) {
        output::line(&format!("{c:>10} {n}"));
    }
    output::line("Most common label pairs (series):");
    for ((n, v), c) in pair_list.iter().take(top) {
        output::line(&format!("{c:>10} {n}={}", tocsin_model::go_quote(v)));
    }
    let _ = series_per_name;
    Ok(ExitCode::SUCCESS)
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
