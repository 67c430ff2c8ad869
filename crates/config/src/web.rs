//! `web:`: TLS, mTLS and authentication of tocsin's HTTP listener, in the format of
//! Prometheus's exporter-toolkit web configuration file (so an existing `web-config.yml` can
//! be pasted here), plus two tocsin extensions: `bearer_tokens` and `anonymous_read`.
//!
//! Whenever `basic_auth_users` or `bearer_tokens` is set, every request must authenticate,
//! except the `/-/healthy` and `/-/ready` probes; with `anonymous_read: true`, reads (`GET`,
//! `HEAD`) outside the admin API may stay anonymous while writes and admin calls never do.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Secret;

/// `web:` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "RawWebConfig")]
pub struct WebConfig {
    /// Serve HTTPS instead of HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_server_config: Option<TlsServerConfig>,
    /// HTTP protocol options and response headers.
    pub http_server_config: HttpServerConfig,
    /// User name → bcrypt hash of the password.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub basic_auth_users: BTreeMap<String, Secret>,
    /// Tokens accepted as `Authorization: Bearer <token>` (tocsin extension).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bearer_tokens: Vec<BearerToken>,
    /// Let unauthenticated clients read (tocsin extension); writes and admin calls still need
    /// credentials.
    pub anonymous_read: bool,
}

impl WebConfig {
    /// Whether any form of authentication is configured.
    pub fn auth_enabled(&self) -> bool {
        !self.basic_auth_users.is_empty() || !self.bearer_tokens.is_empty()
    }
}

/// One accepted bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerToken {
    /// Who uses the token; shown in logs, never the token.
    pub name: String,
    /// The token itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// A file holding the token (trailing newline ignored); read at start and on reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
}

/// `http_server_config:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpServerConfig {
    /// Offer HTTP/2 (with TLS via ALPN, without TLS by prior knowledge).
    pub http2: bool,
    /// Security headers added to every response.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        Self {
            http2: true,
            headers: BTreeMap::new(),
        }
    }
}

/// TLS protocol versions rustls implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "TLS12")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS13")]
    Tls13,
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "TLS12" => Ok(Self::Tls12),
            "TLS13" => Ok(Self::Tls13),
            "TLS10" | "TLS11" => Err(serde::de::Error::custom(format!(
                "{text} is insecure and not supported; use TLS12 or TLS13"
            ))),
            _ => Err(serde::de::Error::custom(format!(
                "unknown TLS version {text:?}; use TLS12 or TLS13"
            ))),
        }
    }
}

/// Whether and how clients present certificates (Go's `tls.ClientAuthType` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum ClientAuthType {
    /// No client certificates.
    #[default]
    NoClientCert,
    /// Verify a client certificate against `client_ca_file` when one is presented.
    VerifyClientCertIfGiven,
    /// Require a client certificate signed by `client_ca_file` (mTLS).
    RequireAndVerifyClientCert,
}

impl<'de> Deserialize<'de> for ClientAuthType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "NoClientCert" => Ok(Self::NoClientCert),
            "VerifyClientCertIfGiven" => Ok(Self::VerifyClientCertIfGiven),
            "RequireAndVerifyClientCert" => Ok(Self::RequireAndVerifyClientCert),
            "RequestClientCert" | "RequireAnyClientCert" => Err(serde::de::Error::custom(format!(
                "client_auth_type {text} accepts unverified certificates and is not supported; \
                 use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
            ))),
            _ => Err(serde::de::Error::custom(format!(
                "unknown client_auth_type {text:?}; use NoClientCert, VerifyClientCertIfGiven \
                 or RequireAndVerifyClientCert"
            ))),
        }
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $( $variant:ident = $($text:literal)|+ ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum $name { $( $variant, )* }

        impl $name {
            /// The Go name.
            pub fn name(self) -> &'static str {
                match self { $( Self::$variant => [$($text),+][0], )* }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                match text.as_str() {
                    $( $($text)|+ => Ok(Self::$variant), )*
                    _ => Err(serde::de::Error::custom(format!(
                        concat!("unsupported ", $what, " {:?}; supported: {}"),
                        text,
                        [$( [$($text),+][0] ),*].join(", ")
                    ))),
                }
            }
        }
    };
}

