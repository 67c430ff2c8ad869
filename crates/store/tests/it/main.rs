//! The store's behaviour, run against both engines: SQLite in a temporary file, and
//! PostgreSQL (127.0.0.1:5432, database `test`) in a schema of its own per test, dropped at
//! the end. PostgreSQL is required when TOCSIN_REQUIRE_REFERENCE_TOOLS is set (CI starts it).

#![allow(clippy::unwrap_used, reason = "test code")]

mod alerting;
mod incident;
mod oncall;
mod slo;

pub use tocsin_store::testing::on_both;
