//! Generation cost of the simulator: one scrape of the default fleet (50 services, 3 regions,
//! 2 instances each) into a store that only counts and hands out series refs, so the figure
//! is the simulator's own cost. `cargo bench -p tocsin-sim` prints time per scrape; samples
//! per second = samples per scrape (printed first) / that time.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin_model::storage::{AppendError, Appendable, Appender, CommitSummary, SeriesRef};
use tocsin_model::{Labels, Timestamp};
use tocsin_sim::{Fault, FaultKind, Fleet, FleetConfig, Simulator};

/// Counts samples; refs are handed out once per label set, like a real head.
#[derive(Default)]
struct CountingStore {
    samples: AtomicU64,
    series: AtomicU64,
}

struct CountingAppender<'a> {
    store: &'a CountingStore,
    staged: u64,
}

impl Appender for CountingAppender<'_> {
    fn append(
        &mut self,
        _series: SeriesRef,
        labels: &Labels,
        _t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        black_box((labels, v));
        self.staged += 1;
        Ok(self.store.series.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn append_by_ref(
        &mut self,
        series: SeriesRef,
        _t: Timestamp,
        v: f64,
    ) -> Option<Result<SeriesRef, AppendError>> {
        black_box(v);
        self.staged += 1;
        Some(Ok(series))
    }

    fn commit(self: Box<Self>) -> tocsin_model::storage::Result<CommitSummary> {
        self.store.samples.fetch_add(self.staged, Ordering::Relaxed);
        Ok(CommitSummary {
            samples: self.staged,
            new_series: 0,
        })
    }
}

impl Appendable for CountingStore {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(CountingAppender {
            store: self,
            staged: 0,
        })
    }
}

const T0: i64 = 1_772_452_800_000;

fn scrape(c: &mut Criterion) {
    let fleet = Fleet::build(&FleetConfig::default()).expect("default fleet");
    let interval = fleet.config().scrape_interval_ms;
    let store = CountingStore::default();
    let mut sim = Simulator::new(fleet.clone(), T0);
    let first = sim.step(T0, &store).expect("step");
    let per_scrape = first.samples;
    // Printed for the report: series of the default fleet and samples per scrape.
    let mut out = std::io::stderr().lock();
    let _ = std::io::Write::write_fmt(
        &mut out,
        format_args!(
            "default fleet: {} series, {per_scrape} samples per scrape\n",
            sim.series()
        ),
    );
    drop(out);
    let mut group = c.benchmark_group("sim");
    group.throughput(Throughput::Elements(per_scrape));
    let mut t = T0;
    group.bench_function("scrape_default_fleet", |b| {
        b.iter(|| {
            t += interval;
            sim.step(t, &store).expect("step")
        });
    });
    // The same with a fault in force (effects are recomputed every scrape).
    let mut faulty = Simulator::new(fleet, T0);
    faulty
        .add_fault(Fault::new(
            FaultKind::DnsFailures {
                service: "checkout".to_owned(),
                failure_ratio: 0.3,
            },
            T0,
        ))
        .expect("valid fault");
    let mut t = T0;
    group.bench_function("scrape_default_fleet_with_fault", |b| {
        b.iter(|| {
            t += interval;
            faulty.step(t, &store).expect("step")
        });
    });
    group.finish();
}

criterion_group!(benches, scrape);
criterion_main!(benches);
