//! Same seed, same samples bit for bit, however the steps are cut; counters only go down
//! when a process restarts; no NaN or negative values for any seed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::{Labels, Sample, is_stale_nan};
use tocsin_sim::{Fault, FaultKind, Fleet, FleetConfig, Pace, Simulator};

use crate::harness::*;

type Dump = BTreeMap<Labels, Vec<(i64, u64)>>;

fn dump(store: &MemStorage) -> Dump {
    store
        .dump()
        .into_iter()
        .map(|(l, s)| (l, s.iter().map(|x: &Sample| (x.t, x.v.to_bits())).collect()))
        .collect()
}

fn deploy(start: i64) -> Fault {
    Fault::new(
        FaultKind::BadDeploy {
            service: "cart".to_owned(),
            version: "9.9.9".to_owned(),
            error_ratio: 0.1,
        },
        start,
    )
}

#[test]
fn same_seed_gives_identical_samples_however_steps_are_cut() {
    let end = T0 + 20 * MINUTE;
    let mut one = Run::new(small_fleet(7), vec![deploy(T0 + 5 * MINUTE)]);
    one.step(end);
    let mut chunked = Run::new(small_fleet(7), vec![deploy(T0 + 5 * MINUTE)]);
    // Uneven steps, including ones that cover no scrape at all.
    let mut t = T0 - 1;
    for cut in [1, 7_000, 15_000, 44_999, 1, 0, 300_000] {
        t += cut;
        chunked.step(t);
    }
    chunked.step(end);
    let (a, b) = (dump(&one.store), dump(&chunked.store));
    assert!(a.len() > 3_000, "{}", a.len());
    assert_eq!(a, b);
    let mut other = Run::new(small_fleet(8), vec![deploy(T0 + 5 * MINUTE)]);
    other.step(end);
    assert_ne!(a, dump(&other.store));
}

/// A store that hands out refs like a real head: numbered in order of first append. Records
/// each sample under the labels its ref stands for.
struct RefStore {
    /// Labels by ref - 1, and the timestamps recorded per series.
    series: parking_lot::Mutex<(Vec<Labels>, Recorded)>,
}

type Recorded = BTreeMap<Labels, Vec<i64>>;

impl RefStore {
    /// `skew` series exist already, so this store's refs differ from a fresh one's.
    fn new(skew: usize) -> Self {
        let existing = (0..skew)
            .map(|i| Labels::from_pairs([("__name__", format!("other_{i}"))]).expect("labels"))
            .collect();
        Self {
            series: parking_lot::Mutex::new((existing, BTreeMap::new())),
        }
    }
}

struct RefAppender<'a>(&'a RefStore);

impl tocsin_model::storage::Appender for RefAppender<'_> {
    fn append(
        &mut self,
        _series: u64,
        labels: &Labels,
        t: i64,
        _v: f64,
    ) -> Result<u64, tocsin_model::storage::AppendError> {
        let mut guard = self.0.series.lock();
        let (refs, samples) = &mut *guard;
        let id = match refs.iter().position(|l| l == labels) {
            Some(i) => i,
            None => {
                refs.push(labels.clone());
                refs.len() - 1
            }
        };
        samples.entry(labels.clone()).or_default().push(t);
        Ok(id as u64 + 1)
    }

    fn append_by_ref(
        &mut self,
        series: u64,
        t: i64,
        _v: f64,
    ) -> Option<Result<u64, tocsin_model::storage::AppendError>> {
        let mut guard = self.0.series.lock();
        let (refs, samples) = &mut *guard;
        let labels = refs
            .get(usize::try_from(series).ok()?.checked_sub(1)?)?
            .clone();
        samples.entry(labels).or_default().push(t);
        Some(Ok(series))
    }

    fn commit(
        self: Box<Self>,
    ) -> tocsin_model::storage::Result<tocsin_model::storage::CommitSummary> {
        Ok(tocsin_model::storage::CommitSummary::default())
    }
}

impl tocsin_model::storage::Appendable for RefStore {
    fn appender(&self) -> Box<dyn tocsin_model::storage::Appender + '_> {
        Box::new(RefAppender(self))
    }
}

#[test]
fn switching_stores_never_reuses_the_first_stores_refs() {
    let mut sim = Simulator::new(small_fleet(3), T0);
    let (first, second) = (RefStore::new(0), RefStore::new(1));
    sim.step(T0 + MINUTE, &first).expect("step");
    sim.step(T0 + 2 * MINUTE, &second).expect("step");
    let (_, by_labels) = &*second.series.lock();
    let (_, firsts) = &*first.series.lock();
    assert_eq!(by_labels.len(), sim.series());
    assert!(
        by_labels.keys().eq(firsts.keys()),
        "series differ between the stores"
    );
    for (labels, ts) in by_labels {
        // Each series got exactly one sample per scrape, under its own labels.
        assert_eq!(
            ts,
            &[T0 + 75_000, T0 + 90_000, T0 + 105_000, T0 + 120_000],
            "{labels}"
        );
    }
}

