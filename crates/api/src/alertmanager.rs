//! Alertmanager's API v2 (`/api/v2/alerts`, `/alerts/groups`, `/silences`, `/silence/{id}`,
//! `/status`, `/receivers`) and tocsin's alerting extensions under `/api/tocsin/v1/`, as thin
//! handlers over the alerting stage, which the composition root provides through
//! [`AlertmanagerApi`]. The stage builds the JSON, so this crate knows nothing of routing.

use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// An API answer: JSON on success, a status and message otherwise.
pub type ApiResult = Result<serde_json::Value, (u16, String)>;

/// The future of an API call that writes.
pub type ApiFuture<'a> = Pin<Box<dyn Future<Output = ApiResult> + Send + 'a>>;

/// Query parameters in order, decoded; repeated keys (`filter`) stay separate.
pub type Params = Vec<(String, String)>;

/// The alerting stage as the HTTP layer sees it.
pub trait AlertmanagerApi: Send + Sync {
    /// `GET /api/v2/alerts`.
    fn get_alerts(&self, params: &Params) -> ApiResult;
    /// `POST /api/v2/alerts`; answers once the alerts are stored.
    fn post_alerts(&self, body: Bytes) -> ApiFuture<'_>;
    /// `GET /api/v2/alerts/groups`.
    fn get_groups(&self, params: &Params) -> ApiResult;
    /// `GET /api/v2/silences`.
    fn get_silences(&self, params: &Params) -> ApiResult;
    /// `POST /api/v2/silences`.
    fn post_silence(&self, body: Bytes) -> ApiFuture<'_>;
    /// `GET /api/v2/silence/{id}`.
    fn get_silence(&self, id: &str) -> ApiResult;
    /// `DELETE /api/v2/silence/{id}`.
    fn delete_silence(&self, id: String) -> ApiFuture<'_>;
    /// `GET /api/v2/status`.
    fn status(&self) -> ApiResult;
    /// `GET /api/v2/receivers`.
    fn receivers(&self) -> ApiResult;
    /// `GET /api/tocsin/v1/alerts/history`.
    fn history(&self, params: Params) -> ApiFuture<'_>;
    /// `GET /api/tocsin/v1/alerts/groups`: groups with their keys and acknowledgements.
    fn tocsin_groups(&self, params: &Params) -> ApiResult {
        let _ = params;
        Err((501, "alert groups are not served here".to_owned()))
    }
    /// `POST /api/tocsin/v1/alerts/groups/{group_key}/ack`.
    fn ack_group(&self, group_key: String, body: Bytes) -> ApiFuture<'_> {
        let _ = (group_key, body);
        Box::pin(async { Err((501, "acknowledgements are not served here".to_owned())) })
    }
    /// `DELETE /api/tocsin/v1/alerts/groups/{group_key}/ack`.
    fn unack_group(&self, group_key: String) -> ApiFuture<'_> {
        let _ = group_key;
        Box::pin(async { Err((501, "acknowledgements are not served here".to_owned())) })
    }
}

/// Decodes `a=1&b=%20x` (with `+` as space).
pub fn parse_query(query: Option<&str>) -> Params {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(result: ApiResult) -> Response {
    match result {
        Ok(serde_json::Value::Null) => StatusCode::OK.into_response(),
        Ok(value) => (
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response(),
        Err((status, message)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::Value::String(message).to_string(),
        )
            .into_response(),
    }
}

fn unavailable() -> Response {
    respond(Err((
        503,
        "alerting is not running on this server".to_owned(),
    )))
}

macro_rules! stage {
    ($state:expr) => {
        match $state.alerting.clone() {
            Some(stage) => stage,
            None => return unavailable(),
        }
    };
}

pub(crate) async fn get_alerts(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).get_alerts(&parse_query(q.as_deref())))
}

pub(crate) async fn post_alerts(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).post_alerts(body).await)
}

pub(crate) async fn get_groups(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).get_groups(&parse_query(q.as_deref())))
}

pub(crate) async fn get_silences(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).get_silences(&parse_query(q.as_deref())))
}

pub(crate) async fn post_silence(State(state): State<AppState>, body: Bytes) -> Response {
    respond(stage!(state).post_silence(body).await)
}

pub(crate) async fn get_silence(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(stage!(state).get_silence(&id))
}

pub(crate) async fn delete_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    respond(stage!(state).delete_silence(id).await)
}

pub(crate) async fn status(State(state): State<AppState>) -> Response {
    respond(stage!(state).status())
}

pub(crate) async fn receivers(State(state): State<AppState>) -> Response {
    respond(stage!(state).receivers())
}

pub(crate) async fn history(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).history(parse_query(q.as_deref())).await)
}

pub(crate) async fn tocsin_groups(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(stage!(state).tocsin_groups(&parse_query(q.as_deref())))
}

pub(crate) async fn ack_group(
    State(state): State<AppState>,
    Path(group_key): Path<String>,
    body: Bytes,
) -> Response {
    respond(stage!(state).ack_group(group_key, body).await)
}

pub(crate) async fn unack_group(
    State(state): State<AppState>,
    Path(group_key): Path<String>,
) -> Response {
    respond(stage!(state).unack_group(group_key).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_repeated_keys() {
        assert_eq!(
            parse_query(Some(
                "filter=alertname%3D%22x%22&filter=a%3Db&active=false&x"
            )),
            vec![
                ("filter".to_owned(), "alertname=\"x\"".to_owned()),
                ("filter".to_owned(), "a=b".to_owned()),
                ("active".to_owned(), "false".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        assert_eq!(decode("a+b%2"), "a b%2");
    }
}
