use std::path::PathBuf;

/// Errors setting up the HTTP edge; each names the file or setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A certificate, key or token file could not be read.
    #[error("web: cannot read {what} {path}: {source}")]
    ReadFile {
        /// What the file holds.
        what: &'static str,
        /// The resolved path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// PEM data had no usable content.
    #[error("web: {what} {origin}: {reason}")]
    Pem {
        /// What the data should hold.
        what: &'static str,
        /// The file, or `(inline)`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the TLS settings (for example a key that does not match the cert).
    #[error("web: tls_server_config: {0}")]
    Tls(String),
    /// A configured header value is not valid in HTTP.
    #[error("web: http_server_config.headers: {name}: {reason}")]
    Header {
        /// Header name.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A bearer token file is empty.
    #[error("web: bearer_tokens: token file of {name:?} ({path}) is empty")]
    EmptyToken {
        /// The token's name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Request metrics could not be registered.
    #[error(transparent)]
    Telemetry(#[from] tocsin_telemetry::Error),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
