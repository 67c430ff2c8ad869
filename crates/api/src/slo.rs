//! tocsin's SLO API (`/api/tocsin/v1/slos…`): budgets, the deploy gate and its overrides, as
//! thin handlers over the SLO stage the composition root provides through [`SloApi`]. The
//! stage builds the JSON (see docs/slo.md).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use crate::AppState;
use crate::alertmanager::ApiFuture;

/// The SLO stage as the HTTP layer sees it. Errors are `(status, message)`.
pub trait SloApi: Send + Sync {
    /// `GET /api/tocsin/v1/slos`: every SLO with its budget.
    fn list(&self) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/slos/{name}`: one SLO's spec summary and budget.
    fn get(&self, name: String) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/slos/{name}/gate`: may a release proceed.
    fn gate(&self, name: String) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/slos/{name}/gate/override`: records an override (JSON body with
    /// `reason`, `by`, optional `expires`).
    fn override_gate(&self, name: String, body: Bytes) -> ApiFuture<'_>;
}

fn respond(result: crate::ApiResult) -> Response {
    crate::json::plain(result)
}

macro_rules! stage {
    ($state:expr) => {
        match $state.slo.clone() {
            Some(stage) => stage,
            None => {
                return respond(Err((
                    503,
                    "the SLO stage is not running on this server".to_owned(),
                )));
            }
        }
    };
}

pub(crate) async fn list(State(state): State<AppState>) -> Response {
    respond(stage!(state).list().await)
}

pub(crate) async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    respond(stage!(state).get(name).await)
}

pub(crate) async fn gate(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    respond(stage!(state).gate(name).await)
}

pub(crate) async fn override_gate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    respond(stage!(state).override_gate(name, body).await)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use axum::http::header;

    use super::*;
    use crate::router;

    /// Answers like the SLO stage for one SLO named `checkout`.
    struct FakeSlos;

    fn known(name: &str) -> Result<(), (u16, String)> {
        if name == "checkout" {
            Ok(())
        } else {
            Err((404, format!("no SLO named {name:?}")))
        }
    }

    impl SloApi for FakeSlos {
        fn list(&self) -> ApiFuture<'_> {
            Box::pin(async { Ok(serde_json::json!({"slos": [{"name": "checkout"}]})) })
        }
        fn get(&self, name: String) -> ApiFuture<'_> {
            Box::pin(async move {
                known(&name)?;
                Ok(serde_json::json!({"slo": {"name": name}}))
            })
        }
        fn gate(&self, name: String) -> ApiFuture<'_> {
            Box::pin(async move {
                known(&name)?;
                Ok(serde_json::json!({"slo": name, "allowed": false, "decision": "block"}))
            })
        }
        fn override_gate(&self, name: String, body: Bytes) -> ApiFuture<'_> {
            Box::pin(async move {
                known(&name)?;
                let body: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| (400, e.to_string()))?;
                Ok(serde_json::json!({"override": body}))
            })
        }
    }

    fn app(slo: Option<Arc<dyn SloApi>>) -> axum::Router {
        router(AppState {
            slo,
            ..crate::test_support::bare_state()
        })
    }

    async fn transcript(app: &axum::Router, calls: &[(&str, &str, &str)]) -> String {
        let mut out = String::new();
        for (method, path, body) in calls {
            let request = Request::builder()
                .method(*method)
                .uri(*path)
                .body(Body::from(body.to_string()))
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let _ = writeln!(
                out,
                "{method} {path}\n  {status} {content_type}\n  {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        out
    }

    #[tokio::test]
    async fn routes_reach_the_stage_and_pass_its_answers_through() {
        let calls = [
            ("GET", "/api/tocsin/v1/slos", ""),
            ("GET", "/api/tocsin/v1/slos/checkout", ""),
            ("GET", "/api/tocsin/v1/slos/nope", ""),
            ("GET", "/api/tocsin/v1/slos/checkout/gate", ""),
            (
                "POST",
                "/api/tocsin/v1/slos/checkout/gate/override",
                r#"{"reason":"hotfix","by":"alice"}"#,
            ),
            (
                "POST",
                "/api/tocsin/v1/slos/checkout/gate/override",
                "not json",
            ),
            ("GET", "/api/tocsin/v1/slos/checkout/gate/override", ""),
        ];
        let with_stage = transcript(&app(Some(Arc::new(FakeSlos))), &calls).await;
        insta::assert_snapshot!("with_stage", with_stage);
        let without = transcript(&app(None), &calls[..2]).await;
        insta::assert_snapshot!("without_stage", without);
    }
}
