//! tocsin's HTTP edge. Owns the listener (plain HTTP or TLS/mTLS, HTTP/1.1 and HTTP/2),
//! authentication and security headers from the `web` config section, the lifecycle endpoints
//! (`/-/healthy`, `/-/ready`, `/-/reload`), `/metrics`, and the home page. Later stages add
//! their routes here; handlers stay thin and call the stage through its trait.
//!
//! This crate must not depend on storage or pipeline internals: it sees them only through the
//! traits in [`AppState`] ([`Reloader`], `tocsin_model::storage::Queryable`, ...).

mod alertmanager;
mod auth;
mod drill;
mod error;
mod home;
mod incident;
mod ingest;
mod json;
mod lifecycle;
mod metrics;
mod oncall;
mod prometheus;
mod security;
mod server;
mod sim;
mod slo;
#[cfg(test)]
mod test_support;
mod tls;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tocsin_telemetry::{BuildInfo, Registry};

pub use crate::alertmanager::{AlertmanagerApi, ApiFuture, ApiResult, Params, parse_query};
pub use crate::auth::Principal;
pub use crate::drill::DrillApi;
pub use crate::error::{Error, Result};
pub use crate::incident::{EventFuture, IncidentApi};
pub use crate::ingest::{IngestApi, RemoteWriteFuture, RemoteWriteRequest, RemoteWriteResponse};
pub use crate::lifecycle::{Readiness, ReloadFuture, Reloader};
pub use crate::metrics::HttpMetrics;
pub use crate::oncall::{OncallApi, TextFuture};
pub use crate::prometheus::{PrometheusApi, PrometheusStatus, RulesApi, RulesRequest, RuntimeInfo};
pub use crate::security::{SecurityHandle, WebSecurity};
pub use crate::server::{ServeOptions, serve};
pub use crate::sim::SimApi;
pub use crate::slo::SloApi;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Whether start-up has finished.
    pub readiness: Arc<Readiness>,
    /// Authentication, headers and TLS, swapped atomically on reload.
    pub security: SecurityHandle,
    /// Reloads the configuration (the composition root implements it).
    pub reloader: Arc<dyn Reloader>,
    /// The time-series store, once the server has one; endpoints that read it answer 503
    /// while it is `None`.
    pub storage: Option<Arc<dyn tocsin_model::storage::Queryable>>,
    /// The ingest stage (remote_write, scrape targets); its endpoints answer 503 while it
    /// is `None`.
    pub ingest: Option<Arc<dyn IngestApi>>,
    /// The alerting stage (Alertmanager API v2); its endpoints answer 503 while it is `None`.
    pub alerting: Option<Arc<dyn AlertmanagerApi>>,
    /// The SLO stage (budgets, deploy gate); its endpoints answer 503 while it is `None`.
    pub slo: Option<Arc<dyn SloApi>>,
    /// The on-call stage (directory, schedules, escalations); its endpoints answer 503
    /// while it is `None`.
    pub oncall: Option<Arc<dyn OncallApi>>,
    /// The incident stage (incidents, post-mortems, PagerDuty Events v2 intake); its
    /// endpoints answer 503 while it is `None`.
    pub incident: Option<Arc<dyn IncidentApi>>,
    /// The rule stage (`/api/v1/rules`, `/api/v1/alerts`); both list nothing while it is
    /// `None`.
    pub rules: Option<Arc<dyn RulesApi>>,
    /// The fleet simulator (demo, drills); its endpoints answer 404 while it is `None`.
    pub sim: Option<Arc<dyn SimApi>>,
    /// The running incident drill; its endpoints answer 404 and queries are not recorded
    /// while it is `None`.
    pub drill: Option<Arc<dyn DrillApi>>,
    /// The PromQL engine and status sources of the Prometheus API (`/api/v1/query`, ...);
    /// those endpoints answer 503 while it is `None`.
    pub prometheus: Option<PrometheusApi>,
    /// Self-metrics served at `/metrics`.
    pub registry: Registry,
    /// Request counters and latencies.
    pub http_metrics: HttpMetrics,
    /// Version information for the home page.
    pub build: BuildInfo,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("ready", &self.readiness.is_ready())
            .field("build", &self.build)
            .finish_non_exhaustive()
    }
}

/// All routes with authentication, security headers and request metrics applied.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::home))
        .route("/ui", get(ui::redirect))
        .route("/ui/", get(ui::index))
        .route("/ui/{*path}", get(ui::file))
        .route("/metrics", get(metrics::metrics))
        .route("/-/healthy", get(lifecycle::healthy))
        .route("/-/ready", get(lifecycle::ready))
        .route("/-/reload", post(lifecycle::reload).put(lifecycle::reload))
        .route("/api/v1/write", post(ingest::remote_write))
        .route("/api/v1/targets", get(ingest::targets))
        .route(
            "/api/v2/alerts",
            get(alertmanager::get_alerts).post(alertmanager::post_alerts),
        )
        .route("/api/v2/alerts/groups", get(alertmanager::get_groups))
        .route(
            "/api/v2/silences",
            get(alertmanager::get_silences).post(alertmanager::post_silence),
        )
        .route(
            "/api/v2/silence/{id}",
            get(alertmanager::get_silence).delete(alertmanager::delete_silence),
        )
        .route("/api/v2/status", get(alertmanager::status))
        .route("/api/v2/receivers", get(alertmanager::receivers))
        .route("/api/tocsin/v1/alerts/history", get(alertmanager::history))
        .route(
            "/api/tocsin/v1/alerts/groups",
            get(alertmanager::tocsin_groups),
        )
        .route(
            "/api/tocsin/v1/alerts/groups/{group_key}/ack",
            post(alertmanager::ack_group).delete(alertmanager::unack_group),
        )
        .route(
            "/api/tocsin/v1/alerts/feedback",
            get(alertmanager::feedback_form).post(alertmanager::post_feedback),
        )
        .route("/api/tocsin/v1/alerts/report", get(alertmanager::report))
        .route("/api/tocsin/v1/slos", get(slo::list))
        .route("/api/tocsin/v1/slos/{name}", get(slo::get))
        .route("/api/tocsin/v1/slos/{name}/gate", get(slo::gate))
        .route(
            "/api/tocsin/v1/slos/{name}/gate/override",
            post(slo::override_gate),
        )
        .merge(prometheus::routes())
        .merge(oncall::routes())
        .merge(incident::routes())
        .merge(sim::routes())
        .merge(drill::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::add_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

async fn not_found() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::NOT_FOUND, "404 page not found\n")
}

#[cfg(test)]
mod tests;
