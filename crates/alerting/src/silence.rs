//! Silences: matchers and an activity window; an active silence mutes every alert it
//! matches. Creation and update follow Alertmanager 0.25 (an active silence can only be
//! extended or re-commented; otherwise it is expired and replaced). Every change is written
//! to the state store before it is acknowledged.
//!
//! tocsin extensions: a silence may recur (it mutes only inside Alertmanager
//! `time_intervals` entries, within its own window) and may warn before it ends.

use std::collections::HashMap;

use parking_lot::RwLock;
use tocsin_store::Store;
use tocsin_store::alerting::{MatcherRow, SilenceRow};

use crate::alert::LabelSet;
use crate::matcher::{MatchType, Matcher, all_match};
use crate::time::Millis;
use crate::timeinterval::{TimeInterval, any_contains};
use crate::{Error, Result};

/// A silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// UUID.
    pub id: String,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// Start.
    pub starts_at: Millis,
    /// End.
    pub ends_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// Author.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// tocsin: mutes only inside these intervals (within `[starts_at, ends_at)`).
    pub recurrence: Option<Recurrence>,
    /// tocsin: warn this long before `ends_at`.
    pub warn_before: Option<Millis>,
    /// tocsin: when the expiry warning went out.
    pub warned_at: Option<Millis>,
}

/// When a recurring silence mutes: a list of Alertmanager `time_intervals` entries (`times`,
/// `weekdays`, `days_of_month`, `months`, `years`, `location`), as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// The JSON as given (stored and shown back).
    pub spec: serde_json::Value,
    /// Parsed.
    pub intervals: Vec<TimeInterval>,
}

impl Recurrence {
    /// Parses the JSON text of a list of time intervals (as stored).
    pub fn from_json_text(text: &str) -> Result<Self> {
        let spec: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("invalid recurrence JSON: {e}")))?;
        Self::parse(spec)
    }

    /// Parses a JSON list of time intervals.
    pub fn parse(spec: serde_json::Value) -> Result<Self> {
        let intervals: Vec<TimeInterval> = serde_json::from_value(spec.clone()).map_err(|e| {
            Error::Invalid(format!(
                "invalid recurrence (a list of Alertmanager time intervals, e.g. [{{\"weekdays\": [\"saturday:sunday\"]}}]): {e}"
            ))
        })?;
        if intervals.is_empty() {
            return Err(Error::Invalid(
                "recurrence must list at least one time interval".to_owned(),
            ));
        }
        Ok(Self { spec, intervals })
    }
}

/// `active`, `pending` or `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    /// In force.
    Active,
    /// Starts later.
    Pending,
    /// Over.
    Expired,
}

impl SilenceState {
    /// As Alertmanager's API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Expired => "expired",
        }
    }
}

