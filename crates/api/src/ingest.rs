//! `POST /api/v1/write` (remote_write 1.0 and 2.0) and `GET /api/v1/targets`: thin handlers
//! over the ingest stage, which the composition root provides through [`IngestApi`]. This
//! crate knows nothing of decoding, limits or scraping.

use std::future::Future;
use std::pin::Pin;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// A remote_write request as received.
#[derive(Debug, Clone)]
pub struct RemoteWriteRequest {
    /// `X-Scope-OrgID`.
    pub tenant: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// The body as sent.
    pub body: Bytes,
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct RemoteWriteResponse {
    /// HTTP status.
    pub status: u16,
    /// Plain-text body.
    pub message: String,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u64>,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

/// The future of a remote_write call.
pub type RemoteWriteFuture<'a> = Pin<Box<dyn Future<Output = RemoteWriteResponse> + Send + 'a>>;

/// The ingest stage as the HTTP layer sees it.
pub trait IngestApi: Send + Sync {
    /// The largest body (as sent) accepted for `tenant`; reading stops there.
    fn body_limit(&self, tenant: Option<&str>) -> usize;
    /// Stores a remote_write request; answers only once it is durable.
    fn remote_write(&self, request: RemoteWriteRequest) -> RemoteWriteFuture<'_>;
    /// `GET /api/v1/targets` as Prometheus's JSON; `state` is `active`, `dropped` or `any`.
    fn targets_json(&self, state: Option<&str>) -> String;
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

pub(crate) async fn remote_write(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(ingest) = state.ingest.clone() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingestion is not running on this server\n".to_owned(),
        );
    };
    let tenant = header_text(&headers, "x-scope-orgid");
    let limit = ingest.body_limit(tenant.as_deref());
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body of {} bytes is over the limit of {limit} bytes; send smaller batches\n",
                declared.unwrap_or_default()
            ),
        );
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        // http-body-util's limit error; anything else is a broken connection.
        Err(err) if err.to_string().contains("length limit") => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is over the limit of {limit} bytes; send smaller batches\n"),
            );
        }
        Err(err) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {err}\n"),
            );
        }
    };
    let response = ingest
        .remote_write(RemoteWriteRequest {
            tenant,
            content_type: header_text(&headers, header::CONTENT_TYPE),
            content_encoding: header_text(&headers, header::CONTENT_ENCODING),
            body,
        })
        .await;
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        text(status, response.message)
    };
    let out_headers = out.headers_mut();
    if let Some(seconds) = response.retry_after {
        out_headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            out_headers.insert(name, value);
        }
    }
    out
}

pub(crate) async fn targets(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let wanted = query.as_deref().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("state="))
            .map(str::to_owned)
    });
    let Some(ingest) = state.ingest.clone() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingestion is not running on this server\n".to_owned(),
        );
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        ingest.targets_json(wanted.as_deref()),
    )
        .into_response()
}
