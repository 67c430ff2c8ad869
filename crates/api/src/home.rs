//! The home page: a placeholder that later grows into the web UI.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use crate::AppState;

pub(crate) async fn home(State(state): State<AppState>) -> impl IntoResponse {
    let ready = if state.readiness.is_ready() {
        "ready"
    } else {
        "starting"
    };
    let body = include_str!("home.html")
        .replace("{{version}}", state.build.version)
        .replace("{{revision}}", state.build.revision)
        .replace("{{status}}", ready);
    (
        // The page has no scripts and loads nothing from elsewhere; say so to the browser.
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        )],
        Html(body),
    )
}
