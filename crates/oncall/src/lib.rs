//! On-call for tocsin: who is responsible, when, and how they are reached.
//!
//! - [`directory`]: users, teams, services, schedules and escalation policies as code (YAML
//!   files, strict, `file:line:column` errors, cross-references checked) merged with objects
//!   made through the API (files win for the ids they define).
//! - [`schedule`]: layers of rotations with restrictions, stacked (a later layer wins where
//!   it has someone), overrides and swaps on top; DST-correct with `jiff`.
//! - [`ical`] and [`report`]: RFC 5545 feeds and fairness reports (gaps, hours, nights,
//!   weekends, pages out of hours).
//! - [`escalation`]: the durable escalation engine ([`Escalator`]) over `tocsin-store`, and
//!   [`notify`]: delivery to webhooks, Slack, email and the built-in inbox.

mod error;

pub mod clock;
pub mod directory;
pub mod escalation;
pub mod ical;
pub mod metrics;
pub mod notify;
pub mod report;
pub mod schedule;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::directory::{Directory, DirectoryBuilder};
pub use crate::error::{Error, Result};
pub use crate::escalation::{EscalationObserver, Escalator, Page, StartOutcome};
pub use crate::metrics::OncallMetrics;
pub use crate::notify::{Channels, Delivery, Notifier};
pub use crate::schedule::OnCallShift;
