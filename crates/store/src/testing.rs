//! Test support for every crate whose state lives here (feature `testing`, dev-dependencies
//! only): run one test body on a fresh SQLite file and on a fresh PostgreSQL schema
//! (127.0.0.1:5432, database `test`, or `TOCSIN_TEST_POSTGRES_URL`), dropped afterwards.
//! PostgreSQL is required when `TOCSIN_REQUIRE_REFERENCE_TOOLS` is set (CI starts it);
//! otherwise a missing server skips that half with a notice.

#![allow(
    clippy::print_stderr,
    reason = "a test says on stderr why its PostgreSQL half was skipped"
)]

use std::future::Future;
use std::path::PathBuf;

use crate::{Store, StoreOptions};

/// The PostgreSQL the tests use unless `TOCSIN_TEST_POSTGRES_URL` says otherwise.
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Opens one test store, as often as a test restarts.
#[derive(Debug, Clone)]
pub enum Opener {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// URL and schema.
    Postgres(String, String),
}

impl Opener {
    /// Opens the store (again).
    pub async fn open(&self) -> Store {
        match self {
            Self::Sqlite(path) => Store::open_sqlite(path)
                .await
                .expect("test SQLite store opens"),
            Self::Postgres(url, schema) => Store::open_postgres(
                url,
                &StoreOptions {
                    schema: Some(schema.clone()),
                },
            )
            .await
            .expect("test PostgreSQL schema opens"),
        }
    }
}

/// Runs `test` on a fresh SQLite store and a fresh PostgreSQL schema, giving it a way to
/// open the same store again (a restart).
pub async fn on_both_engines<F, Fut>(name: &str, test: F)
where
    F: Fn(Opener) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    test(Opener::Sqlite(dir.path().join("state.db"))).await;

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = format!("tocsin_test_{name}_{}_{nanos}", std::process::id());
    let url = std::env::var("TOCSIN_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.into());
    let options = StoreOptions {
        schema: Some(schema.clone()),
    };
    match Store::open_postgres(&url, &options).await {
        Ok(pg) => {
            test(Opener::Postgres(url, schema.clone())).await;
            pg.drop_schema(&schema)
                .await
                .expect("test schema is dropped");
            pg.close().await;
        }
        Err(err) => {
            assert!(
                std::env::var_os("TOCSIN_REQUIRE_REFERENCE_TOOLS").is_none(),
                "PostgreSQL is required (TOCSIN_REQUIRE_REFERENCE_TOOLS is set): {err}"
            );
            eprintln!("SKIPPED on PostgreSQL: {err}");
        }
    }
}

/// Runs `test` on an open store of each engine.
pub async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    on_both_engines(name, |opener| {
        let test = &test;
        async move {
            let store = opener.open().await;
            test(store.clone()).await;
            store.close().await;
        }
    })
    .await;
}
