//! `/metrics` and the request metrics every route reports.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tocsin_telemetry::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TEXT_CONTENT_TYPE,
    exponential_buckets,
};

use crate::AppState;

/// Metrics about the HTTP edge itself.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    /// Requests refused for missing or wrong credentials.
    pub(crate) unauthorized: IntCounter,
}

impl HttpMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> crate::Result<Self> {
        let requests = registry.register(
            IntCounterVec::new(
                Opts::new(
                    "tocsin_http_requests_total",
                    "Counter of HTTP requests by route, method and status code.",
                ),
                &["handler", "method", "code"],
            )
            .map_err(tocsin_telemetry::Error::from)?,
        )?;
        let duration = registry.register(
            HistogramVec::new(
                HistogramOpts::new(
                    "tocsin_http_request_duration_seconds",
                    "Histogram of latencies for HTTP requests by route.",
                )
                .buckets(
                    exponential_buckets(0.0005, 4.0, 10).map_err(tocsin_telemetry::Error::from)?,
                ),
                &["handler"],
            )
            .map_err(tocsin_telemetry::Error::from)?,
        )?;
        let unauthorized = registry.register(
            IntCounter::new(
                "tocsin_http_unauthorized_requests_total",
                "Counter of HTTP requests refused because credentials were missing or wrong.",
            )
            .map_err(tocsin_telemetry::Error::from)?,
        )?;
        Ok(Self {
            requests,
            duration,
            unauthorized,
        })
    }
}

/// Counts every request by matched route (not raw path, which would let clients create
/// unbounded label values).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let handler = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |path| path.as_str().to_owned());
    // Any token is a valid HTTP method; keep label values bounded.
    let method: &'static str = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.http_metrics;
    metrics
        .duration
        .with_label_values(&[handler.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[handler.as_str(), method, response.status().as_str()])
        .inc();
    response
}

pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
        state.registry.encode(),
    )
}
