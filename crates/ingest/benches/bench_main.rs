//! Hot paths of ingestion: exposition parsing, remote_write decoding, and the receiver end
//! to end (snappy, protobuf walk, validation, limits, append and WAL commit into a real
//! TSDB). `cargo bench -p tocsin-ingest --bench bench_main`
//!
//! Wall-clock figures on a shared machine are noisy; instruction counts are not:
//! `valgrind --tool=callgrind --toggle-collect='*Receiver*write_blocking*' \
//!   target/release/deps/bench_main-* --bench --profile-time 5 receiver` and divide the
//! inclusive count by the calls (each call is one 2,000-sample request).

#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin_config::LimitsConfig;
use tocsin_ingest::IngestMetrics;
use tocsin_ingest::clock::ManualClock;
use tocsin_ingest::exposition::{Entry, Format, Parser};
use tocsin_ingest::limits::Limiter;
use tocsin_ingest::loadgen::{PatchableBody, generate_series};
use tocsin_ingest::receiver::{Receiver, ReceiverOptions, WriteInput};
use tocsin_ingest::remote_write::{V1Encoder, compress, decode_v1, decompress};
use tocsin_model::Sample;
use tocsin_telemetry::{BuildInfo, Registry};
use tocsin_tsdb::{Tsdb, TsdbOptions};

fn parse_all(text: &str, format: Format) -> usize {
    let mut parser = Parser::new(text, format);
    let mut samples = 0;
    while let Some(entry) = parser.next().unwrap() {
        if let Entry::Sample(sample) = entry {
            samples += sample.labels.len() + 1;
        }
    }
    samples
}

fn exposition(c: &mut Criterion) {
    let text = include_str!("../testdata/node_exporter.prom");
    let mut group = c.benchmark_group("exposition");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("node_exporter_text", |b| {
        b.iter(|| parse_all(text, Format::PrometheusText));
    });
    group.finish();
}

/// One Prometheus-sized request: 2000 node_exporter-like series with one sample each.
fn remote_write(c: &mut Criterion) {
    let series = generate_series(2000);
    let mut encoder = V1Encoder::new();
    for s in &series {
        let labels: Vec<(&str, &str)> = s
            .labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        encoder.add_series(&labels, &[Sample::new(1_700_000_000_000, 1.0)]);
    }
    let raw = encoder.finish();
    let body = compress(&raw);
    let mut group = c.benchmark_group("remote_write");
    group.throughput(Throughput::Elements(2000));
    group.bench_function("decode_v1_2000_samples", |b| {
        b.iter(|| decode_v1(&raw).unwrap().sample_count());
    });
    group.bench_function("snappy_then_decode_v1_2000_samples", |b| {
        b.iter(|| {
            let raw = decompress(&body, 64 << 20).unwrap();
            decode_v1(&raw).unwrap().sample_count()
        });
    });
    // What the load generator spends per request: encoding and compressing afresh (as it
    // did before) against patching a body built once.
    let labels: Vec<Vec<(&str, &str)>> = series
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect()
        })
        .collect();
    let mut t = 1_700_000_000_000i64;
    group.bench_function("generator_encode_and_compress_2000_samples", |b| {
        let mut encoder = V1Encoder::new();
        b.iter(|| {
            t += 15_000;
            encoder.clear();
            for (s, l) in series.iter().zip(&labels) {
                encoder.add_series(l, &[Sample::new(t, s.value(1))]);
            }
            compress(encoder.as_bytes()).len()
        });
    });
    let mut body = PatchableBody::build(
        series.iter().map(|s| s.labels.as_slice()),
        t,
        series.iter().map(|s| s.value(0)),
    );
    group.bench_function("generator_patch_2000_samples", |b| {
        b.iter(|| {
            t += 15_000;
            assert!(body.patch(t, |i| series[i].value(1)));
            Bytes::copy_from_slice(body.as_bytes()).len()
        });
    });
    group.finish();
}

/// Series the receiver benchmark keeps active: enough that the series maps and the head
/// do not sit in the CPU caches, as they would not at a million series.
const RECEIVER_SERIES: usize = 100_000;

/// The receiver as the server runs it, into a TSDB with the server's default options
/// (WAL fsynced every 100ms by its own thread), one 2,000-series request per iteration.
/// Requests cycle through every series; each full cycle is one scrape 15s later.
fn receiver(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(&BuildInfo {
        version: "bench",
        revision: "",
        branch: "",
        build_date: "",
        rustc_version: "",
    })
    .unwrap();
    let db = Tsdb::open(dir.path(), TsdbOptions::default(), None).unwrap();
    let mut t = 1_700_000_000_000i64;
    let clock = Arc::new(ManualClock::new(t));
    let receiver = Receiver::new(
        Arc::clone(&db) as Arc<dyn tocsin_model::storage::Appendable>,
        Arc::new(Limiter::new(LimitsConfig::default())),
        IngestMetrics::register(&registry).unwrap(),
        Arc::clone(&clock) as Arc<dyn tocsin_ingest::clock::Clock>,
        ReceiverOptions::default(),
    );
    let series = generate_series(RECEIVER_SERIES);
    let chunks: Vec<_> = series.chunks(2000).collect();
    let mut bodies: Vec<PatchableBody> = chunks
        .iter()
        .map(|chunk| {
            PatchableBody::build(
                chunk.iter().map(|s| s.labels.as_slice()),
                t,
                chunk.iter().map(|s| s.value(0)),
            )
        })
        .collect();
    let send = |body: &PatchableBody| {
        receiver.write_blocking(&WriteInput {
            tenant: None,
            content_type: Some("application/x-protobuf".to_owned()),
            content_encoding: Some("snappy".to_owned()),
            body: Bytes::copy_from_slice(body.as_bytes()),
        })
    };
    // Create every series first: the benchmark is the steady state.
    for body in &bodies {
        assert_eq!(send(body).status, 204);
    }
    let (mut next, mut round) = (0usize, 0u64);
    let mut group = c.benchmark_group("receiver");
    group.throughput(Throughput::Elements(2000));
    group.bench_function("snappy_decode_limits_append_2000_series", |b| {
        b.iter(|| {
            if next == 0 {
                round += 1;
                t += 15_000;
                clock.set(t);
            }
            let chunk = chunks[next];
            let body = &mut bodies[next];
            assert!(body.patch(t, |i| chunk[i].value(round)));
            let outcome = send(body);
            assert_eq!(outcome.status, 204, "{}", outcome.message);
            next = (next + 1) % bodies.len();
        });
    });
    group.finish();
    db.close().unwrap();
}

criterion_group!(benches, exposition, remote_write, receiver);
criterion_main!(benches);
