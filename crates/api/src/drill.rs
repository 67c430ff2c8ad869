//! The incident drill's API (`/api/tocsin/v1/drill…`): the running drill's briefing and what
//! the trainee did so far, and the trainee's moves that are not ordinary API calls: naming the
//! faulty service and cause, submitting the post-mortem, finishing (answers the score report).
//! The UI reports page views here. Queries are recorded by the query handlers through
//! [`DrillApi::record_query`]. Thin handlers over the drill stage the composition root
//! provides; answers use Prometheus's envelope (`{"status":"success","data":…}`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;
use crate::alertmanager::ApiFuture;

/// The drill stage as the HTTP layer sees it. Errors are `(status, message)`.
pub trait DrillApi: Send + Sync {
    /// `GET /api/tocsin/v1/drill`: scenario, briefing, start, events so far, finished or not
    /// (the handler adds `"active": true`).
    fn status(&self) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/drill/identify` (`{"service":…,"cause":…}`).
    fn identify(&self, body: Bytes) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/drill/postmortem` (`{"markdown":…}` or the Markdown itself).
    fn postmortem(&self, body: Bytes) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/drill/finish`: ends the drill; answers the score report.
    fn finish(&self) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/drill/views` (`{"page":"/ui/#/slo/x"}`).
    fn view(&self, body: Bytes) -> ApiFuture<'_>;
    /// A PromQL expression a client ran through `/api/v1/query` or `/api/v1/query_range`.
    fn record_query(&self, expr: &str);
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tocsin/v1/drill", get(status))
        .route("/api/tocsin/v1/drill/identify", post(identify))
        .route("/api/tocsin/v1/drill/postmortem", post(postmortem))
        .route("/api/tocsin/v1/drill/finish", post(finish))
        .route("/api/tocsin/v1/drill/views", post(view))
}

fn respond(result: crate::ApiResult) -> Response {
    crate::json::enveloped(result)
}

macro_rules! stage {
    ($state:expr) => {
        match $state.drill.clone() {
            Some(stage) => stage,
            None => {
                return respond(Err((
                    404,
                    "no drill is running on this server; start one with `tocsin drill run SCENARIO` (see `tocsin drill list`)"
                        .to_owned(),
                )));
            }
        }
    };
}

/// Answers 200 with `"active": false` when no drill runs: the UI asks on every page, and a
/// 404 would show as a console error in browsers.
async fn status(State(state): State<AppState>) -> Response {
    match state.drill.clone() {
        Some(stage) => respond(stage.status().await.map(|mut data| {
            data["active"] = serde_json::Value::Bool(true);
            data
        })),
        None => respond(Ok(serde_json::json!({ "active": false }))),
    }
}

async fn identify(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).identify(body).await)
}

async fn postmortem(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).postmortem(body).await)
}

async fn finish(State(state): State<AppState>) -> Response {
    respond(stage!(state).finish().await)
}

async fn view(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).view(body).await)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use parking_lot::Mutex;
    use tower::ServiceExt;

    use super::*;
    use crate::router;

    /// Keeps what it is told; identify needs a service.
    #[derive(Default)]
    struct FakeDrill {
        seen: Mutex<Vec<String>>,
    }

    impl DrillApi for FakeDrill {
        fn status(&self) -> ApiFuture<'_> {
            Box::pin(async move {
                Ok(
                    serde_json::json!({"scenario": "bad-deploy", "events": self.seen.lock().clone()}),
                )
            })
        }
        fn identify(&self, body: Bytes) -> ApiFuture<'_> {
            Box::pin(async move {
                let v: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| (400, format!("body is not JSON: {e}")))?;
                let service = v["service"]
                    .as_str()
                    .ok_or((400, "service: missing".to_owned()))?;
                self.seen.lock().push(format!("identify {service}"));
                Ok(serde_json::json!({"recorded": true}))
            })
        }
        fn postmortem(&self, _body: Bytes) -> ApiFuture<'_> {
            Box::pin(async move {
                self.seen.lock().push("postmortem".to_owned());
                Ok(serde_json::json!({"recorded": true}))
            })
        }
        fn finish(&self) -> ApiFuture<'_> {
            Box::pin(async { Ok(serde_json::json!({"total": 42.0, "max": 100.0})) })
        }
        fn view(&self, _body: Bytes) -> ApiFuture<'_> {
            Box::pin(async move {
                self.seen.lock().push("view".to_owned());
                Ok(serde_json::json!({"recorded": true}))
            })
        }
        fn record_query(&self, expr: &str) {
            self.seen.lock().push(format!("query {expr}"));
        }
    }

    fn app(drill: Option<Arc<dyn DrillApi>>) -> Router {
        router(AppState {
            drill,
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
    async fn without_a_drill_status_says_inactive_and_moves_are_404() {
        let app = app(None);
        let (code, body) = call(&app, "GET", "/api/tocsin/v1/drill", "").await;
        assert_eq!(code, 200);
        assert_eq!(body["data"]["active"], false);
        let (code, body) = call(&app, "POST", "/api/tocsin/v1/drill/finish", "").await;
        assert_eq!(code, 404);
        assert!(
            body["error"].as_str().unwrap().contains("tocsin drill run"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn moves_and_queries_reach_the_drill() {
        let drill = Arc::new(FakeDrill::default());
        let app = app(Some(Arc::clone(&drill) as Arc<dyn DrillApi>));
        let (code, body) = call(
            &app,
            "POST",
            "/api/tocsin/v1/drill/identify",
            r#"{"service":"web","cause":"deploy"}"#,
        )
        .await;
        assert_eq!(
            (code, &body["status"]),
            (200, &serde_json::json!("success"))
        );
        let (code, body) = call(&app, "POST", "/api/tocsin/v1/drill/identify", "{}").await;
        assert_eq!(code, 400);
        assert_eq!(body["error"], "service: missing");
        call(
            &app,
            "POST",
            "/api/tocsin/v1/drill/views",
            r#"{"page":"/ui/#/"}"#,
        )
        .await;
        // Recorded even though this server has no query engine (the attempt is what counts).
        call(&app, "GET", "/api/v1/query?query=up", "").await;
        call(
            &app,
            "GET",
            "/api/v1/query_range?query=rate(x%5B5m%5D)&start=0&end=60&step=15",
            "",
        )
        .await;
        let (code, body) = call(&app, "GET", "/api/tocsin/v1/drill", "").await;
        assert_eq!(code, 200);
        assert_eq!(body["data"]["active"], true);
        assert_eq!(
            body["data"]["events"],
            serde_json::json!(["identify web", "view", "query up", "query rate(x[5m])"])
        );
        let (code, body) = call(&app, "POST", "/api/tocsin/v1/drill/finish", "").await;
        assert_eq!((code, body["data"]["total"].as_f64()), (200, Some(42.0)));
    }
}
