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
    /// `POST /api/tocsin/v1/alerts/feedback`: JSON `{notification | group_key [+ receiver],
    /// verdict, by, comment}`; answers the recorded feedback.
    fn feedback(&self, body: Bytes) -> ApiFuture<'_> {
        let _ = body;
        Box::pin(async { Err((501, "feedback is not served here".to_owned())) })
    }
    /// `GET /api/tocsin/v1/alerts/report?by=&from=&to=&step=`: alert volume and noise.
    fn report(&self, params: Params) -> ApiFuture<'_> {
        let _ = params;
        Box::pin(async { Err((501, "the noise report is not served here".to_owned())) })
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

pub(crate) async fn report(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    respond(stage!(state).report(parse_query(q.as_deref())).await)
}

/// Escapes text for HTML (attribute values included).
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} - tocsin</title>\
             <style>body{{font-family:sans-serif;max-width:36em;margin:2em auto}}\
             button{{font-size:1.1em;margin-right:1em}}</style></head><body>\
             <h1>{title}</h1>{body}</body></html>"
        ),
    )
        .into_response()
}

/// `GET /api/tocsin/v1/alerts/feedback?notification=ID`: the page notifications link to, with
/// one button per verdict. Following the link records nothing (chat link unfurlers and mail
/// scanners fetch links); the buttons POST the form.
pub(crate) async fn feedback_form(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Response {
    let _stage = stage!(state);
    let params = parse_query(q.as_deref());
    let get = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let (id, group, receiver) = (get("notification"), get("group_key"), get("receiver"));
    if id.is_empty() && group.is_empty() {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Feedback",
            "<p>This page needs <code>?notification=ID</code> (the id a notification carries) \
             or <code>?group_key=KEY&amp;receiver=NAME</code>.</p>",
        );
    }
    let target = if id.is_empty() {
        format!(
            "<input type=\"hidden\" name=\"group_key\" value=\"{}\">\
             <input type=\"hidden\" name=\"receiver\" value=\"{}\">",
            html_escape(group),
            html_escape(receiver)
        )
    } else {
        format!(
            "<input type=\"hidden\" name=\"notification\" value=\"{}\">",
            html_escape(id)
        )
    };
    let what = if id.is_empty() {
        format!("alert group <code>{}</code>", html_escape(group))
    } else {
        format!("notification <code>{}</code>", html_escape(id))
    };
    html_page(
        StatusCode::OK,
        "Was this alert worth it?",
        &format!(
            "<p>Your answer about {what} feeds the noise report \
             (<code>tocsin alerts report</code>).</p>\
             <form method=\"post\">{target}\
             <p><label>Your name <input name=\"by\" required></label></p>\
             <p><label>Comment <input name=\"comment\" size=\"40\"></label></p>\
             <p><button name=\"verdict\" value=\"actionable\">Actionable: someone had to act</button>\
             <button name=\"verdict\" value=\"noise\">Noise: nothing to do</button></p></form>"
        ),
    )
}

/// `POST /api/tocsin/v1/alerts/feedback`: JSON (answers JSON) or the feedback page's form
/// (answers a page).
pub(crate) async fn post_feedback(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let stage = stage!(state);
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return respond(stage.feedback(body).await);
    }
    let fields: serde_json::Map<String, serde_json::Value> =
        parse_query(Some(&String::from_utf8_lossy(&body)))
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
    let json = serde_json::Value::Object(fields).to_string();
    match stage.feedback(Bytes::from(json)).await {
        Ok(recorded) => html_page(
            StatusCode::OK,
            "Thank you",
            &format!(
                "<p>Recorded: {} for {}.</p>",
                html_escape(recorded["verdict"].as_str().unwrap_or_default()),
                html_escape(recorded["alertname"].as_str().unwrap_or("this alert"))
            ),
        ),
        Err((status, message)) => html_page(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Feedback not recorded",
            &format!("<p>{}</p>", html_escape(&message)),
        ),
    }
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

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
