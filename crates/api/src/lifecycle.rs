//! `/-/healthy`, `/-/ready` and `/-/reload`, with Prometheus's semantics: healthy whenever the
//! process serves HTTP, ready once start-up has finished, reload on POST or PUT.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// Start-up progress, flipped once every stage is running.
#[derive(Debug, Default)]
pub struct Readiness {
    ready: AtomicBool,
}

impl Readiness {
    /// Marks start-up as finished.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Marks the server as going away (shutdown), so load balancers stop sending requests.
    pub fn set_not_ready(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Whether start-up has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// The future a reload returns: `Err` carries why the new configuration was refused.
pub type ReloadFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Re-reads the configuration and applies it; on failure the old one stays in force.
pub trait Reloader: Send + Sync {
    /// Reloads; the error says what is wrong with the new configuration.
    fn reload(&self) -> ReloadFuture<'_>;
}

pub(crate) async fn healthy() -> &'static str {
    "tocsin is Healthy.\n"
}

pub(crate) async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.readiness.is_ready() {
        (StatusCode::OK, "tocsin is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

pub(crate) async fn reload(State(state): State<AppState>) -> (StatusCode, String) {
    match state.reloader.reload().await {
        Ok(()) => (StatusCode::OK, String::new()),
        Err(reason) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {reason}\n"),
        ),
    }
}
