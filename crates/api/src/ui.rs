//! `/ui/`: the embedded web UI (`tocsin-ui`). Static files only; the pages read the same
//! JSON APIs as the CLI, through the same authentication.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// Scripts, styles, images and requests from this origin only; nothing inline (pages build
/// the DOM from data with text nodes, and the CSP backs that up if one ever slips), no
/// framing, no plugins, forms post only here.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Assets are not content-addressed by name, so the browser revalidates on every use; the
/// ETag makes that a 304 with no body.
const CACHE_CONTROL: &str = "no-cache";

pub(crate) async fn redirect() -> Redirect {
    Redirect::permanent("/ui/")
}

pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve("", &headers)
}

pub(crate) async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = tocsin_ui::asset(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "404 page not found\n",
        )
            .into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).expect("hex etag is a valid header value");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    let common = [
        (header::ETAG, etag),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body.into_owned(),
    )
        .into_response()
}
