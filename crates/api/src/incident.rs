//! Incidents (`/api/tocsin/v1/incidents…`, action items, the post-mortem policy) and
//! PagerDuty Events API v2 intake (`/v2/enqueue`, `/v2/change/enqueue`), as thin handlers
//! over the incident stage the composition root provides through [`IncidentApi`]. The stage
//! builds the JSON (see docs/incidents.md).

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;
use crate::alertmanager::{ApiFuture, Params, parse_query};

/// The future of a PagerDuty-compatible call: the status and PagerDuty's JSON body.
pub type EventFuture<'a> = Pin<Box<dyn Future<Output = (u16, serde_json::Value)> + Send + 'a>>;

/// The incident stage as the HTTP layer sees it. Ids are `INC-42` or `42`; errors are
/// `(status, message)`.
pub trait IncidentApi: Send + Sync {
    /// `GET /api/tocsin/v1/incidents?status=&service=&team=&since=&until=&limit=`.
    fn list(&self, params: Params) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents`: opens one by hand.
    fn open(&self, body: Bytes) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/incidents/{id}`: the incident, its times, timeline, alerts,
    /// budget burned and runbook runs.
    fn get(&self, id: String) -> ApiFuture<'_>;
    /// `PATCH /api/tocsin/v1/incidents/{id}`: severity or title.
    fn update(&self, id: String, body: Bytes) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents/{id}/{ack|mitigate|resolve|close|cancel}`.
    fn transition(&self, id: String, verb: String, body: Bytes) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents/{id}/notes`.
    fn note(&self, id: String, body: Bytes) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents/{id}/roles`.
    fn assign(&self, id: String, body: Bytes) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/incidents/{id}/timeline`.
    fn timeline(&self, id: String) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents/{id}/actions/{name}`: runs a runbook action.
    fn run_action(&self, id: String, name: String, body: Bytes) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/incidents/{id}/postmortem`: the Markdown draft.
    fn postmortem(&self, id: String) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents/{id}/postmortem`: stores the draft (or sets its
    /// review status).
    fn save_postmortem(&self, id: String, body: Bytes) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/incidents/{id}/action-items` (`id` = `None`: every item, at
    /// `GET /api/tocsin/v1/action-items`).
    fn action_items(&self, id: Option<String>) -> ApiFuture<'_>;
    /// `POST /api/tocsin/v1/incidents/{id}/action-items`.
    fn add_action_item(&self, id: String, body: Bytes) -> ApiFuture<'_>;
    /// `PATCH /api/tocsin/v1/action-items/{item}`.
    fn update_action_item(&self, item: String, body: Bytes) -> ApiFuture<'_>;
    /// `DELETE /api/tocsin/v1/action-items/{item}`.
    fn delete_action_item(&self, item: String) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/incidents/metrics?from=&to=&service=&team=`.
    fn metrics(&self, params: Params) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/postmortems/policy`.
    fn policy(&self) -> ApiFuture<'_>;
    /// `POST /v2/enqueue`: a PagerDuty Events API v2 alert event.
    fn enqueue(&self, body: Bytes) -> EventFuture<'_>;
    /// `POST /v2/change/enqueue`: a PagerDuty change event.
    fn change_enqueue(&self, body: Bytes) -> EventFuture<'_>;
}

fn respond(result: crate::ApiResult) -> Response {
    crate::json::plain(result)
}

fn respond_event((status, body): (u16, serde_json::Value)) -> Response {
    crate::json::body(status, &body)
}

macro_rules! stage {
    ($state:expr) => {
        match $state.incident.clone() {
            Some(stage) => stage,
            None => {
                return respond(Err((
                    503,
                    "the incident stage is not running on this server".to_owned(),
                )));
            }
        }
    };
}

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tocsin/v1/incidents", get(list).post(open))
        .route("/api/tocsin/v1/incidents/metrics", get(metrics))
        .route("/api/tocsin/v1/incidents/{id}", get(get_one).patch(update))
        .route("/api/tocsin/v1/incidents/{id}/notes", post(note))
        .route("/api/tocsin/v1/incidents/{id}/roles", post(assign))
        .route("/api/tocsin/v1/incidents/{id}/timeline", get(timeline))
        .route(
            "/api/tocsin/v1/incidents/{id}/actions/{name}",
            post(run_action),
        )
        .route(
            "/api/tocsin/v1/incidents/{id}/postmortem",
            get(postmortem).post(save_postmortem),
        )
        .route(
            "/api/tocsin/v1/incidents/{id}/action-items",
            get(action_items).post(add_action_item),
        )
        .route("/api/tocsin/v1/incidents/{id}/{verb}", post(transition))
        .route("/api/tocsin/v1/action-items", get(all_action_items))
        .route(
            "/api/tocsin/v1/action-items/{item}",
            axum::routing::patch(update_action_item).delete(delete_action_item),
        )
        .route("/api/tocsin/v1/postmortems/policy", get(policy))
        .route("/v2/enqueue", post(enqueue))
        .route("/v2/change/enqueue", post(change_enqueue))
}

