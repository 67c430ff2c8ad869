//! Golden JSON of every Prometheus API endpoint, errors included.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tocsin_model::Labels;
use tocsin_model::storage::Appendable;
use tocsin_model::storage::mem::MemStorage;
use tower::ServiceExt;

use super::*;
use crate::{HttpMetrics, Readiness, ReloadFuture, Reloader, SecurityHandle, WebSecurity};
use tocsin_telemetry::{BuildInfo, Registry};

struct NoReload;

impl Reloader for NoReload {
    fn reload(&self) -> ReloadFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

struct FixedStatus;

impl PrometheusStatus for FixedStatus {
    fn config_yaml(&self) -> String {
        "global:\n  scrape_interval: 15s\nweb:\n  basic_auth_users:\n    alice: <secret>\n"
            .to_owned()
    }

    fn flags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("config.file".to_owned(), "tocsin.yml".to_owned()),
            ("web.listen-address".to_owned(), "127.0.0.1:9095".to_owned()),
        ])
    }

    fn runtime(&self) -> RuntimeInfo {
        RuntimeInfo {
            start_time: "2026-01-01T00:00:00Z".to_owned(),
            cwd: "/var/lib/tocsin".to_owned(),
            reload_config_success: true,
            last_config_time: "2026-01-01T00:00:00Z".to_owned(),
            storage_retention: "15d".to_owned(),
        }
    }
}

fn build() -> BuildInfo {
    BuildInfo {
        version: "0.0.0-test",
        revision: "test",
        branch: "test",
        build_date: "test",
        rustc_version: "test",
    }
}

fn store() -> MemStorage {
    let store = MemStorage::new();
    let mut app = store.appender();
    for (name, job, instance, step) in [
        ("http_requests_total", "api", "a", 1.0),
        ("http_requests_total", "api", "b", 2.0),
        ("up", "api", "a", 0.0),
    ] {
        let labels =
            Labels::from_pairs([("__name__", name), ("job", job), ("instance", instance)]).unwrap();
        for i in 0..=10 {
            app.append(
                0,
                &labels,
                i * 15_000,
                step * i as f64 + if name == "up" { 1.0 } else { 0.0 },
            )
            .unwrap();
        }
    }
    app.commit().unwrap();
    store
}

fn app_with(storage: bool, prometheus: bool) -> Router {
    let registry = Registry::new(&build()).unwrap();
    let web: tocsin_config::WebConfig = tocsin_config::yaml::from_str("t.yml", "{}").unwrap();
    let engine = Arc::new(tocsin_promql::Engine::new(
        tocsin_promql::QueryLimits::default(),
        tocsin_promql::EngineOptions::default(),
    ));
    crate::router(AppState {
        readiness: Arc::new(Readiness::default()),
        security: SecurityHandle::new(
            WebSecurity::from_config(&web, std::path::Path::new(".")).unwrap(),
        ),
        reloader: Arc::new(NoReload),
        storage: storage.then(|| Arc::new(store()) as Arc<dyn tocsin_model::storage::Queryable>),
        ingest: None,
        alerting: None,
        rules: None,
        sim: None,
        drill: None,
        slo: None,
        incident: None,
        oncall: None,
        prometheus: prometheus.then(|| PrometheusApi {
            engine,
            status: Arc::new(FixedStatus),
        }),
        http_metrics: HttpMetrics::register(&registry).unwrap(),
        registry,
        build: build(),
    })
}

fn app() -> Router {
    app_with(true, true)
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    if status != StatusCode::NOT_FOUND {
        assert_eq!(ct.as_deref(), Some("application/json"), "{text}");
        serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
    }
    (status, text)
}

async fn get(path: &str) -> String {
    let (status, body) = call(&app(), Request::get(path).body(Body::empty()).unwrap()).await;
    format!("{}\n{body}", status.as_u16())
}

async fn post_form(path: &str, form: &str) -> String {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    let (status, body) = call(&app(), request).await;
    format!("{}\n{body}", status.as_u16())
}

#[tokio::test]
async fn query_endpoints() {
    insta::assert_snapshot!(
        "instant_vector",
        get("/api/v1/query?query=http_requests_total&time=150").await
    );
    insta::assert_snapshot!(
        "instant_scalar",
        get("/api/v1/query?query=1%2B1&time=1.5").await
    );
    insta::assert_snapshot!(
        "instant_string",
        get("/api/v1/query?query=%22hi%22&time=100").await
    );
    insta::assert_snapshot!(
        "instant_matrix",
        get("/api/v1/query?query=up%5B30s%5D&time=150").await
    );
    insta::assert_snapshot!(
        "instant_rfc3339_post",
        post_form(
            "/api/v1/query",
            "query=sum+by+(job)+(rate(http_requests_total[1m]))&time=1970-01-01T00:02:30Z"
        )
        .await
    );
    insta::assert_snapshot!(
        "instant_with_info",
        get("/api/v1/query?query=rate(up%5B1m%5D)&time=150").await
    );
    insta::assert_snapshot!(
        "range",
        post_form(
            "/api/v1/query_range",
            "query=http_requests_total&start=0&end=60&step=30s"
        )
        .await
    );
    insta::assert_snapshot!(
        "range_scalar",
        get("/api/v1/query_range?query=time()&start=0&end=30&step=15").await
    );
}