/// Counters, by the naming convention.
fn is_counter(labels: &Labels) -> bool {
    let name = labels.metric_name().unwrap_or_default();
    ["_total", "_bucket", "_sum", "_count"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Checks every sample: no NaN except stale markers, nothing negative, counters monotonic
/// except where the instance's `process_start_time_seconds` changed.
fn check_samples(store: &MemStorage) -> Result<(), TestCaseError> {
    let all = store.dump();
    let mut restarts: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (labels, samples) in &all {
        if labels.metric_name() == Some("process_start_time_seconds") {
            let inst = labels.get("instance").unwrap_or_default().to_owned();
            for w in samples.windows(2) {
                if !is_stale_nan(w[1].v) && !is_stale_nan(w[0].v) && w[1].v != w[0].v {
                    restarts.entry(inst.clone()).or_default().push(w[1].t);
                }
            }
        }
    }
    for (labels, samples) in &all {
        let mut last: Option<f64> = None;
        for s in samples {
            if is_stale_nan(s.v) {
                last = None;
                continue;
            }
            prop_assert!(!s.v.is_nan(), "NaN in {labels} at {}", s.t);
            prop_assert!(s.v >= 0.0, "negative {} in {labels} at {}", s.v, s.t);
            if is_counter(labels)
                && let Some(prev) = last
                && s.v < prev
            {
                let inst = labels.get("instance").unwrap_or_default();
                let restarted = restarts.get(inst).is_some_and(|ts| ts.contains(&s.t));
                prop_assert!(
                    restarted,
                    "{labels} fell from {prev} to {} at {} without a restart",
                    s.v,
                    s.t
                );
            }
            last = Some(s.v);
        }
    }
    Ok(())
}

#[test]
fn counters_only_reset_when_the_process_restarts() {
    let mut run = Run::new(small_fleet(1), vec![deploy(T0 + 5 * MINUTE)]);
    run.step(T0 + 15 * MINUTE);
    check_samples(&run.store).expect("samples");
    // The deploy did restart the instances: the check above saw resets.
    let resets = run.value(
        "sum(resets(http_requests_total{service=\"cart\",code=\"200\"}[15m]))",
        T0 + 15 * MINUTE,
    );
    assert_eq!(resets, 8.0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_seed_and_shape_gives_sane_samples(
        seed in any::<u64>(),
        services in 6usize..16,
        instances in 1usize..3,
        peak in 1.0f64..5_000.0,
        hour in 0i64..24,
    ) {
        let fleet = Fleet::build(&FleetConfig {
            seed,
            services,
            regions: vec!["eu-west".to_owned(), "ap-south".to_owned()],
            instances_per_region: instances,
            peak_rps_per_region: peak,
            ..FleetConfig::default()
        }).expect("valid fleet");
        let start = T0 + hour * 60 * MINUTE;
        let mut sim = Simulator::new(fleet, start);
        let store = MemStorage::new();
        let report = sim.step(start + 6 * MINUTE, &store).expect("step");
        prop_assert_eq!(report.refused, 0);
        prop_assert_eq!(report.scrapes, 25);
        check_samples(&store)?;
    }
}

#[test]
fn pace_maps_wall_time_to_simulated_time() {
    let pace = Pace::new(T0, 1_000, 60.0).expect("valid");
    assert_eq!(pace.sim_time(1_000), T0);
    assert_eq!(pace.sim_time(2_000), T0 + MINUTE);
    assert_eq!(
        pace.sim_time(0),
        T0,
        "wall time before the origin stays at the origin"
    );
    assert_eq!(Pace::real_time(T0).sim_time(T0 + 15_000), T0 + 15_000);
    for bad in [0.0, -1.0, f64::NAN, 1e9] {
        let err = Pace::new(T0, 0, bad).expect_err("invalid").to_string();
        assert!(err.contains("must be above 0 and at most 100000"), "{err}");
    }
    // Accelerated: one wall second at 60x covers four 15-second scrapes.
    let mut sim = Simulator::new(small_fleet(1), T0);
    let store = MemStorage::new();
    let first = sim.step_paced(&pace, 1_000, &store).expect("step");
    assert_eq!(first.scrapes, 1);
    let next = sim.step_paced(&pace, 2_000, &store).expect("step");
    assert_eq!(next.scrapes, 4);
    assert_eq!(sim.last_scrape(), Some(T0 + MINUTE));
    // Backfill: an hour of history in one call.
    let hour = sim.step(T0 + 61 * MINUTE, &store).expect("step");
    assert_eq!(hour.scrapes, 240);
}
