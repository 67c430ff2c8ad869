//! On-call's tables: directory objects and overrides made through the API, escalations
//! (with the key that makes starting one idempotent), round-robin cursors, every page
//! (written before it is sent) and the built-in inbox.
//!
//! A step of an escalation is recorded in one transaction: the escalation moves on (a
//! compare-and-set on its generation, step and round, so two writers cannot both take it)
//! and the step's pages are inserted as `pending`. Sending happens after the commit, so a
//! crash can leave pages `pending` but can never lose or repeat a step.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query;
use crate::{Error, Feature, Migration, Result, Store};

/// On-call's migrations.
pub const FEATURE: Feature = Feature {
    name: "oncall",
    migrations: &[Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/oncall/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/oncall/0001_init.sql"),
    }],
};

/// A directory object made through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    /// `user`, `team`, `service`, `schedule`, `escalation_policy`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// JSON.
    pub body: String,
    /// Unix ms.
    pub updated_at: i64,
    /// Who.
    pub updated_by: String,
}

/// An override made through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRow {
    /// UUID.
    pub id: String,
    /// Schedule id.
    pub schedule: String,
    /// Who is on call.
    pub user_id: String,
    /// Instead of whom (None: whoever).
    pub replaces: Option<String>,
    /// Unix ms.
    pub starts_at: i64,
    /// Unix ms.
    pub ends_at: i64,
    /// Who made it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
}

/// An escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRow {
    /// UUID.
    pub id: String,
    /// The caller's idempotency key.
    pub key: String,
    /// Policy id.
    pub policy: String,
    /// The page as JSON.
    pub page: String,
    /// `active`, `acked`, `exhausted`, `resolved`.
    pub state: String,
    /// Restarts from step 0 after expired acknowledgements.
    pub generation: i64,
    /// The next step to notify.
    pub step: i64,
    /// The round (0 ..= policy repeat) of that step.
    pub repeat_no: i64,
    /// When the next step (or the ack expiry) is due, Unix ms.
    pub next_at: Option<i64>,
    /// Unix ms.
    pub started_at: i64,
    /// Who acknowledged.
    pub acked_by: Option<String>,
    /// Unix ms.
    pub acked_at: Option<i64>,
    /// Unix ms.
    pub ack_expires_at: Option<i64>,
    /// Unix ms.
    pub resolved_at: Option<i64>,
}

/// How an escalation moves after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    /// The position the step was taken from (compare-and-set).
    pub from: (i64, i64, i64),
    /// The next step.
    pub step: i64,
    /// Its round.
    pub repeat_no: i64,
    /// When it is due (None: nothing more is due).
    pub next_at: Option<i64>,
    /// The new state.
    pub state: String,
}

/// A page to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPage {
    /// User id.
    pub user_id: String,
    /// `kind:address` (`inbox` for the inbox).
    pub contact: String,
}

/// A recorded page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    /// Assigned on insert.
    pub id: i64,
    /// Escalation.
    pub escalation_id: String,
    /// Generation.
    pub generation: i64,
    /// Step.
    pub step: i64,
    /// Round.
    pub repeat_no: i64,
    /// User.
    pub user_id: String,
    /// Contact.
    pub contact: String,
    /// Unix ms.
    pub created_at: i64,
    /// `pending`, `sent`, `failed`, `unknown`.
    pub status: String,
    /// Unix ms.
    pub sent_at: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// An inbox item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    /// Assigned on insert.
    pub id: i64,
    /// Recipient.
    pub user_id: String,
    /// The page.
    pub page_id: i64,
    /// The escalation.
    pub escalation_id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Link.
    pub link: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub read_at: Option<i64>,
    /// Unix ms.
    pub acked_at: Option<i64>,
}

/// On-call's queries. Obtained from [`Store::oncall`].
#[derive(Debug, Clone, Copy)]
pub struct OncallRepo<'a> {
    store: &'a Store,
}

impl Store {
    /// On-call's repository.
    pub fn oncall(&self) -> OncallRepo<'_> {
        OncallRepo { store: self }
    }
}

