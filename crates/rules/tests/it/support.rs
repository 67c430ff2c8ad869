//! Reaching reference tools (the pattern of crates/tocsin/tests/it/support.rs).

use std::path::PathBuf;

/// A reference tool from Debian's packages. Tests that compare against it run when it is
/// installed; CI sets TOCSIN_REQUIRE_REFERENCE_TOOLS=1 so a missing tool fails instead of
/// skipping.
pub(crate) fn reference_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("TOCSIN_REQUIRE_REFERENCE_TOOLS").is_none(),
            "{name} is required (TOCSIN_REQUIRE_REFERENCE_TOOLS is set) but not installed; \
             .ci/run installs it with apt-get"
        );
        eprintln!("SKIPPED: {name} not installed (apt-get install it to run this comparison)");
    }
    found
}

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::storage::{Appendable, Queryable};
use tocsin_model::{Labels, Timestamp};
use tocsin_promql::{Engine, EngineOptions, QueryLimits};
use tocsin_rules::{
    AlertSink, Clock, EngineQuery, ManagerDeps, ManagerOptions, RuleManager, RuleMetrics,
    SentAlert, Verbatim, parse_rule_file,
};

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub(crate) struct FakeClock(AtomicI64);

impl FakeClock {
    pub(crate) fn set(&self, t: Timestamp) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

/// Records every batch of alerts with the time it was sent.
#[derive(Debug, Default)]
pub(crate) struct RecordingSink {
    pub(crate) sent: Mutex<Vec<(Timestamp, SentAlert)>>,
    pub(crate) clock: Option<Arc<FakeClock>>,
}

impl AlertSink for RecordingSink {
    fn send(&self, alerts: Vec<SentAlert>) {
        let now = self.clock.as_ref().map_or(0, |c| c.now_ms());
        self.sent
            .lock()
            .extend(alerts.into_iter().map(|a| (now, a)));
    }
}

/// A manager over an in-memory store, with a fake clock and a recording sink.
pub(crate) struct Harness {
    pub(crate) store: Arc<MemStorage>,
    pub(crate) clock: Arc<FakeClock>,
    pub(crate) sink: Arc<RecordingSink>,
    pub(crate) manager: RuleManager,
}

pub(crate) fn harness_on(
    store: Arc<MemStorage>,
    rules: &str,
    interval_ms: i64,
    start: Timestamp,
) -> Harness {
    let clock = Arc::new(FakeClock::default());
    clock.set(start);
    let sink = Arc::new(RecordingSink {
        sent: Mutex::new(Vec::new()),
        clock: Some(Arc::clone(&clock)),
    });
    let engine = Arc::new(Engine::new(
        QueryLimits::default(),
        EngineOptions::default(),
    ));
    let queryable: Arc<dyn Queryable> = Arc::clone(&store) as Arc<dyn Queryable>;
    let appendable: Arc<dyn Appendable> = Arc::clone(&store) as Arc<dyn Appendable>;
    let deps = ManagerDeps {
        query: Arc::new(EngineQuery::new(engine, Arc::clone(&queryable))),
        queryable,
        appendable,
        expander: Arc::new(Verbatim),
        sink: Arc::clone(&sink) as Arc<dyn AlertSink>,
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
        metrics: RuleMetrics::unregistered(),
    };
    let options = options(interval_ms);
    let manager = RuleManager::new(deps, options.clone());
    manager.update(
        parse_rule_file("rules.yml", rules).expect("valid rules"),
        options,
    );
    Harness {
        store,
        clock,
        sink,
        manager,
    }
}

pub(crate) fn options(interval_ms: i64) -> ManagerOptions {
    ManagerOptions {
        default_interval_ms: interval_ms,
        external_url: "http://tocsin.test".to_owned(),
        ..ManagerOptions::default()
    }
}

pub(crate) fn harness(rules: &str, interval_ms: i64) -> Harness {
    harness_on(Arc::new(MemStorage::new()), rules, interval_ms, 0)
}

impl Harness {
    /// Appends one sample.
    pub(crate) fn push(&self, series: &str, t: Timestamp, v: f64) {
        let labels = tocsin_rules::series::parse_metric(series).expect("series");
        let mut app = self.store.appender();
        app.append(0, &labels, t, v).expect("append");
        app.commit().expect("commit");
    }

    /// Moves the clock to `t` and runs whatever is due; returns the next due time.
    pub(crate) fn advance_to(&self, t: Timestamp) -> Option<Timestamp> {
        self.clock.set(t);
        self.manager.run_pending()
    }

    /// Runs every evaluation up to `t` (bounded by the number of steps).
    pub(crate) fn run_until(&self, t: Timestamp) {
        for _ in 0..100_000 {
            let next = self.manager.run_pending().expect("groups exist");
            if next > t {
                self.clock.set(t);
                self.manager.run_pending();
                return;
            }
            self.clock.set(next);
        }
        panic!("did not reach {t}");
    }

    /// States of the alerts of every rule: (labels, state).
    pub(crate) fn states(&self) -> Vec<(String, &'static str)> {
        self.manager
            .active_alerts()
            .iter()
            .map(|a| (a.labels.to_string(), a.state.as_str()))
            .collect()
    }

    /// Value of `series` (exact labels) at `t`, or None.
    pub(crate) fn value_at(&self, labels: &Labels, t: Timestamp) -> Option<f64> {
        self.store
            .dump()
            .get(labels)
            .and_then(|s| s.iter().find(|s| s.t == t).map(|s| s.v))
    }
}
