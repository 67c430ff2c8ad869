//! Hot paths of ingestion: exposition parsing and remote_write decoding.
//! `cargo bench -p tocsin-ingest --bench bench_main`

#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin_ingest::exposition::{Entry, Format, Parser};
use tocsin_ingest::loadgen::generate_series;
use tocsin_ingest::remote_write::{V1Encoder, compress, decode_v1, decompress};
use tocsin_model::Sample;

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
    group.finish();
}

criterion_group!(benches, exposition, remote_write);
criterion_main!(benches);
