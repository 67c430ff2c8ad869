//! The notification log: for each receiver integration and group, which alerts were firing
//! and resolved at the last notification, and when. Deduplication reads it; it is written to
//! the state store right after each successful notification, so a restart (even kill -9)
//! neither repeats a notification early nor forgets one.

use std::collections::HashMap;

use parking_lot::RwLock;
use tocsin_store::Store;
use tocsin_store::alerting::NflogRow;

use crate::Result;
use crate::time::Millis;

/// The last notification of a group to an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Hashes of firing alerts.
    pub firing: Vec<u64>,
    /// Hashes of resolved alerts.
    pub resolved: Vec<u64>,
    /// When.
    pub sent_at: Millis,
    /// When it is forgotten.
    pub expires_at: Millis,
}

/// The log.
#[derive(Debug)]
pub struct NotificationLog {
    entries: RwLock<HashMap<(String, String), Entry>>,
    store: Store,
}

impl NotificationLog {
    /// Loads the log from the store.
    pub async fn load(store: Store) -> Result<Self> {
        let entries = store
            .alerting()
            .list_nflog()
            .await?
            .into_iter()
            .map(|row| {
                (
                    (row.receiver, row.group_key),
                    Entry {
                        firing: row.firing,
                        resolved: row.resolved,
                        sent_at: row.sent_at,
                        expires_at: row.expires_at,
                    },
                )
            })
            .collect();
        Ok(Self {
            entries: RwLock::new(entries),
            store,
        })
    }

    /// The entry of `receiver` for `group_key`, unless it expired.
    pub fn query(&self, receiver: &str, group_key: &str, now: Millis) -> Option<Entry> {
        self.entries
            .read()
            .get(&(receiver.to_owned(), group_key.to_owned()))
            .filter(|e| e.expires_at > now)
            .cloned()
    }

    /// Records a notification durably.
    pub async fn log(&self, receiver: &str, group_key: &str, entry: Entry) -> Result<()> {
        self.store
            .alerting()
            .upsert_nflog(&NflogRow {
                receiver: receiver.to_owned(),
                group_key: group_key.to_owned(),
                firing: entry.firing.clone(),
                resolved: entry.resolved.clone(),
                sent_at: entry.sent_at,
                expires_at: entry.expires_at,
            })
            .await?;
        self.entries
            .write()
            .insert((receiver.to_owned(), group_key.to_owned()), entry);
        Ok(())
    }

    /// Drops expired entries.
    pub async fn gc(&self, now: Millis) -> Result<()> {
        self.store.alerting().delete_nflog_expired(now).await?;
        self.entries.write().retain(|_, e| e.expires_at >= now);
        Ok(())
    }
}
