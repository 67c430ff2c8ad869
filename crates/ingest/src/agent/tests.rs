//! The agent against a real receiver on loopback that is shut down and started again in
//! the middle of pushing: every sample arrives, once, in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tocsin_config::LimitsConfig;
use tocsin_model::storage::mem::MemStorage;
use tocsin_telemetry::{BuildInfo, Registry};

use super::*;
use crate::IngestMetrics;
use crate::clock::SystemClock;
use crate::limits::Limiter;
use crate::receiver::{Receiver, ReceiverOptions, WriteInput};

struct Counter(Arc<AtomicU64>);

impl Collector for Counter {
    fn collect(&mut self, out: &mut Vec<Point>) {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        out.push((
            vec![("__name__".to_owned(), "seq_total".to_owned())],
            n as f64,
        ));
    }
}

async fn serve_receiver(
    listener: tokio::net::TcpListener,
    receiver: Arc<Receiver>,
    stop: CancellationToken,
) {
    let app = Router::new().route(
        "/api/v1/write",
        post(move |headers: HeaderMap, body: Bytes| {
            let receiver = Arc::clone(&receiver);
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let outcome = receiver
                    .write(WriteInput {
                        tenant: header("x-scope-orgid"),
                        content_type: header("content-type"),
                        content_encoding: header("content-encoding"),
                        body,
                    })
                    .await;
                (
                    StatusCode::from_u16(outcome.status).unwrap(),
                    outcome.message,
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .unwrap();
}

fn stored(store: &MemStorage) -> Vec<f64> {
    store
        .dump()
        .into_values()
        .next()
        .map(|samples| samples.iter().map(|s| s.v).collect())
        .unwrap_or_default()
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_restart_loses_nothing_and_duplicates_nothing() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = MemStorage::new();
    let registry = Registry::new(&BuildInfo {
        version: "0",
        revision: "r",
        branch: "b",
        build_date: "d",
        rustc_version: "1",
    })
    .unwrap();
    let receiver = Arc::new(Receiver::new(
        Arc::new(store.clone()),
        Arc::new(Limiter::new(LimitsConfig::default())),
        IngestMetrics::register(&registry).unwrap(),
        Arc::new(SystemClock),
        ReceiverOptions::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_stop = CancellationToken::new();
    let server = tokio::spawn(serve_receiver(
        listener,
        Arc::clone(&receiver),
        server_stop.clone(),
    ));

    let queue_dir = tempfile::tempdir().unwrap();
    let collected = Arc::new(AtomicU64::new(0));
    let agent_stop = CancellationToken::new();
    let agent = tokio::spawn(run(
        AgentOptions {
            url: format!("http://{addr}/api/v1/write"),
            tenant: None,
            interval: Duration::from_millis(50),
            queue_dir: queue_dir.path().to_path_buf(),
            max_queue_bytes: 0,
            labels: vec![("instance".to_owned(), "test-host".to_owned())],
            backoff: (Duration::from_millis(20), Duration::from_millis(200)),
        },
        vec![Box::new(Counter(Arc::clone(&collected)))],
        Arc::new(SystemClock),
        agent_stop.clone(),
    ));

    wait_for("first samples", || stored(&store).len() >= 5).await;
    // The receiver goes away while the agent keeps collecting.
    server_stop.cancel();
    server.await.unwrap();
    let down_at = collected.load(Ordering::SeqCst);
    wait_for("collections while down", || {
        collected.load(Ordering::SeqCst) >= down_at + 10
    })
    .await;
    let queued = DiskQueue::open(queue_dir.path(), 0)
        .unwrap()
        .entries()
        .unwrap()
        .len();
    assert!(
        queued >= 5,
        "only {queued} requests queued while the receiver was down"
    );

    // Back on the same address.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let server_stop = CancellationToken::new();
    let server = tokio::spawn(serve_receiver(
        listener,
        Arc::clone(&receiver),
        server_stop.clone(),
    ));
    let target = collected.load(Ordering::SeqCst) + 3;
    wait_for("the backlog", || stored(&store).len() as u64 >= target).await;
    agent_stop.cancel();
    agent.await.unwrap().unwrap();
    // Drain what the last collections queued.
    let mut pusher = Pusher::new(
        &format!("http://{addr}/api/v1/write"),
        None,
        Duration::from_millis(10),
        Duration::from_millis(10),
    )
    .unwrap();
    let queue = DiskQueue::open(queue_dir.path(), 0).unwrap();
    assert!(pusher.drain(&queue).await.unwrap());

    let values = stored(&store);
    let total = collected.load(Ordering::SeqCst);
    let expected: Vec<f64> = (1..=total).map(|n| n as f64).collect();
    assert_eq!(
        values, expected,
        "every collected sample exactly once, in order"
    );
    assert_eq!(
        store.dump().keys().next().unwrap().to_string(),
        r#"{__name__="seq_total", instance="test-host"}"#
    );
    server_stop.cancel();
    server.await.unwrap();
}

#[tokio::test]
async fn permanent_refusals_are_dropped_and_counted_not_retried_forever() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = Router::new().route(
        "/w",
        post(|| async { (StatusCode::BAD_REQUEST, "bad series") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let mut queue = DiskQueue::open(dir.path(), 0).unwrap();
    queue.push(b"x").unwrap();
    let mut pusher = Pusher::new(
        &format!("http://{addr}/w"),
        None,
        Duration::from_millis(1),
        Duration::from_millis(1),
    )
    .unwrap();
    assert!(pusher.drain(&queue).await.unwrap());
    assert_eq!(pusher.refused, 1);
    assert!(queue.entries().unwrap().is_empty());
}
