//! Cost of expanding alert annotations, the per-alert work of every rule evaluation.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use tocsin_template::prometheus::Expander;
use tocsin_template::{Funcs, Template, Value};

const SUMMARY: &str = "{{ $labels.instance }} of job {{ $labels.job }} is down";
const DESCRIPTION: &str = "{{ $labels.instance }} has a latency of {{ $value | humanizeDuration }} (threshold {{ printf \"%.2f\" 0.5 }}s){{ range $k, $v := $externalLabels }} {{ $k }}={{ $v }}{{ end }}";

fn bench(c: &mut Criterion) {
    let labels: BTreeMap<String, String> = [
        ("__name__", "probe_duration_seconds"),
        ("instance", "node1.example.com:9100"),
        ("job", "blackbox"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let external: BTreeMap<String, String> = [("region".to_owned(), "eu".to_owned())].into();
    let expander = Expander::new(external, "http://prom.example.com".to_owned(), None);

    c.bench_function("expand_summary", |b| {
        b.iter(|| expander.expand("__alert_Down", SUMMARY, &labels, 1.0, 0));
    });
    c.bench_function("expand_description", |b| {
        b.iter(|| expander.expand("__alert_Slow", DESCRIPTION, &labels, 0.734, 0));
    });
    let text = format!("{}{DESCRIPTION}", tocsin_template::prometheus::ALERT_DEFS);
    let parsed = Template::parse("t", &text, &expander.funcs(0)).expect("parses");
    let mut data = BTreeMap::new();
    data.insert("Labels".to_owned(), Value::from(&labels));
    data.insert("Value".to_owned(), Value::Float(0.734));
    let data = Value::Map(data);
    c.bench_function("execute_parsed_description", |b| {
        b.iter(|| parsed.execute(&data));
    });
    c.bench_function("funcs_builtins", |b| b.iter(Funcs::builtins));
}

criterion_group!(benches, bench);
criterion_main!(benches);
