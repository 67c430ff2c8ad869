//! Differential test of the OpenMetrics parser against Prometheus's own: promtool turns an
//! OpenMetrics file into blocks with its parser, `promtool tsdb dump` prints them, and the
//! samples must equal what our parser reads from the same file.

use std::collections::BTreeSet;
use std::process::Command;

use tocsin_ingest::exposition::{Entry, Format, Parser, write_sample};
use tocsin_model::Labels;

use crate::support::reference_tool;

/// node_exporter's real output, as OpenMetrics with timestamps (promtool needs them),
/// plus escapes, UTF-8 and special values.
fn openmetrics_fixture() -> String {
    let text = include_str!("../../testdata/node_exporter.prom");
    let mut out = String::new();
    let mut parser = Parser::new(text, Format::PrometheusText);
    let mut t = 1_700_000_000_000i64;
    while let Some(entry) = parser.next().unwrap() {
        if let Entry::Sample(s) = entry {
            let labels: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(n, v)| (n.as_ref(), v.as_ref()))
                .collect();
            write_sample(
                &mut out,
                &s.name,
                &labels,
                s.value,
                Some(t),
                Format::OpenMetrics,
            );
            // Whole seconds: promtool truncates fractional ones (1.007 s reads as 1006 ms),
            // where tocsin rounds; that difference is tested in the parser's unit tests.
            t += 1000;
        }
    }
    for (i, value) in ["+Inf", "-Inf", "-0.5", "1e-9", "123456789012345"]
        .iter()
        .enumerate()
    {
        out.push_str(&format!(
            "special{{i=\"{i}\",q=\"a\\\"b\\\\c\\nd é\"}} {value} {}\n",
            1_700_002_000 + i
        ));
    }
    out.push_str("# EOF\n");
    out
}

fn ours(text: &str) -> BTreeSet<String> {
    let mut parser = Parser::new(text, Format::OpenMetrics);
    let mut out = BTreeSet::new();
    while let Some(entry) = parser.next().unwrap() {
        if let Entry::Sample(s) = entry {
            let mut pairs: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            pairs.push(("__name__".to_owned(), s.name.to_string()));
            let labels = Labels::from_pairs(pairs).unwrap();
            out.insert(format!(
                "{labels} {} {}",
                go_value(s.value),
                s.timestamp.unwrap()
            ));
        }
    }
    out
}

/// How promtool dump prints a float (Go's %g-ish strconv 'f' -1 / exponent form).
fn go_value(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".to_owned()
        } else {
            "-Inf".to_owned()
        };
    }
    tocsin_ingest::exposition::format_go_float(v)
}

#[test]
fn openmetrics_parser_matches_promtool() {
    let Some(promtool) = reference_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.om");
    std::fs::write(&file, openmetrics_fixture()).unwrap();
    let blocks = dir.path().join("blocks");
    let status = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&blocks)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // promtool 2.42's dump insists on a WAL directory.
    std::fs::create_dir_all(blocks.join("wal")).unwrap();
    let dump = Command::new(&promtool)
        .args(["tsdb", "dump", "--min-time=0"])
        .arg(&blocks)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let theirs: BTreeSet<String> = String::from_utf8(dump.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            // `{labels} value timestamp`: normalise the value through our float reader.
            let (rest, t) = line.rsplit_once(' ').unwrap();
            let (labels, value) = rest.rsplit_once(' ').unwrap();
            let v = tocsin_ingest::exposition::parse_go_float(value).unwrap_or(f64::NAN);
            format!("{labels} {} {t}", go_value(v))
        })
        .collect();
    let ours = ours(&openmetrics_fixture());
    assert!(ours.len() > 500, "{}", ours.len());
    let only_ours: Vec<_> = ours.difference(&theirs).take(5).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).take(5).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only ours: {only_ours:#?}\nonly promtool: {only_theirs:#?}"
    );
}
