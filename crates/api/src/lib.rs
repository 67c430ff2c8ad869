//! tocsin's HTTP edge. Owns the listener (plain HTTP or TLS/mTLS, HTTP/1.1 and HTTP/2),
//! authentication and security headers from the `web` config section, the lifecycle endpoints
//! (`/-/healthy`, `/-/ready`, `/-/reload`), `/metrics`, and the home page. Later stages add
//! their routes here; handlers stay thin and call the stage through its trait.
//!
//! This crate must not depend on storage or pipeline internals: it sees them only through the
//! traits in [`AppState`] ([`Reloader`], `tocsin_model::storage::Queryable`, ...).

mod auth;
mod error;
mod home;
mod lifecycle;
mod metrics;
mod security;
mod server;
mod tls;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tocsin_telemetry::{BuildInfo, Registry};

pub use crate::auth::Principal;
pub use crate::error::{Error, Result};
pub use crate::lifecycle::{Readiness, ReloadFuture, Reloader};
pub use crate::metrics::HttpMetrics;
pub use crate::security::{SecurityHandle, WebSecurity};
pub use crate::server::{ServeOptions, serve};

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
        .route("/metrics", get(metrics::metrics))
        .route("/-/healthy", get(lifecycle::healthy))
        .route("/-/ready", get(lifecycle::ready))
        .route("/-/reload", post(lifecycle::reload).put(lifecycle::reload))
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
