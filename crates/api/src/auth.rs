//! Authentication: HTTP basic auth checked against bcrypt hashes (exporter-toolkit
//! compatible) and bearer tokens compared in constant time.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::security::{WebSecurity, sha256};

/// A valid bcrypt hash of a random password: unknown users are checked against it so that
/// the response time does not reveal which user names exist.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// Who made a request, when it authenticated; handlers find it in the request extensions
/// (for audit records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A basic-auth user.
    User(String),
    /// A bearer token, by its configured name.
    Token(String),
}

/// Paths every orchestrator probes without credentials; they reveal nothing.
fn is_probe(path: &str) -> bool {
    path == "/-/healthy" || path == "/-/ready"
}

/// Prometheus API endpoints that accept POST only because long queries do not fit in a URL.
const POST_READS: &[&str] = &[
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/format_query",
];

/// Requests that change state or administer the server never go anonymous.
fn is_read(method: &Method, path: &str) -> bool {
    let read_method = method == Method::GET
        || method == Method::HEAD
        || (method == Method::POST && POST_READS.contains(&path));
    read_method && !path.starts_with("/api/v1/admin/") && !path.starts_with("/-/")
}

pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let security = state.security.current();
    let path = request.uri().path();
    if !security.auth_enabled() || is_probe(path) {
        return next.run(request).await;
    }
    let anonymous_ok = security.anonymous_read && is_read(request.method(), path);
    let credentials = request.headers().get(header::AUTHORIZATION).cloned();
    match credentials {
        None if anonymous_ok => next.run(request).await,
        None => unauthorized(&state, &security),
        Some(value) => match check(&security, &value).await {
            Some(principal) => {
                request.extensions_mut().insert(principal);
                next.run(request).await
            }
            None => {
                // Debug, not info: a brute-force attempt would flood the log. The counter
                // tocsin_http_unauthorized_requests_total shows the volume.
                tracing::debug!(path = %request.uri().path(), "rejected request with wrong credentials");
                unauthorized(&state, &security)
            }
        },
    }
}

fn unauthorized(state: &AppState, security: &WebSecurity) -> Response {
    state.http_metrics.unauthorized.inc();
    let challenge = if security.basic_users.is_empty() {
        "Bearer realm=\"tocsin\""
    } else {
        "Basic realm=\"tocsin\""
    };
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )],
        "Unauthorized\n",
    )
        .into_response()
}

async fn check(security: &std::sync::Arc<WebSecurity>, value: &HeaderValue) -> Option<Principal> {
    let text = value.to_str().ok()?;
    let (scheme, rest) = text.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let digest = sha256(rest.as_bytes());
        // Compare against every token so timing does not reveal which one matched.
        let mut found = None;
        for (name, expected) in &security.bearer_tokens {
            if bool::from(expected.ct_eq(&digest)) {
                found = Some(name.clone());
            }
        }
        return found.map(Principal::Token);
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    let hash = security.basic_users.get(user);
    let key = sha256(format!("{user}:{password}:{}", hash.map_or("", String::as_str)).as_bytes());
    if let Some(ok) = security.cached(&key) {
        return ok.then(|| Principal::User(user.to_owned()));
    }
    let hash_to_check = hash.cloned().unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password = password.to_owned();
    // bcrypt is deliberately slow: keep it off the async workers.
    let verified = tokio::task::spawn_blocking(move || {
        bcrypt::verify(password, &hash_to_check).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    let ok = verified && hash.is_some();
    security.remember(key, ok);
    ok.then(|| Principal::User(user.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_valid_bcrypt_hash() {
        assert!(!bcrypt::verify("anything", DUMMY_HASH).unwrap());
    }

    #[test]
    fn classifies_reads_and_probes() {
        assert!(is_probe("/-/healthy"));
        assert!(!is_probe("/-/reload"));
        assert!(is_read(&Method::GET, "/metrics"));
        assert!(!is_read(&Method::GET, "/-/reload"));
        assert!(is_read(&Method::POST, "/api/v1/query"));
        assert!(!is_read(&Method::POST, "/api/v1/write"));
        assert!(!is_read(&Method::POST, "/api/v2/silences"));
        assert!(!is_read(&Method::POST, "/api/v2/alerts"));
        assert!(!is_read(&Method::DELETE, "/api/v2/silence/x"));
        assert!(is_read(&Method::GET, "/api/v2/alerts"));
        assert!(!is_read(&Method::GET, "/api/v1/admin/tsdb/snapshot"));
    }
}
