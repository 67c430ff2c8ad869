//! The rule manager: runs every group on its interval (aligned as Prometheus aligns them),
//! writes results, restores `for` state after a restart, sends alerts, and reloads keeping the
//! state of unchanged rules. Time comes from a [`Clock`], so tests drive it with a fake one.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tocsin_model::storage::{Appendable, Queryable};
use tocsin_model::{Labels, Timestamp};

use crate::alert::{Alert, AlertState};
use crate::file::GroupDef;
use crate::group::{EvalContext, Group};
use crate::metrics::RuleMetrics;
use crate::query::QueryFn;
use crate::template::Expand;

/// Wall-clock time in milliseconds.
pub trait Clock: Send + Sync {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// An alert as sent to the router or an Alertmanager (`PostableAlert`).
#[derive(Debug, Clone, PartialEq)]
pub struct SentAlert {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `startsAt` (ms).
    pub starts_at: Timestamp,
    /// `endsAt` (ms): resolution time, or eval time + 4 × max(resend_delay, interval).
    pub ends_at: Timestamp,
    /// Link to the expression.
    pub generator_url: String,
}

impl SentAlert {
    /// Whether this sends a resolution.
    pub fn is_resolved(&self, now: Timestamp) -> bool {
        self.ends_at <= now
    }
}

/// Where alerts go.
pub trait AlertSink: Send + Sync {
    /// Sends a batch; must not block for long (queue and return).
    fn send(&self, alerts: Vec<SentAlert>);
}

/// Manager settings (Prometheus's defaults in [`ManagerOptions::default`]).
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Interval of groups that set none (global `evaluation_interval`).
    pub default_interval_ms: i64,
    /// Firing alerts are re-sent this often.
    pub resend_delay_ms: i64,
    /// Minimum time an alert with a long `for` waits after a restart.
    pub for_grace_period_ms: i64,
    /// Alert state older than this is not restored.
    pub outage_tolerance_ms: i64,
    /// Base of generator URLs.
    pub external_url: String,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            default_interval_ms: 60_000,
            resend_delay_ms: 60_000,
            for_grace_period_ms: 10 * 60_000,
            outage_tolerance_ms: 60 * 60_000,
            external_url: String::new(),
        }
    }
}

/// What the manager evaluates with.
#[derive(Clone)]
pub struct ManagerDeps {
    /// PromQL.
    pub query: Arc<dyn QueryFn>,
    /// Store read for `for` restoration.
    pub queryable: Arc<dyn Queryable>,
    /// Store written with results.
    pub appendable: Arc<dyn Appendable>,
    /// Templates.
    pub expander: Arc<dyn Expand>,
    /// Alert destination.
    pub sink: Arc<dyn AlertSink>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Self-metrics.
    pub metrics: RuleMetrics,
}

impl std::fmt::Debug for ManagerDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagerDeps").finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Slot {
    group: Group,
    next_eval: Timestamp,
    should_restore: bool,
}

/// A group's place in the manager. The key and the last evaluated state are readable
/// without waiting for an evaluation in progress.
#[derive(Debug, Clone)]
struct SlotEntry {
    key: (String, String),
    slot: Arc<Mutex<Slot>>,
    view: Arc<RwLock<Group>>,
}

/// Runs rule groups.
pub struct RuleManager {
    deps: ManagerDeps,
    /// Replaced on reload (external labels and URL are part of templates).
    expander: RwLock<Arc<dyn Expand>>,
    options: RwLock<ManagerOptions>,
    slots: RwLock<Vec<SlotEntry>>,
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager")
            .field("groups", &self.slots.read().len())
            .finish_non_exhaustive()
    }
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Prometheus's generator URL for an expression.
pub fn generator_url(external_url: &str, expr: &str) -> String {
    format!(
        "{}/graph?g0.expr={}&g0.tab=1",
        external_url.trim_end_matches('/'),
        query_escape(expr)
    )
}

