//! Errors of the incident stage; each names the incident, the current state and what to do.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No incident has this id.
    #[error("no incident {0}; list them with `tocsin incident list`")]
    NotFound(String),
    /// The id is not `INC-<n>` or `<n>`.
    #[error("{0:?} is not an incident id; use INC-42 or 42")]
    BadId(String),
    /// A status change the lifecycle does not allow.
    #[error("{id} is {from}; it cannot become {to} ({hint})")]
    Transition {
        /// `INC-42`.
        id: String,
        /// Current status.
        from: &'static str,
        /// Requested status.
        to: &'static str,
        /// What is allowed from here.
        hint: String,
    },
    /// A change dated before the incident's last status change.
    #[error(
        "{id}: {what} at {at} is before the incident was {status} at {last}; timestamps must not go back"
    )]
    NotMonotonic {
        /// `INC-42`.
        id: String,
        /// What was attempted.
        what: String,
        /// The requested time (RFC 3339).
        at: String,
        /// The status whose timestamp is later.
        status: &'static str,
        /// Its time (RFC 3339).
        last: String,
    },
    /// A request field is missing or wrong.
    #[error("{0}")]
    Invalid(String),
    /// Someone else changed the incident at the same moment, again and again.
    #[error("{0} was changed concurrently several times; retry")]
    Conflict(String),
    /// The incidents file is wrong.
    #[error("{0}")]
    Config(String),
    /// A runbook action is unknown, not allowed here, or its parameters are unsafe.
    #[error("runbook action {action:?}: {reason}")]
    Action {
        /// The action.
        action: String,
        /// Why it cannot run.
        reason: String,
    },
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] tocsin_store::Error),
}

impl Error {
    /// The HTTP status an API answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::BadId(_) | Self::Invalid(_) | Self::Action { .. } => 400,
            Self::Transition { .. } | Self::NotMonotonic { .. } | Self::Conflict(_) => 409,
            Self::Config(_) | Self::Store(_) => 500,
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