fn decode<T>(table: &'static str, column: &str, r: Result<T, sqlx::Error>) -> Result<T> {
    r.map_err(|e| Error::Decode {
        table,
        reason: format!("{column}: {e}"),
    })
}

const ESCALATION_COLUMNS: &str = "id, key, policy, page, state, generation, step, repeat_no, \
     next_at, started_at, acked_by, acked_at, ack_expires_at, resolved_at";

fn escalation(row: &AnyRow) -> Result<EscalationRow> {
    let t = "oncall_escalations";
    Ok(EscalationRow {
        id: decode(t, "id", row.try_get("id"))?,
        key: decode(t, "key", row.try_get("key"))?,
        policy: decode(t, "policy", row.try_get("policy"))?,
        page: decode(t, "page", row.try_get("page"))?,
        state: decode(t, "state", row.try_get("state"))?,
        generation: decode(t, "generation", row.try_get("generation"))?,
        step: decode(t, "step", row.try_get("step"))?,
        repeat_no: decode(t, "repeat_no", row.try_get("repeat_no"))?,
        next_at: decode(t, "next_at", row.try_get("next_at"))?,
        started_at: decode(t, "started_at", row.try_get("started_at"))?,
        acked_by: decode(t, "acked_by", row.try_get("acked_by"))?,
        acked_at: decode(t, "acked_at", row.try_get("acked_at"))?,
        ack_expires_at: decode(t, "ack_expires_at", row.try_get("ack_expires_at"))?,
        resolved_at: decode(t, "resolved_at", row.try_get("resolved_at"))?,
    })
}

const PAGE_COLUMNS: &str = "id, escalation_id, generation, step, repeat_no, user_id, contact, \
     created_at, status, sent_at, error";

fn page(row: &AnyRow) -> Result<PageRow> {
    let t = "oncall_pages";
    Ok(PageRow {
        id: decode(t, "id", row.try_get("id"))?,
        escalation_id: decode(t, "escalation_id", row.try_get("escalation_id"))?,
        generation: decode(t, "generation", row.try_get("generation"))?,
        step: decode(t, "step", row.try_get("step"))?,
        repeat_no: decode(t, "repeat_no", row.try_get("repeat_no"))?,
        user_id: decode(t, "user_id", row.try_get("user_id"))?,
        contact: decode(t, "contact", row.try_get("contact"))?,
        created_at: decode(t, "created_at", row.try_get("created_at"))?,
        status: decode(t, "status", row.try_get("status"))?,
        sent_at: decode(t, "sent_at", row.try_get("sent_at"))?,
        error: decode(t, "error", row.try_get("error"))?,
    })
}

const INBOX_COLUMNS: &str = "id, user_id, page_id, escalation_id, title, body, link, created_at, \
     read_at, acked_at";

fn inbox(row: &AnyRow) -> Result<InboxRow> {
    let t = "oncall_inbox";
    Ok(InboxRow {
        id: decode(t, "id", row.try_get("id"))?,
        user_id: decode(t, "user_id", row.try_get("user_id"))?,
        page_id: decode(t, "page_id", row.try_get("page_id"))?,
        escalation_id: decode(t, "escalation_id", row.try_get("escalation_id"))?,
        title: decode(t, "title", row.try_get("title"))?,
        body: decode(t, "body", row.try_get("body"))?,
        link: decode(t, "link", row.try_get("link"))?,
        created_at: decode(t, "created_at", row.try_get("created_at"))?,
        read_at: decode(t, "read_at", row.try_get("read_at"))?,
        acked_at: decode(t, "acked_at", row.try_get("acked_at"))?,
    })
}