fn labels_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Converts an alert for sending.
pub fn to_sent(alert: &Alert, expr: &str, external_url: &str) -> SentAlert {
    SentAlert {
        labels: labels_map(&alert.labels),
        annotations: alert.annotations.clone(),
        starts_at: alert.starts_at(),
        ends_at: alert.ends_at(),
        generator_url: generator_url(external_url, expr),
    }
}

impl RuleManager {
    /// A manager with no groups.
    pub fn new(deps: ManagerDeps, options: ManagerOptions) -> Self {
        Self {
            expander: RwLock::new(Arc::clone(&deps.expander)),
            deps,
            options: RwLock::new(options),
            slots: RwLock::new(Vec::new()),
        }
    }

    /// Replaces the groups. Groups and rules that did not change keep their alert state;
    /// series of removed groups are marked stale.
    pub fn update(&self, groups: Vec<GroupDef>, options: ManagerOptions) {
        let now = self.deps.clock.now_ms();
        let default_interval = options.default_interval_ms;
        *self.options.write() = options;
        let mut slots = self.slots.write();
        let mut old: BTreeMap<(String, String), SlotEntry> =
            slots.drain(..).map(|e| (e.key.clone(), e)).collect();
        for def in groups {
            let mut group = Group::new(def, default_interval);
            let mut should_restore = true;
            if let Some(prev) = old.remove(&group.key()) {
                let prev = prev.slot.lock();
                group.copy_state_from(&prev.group);
                should_restore = prev.should_restore;
            }
            let next_eval = group.aligned_at_or_before(now) + group.interval_ms;
            self.deps
                .metrics
                .rules
                .with_label_values(&[&group_label(&group)])
                .set(i64::try_from(group.rules.len()).unwrap_or(i64::MAX));
            slots.push(SlotEntry {
                key: group.key(),
                view: Arc::new(RwLock::new(group.clone())),
                slot: Arc::new(Mutex::new(Slot {
                    group,
                    next_eval,
                    should_restore,
                })),
            });
        }
        drop(slots);
        for (_, removed) in old {
            let removed = removed.slot.lock();
            let markers = removed.group.stale_markers(now);
            self.write(&markers);
            let _ = self
                .deps
                .metrics
                .rules
                .remove_label_values(&[&group_label(&removed.group)]);
        }
    }

    /// Replaces the template expander (a reload changed external labels or URL).
    pub fn set_expander(&self, expander: Arc<dyn Expand>) {
        *self.expander.write() = expander;
    }

    /// Evaluates every group that is due and returns when the next one is.
    pub fn run_pending(&self) -> Option<Timestamp> {
        let now = self.deps.clock.now_ms();
        let entries: Vec<SlotEntry> = self.slots.read().clone();
        entries.iter().map(|e| self.run_slot_if_due(e, now)).min()
    }

    /// Identities (file, name) of the groups, in configuration order.
    pub fn group_keys(&self) -> Vec<(String, String)> {
        self.slots.read().iter().map(|e| e.key.clone()).collect()
    }

    /// Evaluates one group if it is due; returns when it is due next, or `None` when no
    /// group has that identity any more (removed by a reload). Lets a caller run each group
    /// on its own, so a slow group does not delay the others (as Prometheus does).
    pub fn run_group(&self, key: &(String, String)) -> Option<Timestamp> {
        let now = self.deps.clock.now_ms();
        let entry = self.slots.read().iter().find(|e| e.key == *key).cloned()?;
        Some(self.run_slot_if_due(&entry, now))
    }

