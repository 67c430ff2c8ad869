//! Head chunk files across restarts: a restart (clean, or a crash as a copy of the directory
//! taken while the store is open) resumes every series after the chunks it has on disk and
//! serves exactly the same data, with or without an out-of-order window; damage to the
//! files, files of an older format and files of an unknown version are handled at start-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use tocsin_model::storage::Appendable;
use tocsin_model::{Labels, STALE_NAN};
use tocsin_tsdb::{Error, Tsdb, TsdbOptions};

use crate::support::{self, dump};

type Data = BTreeMap<Labels, Vec<(i64, u64)>>;

fn label(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "head_chunks"), ("i", &i.to_string())]).unwrap()
}

fn ingest(db: &Tsdb, batches: std::ops::Range<i64>) {
    for k in batches {
        let mut app = db.appender();
        for i in 0..20 {
            let v = (k as f64 * 0.37 + i as f64).cos() * 100.0;
            app.append(0, &label(i), k * 10, v).unwrap();
        }
        app.commit().unwrap();
    }
}

/// Copies a store's files as they are this instant (what a SIGKILL would leave).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn chunk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join("chunks_head"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

#[test]
fn restart_appends_only_what_the_chunk_files_do_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::open(dir.path(), support::small_options());
    ingest(&db, 0..200);
    let before = dump(&*db);
    db.close().unwrap();
    drop(db);

    let db = support::open(dir.path(), support::small_options());
    let report = db.open_report().clone();
    assert!(report.head_chunks_loaded >= 20 * 30, "{report:?}");
    assert!(report.samples_in_head_chunks >= 20 * 150, "{report:?}");
    assert!(report.replayed_samples <= 20 * 10, "{report:?}");
    assert_eq!(
        report.replayed_samples + report.samples_in_head_chunks,
        20 * 200
    );
    assert_eq!(dump(&*db), before);
    // The series continue where they were: an old timestamp is refused, a new one taken.
    let mut app = db.appender();
    assert!(app.append(0, &label(3), 1990, 1.0).is_err());
    app.append(0, &label(3), 2000, 1.0).unwrap();
    app.commit().unwrap();
    ingest(&db, 201..260);
    let after = dump(&*db);
    db.close().unwrap();
    drop(db);
    let db = support::open(dir.path(), support::small_options());
    assert_eq!(dump(&*db), after);
}

#[test]
fn damaged_head_chunk_files_are_cut_and_the_wal_fills_in() {
    let pristine = tempfile::tempdir().unwrap();
    {
        // Two restarts: three head chunk files.
        for batches in [0..150, 150..300, 300..320] {
            let db = support::open(pristine.path(), support::small_options());
            ingest(&db, batches);
            db.close().unwrap();
        }
    }
    let expected = {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), copy.path());
        let db = support::open(copy.path(), support::small_options());
        dump(&*db)
    };
    assert!(chunk_files(pristine.path()).len() >= 3);

    type Damage = fn(&Path);
    let cases: Vec<(&str, Damage, bool)> = vec![
        (
            "bit_flip_in_a_chunk",
            |f| {
                let mut b = std::fs::read(f).unwrap();
                let at = b.len() / 2;
                b[at] ^= 0x08;
                std::fs::write(f, b).unwrap();
            },
            true,
        ),
        (
            "torn_tail",
            |f| {
                let b = std::fs::read(f).unwrap();
                std::fs::write(f, &b[..b.len() - 7]).unwrap();
            },
            true,
        ),
        (
            "zeroed_tail",
            |f| {
                let mut b = std::fs::read(f).unwrap();
                let n = b.len();
                b[n - 300..].fill(0);
                std::fs::write(f, b).unwrap();
            },
            true,
        ),
        (
            "bad_magic_like_an_older_version",
            |f| {
                let mut b = std::fs::read(f).unwrap();
                b[..8].fill(0);
                std::fs::write(f, b).unwrap();
            },
            false,
        ),
    ];
    for (name, damage, reported) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), dir.path());
        let files = chunk_files(dir.path());
        damage(&files[0]);
        let db = support::open(dir.path(), support::small_options());
        assert_eq!(
            db.open_report().head_chunk_corruptions.len(),
            usize::from(reported),
            "{name}: {:?}",
            db.open_report().head_chunk_corruptions
        );
        assert!(db.open_report().wal_corruptions.is_empty(), "{name}");
        assert_eq!(
            dump(&*db),
            expected,
            "{name}: the WAL supplies what was cut"
        );
        // Later files were dropped; writes, compaction and restarts carry on.
        assert!(!files[1].exists(), "{name}");
        ingest(&db, 320..340);
        db.compact_head_range(0, 1000).unwrap();
        let after = dump(&*db);
        db.close().unwrap();
        drop(db);
        let db = support::open(dir.path(), support::small_options());
        assert!(
            db.open_report().head_chunk_corruptions.is_empty(),
            "{name}: repaired"
        );
        assert_eq!(dump(&*db), after, "{name}");
    }
}

