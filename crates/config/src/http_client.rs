//! Outgoing HTTP client settings in Prometheus's `common/config` format (`basic_auth`,
//! `authorization`, `tls_config`, ...), shared by scrape configs and Alertmanager targets.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// `basic_auth:` for an outgoing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name, or read from `username_file`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// File holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_file: Option<String>,
    /// Password, or read from `password_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// `authorization:` header credentials for an outgoing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme, `Bearer` by default.
    #[serde(default = "default_auth_type", rename = "type")]
    pub kind: String,
    /// The credentials, or read from `credentials_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret>,
    /// File holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
}

fn default_auth_type() -> String {
    "Bearer".to_owned()
}

/// `tls_config:` for an outgoing request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsClientConfig {
    /// CA certificate file to verify the server with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Client certificate file, for mTLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// Client key file, for mTLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Server name to verify, if not the host in the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip server certificate verification. For tests only.
    pub insecure_skip_verify: bool,
}

/// The shared outgoing-HTTP settings, collected from the fields of the enclosing section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpClientConfig {
    /// Basic authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// TLS settings.
    pub tls_config: TlsClientConfig,
    /// Proxy for outgoing requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Follow HTTP 3xx redirects.
    pub follow_redirects: bool,
    /// Allow HTTP/2.
    pub enable_http2: bool,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            basic_auth: None,
            authorization: None,
            tls_config: TlsClientConfig::default(),
            proxy_url: None,
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

impl HttpClientConfig {
    /// Checks the combinations Prometheus refuses.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.basic_auth.is_some() && self.authorization.is_some() {
            return Err("at most one of basic_auth and authorization may be set".to_owned());
        }
        if let Some(basic) = &self.basic_auth {
            if !basic.username.is_empty() && basic.username_file.is_some() {
                return Err("basic_auth: set username or username_file, not both".to_owned());
            }
            if basic.password.is_some() && basic.password_file.is_some() {
                return Err("basic_auth: set password or password_file, not both".to_owned());
            }
        }
        if let Some(auth) = &self.authorization {
            if auth.kind.eq_ignore_ascii_case("basic") {
                return Err(
                    "authorization type Basic is not allowed; use basic_auth instead".to_owned(),
                );
            }
            if auth.credentials.is_some() && auth.credentials_file.is_some() {
                return Err(
                    "authorization: set credentials or credentials_file, not both".to_owned(),
                );
            }
        }
        let tls = &self.tls_config;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err("tls_config: cert_file and key_file must be set together".to_owned());
        }
        if let Some(proxy) = &self.proxy_url
            && !(proxy.starts_with("http://") || proxy.starts_with("https://"))
        {
            return Err(format!(
                "proxy_url {proxy:?} must start with http:// or https://"
            ));
        }
        Ok(())
    }
}
