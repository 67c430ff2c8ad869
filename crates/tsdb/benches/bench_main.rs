//! Micro-benchmarks of the store's hot paths: chunk encoding, head appends (by labels and by
//! ref), selects, and WAL replay. The comparisons with promtool and VictoriaMetrics are
//! scripts in `bench/` (see bench/README.md).

#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "benchmark code: a failed unwrap is a failed benchmark"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tocsin_model::storage::{Appendable, Queryable, SelectHints};
use tocsin_model::{Labels, Matcher, Sample};
use tocsin_tsdb::chunkenc::{self, Encoding};
use tocsin_tsdb::{Tsdb, TsdbOptions, WalSync};

fn gauge(n: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let noise = ((i * 7919) % 1000) as f64 / 100.0;
            Sample::new(
                1_700_000_000_000 + i as i64 * 15_000 + (i % 3) as i64,
                50.0 + noise,
            )
        })
        .collect()
}

fn chunks(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunk");
    for n in [120usize, 480] {
        let samples = gauge(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("xor_encode", n), &samples, |b, s| {
            b.iter(|| black_box(chunkenc::encode_xor(s)));
        });
        let xor = chunkenc::encode_xor(&samples);
        group.bench_with_input(BenchmarkId::new("xor_decode", n), &xor, |b, x| {
            b.iter(|| black_box(chunkenc::decode(Encoding::Xor, x).unwrap()));
        });
        group.bench_with_input(BenchmarkId::new("dense_encode", n), &samples, |b, s| {
            b.iter(|| black_box(chunkenc::encode_dense(s)));
        });
        let dense = chunkenc::encode_dense(&samples);
        group.bench_with_input(BenchmarkId::new("dense_decode", n), &dense, |b, x| {
            b.iter(|| black_box(chunkenc::decode(Encoding::Dense, x).unwrap()));
        });
        // The same values on an exact 15 s grid, as scrapes and rule evaluations write them:
        // pco timestamps (what blocks held before) against start-and-step timestamps.
        let on_grid: Vec<Sample> = samples
            .iter()
            .enumerate()
            .map(|(i, s)| Sample::new(1_700_000_000_000 + i as i64 * 15_000, s.v))
            .collect();
        let dense = chunkenc::encode_dense(&on_grid);
        group.bench_with_input(
            BenchmarkId::new("dense_decode_on_grid", n),
            &dense,
            |b, x| {
                b.iter(|| black_box(chunkenc::decode(Encoding::Dense, x).unwrap()));
            },
        );
        let regular = chunkenc::encode_regular(&on_grid).expect("an exact grid is regular");
        group.bench_with_input(BenchmarkId::new("regular_decode", n), &regular, |b, x| {
            b.iter(|| black_box(chunkenc::decode(Encoding::Regular, x).unwrap()));
        });
    }
    group.finish();
}

fn series(n: usize) -> Vec<Labels> {
    (0..n)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", format!("metric_{}", i % 100)),
                ("instance", format!("host-{}:9100", i / 100)),
                ("job", "node".to_owned()),
            ])
            .unwrap()
        })
        .collect()
}

fn options() -> TsdbOptions {
    TsdbOptions {
        wal_sync: WalSync::Never,
        ..TsdbOptions::default()
    }
}

fn head_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("head_append");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let labels = series(10_000);
    group.throughput(Throughput::Elements(labels.len() as u64));
    for by_ref in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = Tsdb::open(dir.path(), options(), None).unwrap();
        let mut refs = vec![0u64; labels.len()];
        let mut t = 0i64;
        let name = if by_ref {
            "10k_series_by_ref"
        } else {
            "10k_series_by_labels"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                t += 15_000;
                for batch in (0..labels.len()).collect::<Vec<_>>().chunks(1000) {
                    let mut app = db.appender();
                    for &i in batch {
                        let v = (t / 1000 + i as i64) as f64;
                        refs[i] = match (by_ref, refs[i]) {
                            (true, r) if r != 0 => app.append_by_ref(r, t, v).unwrap().unwrap(),
                            _ => app.append(0, &labels[i], t, v).unwrap(),
                        };
                    }
                    app.commit().unwrap();
                }
            });
        });
        db.close().unwrap();
    }
    group.finish();
}

fn select(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), options(), None).unwrap();
    let labels = series(10_000);
    for k in 0..240 {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            app.append(0, l, k * 15_000, (k + i as i64) as f64).unwrap();
        }
        app.commit().unwrap();
    }
    let mut group = c.benchmark_group("select");
    let m = [Matcher::equal("__name__", "metric_7")];
    group.bench_function("100_series_1h_head", |b| {
        b.iter(|| {
            let q = db.querier(0, 3_600_000).unwrap();
            let mut n = 0;
            for mut s in q
                .select(
                    &SelectHints {
                        start: 0,
                        end: 3_600_000,
                    },
                    &m,
                )
                .unwrap()
            {
                while s.samples.next().is_some() {
                    n += 1;
                }
            }
            black_box(n)
        });
    });
    group.finish();
}

fn replay(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Tsdb::open(dir.path(), options(), None).unwrap();
        let labels = series(10_000);
        for k in 0..120 {
            let mut app = db.appender();
            for (i, l) in labels.iter().enumerate() {
                app.append(0, l, k * 15_000, (k + i as i64) as f64).unwrap();
            }
            app.commit().unwrap();
        }
        db.close().unwrap();
    }
    let mut group = c.benchmark_group("wal_replay");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(1_200_000));
    group.bench_function("10k_series_x_120_samples", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let db = Tsdb::open(dir.path(), options(), None).unwrap();
                total += started.elapsed();
                db.close().unwrap();
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, chunks, head_append, select, replay);
criterion_main!(benches);
