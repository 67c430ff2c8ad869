//! A timeline DSL in the style of Alertmanager's acceptance tests: schedule pushes and
//! silences at `at(t)` seconds, declare the notifications wanted `between(a, b)`, run the
//! fake clock event by event, and compare what the webhook collector received.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use tocsin_alerting::notify::BoxFuture;
use tocsin_alerting::receivers::oncall::OncallHandoff;
use tocsin_alerting::time::{Clock, FakeClock, Millis, SharedClock};
use tocsin_alerting::webhook::HttpPost;
use tocsin_alerting::{
    Alerting, AlertingMetrics, AlertingOptions, PostableAlert, SilenceInput,
    config::AlertmanagerConfig, matcher::parse_matchers,
};
use tocsin_store::Store;

/// 2026-11-30T00:00:00Z, a Monday: timeline second 0.
pub const T0: Millis = 1_795_996_800_000;

pub fn ms(secs: f64) -> Millis {
    T0 + (secs * 1000.0).round() as Millis
}

/// Receives webhook posts.
#[derive(Debug, Default)]
pub struct Collector {
    pub received: Mutex<Vec<(Millis, Value)>>,
    pub fail_next: Mutex<u32>,
    clock: Mutex<Option<SharedClock>>,
}

impl HttpPost for Collector {
    fn post_json<'a>(&'a self, _url: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<u16, String>> {
        Box::pin(async move {
            let now = self.clock.lock().as_ref().map_or(0, |c| c.now());
            {
                let mut fail = self.fail_next.lock();
                if *fail > 0 {
                    *fail -= 1;
                    return Ok(503);
                }
            }
            self.received
                .lock()
                .push((now, serde_json::from_slice(&body).unwrap()));
            Ok(200)
        })
    }
}

/// An alert to push: labels and an activity range in timeline seconds.
#[derive(Debug, Clone)]
pub struct TestAlert {
    pub labels: BTreeMap<String, String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
}

pub fn alert(pairs: &[(&str, &str)]) -> TestAlert {
    TestAlert {
        labels: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        start: None,
        end: None,
    }
}

impl TestAlert {
    pub fn active(mut self, start: f64) -> Self {
        self.start = Some(start);
        self
    }

    pub fn ended(mut self, start: f64, end: f64) -> Self {
        self.start = Some(start);
        self.end = Some(end);
        self
    }
}

/// A notification's alerts as (labels JSON, status).
type Notified = BTreeSet<(String, String)>;

enum Action {
    Push(Vec<TestAlert>),
    Silence(String, f64, f64, Arc<Mutex<Option<String>>>),
    /// Matchers, start, end, recurrence, warn-before seconds.
    SilenceWith(
        String,
        f64,
        f64,
        Option<Value>,
        Option<f64>,
        Arc<Mutex<Option<String>>>,
    ),
    Expire(Arc<Mutex<Option<String>>>),
    /// Acknowledge the group with this alertname, for this many seconds (or until resolved).
    Ack(String, Option<f64>),
    Unack(String),
}

pub struct Timeline {
    pub clock: Arc<FakeClock>,
    pub alerting: Alerting,
    pub collector: Arc<Collector>,
    #[allow(dead_code, reason = "kept open for the test's duration")]
    pub store: Store,
    actions: Vec<(f64, Action)>,
    wanted: Vec<(f64, f64, Notified)>,
}

async fn settle(alerting: &Alerting, clock: &FakeClock) {
    // Woken group tasks run, flush (the store is real, so I/O happens) and sleep again. A
    // flush waiting on the clock (retry backoff) counts as settled once the sleepers stop
    // changing.
    let (mut quiet, mut sleepers) = (0, usize::MAX);
    for _ in 0..400 {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        let now_sleeping = clock.sleepers();
        let still = alerting.busy() == 0 || now_sleeping == sleepers;
        sleepers = now_sleeping;
        if still {
            quiet += 1;
            if quiet >= 5 {
                return;
            }
        } else {
            quiet = 0;
        }
    }
    panic!("the router did not settle within 400 rounds");
}

impl Timeline {
    pub async fn new(config: &str, dir: &Path) -> Self {
        Self::with_clock(config, dir, Arc::new(FakeClock::new(T0))).await
    }