named_enum! {
    /// TLS 1.2 cipher suites (TLS 1.3 suites are not configurable, as in Go).
    TlsCipherSuite, "cipher suite" {
        EcdheEcdsaAes128GcmSha256 = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        EcdheRsaAes128GcmSha256 = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        EcdheEcdsaAes256GcmSha384 = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        EcdheRsaAes256GcmSha384 = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        EcdheEcdsaChacha20Poly1305 = "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        EcdheRsaChacha20Poly1305 = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    }
}

named_enum! {
    /// Key-exchange groups.
    TlsCurve, "curve" {
        X25519 = "X25519",
        CurveP256 = "CurveP256",
        CurveP384 = "CurveP384",
    }
}

/// `tls_server_config:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTlsServerConfig")]
pub struct TlsServerConfig {
    /// Server certificate chain: inline PEM or a file.
    pub cert: PemSource,
    /// Server private key: inline PEM or a file.
    pub key: PemSource,
    /// Client certificate policy.
    pub client_auth_type: ClientAuthType,
    /// CAs that sign client certificates: inline PEM or a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PemSource>,
    /// Accept only client certificates with one of these SANs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_allowed_sans: Vec<String>,
    /// Lowest version offered.
    pub min_version: TlsVersion,
    /// Highest version offered.
    pub max_version: TlsVersion,
    /// TLS 1.2 cipher suites, in preference order (all supported ones when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<TlsCipherSuite>,
    /// Key-exchange groups, in preference order (all supported ones when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curve_preferences: Vec<TlsCurve>,
    /// Choose the cipher by the server's order rather than the client's.
    pub prefer_server_cipher_suites: bool,
}

/// PEM data given inline or as a file path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PemSource {
    /// Read from this file at start and on every reload.
    #[serde(rename = "file")]
    File(String),
    /// Inline PEM (private keys are hidden when serialized).
    #[serde(rename = "inline")]
    Inline(Secret),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlsServerConfig {
    cert: Option<String>,
    cert_file: Option<String>,
    key: Option<Secret>,
    key_file: Option<String>,
    #[serde(default)]
    client_auth_type: ClientAuthType,
    client_ca: Option<String>,
    client_ca_file: Option<String>,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
    #[serde(default)]
    cipher_suites: Vec<TlsCipherSuite>,
    #[serde(default)]
    curve_preferences: Vec<TlsCurve>,
    #[serde(default)]
    prefer_server_cipher_suites: bool,
}

fn one_of(
    inline: Option<Secret>,
    file: Option<String>,
    name: &str,
) -> Result<Option<PemSource>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: set {name} or {name}_file, not both"
        )),
        (Some(pem), None) => Ok(Some(PemSource::Inline(pem))),
        (None, Some(path)) if path.is_empty() => {
            Err(format!("tls_server_config: {name}_file is empty"))
        }
        (None, Some(path)) => Ok(Some(PemSource::File(path))),
        (None, None) => Ok(None),
    }
}

impl TryFrom<RawTlsServerConfig> for TlsServerConfig {
    type Error = String;

    fn try_from(raw: RawTlsServerConfig) -> Result<Self, Self::Error> {
        let cert = one_of(raw.cert.map(Secret::new), raw.cert_file, "cert")?
            .ok_or("tls_server_config: missing cert_file (or inline cert)")?;
        let key = one_of(raw.key, raw.key_file, "key")?
            .ok_or("tls_server_config: missing key_file (or inline key)")?;
        let client_ca = one_of(
            raw.client_ca.map(Secret::new),
            raw.client_ca_file,
            "client_ca",
        )?;
        if raw.client_auth_type != ClientAuthType::NoClientCert && client_ca.is_none() {
            return Err(format!(
                "tls_server_config: client_auth_type {:?} needs client_ca_file to verify \
                 client certificates",
                raw.client_auth_type
            ));
        }
        if raw.client_auth_type == ClientAuthType::NoClientCert && client_ca.is_some() {
            return Err(
                "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert; \
                 set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)"
                    .to_owned(),
            );
        }
        if !raw.client_allowed_sans.is_empty()
            && raw.client_auth_type != ClientAuthType::RequireAndVerifyClientCert
        {
            return Err(
                "tls_server_config: client_allowed_sans needs client_auth_type \
                 RequireAndVerifyClientCert"
                    .to_owned(),
            );
        }
        let min_version = raw.min_version.unwrap_or(TlsVersion::Tls12);
        let max_version = raw.max_version.unwrap_or(TlsVersion::Tls13);
        if min_version > max_version {
            return Err(format!(
                "tls_server_config: min_version {min_version:?} is above max_version {max_version:?}"
            ));
        }
        if !raw.cipher_suites.is_empty() && min_version == TlsVersion::Tls13 {
            return Err(
                "tls_server_config: cipher_suites apply to TLS 1.2 only, but min_version is TLS13; \
                 remove cipher_suites"
                    .to_owned(),
            );
        }
        Ok(Self {
            cert,
            key,
            client_auth_type: raw.client_auth_type,
            client_ca,
            client_allowed_sans: raw.client_allowed_sans,
            min_version,
            max_version,
            cipher_suites: raw.cipher_suites,
            curve_preferences: raw.curve_preferences,
            prefer_server_cipher_suites: raw.prefer_server_cipher_suites,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    http_server_config: HttpServerConfig,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, Secret>,
    #[serde(default)]
    bearer_tokens: Vec<BearerToken>,
    #[serde(default)]
    anonymous_read: bool,
}

/// Response headers the exporter toolkit allows, with the values it allows.
fn validate_header(name: &str, value: &str) -> Result<(), String> {
    match name {
        "Strict-Transport-Security" | "X-XSS-Protection" | "Content-Security-Policy" => Ok(()),
        "X-Content-Type-Options" if value == "nosniff" => Ok(()),
        "X-Content-Type-Options" => Err(format!(
            "http_server_config.headers: X-Content-Type-Options must be \"nosniff\", not {value:?}"
        )),
        "X-Frame-Options"
            if value.eq_ignore_ascii_case("deny") || value.eq_ignore_ascii_case("sameorigin") =>
        {
            Ok(())
        }
        "X-Frame-Options" => Err(format!(
            "http_server_config.headers: X-Frame-Options must be \"deny\" or \"sameorigin\", not {value:?}"
        )),
        _ => Err(format!(
            "http_server_config.headers: {name:?} is not allowed; allowed are \
             Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, \
             X-Frame-Options and X-XSS-Protection"
        )),
    }
}

fn is_bcrypt_hash(hash: &str) -> bool {
    // $2a$, $2b$ or $2y$, two-digit cost, then 53 characters of salt and digest.
    let bytes = hash.as_bytes();
    hash.len() == 60
        && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))
        && bytes[4].is_ascii_digit()
        && bytes[5].is_ascii_digit()
        && bytes[6] == b'$'
}

impl TryFrom<RawWebConfig> for WebConfig {
    type Error = String;