async fn list(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).list(parse_query(q.as_deref())).await)
}

async fn open(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).open(body).await)
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(stage!(state).get(id).await)
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    respond(stage!(state).update(id, body).await)
}

async fn transition(
    State(state): State<AppState>,
    Path((id, verb)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond(stage!(state).transition(id, verb, body).await)
}

async fn note(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    respond(stage!(state).note(id, body).await)
}

async fn assign(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    respond(stage!(state).assign(id, body).await)
}

async fn timeline(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(stage!(state).timeline(id).await)
}

async fn run_action(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond(stage!(state).run_action(id, name, body).await)
}

async fn postmortem(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(stage!(state).postmortem(id).await)
}

async fn save_postmortem(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond(stage!(state).save_postmortem(id, body).await)
}

async fn action_items(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(stage!(state).action_items(Some(id)).await)
}

async fn all_action_items(State(state): State<AppState>) -> Response {
    respond(stage!(state).action_items(None).await)
}

async fn add_action_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond(stage!(state).add_action_item(id, body).await)
}

async fn update_action_item(
    State(state): State<AppState>,
    Path(item): Path<String>,
    body: Bytes,
) -> Response {
    respond(stage!(state).update_action_item(item, body).await)
}

async fn delete_action_item(State(state): State<AppState>, Path(item): Path<String>) -> Response {
    respond(stage!(state).delete_action_item(item).await)
}

async fn metrics(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).metrics(parse_query(q.as_deref())).await)
}

async fn policy(State(state): State<AppState>) -> Response {
    respond(stage!(state).policy().await)
}

async fn enqueue(State(state): State<AppState>, body: Bytes) -> Response {
    respond_event(stage!(state).enqueue(body).await)
}

