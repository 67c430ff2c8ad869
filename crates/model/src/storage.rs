//! The seams between ingest, storage and query, modelled on Prometheus's
//! `storage/interface.go`: writers append through an [`Appender`] and commit (durable once
//! `commit` returns `Ok`); readers open a [`Querier`] over a time range and select series by
//! matchers. PromQL, rules and the API depend on these traits, never on `tocsin-tsdb`.

pub mod mem;

use crate::{Labels, Matcher, Sample, Timestamp};

/// An id a store hands out for a series so later appends can skip the label lookup.
/// 0 means "unknown: look the series up by its labels".
pub type SeriesRef = u64;

/// Why one sample was refused. Each is counted and reported by reason; the other samples of
/// the same batch are unaffected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// Older than the newest sample of its series (outside any out-of-order window).
    #[error("out of order sample: {series} at {t} is before the newest sample at {newest}")]
    OutOfOrder {
        /// The series.
        series: Labels,
        /// The refused timestamp.
        t: Timestamp,
        /// The series' newest timestamp.
        newest: Timestamp,
    },
    /// Same timestamp as an existing sample but a different value.
    #[error("duplicate sample for timestamp {t} of {series} with a different value")]
    DuplicateTimestamp {
        /// The series.
        series: Labels,
        /// The timestamp.
        t: Timestamp,
    },
    /// Older than what the store still accepts (before the head's range, or retention).
    #[error("sample of {series} at {t} is too old; the store accepts samples from {min_valid} on")]
    TooOld {
        /// The series.
        series: Labels,
        /// The refused timestamp.
        t: Timestamp,
        /// The oldest timestamp still accepted.
        min_valid: Timestamp,
    },
    /// The label set is not a valid series (no metric name, ...).
    #[error("invalid series {series}: {reason}")]
    InvalidSeries {
        /// The series.
        series: Labels,
        /// Why.
        reason: String,
    },
}

impl AppendError {
    /// A short, stable reason for metrics labels and API responses.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::OutOfOrder { .. } => "out_of_order",
            Self::DuplicateTimestamp { .. } => "duplicate_timestamp",
            Self::TooOld { .. } => "too_old",
            Self::InvalidSeries { .. } => "invalid_series",
        }
    }
}

/// A failure of the store itself (I/O, corruption, shutting down): nothing in the batch was
/// acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Reading or writing files failed (disk full, permissions).
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data is damaged.
    #[error("storage data is corrupt: {0}")]
    Corrupt(String),
    /// The store is closing or closed.
    #[error("storage is shutting down")]
    Closed,
    /// A query asked for something the store cannot do.
    #[error("{0}")]
    Invalid(String),
}

/// Result type of storage calls.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Samples made durable and visible.
    pub samples: u64,
    /// Series created by this batch.
    pub new_series: u64,
}

/// A batch of appends. Nothing is visible or durable until [`Appender::commit`] returns `Ok`;
/// dropping an appender without committing discards the batch.
pub trait Appender: Send {
    /// Stages one sample. `series` is a ref from an earlier append of the same labels in this
    /// store, or 0. Returns the ref to use next time. A refused sample leaves the batch intact.
    fn append(
        &mut self,
        series: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> std::result::Result<SeriesRef, AppendError>;

    /// Stages one sample for a series known only by the non-zero ref an earlier `append`
    /// returned, without its labels: the hot path of ingestion, where the same series repeat
    /// every few seconds and building their labels would cost more than storing the sample.
    /// Returns `None` when the store does not know `series` (it never handed it out, or has
    /// since dropped the series); the caller then calls [`Appender::append`] with the
    /// labels. Refs must never be reused for another series. The default knows no refs.
    fn append_by_ref(
        &mut self,
        series: SeriesRef,
        t: Timestamp,
        v: f64,
    ) -> Option<std::result::Result<SeriesRef, AppendError>> {
        let _ = (series, t, v);
        None
    }

    /// Makes the batch durable (per the store's sync policy) and visible to queries.
    fn commit(self: Box<Self>) -> Result<CommitSummary>;
}

/// Something that accepts writes.
pub trait Appendable: Send + Sync {
    /// Starts a batch.
    fn appender(&self) -> Box<dyn Appender + '_>;
}

/// Hints for a select, from the query that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest timestamp needed (inclusive).
    pub start: Timestamp,
    /// Latest timestamp needed (inclusive).
    pub end: Timestamp,
}

/// Iterates one series' samples in time order.
pub trait SampleIterator: Send {
    /// The next sample.
    fn next(&mut self) -> Option<Sample>;

    /// Advances to the first sample at or after `t` and returns it. Never moves backwards.
    fn seek(&mut self, t: Timestamp) -> Option<Sample> {
        loop {
            let sample = self.next()?;
            if sample.t >= t {
                return Some(sample);
            }
        }
    }
}

/// One selected series.
pub struct Series {
    /// Its labels.
    pub labels: Labels,
    /// Its samples within the querier's range, in time order.
    pub samples: Box<dyn SampleIterator>,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// Read access to a time range.
pub trait Querier: Send {
    /// Series whose labels satisfy every matcher and that have samples in range, sorted by
    /// labels. At least one matcher must not match the empty string (as in Prometheus), so a
    /// select never means "every series".
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>>;

    /// Label names of series matching `matchers` (all series when empty), sorted.
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Values of `name` among series matching `matchers`, sorted.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>>;
}

/// Something that can be read.
pub trait Queryable: Send + Sync {
    /// A querier over `[mint, maxt]` (milliseconds, inclusive).
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier + '_>>;
}

/// A sample iterator over a vector already in memory.
#[derive(Debug)]
pub struct VecSampleIterator {
    samples: std::vec::IntoIter<Sample>,
}

impl VecSampleIterator {
    /// Iterates `samples`, which must be in time order.
    pub fn new(samples: Vec<Sample>) -> Self {
        Self {
            samples: samples.into_iter(),
        }
    }
}

impl SampleIterator for VecSampleIterator {
    fn next(&mut self) -> Option<Sample> {
        self.samples.next()
    }
}

/// Refuses a select whose matchers would all match the empty string (`{a=""}`, `{a=~".*"}`),
/// with Prometheus's wording.
pub fn check_selectable(matchers: &[Matcher]) -> Result<()> {
    if matchers.iter().all(Matcher::matches_empty) {
        return Err(StorageError::Invalid(
            "vector selector must contain at least one non-empty matcher".to_owned(),
        ));
    }
    Ok(())
}