    fn try_from(raw: RawWebConfig) -> Result<Self, Self::Error> {
        for (name, value) in &raw.http_server_config.headers {
            validate_header(name, value)?;
        }
        for (user, hash) in &raw.basic_auth_users {
            if user.is_empty() || user.contains(':') {
                return Err(format!(
                    "basic_auth_users: user name {user:?} must be non-empty and contain no ':'"
                ));
            }
            if !is_bcrypt_hash(hash.expose()) {
                return Err(format!(
                    "basic_auth_users: the password of {user:?} must be a bcrypt hash \
                     ($2y$10$...), not the password itself; create one with \
                     `htpasswd -nbBC 10 '' 'PASSWORD' | tr -d ':\\n'`"
                ));
            }
        }
        let mut names = BTreeSet::new();
        for token in &raw.bearer_tokens {
            if token.name.is_empty() {
                return Err("bearer_tokens: every token needs a name".to_owned());
            }
            if !names.insert(token.name.as_str()) {
                return Err(format!(
                    "bearer_tokens: name {:?} is used twice",
                    token.name
                ));
            }
            match (&token.token, &token.token_file) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(format!(
                        "bearer_tokens: {:?} needs exactly one of token and token_file",
                        token.name
                    ));
                }
                (Some(secret), None) if secret.expose().len() < 16 => {
                    return Err(format!(
                        "bearer_tokens: the token of {:?} is shorter than 16 characters; use a \
                         long random value (e.g. `openssl rand -hex 32`)",
                        token.name
                    ));
                }
                _ => {}
            }
        }
        if raw.anonymous_read && raw.basic_auth_users.is_empty() && raw.bearer_tokens.is_empty() {
            return Err(
                "anonymous_read only makes sense with basic_auth_users or bearer_tokens; \
                 without them every request is already anonymous"
                    .to_owned(),
            );
        }
        Ok(Self {
            tls_server_config: raw.tls_server_config,
            http_server_config: raw.http_server_config,
            basic_auth_users: raw.basic_auth_users,
            bearer_tokens: raw.bearer_tokens,
            anonymous_read: raw.anonymous_read,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    const HASH: &str = "$2y$10$VJJ5OWcoZ0Aq9f8i9Q7hWe5XGd/TbpM5bLh0QAY6QEpWbOBuWOIKK";

    fn parse(text: &str) -> Result<WebConfig, String> {
        yaml::from_str::<WebConfig>("w.yml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_exporter_toolkit_files() {
        let cfg = parse(&format!(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: \
             RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n\
             http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  alice: {HASH}\n"
        ))
        .unwrap();
        let tls = cfg.tls_server_config.as_ref().unwrap();
        assert_eq!(tls.cert, PemSource::File("a.crt".to_owned()));
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert!(!cfg.http_server_config.http2);
        assert!(cfg.auth_enabled());
    }

    #[test]
    fn refuses_insecure_or_inconsistent_settings() {
        for (text, want) in [
            ("basic_auth_users: {alice: hunter2}\n", "bcrypt hash"),
            ("tls_server_config: {cert_file: a}\n", "missing key_file"),
            (
                "tls_server_config: {cert_file: a, key_file: b, min_version: TLS10}\n",
                "insecure",
            ),
            (
                "tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert}\n",
                "needs client_ca_file",
            ),
            (
                "tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAnyClientCert}\n",
                "not supported",
            ),
            (
                "tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}\n",
                "unsupported cipher suite",
            ),
            (
                "http_server_config: {headers: {Server: x}}\n",
                "not allowed",
            ),
            (
                "bearer_tokens: [{name: ci, token: short}]\n",
                "shorter than 16",
            ),
            ("bearer_tokens: [{name: ci}]\n", "exactly one of"),
            ("anonymous_read: true\n", "only makes sense"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn secrets_are_hidden_when_serialized() {
        let cfg = parse(&format!(
            "basic_auth_users: {{alice: '{HASH}'}}\nbearer_tokens: [{{name: ci, token: \
             0123456789abcdef0123}}]\n"
        ))
        .unwrap();
        let shown = serde_saphyr::to_string(&cfg).unwrap();
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains(HASH), "{shown}");
        assert!(shown.contains("<secret>"), "{shown}");
    }
}
