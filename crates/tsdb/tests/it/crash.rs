//! Crash test: a child process (this test binary re-run in child mode) ingests and compacts
//! while the parent kills it with SIGKILL at random points; after every kill the store
//! reopens, and every acknowledged batch is present exactly once, with at most the one
//! batch in flight at the kill added whole.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tocsin_model::storage::Appendable;
use tocsin_model::{Labels, Matcher};
use tocsin_tsdb::{Tsdb, TsdbOptions};

use crate::support::{self, select};

const CHILD_ENV: &str = "TOCSIN_TSDB_CRASH_CHILD";
const SERIES: usize = 20;
const STEP: i64 = 100;

fn options() -> TsdbOptions {
    TsdbOptions {
        // A process crash keeps the page cache: acknowledged writes survive without fsync.
        wal_sync: tocsin_tsdb::WalSync::Never,
        ..support::small_options()
    }
}

fn labels(s: usize) -> Labels {
    Labels::from_pairs([("__name__", "crash_test"), ("series", &format!("{s:02}"))]).unwrap()
}

/// Child mode: ingest batch after batch, printing `ACK k` after each commit returns.
fn child(dir: &str, start: i64) -> ! {
    let db = Tsdb::open(std::path::Path::new(dir), options(), None).unwrap();
    let mut out = std::io::stdout().lock();
    let mut k = start;
    loop {
        let mut app = db.appender();
        for s in 0..SERIES {
            app.append(0, &labels(s), k * STEP, (k as f64) + s as f64 / 100.0)
                .unwrap();
        }
        app.commit().unwrap();
        writeln!(out, "ACK {k}").unwrap();
        out.flush().unwrap();
        if k % 7 == 0 {
            db.compact().unwrap();
        }
        k += 1;
    }
}

/// Batches present for every series: they must be 0..=n, each once, with its value.
fn present_batches(db: &Tsdb) -> i64 {
    let all = select(
        db,
        &[Matcher::equal("__name__", "crash_test")],
        i64::MIN,
        i64::MAX,
    );
    if all.is_empty() {
        return -1;
    }
    assert_eq!(
        all.len(),
        SERIES,
        "every series of a batch is committed together"
    );
    let mut last = None;
    for (s, (labels, samples)) in all.iter().enumerate() {
        assert_eq!(*labels, self::labels(s));
        for (k, (t, v)) in samples.iter().enumerate() {
            let k = k as i64;
            assert_eq!(*t, k * STEP, "{labels}: batch {k} missing or duplicated");
            assert_eq!(f64::from_bits(*v), k as f64 + s as f64 / 100.0);
        }
        let n = samples.len() as i64 - 1;
        assert!(
            last.is_none_or(|l| l == n),
            "series disagree on the last batch"
        );
        last = Some(n);
    }
    last.unwrap_or(-1)
}

#[test]
fn sigkill_during_ingest_loses_nothing_acknowledged() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let start = std::env::var("TOCSIN_TSDB_CRASH_START")
            .unwrap()
            .parse()
            .unwrap();
        child(&dir, start);
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    let mut next = 0i64;
    let mut acked_total = 0;
    for round in 0..6 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let kill_after = 5 + (rng % 120) as i64;
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::sigkill_during_ingest_loses_nothing_acknowledged",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("TOCSIN_TSDB_CRASH_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last_acked = next - 1;
        let mut acks = 0;
        let mut killed = false;
        // After the kill, the pipe still holds what the child printed before it died: read
        // it all, so `last_acked` is the last acknowledgement the child really gave.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(k) = line.strip_prefix("ACK ") {
                last_acked = k.trim().parse().unwrap();
                acks += 1;
                if !killed && (acks >= kill_after || Instant::now() > deadline) {
                    child.kill().unwrap();
                    killed = true;
                }
            }
        }
        child.kill().ok();
        child.wait().unwrap();
        assert!(acks > 0, "round {round}: the child acknowledged nothing");
        acked_total += acks;

        let db = Tsdb::open(dir.path(), options(), None).unwrap();
        let present = present_batches(&db);
        // The batch being committed when the kill came may be there too, whole.
        assert!(
            present == last_acked || present == last_acked + 1,
            "round {round}: acknowledged up to batch {last_acked}, store has up to {present}"
        );
        next = present + 1;
        db.close().unwrap();
    }
    assert!(acked_total >= 6);
}