impl Silence {
    /// State at `now`.
    pub fn state(&self, now: Millis) -> SilenceState {
        if self.ends_at <= now {
            SilenceState::Expired
        } else if self.starts_at > now {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Whether it mutes at `now`: active and, when recurring, inside one of its intervals.
    pub fn mutes_at(&self, now: Millis) -> bool {
        self.state(now) == SilenceState::Active
            && self
                .recurrence
                .as_ref()
                .is_none_or(|r| any_contains(&r.intervals, now))
    }

    /// When the expiry warning is due, if one is wanted and not yet sent.
    pub fn warning_due_at(&self) -> Option<Millis> {
        match (self.warn_before, self.warned_at) {
            (Some(before), None) => Some(self.ends_at - before),
            _ => None,
        }
    }

    fn to_row(&self) -> SilenceRow {
        SilenceRow {
            id: self.id.clone(),
            matchers: self
                .matchers
                .iter()
                .map(|m| MatcherRow {
                    name: m.name.clone(),
                    value: m.value.clone(),
                    is_regex: matches!(m.kind, MatchType::Regex | MatchType::NotRegex),
                    is_equal: matches!(m.kind, MatchType::Equal | MatchType::Regex),
                })
                .collect(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            updated_at: self.updated_at,
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
            recurrence: self.recurrence.as_ref().map(|r| r.spec.to_string()),
            warn_before: self.warn_before,
            warned_at: self.warned_at,
        }
    }

    fn from_row(row: SilenceRow) -> Result<Self> {
        let matchers = row
            .matchers
            .iter()
            .map(|m| Matcher::new(match_type(m.is_regex, m.is_equal), &m.name, &m.value))
            .collect::<Result<Vec<_>>>()?;
        let recurrence = match &row.recurrence {
            None => None,
            Some(text) => Some(Recurrence::from_json_text(text)?),
        };
        Ok(Self {
            recurrence,
            warn_before: row.warn_before,
            warned_at: row.warned_at,
            id: row.id,
            matchers,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            comment: row.comment,
        })
    }
}

/// The operator for API-style flags.
pub fn match_type(is_regex: bool, is_equal: bool) -> MatchType {
    match (is_regex, is_equal) {
        (false, true) => MatchType::Equal,
        (false, false) => MatchType::NotEqual,
        (true, true) => MatchType::Regex,
        (true, false) => MatchType::NotRegex,
    }
}

/// All silences, in memory and in the store.
#[derive(Debug)]
pub struct Silences {
    silences: RwLock<HashMap<String, Silence>>,
    store: Store,
    // Serialises changes so the store and memory agree on the order.
    writes: tokio::sync::Mutex<()>,
}

impl Silences {
    /// Loads every silence from the store.
    pub async fn load(store: Store) -> Result<Self> {
        let mut silences = HashMap::new();
        for row in store.alerting().list_silences().await? {
            match Silence::from_row(row) {
                Ok(s) => {
                    silences.insert(s.id.clone(), s);
                }
                Err(error) => tracing::error!(%error, "stored silence cannot be used; skipped"),
            }
        }
        Ok(Self {
            silences: RwLock::new(silences),
            store,
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// Ids of the active silences that match `labels`.
    pub fn silenced_by(&self, labels: &LabelSet, now: Millis) -> Vec<String> {
        let mut ids: Vec<String> = self
            .silences
            .read()
            .values()
            .filter(|s| s.mutes_at(now) && all_match(&s.matchers, labels))
            .map(|s| s.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// One silence.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.silences.read().get(id).cloned()
    }

    /// Every silence.
    pub fn list(&self) -> Vec<Silence> {
        self.silences.read().values().cloned().collect()
    }

    /// Creates or updates a silence (Alertmanager's rules); returns its id.
    pub async fn set(&self, mut silence: Silence, now: Millis) -> Result<String> {
        validate(&silence)?;
        let _serialised = self.writes.lock().await;
        if !silence.id.is_empty() {
            let Some(prev) = self.get(&silence.id) else {
                return Err(Error::SilenceNotFound(silence.id));
            };
            if can_update(&prev, &silence, now) {
                silence.updated_at = now;
                self.persist(silence.clone()).await?;
                return Ok(silence.id);
            }
            if prev.state(now) != SilenceState::Expired {
                self.expire_locked(&prev.id, now).await?;
            }
        }
        silence.id = uuid::Uuid::new_v4().to_string();
        silence.starts_at = silence.starts_at.max(now);
        silence.updated_at = now;
        self.persist(silence.clone()).await?;
        Ok(silence.id)
    }

    /// Ends a silence now.
    pub async fn expire(&self, id: &str, now: Millis) -> Result<()> {
        let _serialised = self.writes.lock().await;
        self.expire_locked(id, now).await
    }

    async fn expire_locked(&self, id: &str, now: Millis) -> Result<()> {
        let Some(mut silence) = self.get(id) else {
            return Err(Error::SilenceNotFound(id.to_owned()));
        };
        match silence.state(now) {
            SilenceState::Expired => {
                return Err(Error::Invalid(format!("silence {id} already expired")));
            }
            SilenceState::Active => silence.ends_at = now,
            SilenceState::Pending => {
                silence.starts_at = now;
                silence.ends_at = now;
            }
        }
        silence.updated_at = now;
        self.persist(silence).await
    }

    async fn persist(&self, silence: Silence) -> Result<()> {
        self.store
            .alerting()
            .upsert_silence(&silence.to_row())
            .await?;
        self.silences.write().insert(silence.id.clone(), silence);
        Ok(())
    }

    /// The earliest pending expiry warning.
    pub fn next_warning_at(&self) -> Option<Millis> {
        self.silences
            .read()
            .values()
            .filter_map(Silence::warning_due_at)
            .min()
    }

    /// Marks (durably) the silences whose expiry warning is due at `now` and returns them.
    /// A silence already over is marked without a warning.
    pub async fn take_due_warnings(&self, now: Millis) -> Result<Vec<Silence>> {
        let _serialised = self.writes.lock().await;
        let due: Vec<Silence> = self
            .silences
            .read()
            .values()
            .filter(|s| s.warning_due_at().is_some_and(|at| at <= now))
            .cloned()
            .collect();
        let mut warn = Vec::new();
        for mut silence in due {
            silence.warned_at = Some(now);
            self.persist(silence.clone()).await?;
            if silence.ends_at > now {
                warn.push(silence);
            }
        }
        Ok(warn)
    }

    /// Forgets silences expired for longer than `retention`.
    pub async fn gc(&self, now: Millis, retention: Millis) -> Result<()> {
        let before = now - retention;
        self.store
            .alerting()
            .delete_silences_ended_before(before)
            .await?;
        self.silences.write().retain(|_, s| s.ends_at >= before);
        Ok(())
    }
}

fn can_update(prev: &Silence, new: &Silence, now: Millis) -> bool {
    if prev.matchers != new.matchers {
        return false;
    }
    match prev.state(now) {
        SilenceState::Active => new.starts_at == prev.starts_at && new.ends_at >= now,
        SilenceState::Pending => new.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn validate(silence: &Silence) -> Result<()> {
    if silence.matchers.is_empty() {
        return Err(Error::Invalid("at least one matcher required".to_owned()));
    }
    if silence.matchers.iter().all(|m| m.matches("")) {
        return Err(Error::Invalid(
            "at least one matcher must not match the empty string".to_owned(),
        ));
    }
    if silence.ends_at < silence.starts_at {
        return Err(Error::Invalid(
            "end time must not be before start time".to_owned(),
        ));
    }
    Ok(())
}
