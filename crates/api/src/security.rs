//! The `web` section turned into what requests are checked against: credentials, response
//! headers and the TLS acceptor. Built at start and on reload, then swapped atomically, so a
//! request sees either the old settings or the new ones, never a mix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tocsin_config::WebConfig;
use tokio_rustls::TlsAcceptor;

use crate::{AppState, Error, Result};

/// Verified credentials are remembered so bcrypt (tens of milliseconds by design) runs once
/// per distinct credential, not once per request. Bounded against memory growth.
const AUTH_CACHE_CAPACITY: usize = 1024;

/// Credentials, headers and TLS in force.
pub struct WebSecurity {
    pub(crate) basic_users: HashMap<String, String>,
    pub(crate) bearer_tokens: Vec<(String, [u8; 32])>,
    pub(crate) anonymous_read: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) http2: bool,
    pub(crate) client_allowed_sans: Vec<String>,
    pub(crate) auth_cache: Mutex<HashMap<[u8; 32], bool>>,
}

impl std::fmt::Debug for WebSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSecurity")
            .field("basic_users", &self.basic_users.keys().collect::<Vec<_>>())
            .field(
                "bearer_tokens",
                &self
                    .bearer_tokens
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .field("anonymous_read", &self.anonymous_read)
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http2)
            .finish_non_exhaustive()
    }
}

impl WebSecurity {
    /// Builds the settings, reading certificate, key and token files. Relative paths are
    /// resolved against `base_dir` (the directory of the configuration file), as Prometheus
    /// does.
    pub fn from_config(web: &WebConfig, base_dir: &Path) -> Result<Self> {
        let mut headers = Vec::new();
        for (name, value) in &web.http_server_config.headers {
            let header_name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|err| Error::Header {
                    name: name.clone(),
                    reason: err.to_string(),
                })?;
            let header_value = HeaderValue::from_str(value).map_err(|err| Error::Header {
                name: name.clone(),
                reason: err.to_string(),
            })?;
            headers.push((header_name, header_value));
        }
        let mut bearer_tokens = Vec::new();
        for token in &web.bearer_tokens {
            let value = match (&token.token, &token.token_file) {
                (Some(secret), _) => secret.expose().to_owned(),
                (None, Some(file)) => {
                    let path = resolve(base_dir, file);
                    let text =
                        std::fs::read_to_string(&path).map_err(|source| Error::ReadFile {
                            what: "bearer token file",
                            path: path.clone(),
                            source,
                        })?;
                    let trimmed = text.trim_end_matches(['\n', '\r']).to_owned();
                    if trimmed.is_empty() {
                        return Err(Error::EmptyToken {
                            name: token.name.clone(),
                            path,
                        });
                    }
                    trimmed
                }
                // Config validation guarantees one of the two.
                (None, None) => continue,
            };
            bearer_tokens.push((token.name.clone(), sha256(value.as_bytes())));
        }
        let http2 = web.http_server_config.http2;
        let (tls, client_allowed_sans) = match &web.tls_server_config {
            Some(tls) => (
                Some(TlsAcceptor::from(crate::tls::server_config(
                    tls, http2, base_dir,
                )?)),
                tls.client_allowed_sans.clone(),
            ),
            None => (None, Vec::new()),
        };
        Ok(Self {
            basic_users: web
                .basic_auth_users
                .iter()
                .map(|(user, hash)| (user.clone(), hash.expose().to_owned()))
                .collect(),
            bearer_tokens,
            anonymous_read: web.anonymous_read,
            headers,
            tls,
            http2,
            client_allowed_sans,
            auth_cache: Mutex::new(HashMap::new()),
        })
    }

    /// Whether requests must carry credentials.
    pub fn auth_enabled(&self) -> bool {
        !self.basic_users.is_empty() || !self.bearer_tokens.is_empty()
    }

    /// Whether the listener speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    pub(crate) fn cached(&self, key: &[u8; 32]) -> Option<bool> {
        self.auth_cache.lock().get(key).copied()
    }

    pub(crate) fn remember(&self, key: [u8; 32], ok: bool) {
        let mut cache = self.auth_cache.lock();
        if cache.len() >= AUTH_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, ok);
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub(crate) fn resolve(base_dir: &Path, file: &str) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// The settings in force, replaced as a whole on reload.
#[derive(Clone, Debug)]
pub struct SecurityHandle(Arc<ArcSwap<WebSecurity>>);

impl SecurityHandle {
    /// Starts with `security`.
    pub fn new(security: WebSecurity) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(security)))
    }

    /// The settings for one request or connection.
    pub fn current(&self) -> Arc<WebSecurity> {
        self.0.load_full()
    }

    /// Replaces the settings for all later requests and connections.
    pub fn replace(&self, security: WebSecurity) {
        self.0.store(Arc::new(security));
    }
}

/// Adds the configured security headers to every response.
pub(crate) async fn add_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let security = state.security.current();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in &security.headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}