    pub async fn with_clock(config: &str, dir: &Path, clock: Arc<FakeClock>) -> Self {
        Self::with_oncall(config, dir, clock, None).await
    }

    /// A timeline whose `oncall_configs` hand groups to `oncall`.
    pub async fn with_oncall(
        config: &str,
        dir: &Path,
        clock: Arc<FakeClock>,
        oncall: Option<Arc<dyn OncallHandoff>>,
    ) -> Self {
        let store = Store::open_sqlite(&dir.join("state.db")).await.unwrap();
        let collector = Arc::new(Collector::default());
        *collector.clock.lock() = Some(Arc::clone(&clock) as SharedClock);
        let config = AlertmanagerConfig::parse("test.yml", config).unwrap();
        let alerting = Alerting::start(
            config,
            store.clone(),
            Arc::clone(&clock) as SharedClock,
            AlertingMetrics::unregistered(),
            AlertingOptions {
                external_url: "http://tocsin.test".to_owned(),
                http: Arc::clone(&collector) as Arc<dyn HttpPost>,
                base_dir: dir.to_path_buf(),
                gc_interval: std::time::Duration::from_secs(3600),
                maintenance_interval: std::time::Duration::from_secs(3600),
                retention: std::time::Duration::from_secs(120 * 3600),
                oncall,
            },
        )
        .await
        .unwrap();
        Self {
            clock,
            alerting,
            collector,
            store,
            actions: Vec::new(),
            wanted: Vec::new(),
        }
    }

    pub fn push(&mut self, at: f64, alerts: Vec<TestAlert>) {
        self.actions.push((at, Action::Push(alerts)));
    }

    /// Adds a silence at `at` for `[start, end)`; returns a handle for `expire`.
    pub fn silence(
        &mut self,
        at: f64,
        matchers: &str,
        start: f64,
        end: f64,
    ) -> Arc<Mutex<Option<String>>> {
        let handle = Arc::new(Mutex::new(None));
        self.actions.push((
            at,
            Action::Silence(matchers.to_owned(), start, end, Arc::clone(&handle)),
        ));
        handle
    }

    /// A silence with a recurrence (time intervals JSON) and/or an expiry warning.
    pub fn silence_with(
        &mut self,
        at: f64,
        matchers: &str,
        window: (f64, f64),
        recurrence: Option<Value>,
        warn_before: Option<f64>,
    ) -> Arc<Mutex<Option<String>>> {
        let handle = Arc::new(Mutex::new(None));
        self.actions.push((
            at,
            Action::SilenceWith(
                matchers.to_owned(),
                window.0,
                window.1,
                recurrence,
                warn_before,
                Arc::clone(&handle),
            ),
        ));
        handle
    }

    pub fn expire(&mut self, at: f64, handle: &Arc<Mutex<Option<String>>>) {
        self.actions.push((at, Action::Expire(Arc::clone(handle))));
    }

    /// Acknowledges, at `at`, the group whose `alertname` is `name`, for `secs` (or until it
    /// resolves).
    pub fn ack(&mut self, at: f64, name: &str, secs: Option<f64>) {
        self.actions.push((at, Action::Ack(name.to_owned(), secs)));
    }

    pub fn unack(&mut self, at: f64, name: &str) {
        self.actions.push((at, Action::Unack(name.to_owned())));
    }

    /// The key of the group whose `alertname` is `name`.
    pub fn group_key(&self, name: &str) -> String {
        self.alerting
            .groups(&tocsin_alerting::AlertFilter::default())
            .into_iter()
            .find(|g| g.labels.get("alertname").map(String::as_str) == Some(name))
            .unwrap()
            .key
    }

    /// One notification in `[from, to]` holding exactly these alerts with these statuses.
    pub fn want(&mut self, from: f64, to: f64, alerts: &[(&TestAlert, &str)]) {
        let set = alerts
            .iter()
            .map(|(a, status)| {
                (
                    serde_json::to_string(&a.labels).unwrap(),
                    (*status).to_owned(),
                )
            })
            .collect();
        self.wanted.push((from, to, set));
    }

