//! tocsin's on-call API (`/api/tocsin/v1/oncall/…`): who is on call, the directory (users,
//! teams, services, schedules, escalation policies), shifts, overrides, reports, inboxes,
//! escalations and iCal feeds, as thin handlers over the on-call stage the composition root
//! provides through [`OncallApi`]. The stage builds the JSON (see docs/oncall.md).

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::alertmanager::{ApiFuture, Params, parse_query};

/// The future of a call answering text (iCal).
pub type TextFuture<'a> = Pin<Box<dyn Future<Output = Result<String, (u16, String)>> + Send + 'a>>;

/// The on-call stage as the HTTP layer sees it. Errors are `(status, message)`.
pub trait OncallApi: Send + Sync {
    /// `GET /oncall/who?schedule=&at=`: who is on call now or at `at`.
    fn who(&self, params: Params) -> ApiFuture<'_>;
    /// `GET /oncall/{kind}`: every object of a kind (`users`, `teams`, `services`,
    /// `schedules`, `escalation_policies`).
    fn list(&self, kind: String) -> ApiFuture<'_>;
    /// `GET /oncall/{kind}/{id}`.
    fn get(&self, kind: String, id: String) -> ApiFuture<'_>;
    /// `PUT /oncall/{kind}/{id}`: creates or replaces an API-made object (JSON).
    fn put(&self, kind: String, id: String, body: Bytes) -> ApiFuture<'_>;
    /// `DELETE /oncall/{kind}/{id}`.
    fn delete(&self, kind: String, id: String) -> ApiFuture<'_>;
    /// `GET /oncall/schedules/{id}/shifts?from=&to=`.
    fn shifts(&self, schedule: String, params: Params) -> ApiFuture<'_>;
    /// `GET /oncall/schedules/{id}/report?from=&to=`.
    fn report(&self, schedule: String, params: Params) -> ApiFuture<'_>;
    /// `GET /oncall/schedules/{id}/overrides`.
    fn overrides(&self, schedule: String) -> ApiFuture<'_>;
    /// `POST /oncall/schedules/{id}/overrides`: JSON `user`, `replaces`, `start`, `end`, `by`.
    fn create_override(&self, schedule: String, body: Bytes) -> ApiFuture<'_>;
    /// `DELETE /oncall/schedules/{id}/overrides/{override}`.
    fn delete_override(&self, schedule: String, id: String) -> ApiFuture<'_>;
    /// `GET /oncall/users/{id}/inbox?unread=true&limit=`.
    fn inbox(&self, user: String, params: Params) -> ApiFuture<'_>;
    /// `POST /oncall/users/{id}/inbox/{item}/ack`: acknowledges the item's escalation as the
    /// user (optional JSON `expires`).
    fn inbox_ack(&self, user: String, item: String, body: Bytes) -> ApiFuture<'_>;
    /// `GET /oncall/escalations?all=true`.
    fn escalations(&self, params: Params) -> ApiFuture<'_>;
    /// `POST /oncall/escalations`: JSON `key`, `policy`, `page`.
    fn start_escalation(&self, body: Bytes) -> ApiFuture<'_>;
    /// `POST /oncall/escalations/ack`: JSON `key`, `by`, optional `expires`.
    fn ack_escalation(&self, body: Bytes) -> ApiFuture<'_>;
    /// `POST /oncall/escalations/resolve`: JSON `key`.
    fn resolve_escalation(&self, body: Bytes) -> ApiFuture<'_>;
    /// `GET /oncall/{schedules|users}/{id}/ical?from=&to=`: an RFC 5545 calendar.
    fn ical(&self, kind: String, id: String, params: Params) -> TextFuture<'_>;
}

fn respond(result: crate::ApiResult) -> Response {
    crate::json::plain(result)
}

fn error(status: u16, message: &str) -> Response {
    crate::json::body(status, &serde_json::json!({ "error": message }))
}

macro_rules! stage {
    ($state:expr) => {
        match $state.oncall.clone() {
            Some(stage) => stage,
            None => return error(503, "the on-call stage is not running on this server"),
        }
    };
}

