//! Acknowledgements of alert groups (a tocsin extension; Alertmanager has none).
//!
//! The rule: an acknowledgement covers the alerts firing in the group when it is made. While
//! it holds, the group sends no repeat notifications; a resolved alert still goes out. It
//! ends
//! - when it expires (`expires_at`): the next flush re-notifies if the group still fires;
//! - when a firing alert it does not cover is in a flush (a new alert joined the group): that
//!   flush notifies as if there had been no acknowledgement;
//! - when a flush finds nothing firing (the group resolved);
//! - when it is removed through the API.
//!
//! Each end is recorded in history (`kind = ack`). Acknowledgements are written to the state
//! store before they are answered, so they survive a restart.

use std::collections::{BTreeSet, HashMap};

use parking_lot::RwLock;
use tocsin_store::Store;
use tocsin_store::alerting::{AckRow, HistoryRow};

use crate::Result;
use crate::history::History;
use crate::time::Millis;

/// An acknowledgement of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The group.
    pub group_key: String,
    /// Who.
    pub by: String,
    /// Why.
    pub comment: String,
    /// When.
    pub at: Millis,
    /// When it stops holding (`None`: until the group resolves).
    pub expires_at: Option<Millis>,
    /// Label hashes of the alerts covered.
    pub alerts: BTreeSet<u64>,
}

impl Ack {
    fn to_row(&self) -> AckRow {
        AckRow {
            group_key: self.group_key.clone(),
            acked_by: self.by.clone(),
            comment: self.comment.clone(),
            acked_at: self.at,
            expires_at: self.expires_at,
            alerts: self.alerts.iter().map(|h| format!("{h:016x}")).collect(),
        }
    }

    fn from_row(row: AckRow) -> Self {
        Self {
            alerts: row
                .alerts
                .iter()
                .filter_map(|h| u64::from_str_radix(h, 16).ok())
                .collect(),
            group_key: row.group_key,
            by: row.acked_by,
            comment: row.comment,
            at: row.acked_at,
            expires_at: row.expires_at,
        }
    }

    /// Whether it still holds at `now` (ignoring the alerts rule).
    pub fn holds_at(&self, now: Millis) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// What a flush decides about an acknowledged group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckDecision {
    /// No acknowledgement holds: notify as usual.
    NotAcked,
    /// Acknowledged: no repeats.
    Acked,
}

/// Every acknowledgement, in memory and in the store.
#[derive(Debug)]
pub struct Acks {
    store: Store,
    history: History,
    by_group: RwLock<HashMap<String, Ack>>,
}

impl Acks {
    /// Loads the stored acknowledgements.
    pub async fn load(store: Store, history: History) -> Result<Self> {
        let by_group = store
            .alerting()
            .list_acks()
            .await?
            .into_iter()
            .map(|row| (row.group_key.clone(), Ack::from_row(row)))
            .collect();
        Ok(Self {
            store,
            history,
            by_group: RwLock::new(by_group),
        })
    }

    /// Stores (or replaces) an acknowledgement.
    pub async fn set(&self, ack: Ack) -> Result<()> {
        self.store.alerting().upsert_ack(&ack.to_row()).await?;
        self.record(&ack.group_key, ack.at, "acked", ack_detail(&ack, None));
        tracing::info!(group = %ack.group_key, by = %ack.by, expires_at = ?ack.expires_at, "alert group acknowledged");
        self.by_group.write().insert(ack.group_key.clone(), ack);
        Ok(())
    }

    /// Removes a group's acknowledgement for `reason`; the removed one, if any.
    pub async fn remove(&self, group_key: &str, now: Millis, reason: &str) -> Result<Option<Ack>> {
        // Memory first: a flush must stop honouring it even if the store write fails.
        let removed = self.by_group.write().remove(group_key);
        if let Some(ack) = &removed {
            self.record(group_key, now, "unacked", ack_detail(ack, Some(reason)));
            tracing::info!(group = %group_key, reason, "alert group acknowledgement ended");
        }
        self.store.alerting().delete_ack(group_key).await?;
        Ok(removed)
    }

    /// One group's acknowledgement, whether or not it still holds.
    pub fn get(&self, group_key: &str) -> Option<Ack> {
        self.by_group.read().get(group_key).cloned()
    }

    /// Every acknowledgement, by group key.
    pub fn list(&self) -> Vec<Ack> {
        let mut out: Vec<Ack> = self.by_group.read().values().cloned().collect();
        out.sort_by(|a, b| a.group_key.cmp(&b.group_key));
        out
    }

    /// Applies the rule (module docs) to a flush of `group_key` with these firing alerts,
    /// ending the acknowledgement when it no longer holds.
    pub async fn decide(&self, group_key: &str, firing: &[u64], now: Millis) -> AckDecision {
        let Some(ack) = self.get(group_key) else {
            return AckDecision::NotAcked;
        };
        let reason = if !ack.holds_at(now) {
            "expired"
        } else if firing.is_empty() {
            "resolved"
        } else if firing.iter().any(|h| !ack.alerts.contains(h)) {
            "new alert"
        } else {
            return AckDecision::Acked;
        };
        if let Err(error) = self.remove(group_key, now, reason).await {
            // Already gone from memory; a restart would bring it back until the next flush.
            tracing::error!(%error, group = %group_key, "cannot remove an acknowledgement from the state store");
        }
        AckDecision::NotAcked
    }

    fn record(&self, group_key: &str, at: Millis, state: &str, detail: serde_json::Value) {
        self.history.record(HistoryRow {
            id: 0,
            at,
            kind: "ack".to_owned(),
            fingerprint: None,
            alertname: None,
            service: None,
            group_key: Some(group_key.to_owned()),
            receiver: None,
            route: None,
            state: state.to_owned(),
            outcome: None,
            notification_id: None,
            detail: detail.to_string(),
        });
    }
}

fn ack_detail(ack: &Ack, reason: Option<&str>) -> serde_json::Value {
    let mut detail = serde_json::json!({
        "by": ack.by,
        "comment": ack.comment,
        "acked_at": ack.at,
        "expires_at": ack.expires_at,
        "alerts": ack.alerts.len(),
    });
    if let (Some(reason), Some(map)) = (reason, detail.as_object_mut()) {
        map.insert("reason".to_owned(), reason.into());
    }
    detail
}
