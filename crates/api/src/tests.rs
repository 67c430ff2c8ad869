//! Router behaviour without sockets: probes, reload, metrics, authentication and headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

struct CountingReloader {
    calls: AtomicUsize,
    fail_with: Option<&'static str>,
}

impl Reloader for CountingReloader {
    fn reload(&self) -> ReloadFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let result = self
            .fail_with
            .map_or(Ok(()), |reason| Err(reason.to_owned()));
        Box::pin(async move { result })
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

struct Harness {
    app: Router,
    state: AppState,
    reloader: Arc<CountingReloader>,
}

fn harness_with(web_yaml: &str, fail_with: Option<&'static str>) -> Harness {
    let registry = Registry::new(&build()).unwrap();
    let web: tocsin_config::WebConfig = tocsin_config::yaml::from_str("t.yml", web_yaml).unwrap();
    let reloader = Arc::new(CountingReloader {
        calls: AtomicUsize::new(0),
        fail_with,
    });
    let state = AppState {
        readiness: Arc::new(Readiness::default()),
        security: SecurityHandle::new(
            WebSecurity::from_config(&web, std::path::Path::new(".")).unwrap(),
        ),
        reloader: Arc::clone(&reloader) as Arc<dyn Reloader>,
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
        http_metrics: HttpMetrics::register(&registry).unwrap(),
        registry,
        build: build(),
    };
    Harness {
        app: router(state.clone()),
        state,
        reloader,
    }
}

fn harness(web_yaml: &str) -> Harness {
    harness_with(web_yaml, None)
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str) -> Request<Body> {
    Request::post(path).body(Body::empty()).unwrap()
}

fn with_auth(mut request: Request<Body>, value: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert(header::AUTHORIZATION, value.parse().unwrap());
    request
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn users_yaml(password: &str) -> String {
    // Cost 4 keeps tests fast; production hashes use 10 or more.
    let hash = bcrypt::hash(password, 4).unwrap();
    format!("basic_auth_users:\n  alice: '{hash}'\n")
}

#[tokio::test]
async fn healthy_always_and_ready_after_start() {
    let h = harness("{}");
    let (status, _, body) = call(&h.app, get("/-/healthy")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "tocsin is Healthy.\n")
    );
    let (status, _, _) = call(&h.app, get("/-/ready")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    h.state.readiness.set_ready();
    let (status, _, body) = call(&h.app, get("/-/ready")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "tocsin is Ready.\n")
    );
    let head = Request::head("/-/healthy").body(Body::empty()).unwrap();
    assert_eq!(call(&h.app, head).await.0, StatusCode::OK);
}

#[tokio::test]
async fn reload_needs_post_or_put_and_reports_failure() {
    let h = harness("{}");
    assert_eq!(
        call(&h.app, get("/-/reload")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(call(&h.app, post("/-/reload")).await.0, StatusCode::OK);
    let put = Request::put("/-/reload").body(Body::empty()).unwrap();
    assert_eq!(call(&h.app, put).await.0, StatusCode::OK);
    assert_eq!(h.reloader.calls.load(Ordering::SeqCst), 2);

    let failing = harness_with("{}", Some("tocsin.yml:3:1: unknown field `x`"));
    let (status, _, body) = call(&failing.app, post("/-/reload")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        "failed to reload config: tocsin.yml:3:1: unknown field `x`\n"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_not_raw_path() {
    let h = harness("{}");
    call(&h.app, get("/-/healthy")).await;
    call(&h.app, get("/no/such/path/42")).await;
    let (status, headers, body) = call(&h.app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        body.contains(
            r#"tocsin_http_requests_total{code="200",handler="/-/healthy",method="GET"} 1"#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#"tocsin_http_requests_total{code="404",handler="other",method="GET"} 1"#),
        "{body}"
    );
    assert!(!body.contains("/no/such/path"), "{body}");
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let h = harness("{}");
    let (status, _, body) = call(&h.app, get("/nope")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
}

#[tokio::test]
async fn basic_auth_guards_everything_but_probes() {
    let h = harness(&users_yaml("s3cret"));
    h.state.readiness.set_ready();
    let (status, headers, _) = call(&h.app, post("/-/reload")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic realm=\"tocsin\"");
    assert_eq!(
        call(&h.app, get("/metrics")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(call(&h.app, get("/")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&h.app, get("/-/healthy")).await.0, StatusCode::OK);
    assert_eq!(call(&h.app, get("/-/ready")).await.0, StatusCode::OK);

    let wrong = with_auth(post("/-/reload"), &basic("alice", "wrong"));
    assert_eq!(call(&h.app, wrong).await.0, StatusCode::UNAUTHORIZED);
    let nobody = with_auth(post("/-/reload"), &basic("mallory", "s3cret"));
    assert_eq!(call(&h.app, nobody).await.0, StatusCode::UNAUTHORIZED);
    let garbage = with_auth(post("/-/reload"), "Basic %%%");
    assert_eq!(call(&h.app, garbage).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.reloader.calls.load(Ordering::SeqCst), 0);

    for _ in 0..2 {
        // The second time is answered from the cache; the outcome must be the same.
        let right = with_auth(post("/-/reload"), &basic("alice", "s3cret"));
        assert_eq!(call(&h.app, right).await.0, StatusCode::OK);
    }
    assert_eq!(h.reloader.calls.load(Ordering::SeqCst), 2);

    let (_, _, metrics) = call(
        &h.app,
        with_auth(get("/metrics"), &basic("alice", "s3cret")),
    )
    .await;
    assert!(
        metrics.contains("tocsin_http_unauthorized_requests_total 6"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bearer_tokens_from_config_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ci.token"), "file-token-0123456789\n").unwrap();
    let web: tocsin_config::WebConfig = tocsin_config::yaml::from_str(
        "t.yml",
        "bearer_tokens:\n  - {name: inline, token: inline-token-0123456789}\n  - {name: ci, token_file: ci.token}\n",
    )
    .unwrap();
    let h = harness("{}");
    h.state
        .security
        .replace(WebSecurity::from_config(&web, dir.path()).unwrap());
    let (status, headers, _) = call(&h.app, post("/-/reload")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer realm=\"tocsin\"");
    for token in ["inline-token-0123456789", "file-token-0123456789"] {
        let request = with_auth(post("/-/reload"), &format!("Bearer {token}"));
        assert_eq!(call(&h.app, request).await.0, StatusCode::OK, "{token}");
    }
    let wrong = with_auth(post("/-/reload"), "Bearer file-token-0123456788");
    assert_eq!(call(&h.app, wrong).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_read_still_guards_writes() {
    let h = harness(&format!("{}anonymous_read: true\n", users_yaml("pw")));
    assert_eq!(call(&h.app, get("/metrics")).await.0, StatusCode::OK);
    assert_eq!(call(&h.app, get("/")).await.0, StatusCode::OK);
    assert_eq!(
        call(&h.app, post("/-/reload")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Wrong credentials are refused even where anonymous access would be allowed.
    let wrong = with_auth(get("/metrics"), &basic("alice", "nope"));
    assert_eq!(call(&h.app, wrong).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn configured_security_headers_are_sent() {
    let h = harness(
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n",
    );
    let (_, headers, _) = call(&h.app, get("/-/healthy")).await;
    assert_eq!(headers["x-frame-options"], "deny");
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    let (_, headers, body) = call(&h.app, get("/")).await;
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(body.contains("0.0.0-test"), "{body}");
}

#[test]
fn tls_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let web: tocsin_config::WebConfig = tocsin_config::yaml::from_str(
        "t.yml",
        "tls_server_config: {cert_file: missing.crt, key_file: missing.key}\n",
    )
    .unwrap();
    let err = WebSecurity::from_config(&web, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.crt"), "{err}");

    // A key that does not belong to the certificate.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("a.crt"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("b.key"), other.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("empty.crt"), "").unwrap();
    let mismatched: tocsin_config::WebConfig = tocsin_config::yaml::from_str(
        "t.yml",
        "tls_server_config: {cert_file: a.crt, key_file: b.key}\n",
    )
    .unwrap();
    let err = WebSecurity::from_config(&mismatched, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("certificate and key"), "{err}");
    let empty: tocsin_config::WebConfig = tocsin_config::yaml::from_str(
        "t.yml",
        "tls_server_config: {cert_file: empty.crt, key_file: b.key}\n",
    )
    .unwrap();
    let err = WebSecurity::from_config(&empty, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no CERTIFICATE block"), "{err}");
}

mod ui;
