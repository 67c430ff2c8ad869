//! Errors of the ingest stage.

/// Errors setting up or running ingestion (decoding errors have their own types, which say
/// where the input went wrong).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A self-metric could not be registered (a programming error: duplicate name).
    #[error(transparent)]
    Telemetry(#[from] tocsin_telemetry::Error),
    /// An HTTP client could not be built from the scrape configuration.
    #[error("scrape config {job:?}: {reason}")]
    HttpClient {
        /// The job.
        job: String,
        /// What is wrong.
        reason: String,
    },
    /// The store failed: nothing in the batch was acknowledged.
    #[error(transparent)]
    Storage(#[from] tocsin_model::storage::StorageError),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
