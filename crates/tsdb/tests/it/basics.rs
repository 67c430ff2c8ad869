//! The store's lifecycle: deletions, retention, locking, read-only opens, the
//! out-of-order window and appends by ref.

use std::time::Duration;

use tocsin_model::storage::{AppendError, Appendable, Queryable};
use tocsin_model::{MatchType, Matcher, STALE_NAN};
use tocsin_tsdb::{Error, Tsdb, TsdbOptions};

use crate::support::{self, dump, select, series};

fn fill(db: &Tsdb, jobs: &[&str], times: std::ops::Range<i64>, step: i64) {
    for k in times {
        let mut app = db.appender();
        for job in jobs {
            app.append(0, &series("up", job), k * step, k as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

#[test]
fn deleted_series_stay_deleted_through_restart_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::open(
        dir.path(),
        TsdbOptions {
            max_block_duration_ms: Some(1000),
            ..support::small_options()
        },
    );
    fill(&db, &["a", "b"], 0..300, 10);
    db.compact().unwrap();
    assert!(!db.blocks().is_empty());
    let a = [Matcher::equal("job", "a")];
    // Deletes [500, 2500]: part in blocks, part in the head.
    assert!(db.delete_series(&a, 500, 2500).unwrap() >= 2);
    let check = |db: &Tsdb| {
        let got = select(db, &a, 0, i64::MAX);
        let times: Vec<i64> = got[&series("up", "a")].iter().map(|(t, _)| *t).collect();
        let expected: Vec<i64> = (0..300)
            .map(|k| k * 10)
            .filter(|t| !(500..=2500).contains(t))
            .collect();
        assert_eq!(times, expected);
        assert_eq!(
            select(db, &[Matcher::equal("job", "b")], 0, i64::MAX)[&series("up", "b")].len(),
            300
        );
    };
    check(&db);
    db.close().unwrap();
    drop(db);
    let db = support::open(dir.path(), support::small_options());
    check(&db);
    fill(&db, &["a", "b"], 300..700, 10);
    db.compact().unwrap();
    assert!(
        db.blocks().iter().any(|b| b.meta().compaction.level > 1),
        "merged"
    );
    let got = select(&*db, &a, 0, 2999);
    assert!(
        got[&series("up", "a")]
            .iter()
            .all(|(t, _)| !(500..=2500).contains(t))
    );
    assert!(
        db.delete_series(
            &[Matcher::new(MatchType::Regex, "job", ".*").unwrap()],
            0,
            1
        )
        .is_err(),
        "needs a non-empty matcher"
    );
}

#[test]
fn retention_by_time_and_size_deletes_the_oldest_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TsdbOptions {
        retention_time: Some(Duration::from_millis(3000)),
        max_block_duration_ms: Some(1000),
        ..support::small_options()
    };
    let db = support::open(dir.path(), opts);
    fill(&db, &["a"], 0..800, 10);
    db.compact().unwrap();
    let blocks = db.blocks();
    let newest = blocks.iter().map(|b| b.meta().max_time).max().unwrap();
    assert!(
        blocks.iter().all(|b| b.meta().max_time > newest - 3000),
        "old blocks deleted by time"
    );
    assert_eq!(blocks.len(), 3);
    drop(blocks);
    db.close().unwrap();
    drop(db);

    let sized = TsdbOptions {
        retention_size: Some(1),
        max_block_duration_ms: Some(1000),
        ..support::small_options()
    };
    let db = support::open(dir.path(), sized);
    db.compact().unwrap();
    assert!(
        db.blocks().is_empty(),
        "every block goes when the limit is below the WAL alone"
    );
    // The head still answers.
    assert!(!dump(&*db).is_empty());
}

#[test]
fn a_second_writer_is_refused_and_read_only_opens_need_the_lock_free() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::open(dir.path(), support::small_options());
    fill(&db, &["a"], 0..10, 10);
    let err = Tsdb::open(dir.path(), support::small_options(), None).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    assert!(matches!(
        Tsdb::open_read_only(dir.path()).unwrap_err(),
        Error::Locked { .. }
    ));
    db.close().unwrap();
    drop(db);
    let ro = Tsdb::open_read_only(dir.path()).unwrap();
    assert_eq!(dump(&*ro)[&series("up", "a")].len(), 10);
    let mut app = ro.appender();
    assert!(app.append(0, &series("up", "a"), 1000, 1.0).is_err());
    assert!(app.commit().is_err());
    assert!(Tsdb::open_read_only(&dir.path().join("nope")).is_err());
}

#[test]
fn out_of_order_window_accepts_late_samples_within_it() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TsdbOptions {
        out_of_order_time_window_ms: 100,
        ..support::small_options()
    };
    let db = support::open(dir.path(), opts.clone());
    let s = series("up", "a");
    let mut app = db.appender();
    app.append(0, &s, 1000, 1.0).unwrap();
    app.append(0, &s, 950, 2.0).unwrap();
    assert!(matches!(
        app.append(0, &s, 850, 3.0),
        Err(AppendError::OutOfOrder { .. })
    ));
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(0, &s, 960, 4.0).unwrap();
    app.commit().unwrap();
    let expected = vec![
        (950, 2.0f64.to_bits()),
        (960, 4.0f64.to_bits()),
        (1000, 1.0f64.to_bits()),
    ];
    assert_eq!(dump(&*db)[&s], expected);
    db.close().unwrap();
    drop(db);
    let db = support::open(dir.path(), opts);
    assert_eq!(dump(&*db)[&s], expected, "replayed from the WAL");
    db.compact_head_range(0, 2000).unwrap();
    assert_eq!(dump(&*db)[&s], expected, "persisted in a block");
}

#[test]
fn appends_by_ref_and_stale_markers() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::open(dir.path(), support::small_options());
    let s = series("up", "a");
    let mut app = db.appender();
    let r = app.append(0, &s, 10, 1.0).unwrap();
    assert_ne!(r, 0);
    assert_eq!(app.append_by_ref(r, 20, STALE_NAN).unwrap().unwrap(), r);
    assert!(
        app.append_by_ref(r + 1000, 30, 1.0).is_none(),
        "unknown refs ask for labels"
    );
    let summary = app.commit().unwrap();
    assert_eq!((summary.samples, summary.new_series), (2, 1));
    let mut app = db.appender();
    assert_eq!(app.append(r, &s, 30, 3.0).unwrap(), r, "the ref is reused");
    app.commit().unwrap();
    let got = dump(&*db);
    assert!(tocsin_model::is_stale_nan(f64::from_bits(got[&s][1].1)));
    let q = db.querier(0, 100).unwrap();
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a"]);
}