/// The on-call routes.
pub(crate) fn routes() -> Router<AppState> {
    const BASE: &str = "/api/tocsin/v1/oncall";
    Router::new()
        .route(&format!("{BASE}/who"), get(who))
        .route(
            &format!("{BASE}/escalations"),
            get(escalations).post(start_escalation),
        )
        .route(&format!("{BASE}/escalations/ack"), post(ack_escalation))
        .route(
            &format!("{BASE}/escalations/resolve"),
            post(resolve_escalation),
        )
        .route(&format!("{BASE}/schedules/{{id}}/shifts"), get(shifts))
        .route(&format!("{BASE}/schedules/{{id}}/report"), get(report))
        .route(
            &format!("{BASE}/schedules/{{id}}/overrides"),
            get(overrides).post(create_override),
        )
        .route(
            &format!("{BASE}/schedules/{{id}}/overrides/{{override_id}}"),
            axum::routing::delete(delete_override),
        )
        .route(&format!("{BASE}/{{kind}}/{{id}}/ical"), get(ical))
        .route(&format!("{BASE}/users/{{id}}/inbox"), get(inbox))
        .route(
            &format!("{BASE}/users/{{id}}/inbox/{{item}}/ack"),
            post(inbox_ack),
        )
        .route(&format!("{BASE}/{{kind}}"), get(list))
        .route(
            &format!("{BASE}/{{kind}}/{{id}}"),
            get(get_one).put(put).delete(delete),
        )
}

async fn who(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).who(parse_query(q.as_deref())).await)
}

async fn list(State(state): State<AppState>, Path(kind): Path<String>) -> Response {
    respond(stage!(state).list(kind).await)
}

async fn get_one(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    respond(stage!(state).get(kind, id).await)
}

async fn put(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond(stage!(state).put(kind, id, body).await)
}

async fn delete(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    respond(stage!(state).delete(kind, id).await)
}

async fn shifts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(stage!(state).shifts(id, parse_query(q.as_deref())).await)
}

async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(stage!(state).report(id, parse_query(q.as_deref())).await)
}

async fn overrides(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(stage!(state).overrides(id).await)
}

async fn create_override(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond(stage!(state).create_override(id, body).await)
}

async fn delete_override(
    State(state): State<AppState>,
    Path((id, override_id)): Path<(String, String)>,
) -> Response {
    respond(stage!(state).delete_override(id, override_id).await)
}

async fn inbox(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(stage!(state).inbox(id, parse_query(q.as_deref())).await)
}

async fn inbox_ack(
    State(state): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond(stage!(state).inbox_ack(id, item, body).await)
}

async fn escalations(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).escalations(parse_query(q.as_deref())).await)
}

async fn start_escalation(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).start_escalation(body).await)
}

async fn ack_escalation(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).ack_escalation(body).await)
}

async fn resolve_escalation(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).resolve_escalation(body).await)
}

