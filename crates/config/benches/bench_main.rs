//! Config loading cost: it runs at start and on every reload, including for large
//! Prometheus files pasted in (hundreds of jobs with relabelling).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn large_config(jobs: usize) -> String {
    let mut text = String::from("global:\n  scrape_interval: 15s\nscrape_configs:\n");
    for i in 0..jobs {
        text.push_str(&format!(
            "  - job_name: job-{i}\n    static_configs:\n      - targets: [host-{i}:9100]\n        \
             labels: {{team: t{i}}}\n    relabel_configs:\n      - source_labels: [__address__]\n        \
             regex: '(.*):9100'\n        target_label: host\n"
        ));
    }
    text
}

fn parse(c: &mut Criterion) {
    let text = large_config(500);
    c.bench_function("config/parse_500_jobs", |b| {
        b.iter(|| tocsin_config::Config::parse("bench.yml", black_box(&text)).expect("valid"));
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
