//! The SLO stage's table: deploy-gate overrides, kept as an append-only audit trail so an
//! override survives restarts and every one stays on record.

use sqlx::Row;

use crate::error::query;
use crate::{Error, Feature, Migration, Result, Store};

/// The SLO stage's migrations.
pub const FEATURE: Feature = Feature {
    name: "slo",
    migrations: &[Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/slo/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/slo/0001_init.sql"),
    }],
};

/// One recorded gate override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateOverrideRow {
    /// SLO name.
    pub slo: String,
    /// Who.
    pub created_by: String,
    /// Why.
    pub reason: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms; None: no expiry.
    pub expires_at: Option<i64>,
}

/// The SLO stage's queries. Obtained from [`Store::slo`].
#[derive(Debug, Clone, Copy)]
pub struct SloRepo<'a> {
    store: &'a Store,
}

impl Store {
    /// The SLO stage's repository.
    pub fn slo(&self) -> SloRepo<'_> {
        SloRepo { store: self }
    }
}

impl SloRepo<'_> {
    /// Records an override.
    pub async fn insert_override(&self, row: &GateOverrideRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO slo_gate_overrides (slo, created_by, reason, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(row.slo.clone())
        .bind(row.created_by.clone())
        .bind(row.reason.clone())
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(&self.store.pool)
        .await
        .map_err(query("insert gate override"))?;
        Ok(())
    }

    /// Every override of `slo`, oldest first.
    pub async fn list_overrides(&self, slo: &str) -> Result<Vec<GateOverrideRow>> {
        let rows = sqlx::query(
            "SELECT slo, created_by, reason, created_at, expires_at FROM slo_gate_overrides \
             WHERE slo = $1 ORDER BY created_at, id",
        )
        .bind(slo.to_owned())
        .fetch_all(&self.store.pool)
        .await
        .map_err(query("list gate overrides"))?;
        rows.iter()
            .map(|row| {
                let get_err = |column: &str, err: sqlx::Error| Error::Decode {
                    table: "slo_gate_overrides",
                    reason: format!("{column}: {err}"),
                };
                Ok(GateOverrideRow {
                    slo: row.try_get("slo").map_err(|e| get_err("slo", e))?,
                    created_by: row
                        .try_get("created_by")
                        .map_err(|e| get_err("created_by", e))?,
                    reason: row.try_get("reason").map_err(|e| get_err("reason", e))?,
                    created_at: row
                        .try_get("created_at")
                        .map_err(|e| get_err("created_at", e))?,
                    expires_at: row
                        .try_get("expires_at")
                        .map_err(|e| get_err("expires_at", e))?,
                })
            })
            .collect()
    }
}
