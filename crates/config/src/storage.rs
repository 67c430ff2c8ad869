//! `storage:`: the time-series store under the data directory and the state store (on-call,
//! incidents, silences) in SQLite or PostgreSQL.

use serde::{Deserialize, Serialize};

use crate::{ByteSize, Duration};

/// `storage:` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The embedded time-series database.
    pub tsdb: TsdbConfig,
    /// Where on-call, incident and alert state lives.
    pub state: StateStore,
}

/// When the write-ahead log is flushed to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalSync {
    /// fsync before acknowledging every append: nothing acknowledged is lost on power failure,
    /// at a large throughput cost.
    Always,
    /// fsync at most every `wal_sync_interval`, shared by all appends in that window (group
    /// commit). Acknowledged samples survive a process crash; a power loss can cost up to one
    /// interval.
    #[default]
    Interval,
    /// Leave flushing to the operating system (Prometheus's behaviour): survives a process
    /// crash, a power loss can cost the last seconds of the segment.
    Never,
}

/// `storage.tsdb:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTsdbConfig")]
pub struct TsdbConfig {
    /// Delete blocks older than this (0 = keep by time forever).
    pub retention_time: Duration,
    /// Delete the oldest blocks while the store is larger than this (0 = no size limit).
    pub retention_size: ByteSize,
    /// Span of the blocks cut from the in-memory head.
    pub block_duration: Duration,
    /// How far behind the newest sample of a series an append may be (0 = in order only).
    pub out_of_order_time_window: Duration,
    /// When the WAL is synced to disk.
    pub wal_sync: WalSync,
    /// Group-commit interval for `wal_sync: interval`.
    pub wal_sync_interval: Duration,
}

impl Default for TsdbConfig {
    fn default() -> Self {
        Self {
            retention_time: Duration::from_secs(15 * 24 * 3600),
            retention_size: ByteSize(0),
            block_duration: Duration::from_secs(2 * 3600),
            out_of_order_time_window: Duration::ZERO,
            wal_sync: WalSync::Interval,
            wal_sync_interval: Duration::from_millis(100),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTsdbConfig {
    retention_time: Option<Duration>,
    #[serde(default)]
    retention_size: ByteSize,
    block_duration: Option<Duration>,
    #[serde(default)]
    out_of_order_time_window: Duration,
    #[serde(default)]
    wal_sync: WalSync,
    wal_sync_interval: Option<Duration>,
}

impl TryFrom<RawTsdbConfig> for TsdbConfig {
    type Error = String;

    fn try_from(raw: RawTsdbConfig) -> Result<Self, Self::Error> {
        let defaults = Self::default();
        let block_duration = raw.block_duration.unwrap_or(defaults.block_duration);
        let minute = Duration::from_secs(60);
        if block_duration < minute
            || !block_duration
                .as_millis()
                .is_multiple_of(minute.as_millis())
        {
            return Err(format!(
                "block_duration {block_duration} must be a whole number of minutes, at least 1m"
            ));
        }
        let retention_time = raw.retention_time.unwrap_or(defaults.retention_time);
        if !retention_time.is_zero() && retention_time < block_duration {
            return Err(format!(
                "retention_time {retention_time} is shorter than block_duration \
                 {block_duration}; data would be deleted as soon as it is written"
            ));
        }
        let wal_sync_interval = raw.wal_sync_interval.unwrap_or(defaults.wal_sync_interval);
        if raw.wal_sync == WalSync::Interval
            && (wal_sync_interval.is_zero() || wal_sync_interval > Duration::from_secs(60))
        {
            return Err(format!(
                "wal_sync_interval {wal_sync_interval} must be between 1ms and 1m"
            ));
        }
        Ok(Self {
            retention_time,
            retention_size: raw.retention_size,
            block_duration,
            out_of_order_time_window: raw.out_of_order_time_window,
            wal_sync: raw.wal_sync,
            wal_sync_interval,
        })
    }
}

/// `storage.state:` `sqlite` (a file under the data directory, the default),
/// `sqlite:PATH`, or a `postgres://` URL for several replicas sharing state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StateStore {
    /// `state.db` in the data directory.
    #[default]
    SqliteInDataDir,
    /// An SQLite file at this path.
    SqliteFile(String),
    /// A PostgreSQL connection URL.
    Postgres(crate::Secret),
}

impl Serialize for StateStore {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::SqliteInDataDir => serializer.serialize_str("sqlite"),
            Self::SqliteFile(path) => serializer.collect_str(&format_args!("sqlite:{path}")),
            // The URL may carry a password.
            Self::Postgres(_) => serializer.serialize_str("postgres://<secret>"),
        }
    }
}

impl<'de> Deserialize<'de> for StateStore {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "sqlite" {
            Ok(Self::SqliteInDataDir)
        } else if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(serde::de::Error::custom(
                    "state store 'sqlite:' needs a path, e.g. sqlite:/var/lib/tocsin/state.db",
                ));
            }
            Ok(Self::SqliteFile(path.to_owned()))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(crate::Secret::new(text)))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown state store {text:?}; use sqlite, sqlite:PATH or a postgres:// URL"
            )))
        }
    }
}
