//! JSON answers of tocsin's own APIs (`/api/tocsin/v1/...`): `ApiResult` to a response.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A JSON body with `status` (an unknown code becomes 500).
pub(crate) fn body(status: u16, body: &serde_json::Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The value itself, or `{"error": message}` with the error's status.
pub(crate) fn plain(result: crate::ApiResult) -> Response {
    match result {
        Ok(value) => body(200, &value),
        Err((status, message)) => body(status, &serde_json::json!({ "error": message })),
    }
}

/// Prometheus's envelope: `{"status": "success", "data": …}` or `{"status": "error",
/// "error": message}` with the error's status.
pub(crate) fn enveloped(result: crate::ApiResult) -> Response {
    match result {
        Ok(data) => body(
            200,
            &serde_json::json!({ "status": "success", "data": data }),
        ),
        Err((status, message)) => body(
            status,
            &serde_json::json!({ "status": "error", "error": message }),
        ),
    }
}
