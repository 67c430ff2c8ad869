//! For route tests: an `AppState` with no stage at all, to which a test adds the one it
//! exercises (`AppState { sim: Some(fake), ..bare_state() }`).

use std::sync::Arc;

use crate::{
    AppState, HttpMetrics, Readiness, ReloadFuture, Reloader, SecurityHandle, WebSecurity,
};

/// The build every route test reports.
pub(crate) const BUILD: tocsin_telemetry::BuildInfo = tocsin_telemetry::BuildInfo {
    version: "test",
    revision: "test",
    branch: "test",
    build_date: "test",
    rustc_version: "test",
};

/// A reloader that always succeeds and changes nothing.
pub(crate) struct NoReload;

impl Reloader for NoReload {
    fn reload(&self) -> ReloadFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

/// Default web settings (no TLS, no authentication), a fresh registry, and no stage.
pub(crate) fn bare_state() -> AppState {
    let registry = tocsin_telemetry::Registry::new(&BUILD).expect("a fresh registry");
    let web: tocsin_config::WebConfig =
        tocsin_config::yaml::from_str("t.yml", "").expect("the default web config");
    AppState {
        readiness: Arc::new(Readiness::default()),
        security: SecurityHandle::new(
            WebSecurity::from_config(&web, std::path::Path::new("."))
                .expect("the default web security"),
        ),
        reloader: Arc::new(NoReload),
        storage: None,
        ingest: None,
        alerting: None,
        slo: None,
        oncall: None,
        incident: None,
        rules: None,
        sim: None,
        drill: None,
        prometheus: None,
        http_metrics: HttpMetrics::register(&registry).expect("HTTP metrics register once"),
        registry,
        build: BUILD,
    }
}