    fn run_slot_if_due(&self, entry: &SlotEntry, now: Timestamp) -> Timestamp {
        let mut slot = entry.slot.lock();
        if slot.next_eval <= now {
            let interval = slot.group.interval_ms;
            // Late by whole intervals: evaluate once at the latest due time, count the rest.
            let due = slot.group.aligned_at_or_before(now);
            let missed = (due - slot.next_eval) / interval;
            if missed > 0 {
                let label = group_label(&slot.group);
                slot.group.missed += u64::try_from(missed).unwrap_or(0);
                self.deps
                    .metrics
                    .iterations_missed
                    .with_label_values(&[&label])
                    .inc_by(u64::try_from(missed).unwrap_or(0));
            }
            self.eval_slot(&mut slot, due);
            slot.next_eval = due + interval;
            *entry.view.write() = slot.group.clone();
        }
        slot.next_eval
    }

    fn eval_slot(&self, slot: &mut Slot, ts: Timestamp) {
        let options = self.options.read().clone();
        let expander = Arc::clone(&self.expander.read());
        let ctx = EvalContext {
            query: &*self.deps.query,
            expander: &*expander,
            resend_delay_ms: options.resend_delay_ms,
        };
        let out = slot.group.eval(ts, ctx);
        let label = group_label(&slot.group);
        let m = &self.deps.metrics;
        m.iterations.with_label_values(&[&label]).inc();
        m.evaluations
            .with_label_values(&[&label])
            .inc_by(u64::try_from(slot.group.rules.len()).unwrap_or(0));
        m.evaluation_failures
            .with_label_values(&[&label])
            .inc_by(u64::try_from(out.failures).unwrap_or(0));
        m.last_duration
            .with_label_values(&[&label])
            .set(slot.group.eval_duration.as_secs_f64());
        #[allow(clippy::cast_precision_loss)]
        m.last_evaluation
            .with_label_values(&[&label])
            .set(ts as f64 / 1000.0);
        self.write(&out.samples);
        if !out.alerts.is_empty() {
            let sent: Vec<SentAlert> = out
                .alerts
                .iter()
                .map(|(expr, a)| to_sent(a, expr, &options.external_url))
                .collect();
            for a in &out.alerts {
                let state = if a.1.state == AlertState::Inactive {
                    "resolved"
                } else {
                    "firing"
                };
                m.alerts_sent.with_label_values(&[state]).inc();
            }
            self.deps.sink.send(sent);
        }
        if slot.should_restore {
            // As Prometheus: the first evaluation finds the active alerts, then their `for`
            // state is read back; ALERTS series are written from the next evaluation on.
            slot.group.restore_for_state(
                ts,
                &*self.deps.queryable,
                options.for_grace_period_ms,
                options.outage_tolerance_ms,
            );
            slot.should_restore = false;
        }
    }

    fn write(&self, samples: &[(Labels, Timestamp, f64)]) {
        if samples.is_empty() {
            return;
        }
        let mut app = self.deps.appendable.appender();
        for (labels, t, v) in samples {
            if let Err(err) = app.append(0, labels, *t, *v) {
                tracing::debug!(series = %labels, error = %err, "rule result refused by the store");
            }
        }
        if let Err(err) = app.commit() {
            tracing::warn!(error = %err, "writing rule results failed");
        }
    }

    /// Marks every series the manager wrote as stale and forgets all groups (shutdown).
    pub fn stop(&self) {
        let now = self.deps.clock.now_ms();
        let entries: Vec<SlotEntry> = self.slots.write().drain(..).collect();
        for entry in entries {
            let slot = entry.slot.lock();
            self.write(&slot.group.stale_markers(now));
        }
    }

    /// A copy of every group's state after its last evaluation, in configuration order;
    /// never waits for an evaluation in progress.
    pub fn groups(&self) -> Vec<Group> {
        self.slots
            .read()
            .iter()
            .map(|e| e.view.read().clone())
            .collect()
    }

    /// Pending and firing alerts of every rule.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.groups()
            .iter()
            .flat_map(|g| g.rules.iter())
            .flat_map(|r| r.active.values())
            .filter(|a| a.state != AlertState::Inactive)
            .cloned()
            .collect()
    }
}

fn group_label(group: &Group) -> String {
    format!("{};{}", group.def.file, group.def.name)
}
