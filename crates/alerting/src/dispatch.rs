//! The dispatcher: routes each alert to its aggregation groups and runs every group's timers
//! (first flush after `group_wait`, then every `group_interval`), handing each flush to the
//! notification pipeline. Grouping and flushing follow Alertmanager's `dispatch` package.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::alert::{Alert, LabelSet, compare_for_notification, fingerprint, labels_to_string};
use crate::metrics::AlertingMetrics;
use crate::notify::{NotifyContext, Stage};
use crate::route::Route;
use crate::time::{Millis, SharedClock, ZERO_TIME};

/// A snapshot of one group, for the API.
#[derive(Debug, Clone)]
pub struct GroupSnapshot {
    /// Group key.
    pub key: String,
    /// Group labels.
    pub labels: LabelSet,
    /// Receiver.
    pub receiver: String,
    /// Fingerprints of its alerts.
    pub alerts: Vec<u64>,
}

struct GroupState {
    // Shared with the router's alert map: an alert storm is not copied once per group.
    alerts: HashMap<u64, Arc<Alert>>,
    next_flush: Millis,
    has_flushed: bool,
}

struct Group {
    key: String,
    labels: LabelSet,
    route: Arc<Route>,
    state: Mutex<GroupState>,
    wake: Notify,
    stop: CancellationToken,
}