#[test]
fn a_newer_head_chunk_format_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = support::open(dir.path(), support::small_options());
        ingest(&db, 0..50);
        db.close().unwrap();
    }
    let file = chunk_files(dir.path())[0].clone();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[4] = 9;
    std::fs::write(&file, bytes).unwrap();
    let err = Tsdb::open(dir.path(), support::small_options(), None).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("version 9") && message.contains("chunks_head"),
        "{message}"
    );
}

#[derive(Debug, Clone)]
enum Op {
    /// (series, offset from the clock, value index), committed or dropped.
    Append(Vec<(usize, i64, usize)>, bool),
    Advance(i64),
    Restart,
    Crash,
}

const VALUES: [f64; 4] = [1.0, -2.5, 0.0, STALE_NAN];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (proptest::collection::vec((0usize..4, -60i64..30, 0usize..4), 1..20), proptest::bool::weighted(0.9))
            .prop_map(|(s, c)| Op::Append(s, c)),
        4 => (0i64..40).prop_map(Op::Advance),
        1 => Just(Op::Restart),
        1 => Just(Op::Crash),
    ]
}

fn options(window: i64) -> TsdbOptions {
    TsdbOptions {
        out_of_order_time_window_ms: window,
        samples_per_chunk: 4,
        ..support::small_options()
    }
}

fn run(ops: Vec<Op>, window: i64) -> Result<(), TestCaseError> {
    let mut dir = tempfile::tempdir().unwrap();
    let mut db: Arc<Tsdb> = support::open(dir.path(), options(window));
    let mut now = 1_000_000i64;
    for op in ops {
        match op {
            Op::Append(samples, commit) => {
                let mut app = db.appender();
                for (i, off, v) in samples {
                    let _ = app.append(0, &label(i), now + off, VALUES[v]);
                }
                if commit {
                    app.commit().unwrap();
                }
            }
            Op::Advance(dt) => now += dt,
            Op::Restart => {
                let before: Data = dump(&*db);
                db.close().unwrap();
                drop(db);
                db = support::open(dir.path(), options(window));
                prop_assert_eq!(dump(&*db), before, "clean restart");
            }
            Op::Crash => {
                let before: Data = dump(&*db);
                let copy = tempfile::tempdir().unwrap();
                copy_dir(dir.path(), copy.path());
                db.close().unwrap();
                drop(db);
                dir = copy;
                db = support::open(dir.path(), options(window));
                prop_assert!(db.open_report().wal_corruptions.is_empty());
                prop_assert_eq!(dump(&*db), before, "restart after a crash");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn restarts_serve_the_same_data_in_order(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, 0)?;
    }

    #[test]
    fn restarts_serve_the_same_data_with_an_out_of_order_window(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, 45)?;
    }
}
