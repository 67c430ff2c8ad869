//! Errors of the on-call stage; each says what failed and, where it can, what to do.

use tocsin_config::yaml::YamlError;

/// Errors of the on-call stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A directory file or API object is invalid (location included).
    #[error("{0}")]
    Invalid(#[from] YamlError),
    /// A name that is not in the directory.
    #[error("no {kind} named {id:?}; list them with GET /api/tocsin/v1/oncall/{kind}s")]
    NotFound {
        /// `user`, `schedule`, `escalation_policy`, ...
        kind: &'static str,
        /// The name asked for.
        id: String,
    },
    /// A request that cannot be answered as asked (bad range, bad time, ...).
    #[error("{0}")]
    BadRequest(String),
    /// An object defined in a directory file cannot be changed through the API.
    #[error(
        "{kind} {id:?} is defined in {origin}; directory files win over the API, so edit the file instead"
    )]
    DefinedInFile {
        /// The kind.
        kind: &'static str,
        /// Its id.
        id: String,
        /// `file:line:column`.
        origin: String,
    },
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] tocsin_store::Error),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
