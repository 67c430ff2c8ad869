//! The escalation engine on a manual clock over the real store, on SQLite and PostgreSQL
//! (127.0.0.1:5432, database `test`, a schema per test; required when
//! TOCSIN_REQUIRE_REFERENCE_TOOLS is set).

#![allow(clippy::unwrap_used, reason = "test code")]

mod escalation;

pub use tocsin_store::testing::{Opener, on_both_engines as on_both};
