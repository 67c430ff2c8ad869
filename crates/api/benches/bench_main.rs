//! Cost of the HTTP edge per request, without sockets: routing, metrics, headers and
//! authentication. Shows what bcrypt caching saves (a verified credential is not re-hashed).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use tocsin_api::{
    AppState, HttpMetrics, Readiness, ReloadFuture, Reloader, SecurityHandle, WebSecurity,
};
use tocsin_telemetry::{BuildInfo, Registry};
use tower::ServiceExt;

struct NoReload;
impl Reloader for NoReload {
    fn reload(&self) -> ReloadFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

fn app(web_yaml: &str) -> axum::Router {
    let build = BuildInfo {
        version: "bench",
        revision: "bench",
        branch: "bench",
        build_date: "bench",
        rustc_version: "bench",
    };
    let registry = Registry::new(&build).expect("registry");
    let web: tocsin_config::WebConfig =
        tocsin_config::yaml::from_str("bench.yml", web_yaml).expect("web config");
    let readiness = Arc::new(Readiness::default());
    readiness.set_ready();
    tocsin_api::router(AppState {
        readiness,
        security: SecurityHandle::new(
            WebSecurity::from_config(&web, std::path::Path::new(".")).expect("security"),
        ),
        reloader: Arc::new(NoReload),
        storage: None,
        ingest: None,
        alerting: None,
        rules: None,
        sim: None,
        drill: None,
        slo: None,
        incident: None,
        oncall: None,
        prometheus: None,
        http_metrics: HttpMetrics::register(&registry).expect("metrics"),
        registry,
        build,
    })
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let open = app("{}");
    let hash = bcrypt::hash("secret", 10).expect("bcrypt");
    let basic = app(&format!("basic_auth_users: {{alice: '{hash}'}}\n"));
    let bearer = app("bearer_tokens: [{name: ci, token: 0123456789abcdef0123}]\n");
    let mut group = c.benchmark_group("http_edge");
    group.bench_function("healthy_no_auth", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/-/healthy")
                .body(Body::empty())
                .expect("request");
            open.clone().oneshot(request).await.expect("response")
        });
    });
    group.bench_function("metrics_basic_auth_cached", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/metrics")
                .header(header::AUTHORIZATION, "Basic YWxpY2U6c2VjcmV0")
                .body(Body::empty())
                .expect("request");
            basic.clone().oneshot(request).await.expect("response")
        });
    });
    group.bench_function("home_bearer", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/")
                .header(header::AUTHORIZATION, "Bearer 0123456789abcdef0123")
                .body(Body::empty())
                .expect("request");
            bearer.clone().oneshot(request).await.expect("response")
        });
    });
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