async fn ical(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    match stage!(state)
        .ical(kind, id, parse_query(q.as_deref()))
        .await
    {
        Ok(text) => (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            text,
        )
            .into_response(),
        Err((status, message)) => error(status, &message),
    }
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

    /// Answers with the name of the method called and its arguments, so the test sees
    /// which route reached which method.
    struct Echo;

    fn echo(call: String) -> ApiFuture<'static> {
        Box::pin(async move { Ok(serde_json::json!({ "call": call })) })
    }

    impl OncallApi for Echo {
        fn who(&self, p: Params) -> ApiFuture<'_> {
            echo(format!("who {p:?}"))
        }
        fn list(&self, kind: String) -> ApiFuture<'_> {
            echo(format!("list {kind}"))
        }
        fn get(&self, kind: String, id: String) -> ApiFuture<'_> {
            echo(format!("get {kind} {id}"))
        }
        fn put(&self, kind: String, id: String, body: Bytes) -> ApiFuture<'_> {
            echo(format!(
                "put {kind} {id} {}",
                String::from_utf8_lossy(&body)
            ))
        }
        fn delete(&self, kind: String, id: String) -> ApiFuture<'_> {
            echo(format!("delete {kind} {id}"))
        }
        fn shifts(&self, s: String, p: Params) -> ApiFuture<'_> {
            echo(format!("shifts {s} {p:?}"))
        }
        fn report(&self, s: String, p: Params) -> ApiFuture<'_> {
            echo(format!("report {s} {p:?}"))
        }
        fn overrides(&self, s: String) -> ApiFuture<'_> {
            echo(format!("overrides {s}"))
        }
        fn create_override(&self, s: String, _: Bytes) -> ApiFuture<'_> {
            echo(format!("create_override {s}"))
        }
        fn delete_override(&self, s: String, id: String) -> ApiFuture<'_> {
            echo(format!("delete_override {s} {id}"))
        }
        fn inbox(&self, u: String, p: Params) -> ApiFuture<'_> {
            echo(format!("inbox {u} {p:?}"))
        }
        fn inbox_ack(&self, u: String, item: String, _: Bytes) -> ApiFuture<'_> {
            echo(format!("inbox_ack {u} {item}"))
        }
        fn escalations(&self, p: Params) -> ApiFuture<'_> {
            echo(format!("escalations {p:?}"))
        }
        fn start_escalation(&self, _: Bytes) -> ApiFuture<'_> {
            echo("start_escalation".into())
        }
        fn ack_escalation(&self, _: Bytes) -> ApiFuture<'_> {
            echo("ack_escalation".into())
        }
        fn resolve_escalation(&self, _: Bytes) -> ApiFuture<'_> {
            Box::pin(async { Err((404, "no escalation".to_owned())) })
        }
        fn ical(&self, kind: String, id: String, _: Params) -> TextFuture<'_> {
            Box::pin(async move {
                Ok(format!(
                    "BEGIN:VCALENDAR\r\nX-FOR:{kind}/{id}\r\nEND:VCALENDAR\r\n"
                ))
            })
        }
    }

    fn app(oncall: Option<Arc<dyn OncallApi>>) -> Router {
        router(AppState {
            oncall,
            ..crate::test_support::bare_state()
        })
    }

    async fn call(app: &Router, method: &str, path: &str) -> (u16, String, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::from("{}"))
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
        (
            status,
            content_type,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn each_route_reaches_its_method_and_static_segments_win() {
        let app = app(Some(Arc::new(Echo)));
        let base = "/api/tocsin/v1/oncall";
        for (method, path, expected) in [
            (
                "GET",
                "/who?schedule=primary",
                r#"who [(\"schedule\", \"primary\")]"#,
            ),
            ("GET", "/escalations", "escalations []"),
            ("POST", "/escalations", "start_escalation"),
            ("POST", "/escalations/ack", "ack_escalation"),
            ("GET", "/users", "list users"),
            ("GET", "/users/alice", "get users alice"),
            ("PUT", "/teams/sre", "put teams sre {}"),
            ("DELETE", "/teams/sre", "delete teams sre"),
            (
                "GET",
                "/schedules/primary/shifts?from=1",
                r#"shifts primary [(\"from\", \"1\")]"#,
            ),
            ("GET", "/schedules/primary/report", "report primary []"),
            ("GET", "/schedules/primary/overrides", "overrides primary"),
            (
                "POST",
                "/schedules/primary/overrides",
                "create_override primary",
            ),
            (
                "DELETE",
                "/schedules/primary/overrides/o1",
                "delete_override primary o1",
            ),
            ("GET", "/users/alice/inbox", "inbox alice []"),
            ("POST", "/users/alice/inbox/7/ack", "inbox_ack alice 7"),
        ] {
            let (status, content_type, body) = call(&app, method, &format!("{base}{path}")).await;
            assert_eq!(
                (status, content_type.as_str()),
                (200, "application/json"),
                "{method} {path}: {body}"
            );
            assert!(
                body.contains(expected),
                "{method} {path}: {body} lacks {expected}"
            );
        }
        let (status, _, body) = call(&app, "POST", &format!("{base}/escalations/resolve")).await;
        assert_eq!(
            (status, body.as_str()),
            (404, r#"{"error":"no escalation"}"#)
        );
        let (status, content_type, body) =
            call(&app, "GET", &format!("{base}/schedules/primary/ical")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "text/calendar; charset=utf-8")
        );
        assert!(body.contains("X-FOR:schedules/primary\r\n"), "{body}");

        let (status, _, body) = call(&self::app(None), "GET", &format!("{base}/who")).await;
        assert_eq!(status, 503, "{body}");
    }
}