#[tokio::test]
async fn query_errors() {
    insta::assert_snapshot!("error_parse", get("/api/v1/query?query=sum(").await);
    insta::assert_snapshot!("error_empty_query", get("/api/v1/query").await);
    insta::assert_snapshot!(
        "error_bad_time",
        get("/api/v1/query?query=up&time=yesterday").await
    );
    insta::assert_snapshot!(
        "error_execution",
        get("/api/v1/query?query=http_requests_total%20%2B%20on()%20up&time=150").await
    );
    insta::assert_snapshot!(
        "error_range_no_start",
        get("/api/v1/query_range?query=up").await
    );
    insta::assert_snapshot!(
        "error_range_end_before_start",
        get("/api/v1/query_range?query=up&start=10&end=0&step=1").await
    );
    insta::assert_snapshot!(
        "error_range_zero_step",
        get("/api/v1/query_range?query=up&start=0&end=10&step=0").await
    );
    insta::assert_snapshot!(
        "error_range_too_many_points",
        get("/api/v1/query_range?query=up&start=0&end=100000&step=1").await
    );
    insta::assert_snapshot!(
        "error_range_matrix",
        get("/api/v1/query_range?query=up%5B1m%5D&start=0&end=10&step=1").await
    );
}

#[tokio::test]
async fn unavailable_without_store() {
    let app = app_with(false, true);
    let (status, body) = call(
        &app,
        Request::get("/api/v1/query?query=up")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    insta::assert_snapshot!("error_unavailable", format!("{}\n{body}", status.as_u16()));
    let app = app_with(true, false);
    let (status, _) = call(
        &app,
        Request::get("/api/v1/status/config")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn limits_are_enforced() {
    let registry = Registry::new(&build()).unwrap();
    let web: tocsin_config::WebConfig = tocsin_config::yaml::from_str("t.yml", "{}").unwrap();
    let engine = Arc::new(tocsin_promql::Engine::new(
        tocsin_promql::QueryLimits {
            max_samples: 5,
            ..tocsin_promql::QueryLimits::default()
        },
        tocsin_promql::EngineOptions::default(),
    ));
    let app = crate::router(AppState {
        readiness: Arc::new(Readiness::default()),
        security: SecurityHandle::new(
            WebSecurity::from_config(&web, std::path::Path::new(".")).unwrap(),
        ),
        reloader: Arc::new(NoReload),
        storage: Some(Arc::new(store())),
        ingest: None,
        alerting: None,
        rules: None,
        sim: None,
        drill: None,
        slo: None,
        incident: None,
        oncall: None,
        prometheus: Some(PrometheusApi {
            engine,
            status: Arc::new(FixedStatus),
        }),
        http_metrics: HttpMetrics::register(&registry).unwrap(),
        registry,
        build: build(),
    });
    let (status, body) = call(
        &app,
        Request::get("/api/v1/query_range?query=up&start=0&end=150&step=15")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    insta::assert_snapshot!(
        "error_too_many_samples",
        format!("{}\n{body}", status.as_u16())
    );
}

#[tokio::test]
async fn metadata_endpoints() {
    insta::assert_snapshot!(
        "series",
        get(
            "/api/v1/series?match%5B%5D=http_requests_total&match%5B%5D=up%7Binstance%3D%22a%22%7D"
        )
        .await
    );
    insta::assert_snapshot!(
        "series_post",
        post_form("/api/v1/series", "match[]={job=~\"a.*\"}&limit=1").await
    );
    insta::assert_snapshot!("error_series_no_match", get("/api/v1/series").await);
    insta::assert_snapshot!(
        "error_series_bad_match",
        get("/api/v1/series?match%5B%5D=up(").await
    );
    insta::assert_snapshot!("labels", get("/api/v1/labels").await);
    insta::assert_snapshot!(
        "labels_match",
        post_form("/api/v1/labels", "match[]=up").await
    );
    insta::assert_snapshot!("label_values", get("/api/v1/label/instance/values").await);
    insta::assert_snapshot!(
        "label_values_match",
        get("/api/v1/label/__name__/values?match%5B%5D=%7Binstance%3D%22b%22%7D").await
    );
    insta::assert_snapshot!("metadata", get("/api/v1/metadata").await);
    insta::assert_snapshot!("exemplars", get("/api/v1/query_exemplars?query=up").await);
    insta::assert_snapshot!(
        "format_query",
        get("/api/v1/format_query?query=sum(rate(foo%5B5m%5D))%20by%20(job)").await
    );
    insta::assert_snapshot!(
        "error_format_query",
        get("/api/v1/format_query?query=foo%7B").await
    );
}

#[tokio::test]
async fn status_endpoints() {
    insta::assert_snapshot!("buildinfo", get("/api/v1/status/buildinfo").await);
    insta::assert_snapshot!("config", get("/api/v1/status/config").await);
    insta::assert_snapshot!("flags", get("/api/v1/status/flags").await);
    insta::assert_snapshot!("runtimeinfo", get("/api/v1/status/runtimeinfo").await);
    insta::assert_snapshot!("tsdb", get("/api/v1/status/tsdb?limit=2").await);
    insta::assert_snapshot!("error_tsdb_limit", get("/api/v1/status/tsdb?limit=0").await);
}
