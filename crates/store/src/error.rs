/// Errors of the state store; each says what failed and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or opened.
    #[error("cannot open the state store {target}: {source}")]
    Open {
        /// Where (a path or a URL without its password).
        target: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// A migration failed; the store is left at the previous version of that feature.
    #[error("state store migration {feature}/{version} ({name}) failed: {source}")]
    Migration {
        /// The feature the migration belongs to.
        feature: &'static str,
        /// Its version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// What the database said.
        source: sqlx::Error,
    },
    /// The database has a newer schema than this binary knows.
    #[error(
        "state store feature {feature} is at schema version {found}, newer than the {known} this \
         tocsin knows; run a newer tocsin, or restore a backup taken before the upgrade"
    )]
    SchemaTooNew {
        /// The feature.
        feature: &'static str,
        /// Version in the database.
        found: i64,
        /// Latest version this binary has.
        known: i64,
    },
    /// A query failed.
    #[error("state store query failed ({what}): {source}")]
    Query {
        /// Which operation.
        what: &'static str,
        /// What the database said.
        source: sqlx::Error,
    },
    /// A stored value could not be decoded (a damaged row, or written by an incompatible
    /// version).
    #[error("state store row in {table} cannot be decoded: {reason}")]
    Decode {
        /// The table.
        table: &'static str,
        /// Why.
        reason: String,
    },
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches the operation name to a driver error.
pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Query { what, source }
}
