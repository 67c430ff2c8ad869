//! The HTTP fetcher against a real server on loopback: content negotiation, credentials,
//! limits, timeouts and errors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use parking_lot::Mutex;
use tocsin_config::Config;
use tocsin_ingest::scrape::{Fetch, HttpFetcher, JobSettings};

#[derive(Default)]
struct Seen {
    headers: Mutex<Vec<HeaderMap>>,
}

async fn serve(seen: Arc<Seen>) -> String {
    let app = Router::new()
        .route(
            "/metrics",
            get({
                let seen = Arc::clone(&seen);
                move |headers: HeaderMap| async move {
                    seen.headers.lock().push(headers);
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        "# TYPE up gauge\nup 1\n# EOF\n",
                    )
                }
            }),
        )
        .route("/big", get(|| async { "x".repeat(10_000) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/broken",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

fn job(extra: &str) -> JobSettings {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = Config::parse(
        "t.yml",
        &format!("scrape_configs:\n  - job_name: j\n    body_size_limit: 1KB\n{extra}"),
    )
    .unwrap();
    JobSettings::new(&config, &config.scrape_configs[0])
}

#[tokio::test]
async fn negotiates_and_authenticates_like_prometheus() {
    let seen = Arc::new(Seen::default());
    let base = serve(Arc::clone(&seen)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cret-token\n").unwrap();
    let fetcher = HttpFetcher::new(
        &job("    authorization: {credentials_file: token}\n"),
        dir.path(),
        "tocsin/test",
    )
    .unwrap();
    let fetched = fetcher
        .fetch(&format!("{base}/metrics"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        tocsin_ingest::exposition::Format::from_content_type(fetched.content_type.as_deref()),
        tocsin_ingest::exposition::Format::OpenMetrics
    );
    let headers = seen.headers.lock()[0].clone();
    assert_eq!(
        headers[header::ACCEPT],
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
         application/openmetrics-text;version=0.0.1;q=0.5,\
         text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    );
    assert_eq!(headers[header::AUTHORIZATION], "Bearer s3cret-token");
    assert_eq!(headers[header::USER_AGENT], "tocsin/test");
    assert_eq!(headers["x-prometheus-scrape-timeout-seconds"], "5");
    assert!(
        headers[header::ACCEPT_ENCODING]
            .to_str()
            .unwrap()
            .contains("gzip")
    );

    // The text format only, basic auth, no compression.
    let fetcher = HttpFetcher::new(
        &job("    enable_compression: false\n    scrape_protocols: [PrometheusText0.0.4]\n    basic_auth: {username: u, password: p}\n"),
        dir.path(),
        "tocsin/test",
    )
    .unwrap();
    fetcher
        .fetch(&format!("{base}/metrics"), Duration::from_secs(5))
        .await
        .unwrap();
    let headers = seen.headers.lock()[1].clone();
    assert_eq!(
        headers[header::ACCEPT],
        "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
    );
    assert_eq!(headers[header::AUTHORIZATION], "Basic dTpw");
    assert_eq!(headers[header::ACCEPT_ENCODING], "identity");
}

#[tokio::test]
async fn limits_timeouts_and_errors_are_reported() {
    let base = serve(Arc::new(Seen::default())).await;
    let fetcher = HttpFetcher::new(&job(""), std::path::Path::new("."), "t").unwrap();
    let err = fetcher
        .fetch(&format!("{base}/big"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("body size limit exceeded"), "{err}");
    let err = fetcher
        .fetch(&format!("{base}/slow"), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.contains("deadline exceeded"), "{err}");
    let err = fetcher
        .fetch(&format!("{base}/broken"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("500"), "{err}");
    let err = fetcher
        .fetch("http://127.0.0.1:1/metrics", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("onnect"), "{err}");
}
