//! Property test: any sequence of appends (committed or dropped), clock advances, forced
//! head cuts, compactions (with merges and retention) and restarts answers every select,
//! label-name and label-value query exactly like `MemStorage`, the reference model.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::storage::{AppendError, Appendable, Queryable};
use tocsin_model::{Labels, MatchType, Matcher, STALE_NAN};
use tocsin_tsdb::Tsdb;

use crate::support::{self, select};

#[derive(Debug, Clone)]
enum Op {
    /// Samples as (series index, offset from the clock, value index); committed or dropped.
    Append(Vec<(usize, i64, usize)>, bool),
    Advance(i64),
    /// Cut the head at the aligned boundary this many blocks behind the clock.
    Cut(i64),
    Compact,
    Restart,
}

const VALUES: [f64; 5] = [1.0, 2.5, -3.0, 0.0, STALE_NAN];

fn series_labels(i: usize) -> Labels {
    let names = [
        "up",
        "up",
        "http_requests_total",
        "node_cpu",
        "node_cpu",
        "x",
    ];
    let jobs = ["api", "web", "api", "a\nb", "web", "api"];
    let mut pairs = vec![("__name__", names[i]), ("job", jobs[i])];
    if i.is_multiple_of(2) {
        pairs.push(("zone", "eu"));
    }
    Labels::from_pairs(pairs).unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (proptest::collection::vec((0usize..6, -40i64..40, 0usize..5), 1..25), proptest::bool::weighted(0.85))
            .prop_map(|(s, commit)| Op::Append(s, commit)),
        4 => (0i64..900).prop_map(Op::Advance),
        1 => (1i64..3).prop_map(Op::Cut),
        2 => Just(Op::Compact),
        1 => Just(Op::Restart),
    ]
}

fn queries() -> Vec<Vec<Matcher>> {
    let m = |k, n: &str, v: &str| Matcher::new(k, n, v).unwrap();
    vec![
        vec![m(MatchType::Regex, "__name__", ".+")],
        vec![m(MatchType::Equal, "__name__", "up")],
        vec![
            m(MatchType::Equal, "__name__", "up"),
            m(MatchType::NotEqual, "job", "web"),
        ],
        vec![m(MatchType::Regex, "job", "api|web")],
        vec![
            m(MatchType::Regex, "__name__", "node.*"),
            m(MatchType::Equal, "zone", ""),
        ],
        vec![
            m(MatchType::NotRegex, "job", "a.b"),
            m(MatchType::Regex, "__name__", ".*_total|x"),
        ],
        vec![m(MatchType::Regex, "job", "a.b")],
        vec![m(MatchType::Equal, "zone", "eu")],
        // Scans after a literal lookup are checked on the candidates' labels.
        vec![
            m(MatchType::Regex, "__name__", "node.*"),
            m(MatchType::Equal, "zone", "eu"),
        ],
        vec![
            m(MatchType::Equal, "job", "api"),
            m(MatchType::NotRegex, "__name__", "h.*"),
        ],
        vec![
            m(MatchType::Regex, "job", "a.*"),
            m(MatchType::Regex, "zone", "e."),
            m(MatchType::NotRegex, "__name__", "u."),
        ],
    ]
}

struct Harness {
    dir: tempfile::TempDir,
    db: Option<Arc<Tsdb>>,
    model: MemStorage,
    now: i64,
    /// Data before this time was deleted by retention (not in the model's terms).
    lost_before: i64,
}

impl Harness {
    fn db(&self) -> &Tsdb {
        self.db.as_ref().unwrap()
    }

    fn options() -> tocsin_tsdb::TsdbOptions {
        tocsin_tsdb::TsdbOptions {
            retention_time: Some(Duration::from_millis(6000)),
            ..support::small_options()
        }
    }

    fn append(
        &mut self,
        samples: &[(usize, i64, usize)],
        commit: bool,
    ) -> Result<(), TestCaseError> {
        let db = self.db.clone().unwrap();
        let mut app = db.appender();
        let mut model_app = self.model.appender();
        for &(i, off, vi) in samples {
            let labels = series_labels(i);
            let t = self.now + off;
            let v = VALUES[vi];
            let ours = app.append(0, &labels, t, v);
            match ours {
                Err(AppendError::TooOld { min_valid, .. }) => {
                    prop_assert!(t < min_valid);
                    prop_assert_eq!(min_valid, db.head().min_valid_time());
                }
                other => {
                    let theirs = model_app.append(0, &labels, t, v);
                    prop_assert_eq!(
                        other.as_ref().err().map(AppendError::reason),
                        theirs.as_ref().err().map(AppendError::reason),
                        "append {} at {} = {}",
                        labels,
                        t,
                        v
                    );
                }
            }
        }
        if commit {
            app.commit().unwrap();
            model_app.commit().unwrap();
        }
        Ok(())
    }

