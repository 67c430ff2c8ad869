//! tocsin's state store: silences, the notification log, alert state, history, acks and
//! feedback today; on-call and incident state as those stages land.
//!
//! One API over two engines: SQLite under the data directory (the default, `data/state.db`)
//! and PostgreSQL when `storage.state` is a `postgres://` URL (several replicas sharing
//! state). Both go through sqlx's `Any` driver with the same SQL (numbered `$N` placeholders,
//! `ON CONFLICT` upserts, integers for instants), so every query is tested against both.
//!
//! Each feature owns its tables and migrations ([`Feature`]): alerting's are in
//! [`alerting`]; a new stage adds a module with its own `Feature` and repository type
//! without touching the others. Instants are stored as Unix milliseconds (`BIGINT`).

mod error;
mod migrate;
mod open;

pub mod alerting;
pub mod incident;
pub mod oncall;
pub mod slo;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::error::{Error, Result};
pub use crate::migrate::{Feature, Migration};
pub use crate::open::{Backend, Store, StoreOptions};
