//! Prometheus HTTP API v1 (`/api/v1/query`, `/query_range`, `/series`, `/labels`,
//! `/label/<name>/values`, `/metadata`, `/query_exemplars`, `/format_query`, `/status/*`),
//! GET and POST (form-encoded), answering exactly Prometheus's JSON so Grafana's Prometheus
//! data source works unchanged.

mod params;
mod query;
mod rules;
mod series;
mod status;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use self::rules::{RulesApi, RulesRequest};
use crate::AppState;

pub use self::status::{PrometheusStatus, RuntimeInfo};

/// What the Prometheus API needs beyond the store: the engine and status sources.
#[derive(Clone)]
pub struct PrometheusApi {
    /// The PromQL engine (limits follow config reloads).
    pub engine: Arc<tocsin_promql::Engine>,
    /// Config, flags and runtime information for `/status/*`.
    pub status: Arc<dyn PrometheusStatus>,
}

impl std::fmt::Debug for PrometheusApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusApi").finish_non_exhaustive()
    }
}

/// The routes, to merge into the main router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/format_query",
            get(query::format).post(query::format),
        )
        .route("/api/v1/series", get(series::series).post(series::series))
        .route("/api/v1/labels", get(series::labels).post(series::labels))
        .route("/api/v1/label/{name}/values", get(series::label_values))
        .route("/api/v1/metadata", get(series::metadata))
        .route(
            "/api/v1/query_exemplars",
            get(series::exemplars).post(series::exemplars),
        )
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
}

/// Prometheus's error types and their HTTP codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    BadData,
    Execution,
    Timeout,
    Internal,
    Unavailable,
}

impl ErrorType {
    fn name(self) -> &'static str {
        match self {
            Self::BadData => "bad_data",
            Self::Execution => "execution",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::BadData => StatusCode::BAD_REQUEST,
            Self::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Timeout | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An API error as Prometheus words it.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) kind: ErrorType,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::BadData,
            message: message.into(),
        }
    }

    pub(crate) fn unavailable() -> Self {
        Self {
            kind: ErrorType::Unavailable,
            message: "the time-series store is not available yet".to_owned(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Internal,
            message: message.into(),
        }
    }

    pub(crate) fn from_query(err: &tocsin_promql::Error) -> Self {
        let kind = match err {
            tocsin_promql::Error::Parse(_) => ErrorType::BadData,
            tocsin_promql::Error::Timeout(_) => ErrorType::Timeout,
            tocsin_promql::Error::TooManySamples(_) | tocsin_promql::Error::Execution(_) => {
                ErrorType::Execution
            }
            tocsin_promql::Error::Storage(_) => ErrorType::Internal,
        };
        let message = match err {
            tocsin_promql::Error::Parse(m) => format!("invalid parameter \"query\": {m}"),
            other => other.to_string(),
        };
        Self { kind, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Prometheus's key order.
        let body = format!(
            "{{\"status\":\"error\",\"errorType\":\"{}\",\"error\":{}}}",
            self.kind.name(),
            serde_json::Value::String(self.message)
        );
        json_response(self.kind.status(), body)
    }
}

/// Runs CPU-bound work (a query, a select) off the async path. On the multi-threaded
/// runtime the handler's own worker runs it and hands its other tasks to another thread
/// (`block_in_place`), so the query's path has no wake-up of a blocking-pool thread and back:
/// those two wake-ups were most of a trivial query's server time. On a single-threaded
/// runtime (tests), the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread
    {
        return tokio::task::block_in_place(f);
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("task failed: {e}")))?
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `{"status":"success","data":DATA[,"warnings":[..]][,"infos":[..]]}` with `data` already
/// encoded.
pub(crate) fn success_raw(data: &str, warnings: &[String], infos: &[String]) -> Response {
    let mut body = String::with_capacity(data.len() + 64);
    body.push_str("{\"status\":\"success\",\"data\":");
    body.push_str(data);
    if !warnings.is_empty() {
        body.push_str(",\"warnings\":");
        body.push_str(&serde_json::to_string(warnings).unwrap_or_else(|_| "[]".to_owned()));
    }
    if !infos.is_empty() {
        body.push_str(",\"infos\":");
        body.push_str(&serde_json::to_string(infos).unwrap_or_else(|_| "[]".to_owned()));
    }
    body.push('}');
    json_response(StatusCode::OK, body)
}

pub(crate) fn success(data: &serde_json::Value) -> Response {
    success_raw(&data.to_string(), &[], &[])
}

#[cfg(test)]
mod tests;
