//! `tocsin tsdb dump|inspect` and `tocsin bench tsdb` through the real binary, and the
//! server's store: it opens `<data-dir>/tsdb`, exports its metrics, keeps the directory locked
//! against the offline tools while it runs, and leaves everything readable after SIGTERM.

use std::path::Path;
use std::process::Command;

use tocsin_model::Labels;
use tocsin_model::storage::Appendable;

use crate::support::{BIN, TestServer, http};

fn write_store(data_dir: &Path) {
    let db = tocsin_tsdb::Tsdb::open(
        &data_dir.join("tsdb"),
        tocsin_tsdb::TsdbOptions::default(),
        None,
    )
    .unwrap();
    let mut app = db.appender();
    for (job, v) in [("a", 1.5), ("b", 1234567.0)] {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", job)]).unwrap();
        app.append(0, &labels, 1_700_000_000_000, v).unwrap();
        app.append(0, &labels, 1_700_000_015_000, tocsin_model::STALE_NAN)
            .unwrap();
    }
    app.commit().unwrap();
    db.close().unwrap();
}

fn tocsin(args: &[&str], dir: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dump_prints_one_line_per_sample_like_promtool() {
    let dir = tempfile::tempdir().unwrap();
    write_store(&dir.path().join("data"));
    let (ok, stdout, stderr) = tocsin(&["tsdb", "dump", "--data-dir", "data"], dir.path());
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        "{__name__=\"up\", job=\"a\"} 1.5 1700000000000\n\
         {__name__=\"up\", job=\"a\"} NaN 1700000015000\n\
         {__name__=\"up\", job=\"b\"} 1.234567e+06 1700000000000\n\
         {__name__=\"up\", job=\"b\"} NaN 1700000015000\n"
    );
    let (ok, stdout, _) = tocsin(
        &[
            "tsdb",
            "dump",
            "--data-dir",
            "data",
            "--match",
            "up{job=~\"b|c\"}",
            "--max-time",
            "1700000000000",
        ],
        dir.path(),
    );
    assert!(ok);
    assert_eq!(
        stdout,
        "{__name__=\"up\", job=\"b\"} 1.234567e+06 1700000000000\n"
    );
    let (ok, _, stderr) = tocsin(
        &["tsdb", "dump", "--data-dir", "data", "--match", "up{"],
        dir.path(),
    );
    assert!(!ok);
    assert!(stderr.contains("invalid selector"), "{stderr}");
    let (ok, _, stderr) = tocsin(&["tsdb", "dump", "--data-dir", "nowhere"], dir.path());
    assert!(!ok);
    assert!(stderr.contains("not a tocsin tsdb directory"), "{stderr}");
}

#[tokio::test]
async fn server_serves_the_store_and_tools_wait_for_it_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    write_store(&dir.path().join("data"));
    let mut server = TestServer::start(dir.path(), &["--data-dir", "data"]);
    server.wait_ready().await;
    let metrics = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tocsin_tsdb_head_series 2"), "{metrics}");
    assert!(
        metrics.contains("tocsin_tsdb_wal_corruptions_total 0"),
        "{metrics}"
    );

    let (ok, _, stderr) = tocsin(&["tsdb", "inspect", "--data-dir", "data"], dir.path());
    assert!(!ok, "inspect must refuse a store a server holds");
    assert!(
        stderr.contains("in use by a running tocsin server"),
        "{stderr}"
    );

    server.signal("TERM");
    assert_eq!(server.wait_exit().await, Some(0), "{}", server.logs());
    assert!(server.logs().contains("tsdb closed"), "{}", server.logs());

    let (ok, stdout, stderr) = tocsin(&["tsdb", "inspect", "--data-dir", "data"], dir.path());
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Head: 2 series, 2 chunks, 4 samples"),
        "{stdout}"
    );
    assert!(stdout.contains("         2 job"), "{stdout}");
    assert!(stdout.contains("         1 job=\"a\""), "{stdout}");
}

#[test]
fn bench_tsdb_prints_promtools_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = tocsin(
        &[
            "bench",
            "tsdb",
            "--series",
            "1500",
            "--scrapes",
            "120",
            "--out",
            "bo",
        ],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    for line in [
        ">> completed stage=readData",
        "ingestion completed",
        " > total samples: 180000",
        " > samples/sec: ",
        ">> completed stage=stopStorage",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // The store it wrote is a valid one.
    let (ok, stdout, stderr) = tocsin(&["tsdb", "inspect", "--data-dir", "bo"], dir.path());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Head: 1500 series"), "{stdout}");
}
