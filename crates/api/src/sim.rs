//! The fleet simulator's API (`/api/tocsin/v1/sim…`): what is simulated and which faults are
//! pending, active or over, and mitigations (the demo's responder and drill trainees apply
//! them here). Thin handlers over the sim stage the composition root provides through
//! [`SimApi`]; answers use Prometheus's envelope (`{"status":"success","data":…}`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;
use crate::alertmanager::ApiFuture;

/// The simulator stage as the HTTP layer sees it. Errors are `(status, message)`.
pub trait SimApi: Send + Sync {
    /// `GET /api/tocsin/v1/sim`: seed, services, regions, series and faults with their status.
    fn status(&self) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/sim/mitigations`: applies a mitigation (JSON body with `action`
    /// and its fields); answers the ids of the faults it ended.
    fn mitigate(&self, body: Bytes) -> ApiFuture<'_>;
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tocsin/v1/sim", get(status))
        .route("/api/tocsin/v1/sim/mitigations", post(mitigate))
}

fn respond(result: crate::ApiResult) -> Response {
    crate::json::enveloped(result)
}

macro_rules! stage {
    ($state:expr) => {
        match $state.sim.clone() {
            Some(stage) => stage,
            None => {
                return respond(Err((
                    404,
                    "this server runs no simulator; add a `simulator:` section to tocsin.yml or run `tocsin demo`"
                        .to_owned(),
                )));
            }
        }
    };
}

async fn status(State(state): State<AppState>) -> Response {
    respond(stage!(state).status().await)
}

async fn mitigate(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).mitigate(body).await)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::router;

    /// Answers like a sim stage with one pending bad deploy of `web`.
    struct FakeSim;

    impl SimApi for FakeSim {
        fn status(&self) -> ApiFuture<'_> {
            Box::pin(async {
                Ok(serde_json::json!({"seed": 1, "services": 50, "faults": [
                    {"id": 0, "kind": "bad_deploy", "target": "web", "status": "pending"}]}))
            })
        }
        fn mitigate(&self, body: Bytes) -> ApiFuture<'_> {
            Box::pin(async move {
                let v: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| (400, format!("body is not JSON: {e}")))?;
                match v["action"].as_str() {
                    Some("rollback") if v["service"] == "web" => {
                        Ok(serde_json::json!({"ended_faults": [0]}))
                    }
                    Some("rollback") => Err((400, "service: unknown service".to_owned())),
                    _ => Err((400, "action: unknown action".to_owned())),
                }
            })
        }
    }

    fn app(sim: Option<Arc<dyn SimApi>>) -> Router {
        router(AppState {
            sim,
            ..crate::test_support::bare_state()
        })
    }

    async fn call(app: &Router, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn status_and_mitigations_are_wrapped_in_the_envelope() {
        let app = app(Some(Arc::new(FakeSim)));
        let (code, body) = call(&app, "GET", "/api/tocsin/v1/sim", "").await;
        assert_eq!(code, 200);
        assert_eq!(body["status"], "success");
        assert_eq!(body["data"]["faults"][0]["kind"], "bad_deploy");
        let (code, body) = call(
            &app,
            "POST",
            "/api/tocsin/v1/sim/mitigations",
            r#"{"action":"rollback","service":"web"}"#,
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(body["data"]["ended_faults"], serde_json::json!([0]));
    }

    #[tokio::test]
    async fn a_bad_mitigation_is_a_400_naming_the_field() {
        let app = app(Some(Arc::new(FakeSim)));
        let (code, body) = call(
            &app,
            "POST",
            "/api/tocsin/v1/sim/mitigations",
            r#"{"action":"rollback","service":"nope"}"#,
        )
        .await;
        assert_eq!(code, 400);
        assert_eq!(body["status"], "error");
        assert!(body["error"].as_str().unwrap().starts_with("service"));
    }

    #[tokio::test]
    async fn without_a_simulator_both_routes_answer_404_saying_how_to_get_one() {
        let app = app(None);
        for (method, path) in [
            ("GET", "/api/tocsin/v1/sim"),
            ("POST", "/api/tocsin/v1/sim/mitigations"),
        ] {
            let (code, body) = call(&app, method, path, "{}").await;
            assert_eq!(code, 404, "{path}");
            assert!(
                body["error"].as_str().unwrap().contains("simulator:"),
                "{body}"
            );
        }
    }
}
