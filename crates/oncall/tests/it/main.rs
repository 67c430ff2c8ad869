//! The escalation engine on a manual clock over the real store, on SQLite and PostgreSQL
//! (127.0.0.1:5432, database `test`, a schema per test; required when
//! TOCSIN_REQUIRE_REFERENCE_TOOLS is set).

#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(clippy::print_stderr, reason = "tests say why they skipped")]

mod escalation;

use std::future::Future;

use tocsin_store::{Store, StoreOptions};

pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs `test` on a fresh SQLite store and a fresh PostgreSQL schema. The test gets a way
/// to open the same store again (a restart).
pub async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Opener) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(Opener::Sqlite(dir.path().join("state.db"))).await;

    let schema = format!(
        "tocsin_test_oncall_{name}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let url = std::env::var("TOCSIN_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.into());
    let options = StoreOptions {
        schema: Some(schema.clone()),
    };
    match Store::open_postgres(&url, &options).await {
        Ok(pg) => {
            test(Opener::Postgres(url, schema.clone())).await;
            pg.drop_schema(&schema).await.unwrap();
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

/// Opens one store, as often as a test restarts.
#[derive(Debug, Clone)]
pub enum Opener {
    /// The SQLite file.
    Sqlite(std::path::PathBuf),
    /// URL and schema.
    Postgres(String, String),
}

impl Opener {
    pub async fn open(&self) -> Store {
        match self {
            Self::Sqlite(path) => Store::open_sqlite(path).await.unwrap(),
            Self::Postgres(url, schema) => Store::open_postgres(
                url,
                &StoreOptions {
                    schema: Some(schema.clone()),
                },
            )
            .await
            .unwrap(),
        }
    }
}