/// Routes alerts into groups and flushes them.
pub struct Dispatcher {
    route: Arc<Route>,
    pipeline: Arc<dyn Stage>,
    clock: SharedClock,
    metrics: AlertingMetrics,
    groups: Mutex<HashMap<(usize, u64), Arc<Group>>>,
    // After a restart, no group flushes before its group_wait has passed since this instant,
    // so alerts (inhibiting ones included) re-sent by Prometheus are in before anything goes out.
    hold_until_wait_after: Option<Millis>,
    stop: CancellationToken,
    busy: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("groups", &self.groups.lock().len())
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher for a route tree and pipeline. `after_restart` holds every group for its
    /// `group_wait` from now.
    pub fn new(
        route: Arc<Route>,
        pipeline: Arc<dyn Stage>,
        clock: SharedClock,
        metrics: AlertingMetrics,
        after_restart: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            hold_until_wait_after: after_restart.then(|| clock.now()),
            route,
            pipeline,
            clock,
            metrics,
            groups: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
            busy: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Routes one alert into its groups.
    pub fn process(self: &Arc<Self>, fp: u64, alert: &Arc<Alert>) {
        self.process_routed(fp, alert, &self.route.matches(&alert.labels));
    }

    /// Puts one alert (fingerprint `fp`) into the groups of `routes`, the routes of this
    /// dispatcher's tree it matches (computed once by the caller, who needs them too).
    pub fn process_routed(self: &Arc<Self>, fp: u64, alert: &Arc<Alert>, routes: &[Arc<Route>]) {
        for route in routes {
            let labels = route.group_labels(&alert.labels);
            let id = (Arc::as_ptr(route) as usize, fingerprint(&labels));
            let group = {
                let mut groups = self.groups.lock();
                match groups.get(&id) {
                    Some(group) => Arc::clone(group),
                    None => {
                        let group = Arc::new(Group {
                            key: format!("{}:{}", route.key, labels_to_string(&labels)),
                            labels,
                            state: Mutex::new(GroupState {
                                alerts: HashMap::new(),
                                next_flush: self.clock.now() + route.opts.group_wait,
                                has_flushed: false,
                            }),
                            route: Arc::clone(route),
                            wake: Notify::new(),
                            stop: self.stop.child_token(),
                        });
                        groups.insert(id, Arc::clone(&group));
                        self.metrics
                            .groups
                            .set(i64::try_from(groups.len()).unwrap_or(i64::MAX));
                        tokio::spawn(Arc::clone(self).run_group(Arc::clone(&group)));
                        group
                    }
                }
            };
            self.insert(&group, fp, alert);
        }
    }

    fn insert(&self, group: &Group, fp: u64, alert: &Arc<Alert>) {
        let mut state = group.state.lock();
        state.alerts.insert(fp, Arc::clone(alert));
        let wait = group.route.opts.group_wait;
        let now = self.clock.now();
        let held = self
            .hold_until_wait_after
            .is_some_and(|since| now < since + wait);
        // Alertmanager flushes at once when the alert has been firing longer than group_wait.
        if !state.has_flushed && !held && alert.starts_at + wait < now {
            state.next_flush = now;
            drop(state);
            group.wake.notify_one();
        }
    }

    async fn run_group(self: Arc<Self>, group: Arc<Group>) {
        loop {
            let deadline = group.state.lock().next_flush;
            tokio::select! {
                () = self.clock.sleep_until(deadline) => {}
                () = group.wake.notified() => continue,
                () = group.stop.cancelled() => return,
            }
            let now = self.clock.now();
            {
                let mut state = group.state.lock();
                if state.next_flush > now {
                    continue;
                }
                state.next_flush = now + group.route.opts.group_interval;
                state.has_flushed = true;
            }
            self.busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let stopped = tokio::select! {
                () = self.flush(&group) => false,
                () = group.stop.cancelled() => true,
            };
            self.busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            if stopped {
                return;
            }
        }
    }

    async fn flush(&self, group: &Group) {
        let now = self.clock.now();
        let mut alerts: Vec<Alert> = {
            let state = group.state.lock();
            state
                .alerts
                .values()
                .map(|a| {
                    let mut a = Alert::clone(a);
                    // Alerts not yet resolved do not resolve as time moves on.
                    if !a.resolved_at(now) {
                        a.ends_at = ZERO_TIME;
                    }
                    a
                })
                .collect()
        };
        if alerts.is_empty() {
            return;
        }
        alerts.sort_by(compare_for_notification);
        // What a successful flush forgets: the resolved alerts, unless updated since.
        let resolved: Vec<(u64, Millis)> = alerts
            .iter()
            .filter(|a| a.resolved_at(now))
            .map(|a| (a.fingerprint(), a.updated_at))
            .collect();
        let count = alerts.len();
        let opts = &group.route.opts;
        // Alertmanager gives a flush until the next one (at least 10s) to finish.
        let deadline = now + opts.group_interval.max(10_000);
        let mut ctx = NotifyContext {
            now,
            group_key: group.key.clone(),
            group_labels: group.labels.clone(),
            route_key: group.route.key.clone(),
            opts: opts.clone(),
            deadline,
            firing: Vec::new(),
            resolved: Vec::new(),
            previous: None,
        };
        let result = tokio::select! {
            r = self.pipeline.exec(&mut ctx, alerts) => Some(r),
            () = self.clock.sleep_until(deadline) => None,
        };
        match result {
            Some(Ok(_)) => {
                let mut state = group.state.lock();
                for (fp, updated_at) in resolved {
                    if state
                        .alerts
                        .get(&fp)
                        .is_some_and(|got| got.updated_at == updated_at)
                    {
                        state.alerts.remove(&fp);
                    }
                }
            }
            Some(Err(error)) => {
                tracing::error!(group = %group.key, alerts = count, %error, "notify for alerts failed");
            }
            None => {
                tracing::error!(group = %group.key, alerts = count, "notify for alerts timed out");
            }
        }
    }

    /// Stops and drops groups without alerts.
    pub fn remove_empty_groups(&self) {
        let mut groups = self.groups.lock();
        groups.retain(|_, g| {
            let empty = g.state.lock().alerts.is_empty();
            if empty {
                g.stop.cancel();
            }
            !empty
        });
        self.metrics
            .groups
            .set(i64::try_from(groups.len()).unwrap_or(i64::MAX));
    }

    /// Removes an alert from every group (garbage collection).
    pub fn forget(&self, fp: u64) {
        for g in self.groups.lock().values() {
            g.state.lock().alerts.remove(&fp);
        }
    }

    /// The groups and their alerts.
    pub fn groups(&self) -> Vec<GroupSnapshot> {
        let mut out: Vec<GroupSnapshot> = self
            .groups
            .lock()
            .values()
            .map(|g| {
                let mut alerts: Vec<u64> = g.state.lock().alerts.keys().copied().collect();
                alerts.sort_unstable();
                GroupSnapshot {
                    key: g.key.clone(),
                    labels: g.labels.clone(),
                    receiver: g.route.opts.receiver.clone(),
                    alerts,
                }
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key).then(a.receiver.cmp(&b.receiver)));
        out
    }

    /// Flushes in progress (tests wait for none before moving a fake clock on).
    pub fn busy(&self) -> usize {
        self.busy.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops every group.
    pub fn stop(&self) {
        self.stop.cancel();
        self.groups.lock().clear();
        self.metrics.groups.set(0);
    }
}
