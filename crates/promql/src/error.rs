//! Query errors, worded as Prometheus words them so API clients see the same text.

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The expression does not parse or does not type-check.
    #[error("{0}")]
    Parse(String),
    /// The query ran longer than `limits.query.timeout`.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query would hold more than `limits.query.max_samples` samples in memory.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// Evaluation failed (bad input data for the operation, invalid arguments).
    #[error("{0}")]
    Execution(String),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] tocsin_model::storage::StorageError),
}

impl Error {
    /// Prometheus's `errorType` for this error (`bad_data`, `timeout`, `execution`, ...).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Parse(_) => "bad_data",
            Self::Timeout(_) => "timeout",
            Self::TooManySamples(_) | Self::Execution(_) => "execution",
            Self::Storage(_) => "internal",
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for an execution error.
pub(crate) fn exec(msg: impl Into<String>) -> Error {
    Error::Execution(msg.into())
}
