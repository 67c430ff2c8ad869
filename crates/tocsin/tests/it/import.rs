//! `tocsin import openmetrics`: a file becomes blocks the store serves, with progress.

use std::process::Command;

use tocsin_model::storage::{Queryable, SelectHints};
use tocsin_model::{Matcher, Sample};

use crate::support::BIN;

#[test]
fn openmetrics_file_becomes_queryable_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.om");
    // Three hours of one series every 15 minutes, and a second series: two 2h blocks.
    let mut text = String::from("# TYPE temp gauge\n# HELP temp Temperature.\n");
    for i in 0..12 {
        let t = 1_700_000_000 + i * 900;
        text.push_str(&format!("temp{{room=\"a\"}} {}.5 {t}\n", 20 + i));
    }
    text.push_str("temp{room=\"b\"} 18 1700000000.25\n# EOF\n");
    std::fs::write(&file, text).unwrap();
    let data = dir.path().join("data");
    let output = Command::new(BIN)
        .args(["import", "openmetrics"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("block 1/2"), "{stdout}");
    assert!(stdout.contains("block 2/2"), "{stdout}");
    assert!(stdout.contains("done: 2 blocks, 13 samples"), "{stdout}");

    let db = tocsin_tsdb::Tsdb::open(
        &data.join("tsdb"),
        tocsin_tsdb::TsdbOptions {
            retention_time: None,
            ..tocsin_tsdb::TsdbOptions::default()
        },
        None,
    )
    .unwrap();
    let querier = db.querier(0, i64::MAX).unwrap();
    let series = querier
        .select(
            &SelectHints {
                start: 0,
                end: i64::MAX,
            },
            &[Matcher::equal("__name__", "temp")],
        )
        .unwrap();
    let mut got = Vec::new();
    for mut s in series {
        let mut samples = Vec::new();
        while let Some(sample) = s.samples.next() {
            samples.push(sample);
        }
        got.push((s.labels.to_string(), samples));
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, r#"{__name__="temp", room="a"}"#);
    assert_eq!(got[0].1.len(), 12);
    assert_eq!(got[0].1[0], Sample::new(1_700_000_000_000, 20.5));
    assert_eq!(
        got[0].1[11],
        Sample::new(1_700_000_000_000 + 11 * 900_000, 31.5)
    );
    assert_eq!(got[1].1, vec![Sample::new(1_700_000_000_250, 18.0)]);
}

#[test]
fn import_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.om");
    std::fs::write(&file, "a 1 100\nb 2\n# EOF\n").unwrap();
    let output = Command::new(BIN)
        .args(["import", "openmetrics"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.om: line 2: sample of \"b\" has no timestamp"),
        "{stderr}"
    );
}
