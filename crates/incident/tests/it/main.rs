//! The incident stage end to end over the state store, on SQLite and PostgreSQL, with a
//! hand-driven clock, a recording pager and fixed SLO impact.

#![allow(clippy::unwrap_used, reason = "test code")]

mod stage;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use tocsin_incident::{BoxFuture, Clock, Impact, Page, PageTarget, Paging, SloImpact};

pub use tocsin_store::testing::on_both;

/// A clock the test moves.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    pub fn at(ms: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(ms)))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Records what paging was asked to do.
#[derive(Debug, Default)]
pub struct RecordingPaging(pub Mutex<Vec<String>>);

impl Paging for RecordingPaging {
    fn start<'a>(
        &'a self,
        key: &'a str,
        target: &'a PageTarget,
        page: &'a Page,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().push(format!(
            "start {key} {} {:?} {}",
            target.service, target.escalation_policy, page.severity
        ));
        Box::pin(async { Ok(()) })
    }
    fn ack<'a>(
        &'a self,
        key: &'a str,
        by: &'a str,
        _expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().push(format!("ack {key} {by}"));
        Box::pin(async { Ok(()) })
    }
    fn resolve<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().push(format!("resolve {key}"));
        Box::pin(async { Ok(()) })
    }
}

/// Every incident burned this much of SLO `availability`'s budget.
#[derive(Debug)]
pub struct FixedImpact(pub f64);

impl Impact for FixedImpact {
    fn impact<'a>(
        &'a self,
        service: &'a str,
        from: i64,
        to: i64,
    ) -> BoxFuture<'a, Result<Vec<SloImpact>, String>> {
        let consumed = self.0;
        let minutes = (to - from) as f64 / 60_000.0;
        Box::pin(async move {
            Ok(vec![SloImpact {
                slo: format!("{service}-availability"),
                budget_consumed: consumed,
                bad_events: Some(minutes * 100.0),
                total_events: Some(minutes * 10_000.0),
            }])
        })
    }
}