async fn change_enqueue(State(state): State<AppState>, body: Bytes) -> Response {
    respond_event(stage!(state).change_enqueue(body).await)
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

    /// Echoes which method was called with which arguments, so routing is visible.
    struct Echo;

    fn echo(call: &str, args: serde_json::Value) -> ApiFuture<'static> {
        let value = serde_json::json!({ "call": call, "args": args });
        Box::pin(async move { Ok(value) })
    }

    fn text(body: &Bytes) -> String {
        String::from_utf8_lossy(body).into_owned()
    }

    impl IncidentApi for Echo {
        fn list(&self, params: Params) -> ApiFuture<'_> {
            echo("list", serde_json::json!(params))
        }
        fn open(&self, body: Bytes) -> ApiFuture<'_> {
            echo("open", serde_json::json!(text(&body)))
        }
        fn get(&self, id: String) -> ApiFuture<'_> {
            if id == "INC-404" {
                return Box::pin(async { Err((404, "no incident INC-404".to_owned())) });
            }
            echo("get", serde_json::json!(id))
        }
        fn update(&self, id: String, _body: Bytes) -> ApiFuture<'_> {
            echo("update", serde_json::json!(id))
        }
        fn transition(&self, id: String, verb: String, _body: Bytes) -> ApiFuture<'_> {
            echo("transition", serde_json::json!([id, verb]))
        }
        fn note(&self, id: String, _body: Bytes) -> ApiFuture<'_> {
            echo("note", serde_json::json!(id))
        }
        fn assign(&self, id: String, _body: Bytes) -> ApiFuture<'_> {
            echo("assign", serde_json::json!(id))
        }
        fn timeline(&self, id: String) -> ApiFuture<'_> {
            echo("timeline", serde_json::json!(id))
        }
        fn run_action(&self, id: String, name: String, _body: Bytes) -> ApiFuture<'_> {
            echo("run_action", serde_json::json!([id, name]))
        }
        fn postmortem(&self, id: String) -> ApiFuture<'_> {
            echo("postmortem", serde_json::json!(id))
        }
        fn save_postmortem(&self, id: String, _body: Bytes) -> ApiFuture<'_> {
            echo("save_postmortem", serde_json::json!(id))
        }
        fn action_items(&self, id: Option<String>) -> ApiFuture<'_> {
            echo("action_items", serde_json::json!(id))
        }
        fn add_action_item(&self, id: String, _body: Bytes) -> ApiFuture<'_> {
            echo("add_action_item", serde_json::json!(id))
        }
        fn update_action_item(&self, item: String, _body: Bytes) -> ApiFuture<'_> {
            echo("update_action_item", serde_json::json!(item))
        }
        fn delete_action_item(&self, item: String) -> ApiFuture<'_> {
            echo("delete_action_item", serde_json::json!(item))
        }
        fn metrics(&self, params: Params) -> ApiFuture<'_> {
            echo("metrics", serde_json::json!(params))
        }
        fn policy(&self) -> ApiFuture<'_> {
            echo("policy", serde_json::Value::Null)
        }
        fn enqueue(&self, body: Bytes) -> EventFuture<'_> {
            let len = body.len();
            Box::pin(async move {
                (
                    202,
                    serde_json::json!({ "status": "success", "bytes": len }),
                )
            })
        }
        fn change_enqueue(&self, _body: Bytes) -> EventFuture<'_> {
            Box::pin(async { (400, serde_json::json!({ "status": "invalid event" })) })
        }
    }

    fn app(incident: Option<Arc<dyn IncidentApi>>) -> Router {
        router(AppState {
            incident,
            ..crate::test_support::bare_state()
        })
    }

    async fn call(app: &Router, method: &str, path: &str) -> (u16, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::from("{}"))
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("response");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn routes_reach_the_right_method() {
        let app = app(Some(Arc::new(Echo)));
        let cases = [
            ("GET", "/api/tocsin/v1/incidents?status=open", "list"),
            ("POST", "/api/tocsin/v1/incidents", "open"),
            ("GET", "/api/tocsin/v1/incidents/metrics?from=7d", "metrics"),
            ("GET", "/api/tocsin/v1/incidents/INC-1", "get"),
            ("PATCH", "/api/tocsin/v1/incidents/INC-1", "update"),
            ("POST", "/api/tocsin/v1/incidents/INC-1/ack", "transition"),
            ("POST", "/api/tocsin/v1/incidents/INC-1/notes", "note"),
            ("POST", "/api/tocsin/v1/incidents/INC-1/roles", "assign"),
            ("GET", "/api/tocsin/v1/incidents/INC-1/timeline", "timeline"),
            (
                "POST",
                "/api/tocsin/v1/incidents/INC-1/actions/restart",
                "run_action",
            ),
            (
                "GET",
                "/api/tocsin/v1/incidents/INC-1/postmortem",
                "postmortem",
            ),
            (
                "POST",
                "/api/tocsin/v1/incidents/INC-1/postmortem",
                "save_postmortem",
            ),
            (
                "GET",
                "/api/tocsin/v1/incidents/INC-1/action-items",
                "action_items",
            ),
            (
                "POST",
                "/api/tocsin/v1/incidents/INC-1/action-items",
                "add_action_item",
            ),
            ("GET", "/api/tocsin/v1/action-items", "action_items"),
            (
                "PATCH",
                "/api/tocsin/v1/action-items/3",
                "update_action_item",
            ),
            (
                "DELETE",
                "/api/tocsin/v1/action-items/3",
                "delete_action_item",
            ),
            ("GET", "/api/tocsin/v1/postmortems/policy", "policy"),
        ];
        for (method, path, want) in cases {
            let (status, body) = call(&app, method, path).await;
            assert_eq!(
                (status, body["call"].as_str()),
                (200, Some(want)),
                "{method} {path}: {body}"
            );
        }
        let (_, body) = call(&app, "POST", "/api/tocsin/v1/incidents/42/resolve").await;
        assert_eq!(body["args"], serde_json::json!(["42", "resolve"]));
        let (_, body) = call(&app, "GET", "/api/tocsin/v1/incidents?status=open").await;
        assert_eq!(body["args"], serde_json::json!([["status", "open"]]));
        assert_eq!(
            call(&app, "GET", "/api/tocsin/v1/incidents/INC-404").await,
            (404, serde_json::json!({"error": "no incident INC-404"}))
        );
        assert_eq!(
            call(&app, "POST", "/v2/enqueue").await,
            (202, serde_json::json!({"status": "success", "bytes": 2}))
        );
        assert_eq!(call(&app, "POST", "/v2/change/enqueue").await.0, 400);
    }

    #[tokio::test]
    async fn without_the_stage_every_route_says_so() {
        let app = app(None);
        for (method, path) in [
            ("GET", "/api/tocsin/v1/incidents"),
            ("POST", "/v2/enqueue"),
            ("GET", "/api/tocsin/v1/postmortems/policy"),
        ] {
            assert_eq!(
                call(&app, method, path).await,
                (
                    503,
                    serde_json::json!({"error": "the incident stage is not running on this server"})
                )
            );
        }
    }
}
