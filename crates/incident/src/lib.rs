//! tocsin's incident stage: incidents opened from alert groups, PagerDuty Events v2 or by
//! hand; the lifecycle triage → acknowledged → mitigated → resolved → closed (or cancelled)
//! with validated, monotonic timestamps; roles; a timeline captured automatically; MTTA,
//! MTTD and MTTR with weekly trends; post-mortem drafts, action items and the post-mortem
//! policy; runbook actions. State lives in `tocsin-store` (SQLite or PostgreSQL).
//!
//! The stage reaches paging and SLO budgets through the [`Paging`] and [`Impact`] traits,
//! which the binary implements over the on-call and SLO stages; see docs/incidents.md.

mod error;
mod manager;
mod metrics;
mod seams;

pub mod config;
pub mod model;
pub mod pagerduty;
pub mod postmortem;
pub mod runbook;
pub mod stats;

pub use crate::error::{Error, Result};
pub use crate::manager::{
    ActionItemRequest, AlertGroup, GroupAlert, Incidents, OpenRequest, PagerdutyOutcome,
};
pub use crate::metrics::IncidentMetrics;
pub use crate::seams::{
    BoxFuture, Clock, Impact, NoImpact, NoPaging, Page, PageTarget, Paging, SloImpact, SystemClock,
};