impl OncallRepo<'_> {
    // ---- directory objects and overrides ----

    /// Creates or replaces an API-made directory object.
    pub async fn put_object(&self, row: &ObjectRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO oncall_objects (kind, id, body, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, id) DO UPDATE SET \
             body = excluded.body, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(row.kind.clone())
        .bind(row.id.clone())
        .bind(row.body.clone())
        .bind(row.updated_at)
        .bind(row.updated_by.clone())
        .execute(&self.store.pool)
        .await
        .map_err(query("put on-call object"))?;
        Ok(())
    }

    /// Deletes an API-made object; false when there was none.
    pub async fn delete_object(&self, kind: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM oncall_objects WHERE kind = $1 AND id = $2")
            .bind(kind.to_owned())
            .bind(id.to_owned())
            .execute(&self.store.pool)
            .await
            .map_err(query("delete on-call object"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Every API-made object, by kind then id.
    pub async fn list_objects(&self) -> Result<Vec<ObjectRow>> {
        let rows = sqlx::query(
            "SELECT kind, id, body, updated_at, updated_by FROM oncall_objects ORDER BY kind, id",
        )
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list on-call objects"))?;
        let t = "oncall_objects";
        rows.iter()
            .map(|r| {
                Ok(ObjectRow {
                    kind: decode(t, "kind", r.try_get("kind"))?,
                    id: decode(t, "id", r.try_get("id"))?,
                    body: decode(t, "body", r.try_get("body"))?,
                    updated_at: decode(t, "updated_at", r.try_get("updated_at"))?,
                    updated_by: decode(t, "updated_by", r.try_get("updated_by"))?,
                })
            })
            .collect()
    }

    /// Records an override.
    pub async fn insert_override(&self, row: &OverrideRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO oncall_overrides (id, schedule, user_id, replaces, starts_at, ends_at, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(row.id.clone())
        .bind(row.schedule.clone())
        .bind(row.user_id.clone())
        .bind(row.replaces.clone())
        .bind(row.starts_at)
        .bind(row.ends_at)
        .bind(row.created_by.clone())
        .bind(row.created_at)
        .execute(&self.store.pool)
        .await
        .map_err(query("insert override"))?;
        Ok(())
    }

    /// Deletes an override; false when there was none.
    pub async fn delete_override(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM oncall_overrides WHERE id = $1")
            .bind(id.to_owned())
            .execute(&self.store.pool)
            .await
            .map_err(query("delete override"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Every override, oldest first (later ones win).
    pub async fn list_overrides(&self) -> Result<Vec<OverrideRow>> {
        let rows = sqlx::query(
            "SELECT id, schedule, user_id, replaces, starts_at, ends_at, created_by, created_at \
             FROM oncall_overrides ORDER BY created_at, id",
        )
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list overrides"))?;
        let t = "oncall_overrides";
        rows.iter()
            .map(|r| {
                Ok(OverrideRow {
                    id: decode(t, "id", r.try_get("id"))?,
                    schedule: decode(t, "schedule", r.try_get("schedule"))?,
                    user_id: decode(t, "user_id", r.try_get("user_id"))?,
                    replaces: decode(t, "replaces", r.try_get("replaces"))?,
                    starts_at: decode(t, "starts_at", r.try_get("starts_at"))?,
                    ends_at: decode(t, "ends_at", r.try_get("ends_at"))?,
                    created_by: decode(t, "created_by", r.try_get("created_by"))?,
                    created_at: decode(t, "created_at", r.try_get("created_at"))?,
                })
            })
            .collect()
    }

    // ---- escalations ----

    /// Starts an escalation unless one holds `row.key`: returns the one that holds it and
    /// whether it was created now.
    pub async fn start_escalation(&self, row: &EscalationRow) -> Result<(EscalationRow, bool)> {
        let mut tx = self
            .store
            .pool
            .begin()
            .await
            .map_err(query("start escalation"))?;
        let claimed = sqlx::query(
            "INSERT INTO oncall_active_keys (key, escalation_id) VALUES ($1, $2) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(row.key.clone())
        .bind(row.id.clone())
        .execute(&mut *tx)
        .await
        .map_err(query("claim escalation key"))?
        .rows_affected()
            > 0;
        if claimed {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO oncall_escalations ({ESCALATION_COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )))
            .bind(row.id.clone())
            .bind(row.key.clone())
            .bind(row.policy.clone())
            .bind(row.page.clone())
            .bind(row.state.clone())
            .bind(row.generation)
            .bind(row.step)
            .bind(row.repeat_no)
            .bind(row.next_at)
            .bind(row.started_at)
            .bind(row.acked_by.clone())
            .bind(row.acked_at)
            .bind(row.ack_expires_at)
            .bind(row.resolved_at)
            .execute(&mut *tx)
            .await
            .map_err(query("insert escalation"))?;
            tx.commit().await.map_err(query("start escalation"))?;
            return Ok((row.clone(), true));
        }
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ESCALATION_COLUMNS} FROM oncall_escalations WHERE id = \
             (SELECT escalation_id FROM oncall_active_keys WHERE key = $1)"
        )))
        .bind(row.key.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(query("read escalation holding key"))?;
        tx.commit().await.map_err(query("start escalation"))?;
        Ok((escalation(&existing)?, false))
    }

    /// The escalation holding `key` (not resolved), if any.
    pub async fn active_escalation(&self, key: &str) -> Result<Option<EscalationRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ESCALATION_COLUMNS} FROM oncall_escalations WHERE id = \
             (SELECT escalation_id FROM oncall_active_keys WHERE key = $1)"
        )))
        .bind(key.to_owned())
        .fetch_optional(&self.store.pool)
        .await
        .map_err(query("read escalation"))?;
        row.as_ref().map(escalation).transpose()
    }

    /// An escalation by id.
    pub async fn escalation(&self, id: &str) -> Result<Option<EscalationRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ESCALATION_COLUMNS} FROM oncall_escalations WHERE id = $1"
        )))
        .bind(id.to_owned())
        .fetch_optional(&self.store.pool)
        .await
        .map_err(query("read escalation"))?;
        row.as_ref().map(escalation).transpose()
    }

    /// Escalations with something due at `now`: a step of an active one, or an expired
    /// acknowledgement. Oldest due first.
    pub async fn due_escalations(&self, now: i64) -> Result<Vec<EscalationRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ESCALATION_COLUMNS} FROM oncall_escalations \
             WHERE state IN ('active', 'acked') AND next_at IS NOT NULL AND next_at <= $1 \
             ORDER BY next_at, id"
        )))
        .bind(now)
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list due escalations"))?;
        rows.iter().map(escalation).collect()
    }

    /// Escalations, newest first; `open_only` leaves out resolved ones.
    pub async fn list_escalations(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<EscalationRow>> {
        let filter = if open_only {
            "WHERE state <> 'resolved'"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ESCALATION_COLUMNS} FROM oncall_escalations {filter} \
             ORDER BY started_at DESC, id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list escalations"))?;
        rows.iter().map(escalation).collect()
    }

    /// Takes a step: moves the escalation on from `advance.from` (only if it is still
    /// there and active), inserts the step's pages as pending and, for round robin, stores
    /// where each round-robin target continues. All or nothing; `None` when the escalation
    /// had moved (another writer took the step, or it was acknowledged or resolved).
    pub async fn take_step(
        &self,
        escalation_id: &str,
        advance: &Advance,
        pages: &[NewPage],
        round_robin: &[(String, i64, i64)],
        now: i64,
    ) -> Result<Option<Vec<PageRow>>> {
        let mut tx = self
            .store
            .pool
            .begin()
            .await
            .map_err(query("take escalation step"))?;
        let (generation, step, repeat_no) = advance.from;
        let moved = sqlx::query(
            "UPDATE oncall_escalations SET step = $1, repeat_no = $2, next_at = $3, state = $4 \
             WHERE id = $5 AND generation = $6 AND step = $7 AND repeat_no = $8 \
             AND state = 'active'",
        )
        .bind(advance.step)
        .bind(advance.repeat_no)
        .bind(advance.next_at)
        .bind(advance.state.clone())
        .bind(escalation_id.to_owned())
        .bind(generation)
        .bind(step)
        .bind(repeat_no)
        .execute(&mut *tx)
        .await
        .map_err(query("advance escalation"))?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await.map_err(query("take escalation step"))?;
            return Ok(None);
        }
        for p in pages {
            sqlx::query(
                "INSERT INTO oncall_pages (escalation_id, generation, step, repeat_no, user_id, \
                 contact, created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending') \
                 ON CONFLICT (escalation_id, generation, step, repeat_no, user_id, contact) \
                 DO NOTHING",
            )
            .bind(escalation_id.to_owned())
            .bind(generation)
            .bind(step)
            .bind(repeat_no)
            .bind(p.user_id.clone())
            .bind(p.contact.clone())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(query("record page"))?;
        }
        for (policy, rr_step, next_index) in round_robin {
            sqlx::query(
                "INSERT INTO oncall_round_robin (policy, step, next_index) VALUES ($1, $2, $3) \
                 ON CONFLICT (policy, step) DO UPDATE SET next_index = excluded.next_index",
            )
            .bind(policy.clone())
            .bind(*rr_step)
            .bind(*next_index)
            .execute(&mut *tx)
            .await
            .map_err(query("store round-robin position"))?;
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM oncall_pages WHERE escalation_id = $1 \
             AND generation = $2 AND step = $3 AND repeat_no = $4 ORDER BY id"
        )))
        .bind(escalation_id.to_owned())
        .bind(generation)
        .bind(step)
        .bind(repeat_no)
        .fetch_all(&mut *tx)
        .await
        .map_err(query("read recorded pages"))?;
        tx.commit().await.map_err(query("take escalation step"))?;
        rows.iter().map(page).collect::<Result<Vec<_>>>().map(Some)
    }

    /// Where a round-robin target continues (0 when it never fired).
    pub async fn round_robin_next(&self, policy: &str, step: i64) -> Result<i64> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT next_index FROM oncall_round_robin WHERE policy = $1 AND step = $2",
        )
        .bind(policy.to_owned())
        .bind(step)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(query("read round-robin position"))?;
        Ok(next.unwrap_or(0))
    }

    /// Acknowledges the escalation holding `key` (active or exhausted, or re-acknowledges an
    /// acknowledged one). Returns it as updated, or None when no open escalation holds it.
    pub async fn ack(
        &self,
        key: &str,
        by: &str,
        at: i64,
        expires_at: Option<i64>,
    ) -> Result<Option<EscalationRow>> {
        let Some(current) = self.active_escalation(key).await? else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE oncall_escalations SET state = 'acked', acked_by = $1, acked_at = $2, \
             ack_expires_at = $3, next_at = $3 WHERE id = $4 AND state <> 'resolved'",
        )
        .bind(by.to_owned())
        .bind(at)
        .bind(expires_at)
        .bind(current.id.clone())
        .execute(&self.store.pool)
        .await
        .map_err(query("acknowledge escalation"))?;
        sqlx::query(
            "UPDATE oncall_inbox SET acked_at = $1 WHERE escalation_id = $2 AND acked_at IS NULL",
        )
        .bind(at)
        .bind(current.id.clone())
        .execute(&self.store.pool)
        .await
        .map_err(query("acknowledge inbox items"))?;
        self.escalation(&current.id).await
    }

    /// An acknowledgement expired: back to step 0 of a new generation, due at `at`. False
    /// when the escalation was no longer acknowledged with that expiry.
    pub async fn expire_ack(&self, id: &str, expected_expiry: i64, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE oncall_escalations SET state = 'active', generation = generation + 1, \
             step = 0, repeat_no = 0, next_at = $1, acked_by = NULL, acked_at = NULL, \
             ack_expires_at = NULL WHERE id = $2 AND state = 'acked' AND ack_expires_at = $3",
        )
        .bind(at)
        .bind(id.to_owned())
        .bind(expected_expiry)
        .execute(&self.store.pool)
        .await
        .map_err(query("expire acknowledgement"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Resolves the escalation holding `key` and frees the key. Returns it, or None.
    pub async fn resolve(&self, key: &str, at: i64) -> Result<Option<EscalationRow>> {
        let mut tx = self
            .store
            .pool
            .begin()
            .await
            .map_err(query("resolve escalation"))?;
        let id: Option<String> =
            sqlx::query_scalar("SELECT escalation_id FROM oncall_active_keys WHERE key = $1")
                .bind(key.to_owned())
                .fetch_optional(&mut *tx)
                .await
                .map_err(query("read escalation key"))?;
        let Some(id) = id else {
            tx.rollback().await.map_err(query("resolve escalation"))?;
            return Ok(None);
        };
        sqlx::query(
            "UPDATE oncall_escalations SET state = 'resolved', resolved_at = $1, next_at = NULL \
             WHERE id = $2",
        )
        .bind(at)
        .bind(id.clone())
        .execute(&mut *tx)
        .await
        .map_err(query("resolve escalation"))?;
        sqlx::query("DELETE FROM oncall_active_keys WHERE key = $1")
            .bind(key.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(query("free escalation key"))?;
        tx.commit().await.map_err(query("resolve escalation"))?;
        self.escalation(&id).await
    }

    // ---- pages and the inbox ----

    /// Pages still `pending` (their sending was interrupted), oldest first.
    pub async fn pending_pages(&self) -> Result<Vec<PageRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM oncall_pages WHERE status = 'pending' ORDER BY id"
        )))
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list pending pages"))?;
        rows.iter().map(page).collect()
    }

    /// Records the outcome of sending a page.
    pub async fn finish_page(
        &self,
        id: i64,
        status: &str,
        at: i64,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE oncall_pages SET status = $1, sent_at = $2, error = $3 WHERE id = $4")
            .bind(status.to_owned())
            .bind(at)
            .bind(error.map(str::to_owned))
            .bind(id)
            .execute(&self.store.pool)
            .await
            .map_err(query("record page outcome"))?;
        Ok(())
    }

    /// Pages created in `[from, to)`, optionally of one escalation, oldest first.
    pub async fn pages(
        &self,
        from: i64,
        to: i64,
        escalation_id: Option<&str>,
    ) -> Result<Vec<PageRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM oncall_pages WHERE created_at >= $1 AND created_at < $2 \
             AND ($3 = '' OR escalation_id = $3) ORDER BY created_at, id"
        )))
        .bind(from)
        .bind(to)
        .bind(escalation_id.unwrap_or_default().to_owned())
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list pages"))?;
        rows.iter().map(page).collect()
    }

    /// Puts a page in its user's inbox (once per page).
    #[allow(clippy::too_many_arguments, reason = "one column each")]
    pub async fn insert_inbox(
        &self,
        user_id: &str,
        page_id: i64,
        escalation_id: &str,
        title: &str,
        body: &str,
        link: Option<&str>,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO oncall_inbox (user_id, page_id, escalation_id, title, body, link, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (page_id) DO NOTHING",
        )
        .bind(user_id.to_owned())
        .bind(page_id)
        .bind(escalation_id.to_owned())
        .bind(title.to_owned())
        .bind(body.to_owned())
        .bind(link.map(str::to_owned))
        .bind(at)
        .execute(&self.store.pool)
        .await
        .map_err(query("insert inbox item"))?;
        Ok(())
    }

    /// A user's inbox, newest first.
    pub async fn inbox(
        &self,
        user_id: &str,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<InboxRow>> {
        let filter = if unread_only {
            "AND read_at IS NULL"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOX_COLUMNS} FROM oncall_inbox WHERE user_id = $1 {filter} \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(user_id.to_owned())
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("read inbox"))?;
        rows.iter().map(inbox).collect()
    }

    /// One inbox item.
    pub async fn inbox_item(&self, id: i64) -> Result<Option<InboxRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOX_COLUMNS} FROM oncall_inbox WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(query("read inbox item"))?;
        row.as_ref().map(inbox).transpose()
    }

    /// Marks an inbox item read.
    pub async fn mark_read(&self, id: i64, at: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE oncall_inbox SET read_at = $1 WHERE id = $2 AND read_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.store.pool)
                .await
                .map_err(query("mark inbox item read"))?;
        Ok(done.rows_affected() > 0)
    }
}
