//! The receiver cases of Prometheus's remote-write compliance suite
//! (prometheus/compliance `remotewrite/receiver`: request_test.go, metric_test.go,
//! rw1_compat_test.go), plus hostile input and limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_config::{ByteSize, Duration, LimitsConfig};
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::storage::{
    AppendError, Appendable, Appender, CommitSummary, SeriesRef, StorageError,
};
use tocsin_model::{Labels, STALE_NAN, Sample, Timestamp};
use tocsin_telemetry::{BuildInfo, Registry};

use super::*;
use crate::clock::ManualClock;
use crate::remote_write::{V1Encoder, V2Encoder, compress};

const NOW: i64 = 1_700_000_000_000;

struct Fixture {
    receiver: Arc<Receiver>,
    store: MemStorage,
    registry: Registry,
}

fn registry() -> Registry {
    Registry::new(&BuildInfo {
        version: "0",
        revision: "r",
        branch: "b",
        build_date: "d",
        rustc_version: "1.95.0",
    })
    .unwrap()
}

fn fixture_with(limits: LimitsConfig, options: ReceiverOptions) -> Fixture {
    let store = MemStorage::new();
    let registry = registry();
    let receiver = Arc::new(Receiver::new(
        Arc::new(store.clone()),
        Arc::new(Limiter::new(limits)),
        IngestMetrics::register(&registry).unwrap(),
        Arc::new(ManualClock::new(NOW)),
        options,
    ));
    Fixture {
        receiver,
        store,
        registry,
    }
}

fn fixture() -> Fixture {
    fixture_with(LimitsConfig::default(), ReceiverOptions::default())
}

type Series<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>);

