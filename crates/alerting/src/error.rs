/// Errors of the alerting stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Alertmanager configuration is invalid (with file:line:column).
    #[error(transparent)]
    Config(#[from] tocsin_config::YamlError),
    /// A matcher could not be parsed.
    #[error("{0}")]
    Matcher(String),
    /// An alert or silence sent to the API is invalid; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// No silence has this id.
    #[error("silence {0} not found")]
    SilenceNotFound(String),
    /// No alert group has this key.
    #[error("alert group {0} not found")]
    GroupNotFound(String),
    /// No notification matches what feedback named.
    #[error("{0}")]
    NotificationNotFound(String),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] tocsin_store::Error),
    /// A notification failed.
    #[error("{integration}: {reason}")]
    Notify {
        /// `receiver/integration[index]`.
        integration: String,
        /// What went wrong.
        reason: String,
        /// Whether trying again may help.
        retryable: bool,
    },
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
