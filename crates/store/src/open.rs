//! Opening the store: the SQLite file or the PostgreSQL pool, connection settings, and
//! isolation of test runs in their own PostgreSQL schema.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tocsin_config::StateStore;

use crate::{Error, Feature, Result};

/// Which engine holds the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// How to open the store beyond its location.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// PostgreSQL only: the schema to create and use (tests isolate runs this way). `None`
    /// uses the connection's default `search_path`.
    pub schema: Option<String>,
}

/// The open store: a connection pool and the engine behind it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens the store `storage.state` names: `state.db` in `data_dir` by default.
    pub async fn open(state: &StateStore, data_dir: &Path) -> Result<Self> {
        match state {
            StateStore::SqliteInDataDir => Self::open_sqlite(&data_dir.join("state.db")).await,
            StateStore::SqliteFile(path) => {
                let path = Path::new(path);
                let path = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    data_dir.join(path)
                };
                Self::open_sqlite(&path).await
            }
            StateStore::Postgres(url) => {
                Self::open_postgres(url.expose(), &StoreOptions::default()).await
            }
        }
    }

    /// Opens (creating if needed) an SQLite file.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let target = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| Error::Open {
                target: target.clone(),
                source: sqlx::Error::Io(err),
            })?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let options: AnyConnectOptions = url.parse().map_err(|source| Error::Open {
            target: target.clone(),
            source,
        })?;
        let pool = AnyPoolOptions::new()
            // SQLite has one writer; a few connections let reads proceed beside it.
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL with synchronous=NORMAL: a committed transaction survives a process
                    // crash (kill -9); only a power loss can cost the last commits.
                    conn.execute(sqlx::raw_sql(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                    ))
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| Error::Open { target, source })?;
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
        })
    }

    /// Connects to PostgreSQL.
    pub async fn open_postgres(url: &str, options: &StoreOptions) -> Result<Self> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let target = redact_url(url);
        let connect: AnyConnectOptions = url.parse().map_err(|source| Error::Open {
            target: target.clone(),
            source,
        })?;
        if let Some(schema) = &options.schema {
            // Create it on a throwaway connection, then point every pooled one at it.
            let setup = AnyPoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await
                .map_err(|source| Error::Open {
                    target: target.clone(),
                    source,
                })?;
            setup
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    quote_ident(schema)
                ))))
                .await
                .map_err(|source| Error::Open {
                    target: target.clone(),
                    source,
                })?;
            setup.close().await;
        }
        let search_path = options.schema.as_deref().map(quote_ident);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(schema) = search_path {
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "SET search_path TO {schema}"
                        ))))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(|source| Error::Open { target, source })?;
        Ok(Self {
            pool,
            backend: Backend::Postgres,
        })
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings a feature's tables to its latest version.
    pub async fn migrate(&self, feature: &Feature) -> Result<()> {
        crate::migrate::run(self, feature).await
    }

    /// Closes every connection (after the last write; SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Drops a PostgreSQL schema and everything in it (test clean-up).
    pub async fn drop_schema(&self, schema: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            self.pool
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE",
                    quote_ident(schema)
                ))))
                .await
                .map_err(crate::error::query("drop schema"))?;
        }
        Ok(())
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:<secret>{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://u:pw@db:5432/x"),
            "postgres://u:<secret>@db:5432/x"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