fn v1_body(series: &[Series<'_>]) -> Bytes {
    let mut encoder = V1Encoder::new();
    for (labels, samples) in series {
        encoder.add_series(labels, samples);
    }
    Bytes::from(compress(encoder.as_bytes()))
}

fn v1(series: &[Series<'_>]) -> WriteInput {
    WriteInput {
        tenant: None,
        content_type: Some("application/x-protobuf".to_owned()),
        content_encoding: Some("snappy".to_owned()),
        body: v1_body(series),
    }
}

fn v2(series: &[Series<'_>]) -> WriteInput {
    let mut encoder = V2Encoder::new();
    for (labels, samples) in series {
        encoder.add_series(labels, samples);
    }
    WriteInput {
        tenant: None,
        content_type: Some(
            "application/x-protobuf;proto=io.prometheus.write.v2.Request".to_owned(),
        ),
        content_encoding: Some("snappy".to_owned()),
        body: Bytes::from(compress(&encoder.finish())),
    }
}

fn one<'a>(labels: Vec<(&'a str, &'a str)>, v: f64) -> Series<'a> {
    (labels, vec![Sample::new(NOW, v)])
}

fn stored(store: &MemStorage) -> BTreeMap<String, Vec<Sample>> {
    store
        .dump()
        .into_iter()
        .map(|(labels, samples)| (labels.to_string(), samples))
        .collect()
}

fn written(outcome: &WriteOutcome) -> Option<&str> {
    outcome
        .headers
        .iter()
        .find(|(name, _)| *name == "X-Prometheus-Remote-Write-Samples-Written")
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn bad_content_types_are_415() {
    let f = fixture();
    for content_type in ["application/json", "image/png"] {
        let mut input = v1(&[one(vec![("__name__", "up")], 1.0)]);
        input.content_type = Some(content_type.to_owned());
        let outcome = f.receiver.write(input).await;
        assert_eq!(outcome.status, 415, "{content_type}: {outcome:?}");
    }
    assert_eq!(f.store.series_count(), 0);
}

#[tokio::test]
async fn bad_content_encodings_are_415() {
    let f = fixture();
    for encoding in ["gzip", "deflate"] {
        let mut input = v1(&[one(vec![("__name__", "up")], 1.0)]);
        input.content_encoding = Some(encoding.to_owned());
        let outcome = f.receiver.write(input).await;
        assert_eq!(outcome.status, 415, "{encoding}: {outcome:?}");
        assert!(outcome.message.contains("snappy"), "{}", outcome.message);
    }
}

#[tokio::test]
async fn corrupt_bodies_are_400_and_store_nothing() {
    let f = fixture();
    // The compliance suite overwrites the first byte (snappy's length header).
    for first in [b'0', 0xff] {
        let mut input = v1(&[one(vec![("__name__", "up")], 1.0)]);
        let mut body = input.body.to_vec();
        body[0] = first;
        input.body = Bytes::from(body);
        let outcome = f.receiver.write(input).await;
        assert_eq!(outcome.status, 400, "{outcome:?}");
    }
    // Valid snappy, invalid protobuf.
    let mut input = v1(&[]);
    input.body = Bytes::from(compress(b"\x0a\xff\xff\x01garbage"));
    let outcome = f.receiver.write(input).await;
    assert_eq!(outcome.status, 400);
    assert!(
        outcome.message.contains("malformed protobuf"),
        "{}",
        outcome.message
    );
    assert_eq!(f.store.series_count(), 0);
}

#[tokio::test]
async fn single_metric_values_and_label_shapes() {
    let values = [
        ("1.0", 1.0),
        ("StaleNaN", STALE_NAN),
        ("NaN", f64::NAN),
        ("Inf", f64::INFINITY),
        ("-Inf", f64::NEG_INFINITY),
    ];
    for (name, value) in values {
        for (version, make) in [("v1", v1 as fn(&[Series<'_>]) -> WriteInput), ("v2", v2)] {
            let f = fixture();
            let ok_cases: Vec<Vec<(&str, &str)>> = vec![
                vec![("__name__", "up")],
                vec![
                    ("__name__", "up"),
                    ("instance", "localhost:9090"),
                    ("job", "test"),
                ],
                vec![
                    ("__name__", "up"),
                    ("instance", "localhost:9090"),
                    ("job", "test\njob\n"),
                ],
                vec![
                    ("__name__", "resource.cpu.usage"),
                    ("instance.name", "localhost:9090"),
                    ("job.name", "testjob"),
                ],
                vec![
                    ("__name__", "resource cpu usage"),
                    ("instance name", "localhost:9090"),
                    ("job name", "testjob"),
                ],
            ];
            for labels in ok_cases {
                let outcome = f.receiver.write(make(&[one(labels.clone(), value)])).await;
                assert_eq!(
                    outcome.status, 204,
                    "{version} {name} {labels:?}: {outcome:?}"
                );
                if version == "v2" {
                    assert_eq!(written(&outcome), Some("1"));
                }
                let series = Labels::from_pairs(labels).unwrap();
                let samples = &f.store.dump()[&series];
                assert_eq!(
                    samples.last().unwrap().v.to_bits(),
                    value.to_bits(),
                    "{version} {name}"
                );
            }
            for labels in [
                vec![("instance", "localhost:9090"), ("job", "testjob")],
                vec![],
            ] {
                let outcome = f.receiver.write(make(&[one(labels.clone(), value)])).await;
                assert_eq!(
                    outcome.status, 400,
                    "{version} {name} {labels:?}: {outcome:?}"
                );
                if version == "v2" {
                    assert_eq!(written(&outcome), Some("0"));
                }
            }
            assert_eq!(f.store.series_count(), 5);
        }
    }
}

#[tokio::test]
async fn multiple_metrics_keep_the_valid_ones() {
    let f = fixture();
    let named = |i: &'static str| vec![("__name__", "up"), ("instance", i), ("job", "testjob")];
    let unnamed = |i: &'static str| vec![("instance", i), ("job", "testjob")];
    let all = f
        .receiver
        .write(v2(&[
            one(named("localhost:9090"), 1.0),
            one(named("localhost:9091"), 1.0),
            one(named("localhost:9092"), 1.0),
            one(named("localhost:9093"), 1.0),
        ]))
        .await;
    assert_eq!((all.status, written(&all)), (204, Some("4")));
    let none = f
        .receiver
        .write(v2(&[one(unnamed("a"), 1.0), one(unnamed("b"), 1.0)]))
        .await;
    assert_eq!((none.status, written(&none)), (400, Some("0")));
    let f2 = fixture();
    let some = f2
        .receiver
        .write(v1(&[
            one(unnamed("localhost:9090"), 1.0),
            one(named("localhost:9091"), 1.0),
            one(named("localhost:9092"), 1.0),
            one(named("localhost:9093"), 1.0),
        ]))
        .await;
    assert_eq!(some.status, 400);
    assert!(
        some.message.contains("1 of 4 samples refused (3 stored)"),
        "{}",
        some.message
    );
    assert!(
        some.message
            .contains(r#"series {instance="localhost:9090", job="testjob"}: no __name__ label"#),
        "{}",
        some.message
    );
    assert_eq!(f2.store.series_count(), 3);
}

#[tokio::test]
async fn unsorted_labels_from_1_0_senders_are_accepted() {
    // rw1_compat_test.go builds labels from a Go map: any order.
    let f = fixture();
    let outcome = f
        .receiver
        .write(v1(&[
            one(
                vec![("job", "test"), ("__name__", "up"), ("instance", "x")],
                1.0,
            ),
            one(
                vec![("method", "get"), ("__name__", "http_requests_total")],
                100.0,
            ),
        ]))
        .await;
    assert_eq!(outcome.status, 204, "{outcome:?}");
    assert_eq!(
        stored(&f.store).keys().cloned().collect::<Vec<_>>(),
        vec![
            r#"{__name__="http_requests_total", method="get"}"#.to_owned(),
            r#"{__name__="up", instance="x", job="test"}"#.to_owned()
        ]
    );
    // And without any headers, as old senders do.
    let mut input = v1(&[one(vec![("__name__", "bare")], 1.0)]);
    input.content_type = None;
    input.content_encoding = None;
    assert_eq!(f.receiver.write(input).await.status, 204);
}

#[tokio::test]
async fn hostile_series_are_refused_by_name_and_the_rest_kept() {
    let f = fixture();
    let good = one(vec![("__name__", "good")], 1.0);
    let mut bad_utf8 = V1Encoder::new();
    bad_utf8.add_series(&[("__name__", "good2")], &[Sample::new(NOW, 2.0)]);
    let mut raw = bad_utf8.finish();
    // Corrupt the value "good2" into invalid UTF-8.
    let at = raw.windows(5).position(|w| w == b"good2").unwrap();
    raw[at] = 0xff;
    let cases: Vec<(WriteInput, &str)> = vec![
        (
            v1(&[
                good.clone(),
                one(vec![("__name__", "dup"), ("a", "1"), ("a", "2")], 1.0),
            ]),
            "label name \"a\" appears more than once",
        ),
        (
            v1(&[good.clone(), one(vec![("__name__", "e"), ("", "x")], 1.0)]),
            "a label has an empty name",
        ),
        (
            v1(&[
                good.clone(),
                (
                    vec![("__name__", "future")],
                    vec![Sample::new(NOW + 3_600_000, 1.0)],
                ),
            ]),
            "ahead of the receiver's clock",
        ),
        (
            v1(&[
                good.clone(),
                (
                    vec![("__name__", "good")],
                    vec![Sample::new(NOW - 1000, 1.0)],
                ),
            ]),
            "out of order sample",
        ),
        (
            WriteInput {
                body: Bytes::from(compress(&raw)),
                ..v1(&[])
            },
            "is not valid UTF-8",
        ),
    ];
    for (input, want) in cases {
        let outcome = f.receiver.write(input).await;
        assert_eq!(outcome.status, 400, "{want}: {outcome:?}");
        assert!(
            outcome.message.contains(want),
            "{want}: {}",
            outcome.message
        );
    }
    // The valid sample of each batch was kept (same timestamp and value: idempotent).
    assert_eq!(
        stored(&f.store)["{__name__=\"good\"}"],
        vec![Sample::new(NOW, 1.0)]
    );
    assert_eq!(f.store.series_count(), 1);
    let metrics = f.registry.encode();
    for reason in [
        "duplicate_label_name",
        "empty_label_name",
        "too_far_in_future",
        "out_of_order",
        "invalid_utf8",
    ] {
        let line = format!(
            "tocsin_ingest_samples_rejected_total{{reason=\"{reason}\",tenant=\"default\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn size_limits_before_and_after_decompression() {
    let mut limits = LimitsConfig::default();
    limits.ingest.max_request_body_size = ByteSize(200);
    limits.ingest.max_decompressed_body_size = ByteSize(1000);
    let f = fixture_with(limits, ReceiverOptions::default());
    // Snappy bomb: 7 bytes declaring 4 GiB.
    let mut bomb = v1(&[]);
    bomb.body = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x']);
    let outcome = f.receiver.write(bomb).await;
    assert_eq!(outcome.status, 413, "{outcome:?}");
    assert!(
        outcome.message.contains("declares 4294967295 bytes"),
        "{}",
        outcome.message
    );
    // Compresses well below 200 bytes but expands past 1000.
    let big_value = "x".repeat(2000);
    let outcome = f
        .receiver
        .write(v1(&[one(vec![("__name__", "a"), ("v", &big_value)], 1.0)]))
        .await;
    assert_eq!(outcome.status, 413, "{outcome:?}");
    // Over 200 bytes as sent.
    let mut big = v1(&[]);
    big.body = Bytes::from(vec![0; 201]);
    let outcome = f.receiver.write(big).await;
    assert_eq!(outcome.status, 413);
    assert!(outcome.message.contains("201 bytes"), "{}", outcome.message);
    assert_eq!(f.receiver.body_limit(None), 200);
}

#[tokio::test]
async fn label_limits() {
    let mut limits = LimitsConfig::default();
    limits.ingest.max_label_names_per_series = 2;
    limits.ingest.max_label_name_length = 8;
    limits.ingest.max_label_value_length = 5;
    let f = fixture_with(limits, ReceiverOptions::default());
    for (labels, want) in [
        (
            vec![("__name__", "m"), ("a", "1"), ("b", "2")],
            "3 labels, more than the limit of 2",
        ),
        (
            vec![("__name__", "m"), ("longername", "1")],
            "label name of 10 bytes",
        ),
        (
            vec![("__name__", "m"), ("a", "longvalue")],
            "value of label \"a\" is 9 bytes",
        ),
    ] {
        let outcome = f.receiver.write(v1(&[one(labels, 1.0)])).await;
        assert_eq!(outcome.status, 400);
        assert!(outcome.message.contains(want), "{}", outcome.message);
    }
}

#[tokio::test]
async fn tenants_rate_and_series_limits() {
    let mut limits: LimitsConfig = tocsin_config::yaml::from_str(
        "l.yml",
        "ingest: {rate: 10, burst: 10}\ntenants:\n  small: {max_series_per_tenant: 2, max_series_per_metric: 1, rate: 0}\n",
    )
    .unwrap();
    limits.ingest.creation_grace_period = Duration::ZERO;
    let f = fixture_with(limits, ReceiverOptions::default());
    // Default tenant: rate 10/s, burst 10.
    let ten: Vec<Series<'_>> = (0..10).map(|_| one(vec![("__name__", "a")], 1.0)).collect();
    assert_eq!(f.receiver.write(v1(&ten)).await.status, 204);
    let outcome = f
        .receiver
        .write(v1(&[one(vec![("__name__", "a")], 2.0)]))
        .await;
    assert_eq!(outcome.status, 429, "{outcome:?}");
    assert_eq!(outcome.retry_after, Some(1));
    assert!(
        outcome.message.contains("rate of 10 samples/s"),
        "{}",
        outcome.message
    );
    // Tenant "small": no rate limit, but 2 series and 1 per metric.
    let mut input = v1(&[
        one(vec![("__name__", "a"), ("i", "1")], 1.0),
        one(vec![("__name__", "a"), ("i", "2")], 1.0),
        one(vec![("__name__", "b")], 1.0),
        one(vec![("__name__", "c")], 1.0),
    ]);
    input.tenant = Some("small".to_owned());
    let outcome = f.receiver.write(input).await;
    assert_eq!(outcome.status, 400, "{outcome:?}");
    assert!(
        outcome
            .message
            .contains("metric \"a\" is at its limit of 1"),
        "{}",
        outcome.message
    );
    assert!(
        outcome
            .message
            .contains("tenant \"small\" is at its limit of 2"),
        "{}",
        outcome.message
    );
    // Invalid tenant ids are refused before anything else.
    let mut input = v1(&[one(vec![("__name__", "a")], 1.0)]);
    input.tenant = Some("../../etc".to_owned());
    let outcome = f.receiver.write(input).await;
    assert_eq!(outcome.status, 400);
    assert!(
        outcome.message.contains("X-Scope-OrgID"),
        "{}",
        outcome.message
    );
    let metrics = f.registry.encode();
    for line in [
        "tocsin_ingest_requests_rejected_total{reason=\"rate_limited\",tenant=\"default\"} 1",
        "tocsin_ingest_samples_rejected_total{reason=\"series_limit_metric\",tenant=\"small\"} 1",
        "tocsin_ingest_samples_rejected_total{reason=\"series_limit_tenant\",tenant=\"small\"} 1",
        "tocsin_ingest_requests_rejected_total{reason=\"invalid_tenant\",tenant=\"invalid\"} 1",
        "tocsin_ingest_samples_accepted_total{protocol=\"remote_write\",tenant=\"small\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    // Limits reload without restart.
    f.receiver.limiter().reload(LimitsConfig::default());
    let later = (vec![("__name__", "a")], vec![Sample::new(NOW + 1, 3.0)]);
    assert_eq!(f.receiver.write(v1(&[later])).await.status, 204);
}

#[tokio::test]
async fn overload_is_503_with_retry_after() {
    let f = fixture_with(
        LimitsConfig::default(),
        ReceiverOptions {
            max_concurrency: 1,
            queue_timeout: std::time::Duration::from_millis(10),
        },
    );
    let held = f.receiver.permits.acquire().await.unwrap();
    let outcome = f
        .receiver
        .write(v1(&[one(vec![("__name__", "a")], 1.0)]))
        .await;
    assert_eq!((outcome.status, outcome.retry_after), (503, Some(1)));
    drop(held);
    assert_eq!(
        f.receiver
            .write(v1(&[one(vec![("__name__", "a")], 1.0)]))
            .await
            .status,
        204
    );
}

/// A store whose commit fails, to check nothing is acknowledged.
struct FailingStore(fn() -> StorageError);

struct FailingAppender(fn() -> StorageError);

impl Appender for FailingAppender {
    fn append(
        &mut self,
        _: SeriesRef,
        _: &Labels,
        _: Timestamp,
        _: f64,
    ) -> Result<SeriesRef, AppendError> {
        Ok(1)
    }
    fn commit(self: Box<Self>) -> tocsin_model::storage::Result<CommitSummary> {
        Err((self.0)())
    }
}

impl Appendable for FailingStore {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(FailingAppender(self.0))
    }
}

#[tokio::test]
async fn storage_failures_are_retryable() {
    for (make, status) in [(|| StorageError::Closed) as fn() -> StorageError, || {
        StorageError::Io(std::io::Error::other("disk full"))
    }]
    .into_iter()
    .zip([503, 500])
    {
        let registry = registry();
        let receiver = Arc::new(Receiver::new(
            Arc::new(FailingStore(make)),
            Arc::new(Limiter::new(LimitsConfig::default())),
            IngestMetrics::register(&registry).unwrap(),
            Arc::new(ManualClock::new(NOW)),
            ReceiverOptions::default(),
        ));
        let outcome = receiver
            .write(v1(&[one(vec![("__name__", "a")], 1.0)]))
            .await;
        assert_eq!(outcome.status, status, "{outcome:?}");
        assert!(
            outcome.message.contains("nothing was stored"),
            "{}",
            outcome.message
        );
    }
}