    fn compact(&mut self) {
        let before: Vec<_> = self
            .db()
            .blocks()
            .iter()
            .map(|b| b.meta().clone())
            .collect();
        self.db().compact().unwrap();
        let after: Vec<_> = self
            .db()
            .blocks()
            .iter()
            .map(|b| b.meta().clone())
            .collect();
        for gone in before
            .iter()
            .filter(|b| !after.iter().any(|a| a.ulid == b.ulid))
        {
            let merged = after.iter().any(|a| {
                gone.compaction
                    .sources
                    .iter()
                    .all(|s| a.compaction.sources.contains(s))
            });
            if !merged {
                self.lost_before = self.lost_before.max(gone.max_time);
            }
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let db = self.db();
        let lo = self.lost_before;
        for matchers in queries() {
            for (mint, maxt) in [
                (lo, i64::MAX),
                (lo.max(self.now - 1500), self.now),
                (lo.max(self.now - 300), self.now + 50),
            ] {
                let ours = select(db, &matchers, mint, maxt);
                let theirs = select(&self.model, &matchers, mint, maxt);
                prop_assert_eq!(
                    &ours,
                    &theirs,
                    "matchers {:?} range {}..{}",
                    matchers,
                    mint,
                    maxt
                );
            }
        }
        let q = db.querier(lo, i64::MAX).unwrap();
        let mq = self.model.querier(lo, i64::MAX).unwrap();
        let up = [Matcher::equal("__name__", "up")];
        prop_assert_eq!(q.label_names(&[]).unwrap(), mq.label_names(&[]).unwrap());
        prop_assert_eq!(q.label_names(&up).unwrap(), mq.label_names(&up).unwrap());
        prop_assert_eq!(
            q.label_values("job", &[]).unwrap(),
            mq.label_values("job", &[]).unwrap()
        );
        prop_assert_eq!(
            q.label_values("job", &up).unwrap(),
            mq.label_values("job", &up).unwrap()
        );
        // Seek agrees with next.
        let m = [Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()];
        for s in q
            .select(
                &tocsin_model::storage::SelectHints {
                    start: lo,
                    end: i64::MAX,
                },
                &m,
            )
            .unwrap()
        {
            let all = select(
                db,
                &[Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()],
                lo,
                i64::MAX,
            );
            let expected = &all[&s.labels];
            let target = self.now - 200;
            let want = expected.iter().find(|(t, _)| *t >= target).copied();
            let mut it = s.samples;
            prop_assert_eq!(it.seek(target).map(|x| (x.t, x.v.to_bits())), want);
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let db = support::open(dir.path(), Harness::options());
    let mut h = Harness {
        dir,
        db: Some(db),
        model: MemStorage::new(),
        now: 1_000_000,
        lost_before: i64::MIN,
    };
    for op in ops {
        match op {
            Op::Append(samples, commit) => h.append(&samples, commit)?,
            Op::Advance(dt) => h.now += dt,
            Op::Cut(behind) => {
                let range = 1000;
                let maxt = (h.now.div_euclid(range) - behind) * range;
                let mint = maxt - range;
                if maxt > h.db().head().min_valid_time() {
                    h.db().compact_head_range(mint, maxt).unwrap();
                }
            }
            Op::Compact => h.compact(),
            Op::Restart => {
                h.db.take().unwrap().close().unwrap();
                h.db = Some(support::open(h.dir.path(), Harness::options()));
                prop_assert!(h.db().open_report().wal_corruptions.is_empty());
            }
        }
        h.check()?;
    }
    // Nothing is ever duplicated on disk: blocks do not overlap.
    let blocks = h.db().blocks();
    let ranges: BTreeSet<(i64, i64)> = blocks
        .iter()
        .map(|b| (b.meta().min_time, b.meta().max_time))
        .collect();
    let mut last_end = i64::MIN;
    for (a, b) in ranges {
        prop_assert!(a >= last_end, "overlapping blocks");
        last_end = b;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn tsdb_answers_like_the_reference_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