    async fn set_silence(
        &self,
        matchers: &str,
        (start, end): (f64, f64),
        recurrence: &Option<Value>,
        warn_before: Option<f64>,
        handle: &Mutex<Option<String>>,
    ) {
        let id = self
            .alerting
            .set_silence(SilenceInput {
                id: String::new(),
                matchers: parse_matchers(matchers).unwrap(),
                starts_at: ms(start),
                ends_at: ms(end),
                created_by: "test".to_owned(),
                comment: "test".to_owned(),
                recurrence: recurrence.clone(),
                warn_before: warn_before.map(|s| (s * 1000.0).round() as Millis),
            })
            .await
            .unwrap();
        *handle.lock() = Some(id);
    }

    async fn apply(&self, action: &Action) {
        match action {
            Action::Push(alerts) => {
                let posted = alerts
                    .iter()
                    .map(|a| PostableAlert {
                        labels: a.labels.clone(),
                        annotations: BTreeMap::new(),
                        starts_at: a.start.map(ms),
                        ends_at: a.end.map(ms),
                        generator_url: String::new(),
                    })
                    .collect();
                self.alerting.put_alerts(posted).await.unwrap();
            }
            Action::Silence(matchers, start, end, handle) => {
                self.set_silence(matchers, (*start, *end), &None, None, handle)
                    .await;
            }
            Action::SilenceWith(matchers, start, end, recurrence, warn_before, handle) => {
                self.set_silence(matchers, (*start, *end), recurrence, *warn_before, handle)
                    .await;
            }
            Action::Expire(handle) => {
                let id = handle.lock().clone().unwrap();
                self.alerting.expire_silence(&id).await.unwrap();
            }
            Action::Ack(name, secs) => {
                let now = self.clock.now();
                self.alerting
                    .ack_group(tocsin_alerting::AckInput {
                        group_key: self.group_key(name),
                        by: "alice".to_owned(),
                        comment: "on it".to_owned(),
                        expires_at: secs.map(|s| now + (s * 1000.0).round() as Millis),
                    })
                    .await
                    .unwrap();
            }
            Action::Unack(name) => {
                self.alerting
                    .unack_group(&self.group_key(name))
                    .await
                    .unwrap();
            }
        }
    }

    /// Runs the clock to `until` seconds, event by event.
    pub async fn run(&mut self, until: f64) {
        self.actions.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let actions = std::mem::take(&mut self.actions);
        let mut next_action = 0;
        settle(&self.alerting, &self.clock).await;
        for _ in 0..100_000 {
            let action_at = actions.get(next_action).map(|(t, _)| ms(*t));
            let next = [action_at, self.clock.next_deadline()]
                .into_iter()
                .flatten()
                .min()
                .filter(|&n| n <= ms(until));
            let Some(next) = next else {
                self.clock.advance_to(ms(until));
                settle(&self.alerting, &self.clock).await;
                return;
            };
            self.clock.advance_to(next);
            settle(&self.alerting, &self.clock).await;
            while let Some((t, action)) = actions.get(next_action) {
                if ms(*t) > self.clock.now() {
                    break;
                }
                self.apply(action).await;
                next_action += 1;
                settle(&self.alerting, &self.clock).await;
            }
        }
        panic!("timeline did not reach {until}s within 100000 events");
    }

    /// What was received, as (seconds, set of (labels, status)).
    pub fn received(&self) -> Vec<(f64, Notified)> {
        self.collector
            .received
            .lock()
            .iter()
            .map(|(at, body)| {
                let set = body["alerts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        let labels: BTreeMap<String, String> =
                            serde_json::from_value(a["labels"].clone()).unwrap();
                        (
                            serde_json::to_string(&labels).unwrap(),
                            a["status"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                ((at - T0) as f64 / 1000.0, set)
            })
            .collect()
    }

    /// Every wanted notification arrived in its window, and nothing else arrived.
    pub fn check(&self) {
        let mut received = self.received();
        let report = format!("received: {received:#?}\nwanted: {:#?}", self.wanted);
        for (from, to, set) in &self.wanted {
            let found = received
                .iter()
                .position(|(at, got)| at >= from && at <= to && got == set);
            match found {
                Some(i) => {
                    received.remove(i);
                }
                None => panic!("no notification in [{from}, {to}] with {set:?}\n{report}"),
            }
        }
        assert!(
            received.is_empty(),
            "unexpected notifications: {received:#?}\n{report}"
        );
    }
}
