//! Alert routing compatible with Alertmanager 0.25: its configuration file and semantics
//! (route tree, grouping, `group_wait`/`group_interval`/`repeat_interval`, inhibition,
//! silences, time intervals, deduplication against a notification log, webhook payload v4,
//! Slack, email and PagerDuty receivers with Alertmanager's default templates, and tocsin's
//! `oncall` receiver),
//! with the state that Alertmanager keeps in memory or in periodic snapshots — alerts,
//! silences, notification log, history — written to the state store before it is
//! acknowledged, so a crash loses none of it.
//!
//! Layout follows Alertmanager's packages: [`config`], [`route`], [`dispatch`], [`notify`]
//! (stages), [`receivers`] (Slack, email, PagerDuty, on-call; notification templates),
//! [`silence`], [`inhibit`], [`timeinterval`], [`nflog`], [`webhook`]; tocsin's [`ack`] and
//! [`feedback`] (noise report). [`Alerting`] is the running stage the server and the API use.

mod error;
mod history;
mod running;

pub mod ack;

pub mod alert;
pub mod config;
pub mod dispatch;
pub mod feedback;
pub mod inhibit;
pub mod matcher;
pub mod metrics;
pub mod nflog;
pub mod notify;
pub mod receivers;
pub mod route;
pub mod silence;
pub mod time;
pub mod timeinterval;
pub mod webhook;

pub use crate::error::{Error, Result};
pub use crate::metrics::AlertingMetrics;
pub use crate::running::{
    AckInput, AlertFilter, AlertView, Alerting, AlertingOptions, GroupView, PostableAlert,
    PreparedConfig, SilenceInput,
};
