//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tocsin_model::storage::{Queryable, SampleIterator, SelectHints};
use tocsin_model::{Labels, MatchType, Matcher, Sample};
use tocsin_tsdb::{Tsdb, TsdbOptions, WalSync};

/// Small blocks and chunks so a short test exercises cuts, compaction and merges.
pub(crate) fn small_options() -> TsdbOptions {
    TsdbOptions {
        retention_time: None,
        retention_size: None,
        block_duration_ms: 1000,
        max_block_duration_ms: Some(9000),
        out_of_order_time_window_ms: 0,
        wal_sync: WalSync::Never,
        wal_segment_size: 64 << 10,
        samples_per_chunk: 5,
        replay_threads: 2,
    }
}

pub(crate) fn open(dir: &Path, opts: TsdbOptions) -> Arc<Tsdb> {
    Tsdb::open(dir, opts, None).unwrap()
}

pub(crate) fn series(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)]).unwrap()
}

pub(crate) fn collect(mut it: Box<dyn SampleIterator>) -> Vec<Sample> {
    let mut out = Vec::new();
    while let Some(s) = it.next() {
        out.push(s);
    }
    out
}

/// Every series and sample a store returns for `matchers` over `[mint, maxt]`.
pub(crate) fn select(
    store: &dyn Queryable,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    let q = store.querier(mint, maxt).unwrap();
    q.select(
        &SelectHints {
            start: mint,
            end: maxt,
        },
        matchers,
    )
    .unwrap()
    .into_iter()
    .map(|s| {
        let samples = collect(s.samples)
            .iter()
            .map(|x| (x.t, x.v.to_bits()))
            .collect();
        (s.labels, samples)
    })
    .collect()
}

/// All samples of every series whose name matches `.+`.
pub(crate) fn dump(store: &dyn Queryable) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    let m = [Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()];
    select(store, &m, i64::MIN, i64::MAX)
}
