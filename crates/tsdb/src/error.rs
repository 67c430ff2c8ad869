//! Errors of the store. Every message says what failed, where, and what to do.

use std::path::PathBuf;

use tocsin_model::storage::StorageError;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed; `path` names the file or directory.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("write WAL segment", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error (ENOSPC, EACCES, ...).
        #[source]
        source: std::io::Error,
    },
    /// Data on disk is damaged beyond what start-up repairs.
    #[error("corrupt data in {}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Bytes handed to a decoder were not valid (fuzzing and reads of damaged files).
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// The structure being decoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Options that cannot work together.
    #[error("invalid tsdb options: {0}")]
    Options(String),
    /// Another process holds the directory.
    #[error(
        "{} is in use by another process (lock file {}); stop it, or open the copy read-only",
        dir.display(),
        lock.display()
    )]
    Locked {
        /// The tsdb directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The store was closed.
    #[error("the time-series store is closed")]
    Closed,
    /// A previous write failed, so the WAL cannot take more until it recovers.
    #[error("the write-ahead log cannot accept writes: {0}")]
    WalUnavailable(String),
    /// A query argument was not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A self-metric could not be registered (a programming error: duplicate name).
    #[error("cannot register tsdb metrics: {0}")]
    Metrics(String),
}

impl From<prometheus::Error> for Error {
    fn from(err: prometheus::Error) -> Self {
        Self::Metrics(err.to_string())
    }
}

impl From<tocsin_telemetry::Error> for Error {
    fn from(err: tocsin_telemetry::Error) -> Self {
        Self::Metrics(err.to_string())
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    pub(crate) fn decode(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Decode {
            what,
            reason: reason.into(),
        }
    }

    /// Whether this is a full disk (ENOSPC, EDQUOT), which the store recovers from by itself
    /// once space returns.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Io { source, .. } => is_disk_full(source),
            Self::WalUnavailable(reason) => reason.contains("No space left"),
            _ => false,
        }
    }
}

pub(crate) fn is_disk_full(err: &std::io::Error) -> bool {
    matches!(err.raw_os_error(), Some(28 | 122))
        || err.kind() == std::io::ErrorKind::StorageFull
        || err.kind() == std::io::ErrorKind::QuotaExceeded
}

impl From<Error> for StorageError {
    fn from(err: Error) -> Self {
        match err {
            Error::Io { source, op, path } => Self::Io(std::io::Error::new(
                source.kind(),
                format!("{op} {}: {source}", path.display()),
            )),
            Error::Corrupt { .. } | Error::Decode { .. } => Self::Corrupt(err.to_string()),
            Error::Closed => Self::Closed,
            Error::Invalid(reason) => Self::Invalid(reason),
            other => Self::Io(std::io::Error::other(other.to_string())),
        }
    }
}
