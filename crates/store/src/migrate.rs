//! Migrations, per feature: each stage lists its own, for both engines, and they run in
//! order inside one transaction each. The ledger `tocsin_schema_migrations` records which
//! ran; a database newer than the binary is refused rather than misread.

use sqlx::Executor;

use crate::{Backend, Error, Result, Store};

/// One schema change, written for both engines.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// 1, 2, 3, ... within the feature; never reused or edited once released.
    pub version: i64,
    /// A short name, shown in errors.
    pub name: &'static str,
    /// SQL for SQLite (several statements allowed).
    pub sqlite: &'static str,
    /// SQL for PostgreSQL.
    pub postgres: &'static str,
}

/// A stage's tables: its name (prefix of its tables) and its migrations in order.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// `alerting`, `oncall`, ...
    pub name: &'static str,
    /// In increasing version order.
    pub migrations: &'static [Migration],
}

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS tocsin_schema_migrations (\
    feature TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, \
    applied_at BIGINT NOT NULL, PRIMARY KEY (feature, version))";

pub(crate) async fn run(store: &Store, feature: &Feature) -> Result<()> {
    let pool = &store.pool;
    pool.execute(sqlx::raw_sql(LEDGER))
        .await
        .map_err(crate::error::query("create migration ledger"))?;
    let known = feature.migrations.last().map_or(0, |m| m.version);
    let found: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) FROM tocsin_schema_migrations WHERE feature = $1",
    )
    .bind(feature.name)
    .fetch_one(pool)
    .await
    .map_err(crate::error::query("read migration ledger"))?;
    if found > known {
        return Err(Error::SchemaTooNew {
            feature: feature.name,
            found,
            known,
        });
    }
    for migration in feature.migrations {
        let fail = |source| Error::Migration {
            feature: feature.name,
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut tx = pool.begin().await.map_err(fail)?;
        if store.backend() == Backend::Postgres {
            // Replicas starting together: one migrates, the others wait and then skip.
            tx.execute(sqlx::raw_sql(
                "LOCK TABLE tocsin_schema_migrations IN EXCLUSIVE MODE",
            ))
            .await
            .map_err(fail)?;
        }
        let current: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM tocsin_schema_migrations WHERE feature = $1",
        )
        .bind(feature.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        if current > known {
            return Err(Error::SchemaTooNew {
                feature: feature.name,
                found: current,
                known,
            });
        }
        if current >= migration.version {
            tx.rollback().await.map_err(fail)?;
            continue;
        }
        let sql = match store.backend() {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        tx.execute(sqlx::raw_sql(sql)).await.map_err(fail)?;
        sqlx::query(
            "INSERT INTO tocsin_schema_migrations (feature, version, name, applied_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(feature.name)
        .bind(migration.version)
        .bind(migration.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(
            feature = feature.name,
            version = migration.version,
            name = migration.name,
            "state store migrated"
        );
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
