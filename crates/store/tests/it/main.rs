//! The store's behaviour, run against both engines: SQLite in a temporary file, and
//! PostgreSQL (127.0.0.1:5432, database `test`) in a schema of its own per test, dropped at
//! the end. PostgreSQL is required when TOCSIN_REQUIRE_REFERENCE_TOOLS is set (CI starts it).

#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(clippy::print_stderr, reason = "tests say why they skipped")]

mod alerting;
mod incident;
mod oncall;
mod slo;

use std::future::Future;

use tocsin_store::{Store, StoreOptions};

pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs `test` on a fresh SQLite store and a fresh PostgreSQL schema.
pub async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(&dir.path().join("state.db"))
        .await
        .unwrap();
    test(sqlite.clone()).await;
    sqlite.close().await;

    let schema = format!(
        "tocsin_test_{name}_{}_{}",
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
            test(pg.clone()).await;
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
