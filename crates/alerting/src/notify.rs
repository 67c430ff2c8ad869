//! The notification pipeline, as composable stages in Alertmanager's order: inhibit →
//! active/mute time intervals → silence → per receiver integration: dedup against the
//! notification log → send with retries and backoff → record in the log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tocsin_store::alerting::HistoryRow;

use crate::ack::{AckDecision, Acks};
use crate::alert::{Alert, LabelSet, hash_labels};
use crate::history::History;
use crate::metrics::AlertingMetrics;
use crate::nflog::{Entry, NotificationLog};
use crate::route::RouteOpts;
use crate::time::{Millis, SharedClock};
use crate::timeinterval::{TimeInterval, any_contains};
use crate::{Error, Result};

/// A boxed future (stages and integrations are trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a flush carries through the pipeline.
#[derive(Debug, Clone)]
pub struct NotifyContext {
    /// The flush instant.
    pub now: Millis,
    /// Aggregation group key.
    pub group_key: String,
    /// The group's labels.
    pub group_labels: LabelSet,
    /// Route key.
    pub route_key: String,
    /// Options of the group's route (receiver, intervals, tocsin extensions).
    pub opts: RouteOpts,
    /// Give up retrying at this instant.
    pub deadline: Millis,
    /// Hashes of firing alerts (set by dedup).
    pub firing: Vec<u64>,
    /// Hashes of resolved alerts (set by dedup).
    pub resolved: Vec<u64>,
    /// The previous notification of this group to the current integration.
    pub previous: Option<Entry>,
}

/// One step of the pipeline: returns the alerts to pass on (empty stops the pipeline).
pub trait Stage: Send + Sync {
    /// Runs the step.
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyContext,
        alerts: Vec<Alert>,
    ) -> BoxFuture<'a, Result<Vec<Alert>>>;
}

/// Decides whether an alert is muted (silences, inhibition).
pub trait Muter: Send + Sync {
    /// Whether `labels` is muted at `now`.
    fn mutes(&self, labels: &LabelSet, now: Millis) -> bool;
}

/// Stages in sequence.
pub struct MultiStage(pub Vec<Arc<dyn Stage>>);

impl Stage for MultiStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyContext,
        mut alerts: Vec<Alert>,
    ) -> BoxFuture<'a, Result<Vec<Alert>>> {
        Box::pin(async move {
            for stage in &self.0 {
                if alerts.is_empty() {
                    break;
                }
                alerts = stage.exec(ctx, alerts).await?;
            }
            Ok(alerts)
        })
    }
}

/// Drops muted alerts.
pub struct MuteStage(pub Arc<dyn Muter>);

impl Stage for MuteStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyContext,
        alerts: Vec<Alert>,
    ) -> BoxFuture<'a, Result<Vec<Alert>>> {
        let now = ctx.now;
        Box::pin(async move {
            Ok(alerts
                .into_iter()
                .filter(|a| !self.0.mutes(&a.labels, now))
                .collect())
        })
    }
}

/// Stops the pipeline inside a route's mute intervals, and outside its active intervals.
pub struct TimeIntervalStage {
    /// Intervals by name.
    pub intervals: Arc<BTreeMap<String, Vec<TimeInterval>>>,
}

impl Stage for TimeIntervalStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyContext,
        alerts: Vec<Alert>,
    ) -> BoxFuture<'a, Result<Vec<Alert>>> {
        Box::pin(async move {
            let inside = |names: &[String]| {
                names.iter().any(|n| {
                    self.intervals
                        .get(n)
                        .is_some_and(|list| any_contains(list, ctx.now))
                })
            };
            if !ctx.opts.active_time_intervals.is_empty()
                && !inside(&ctx.opts.active_time_intervals)
            {
                return Ok(Vec::new());
            }
            if inside(&ctx.opts.mute_time_intervals) {
                return Ok(Vec::new());
            }
            Ok(alerts)
        })
    }
}

/// The failure of one delivery attempt.
#[derive(Debug, Clone)]
pub struct NotifyFailure {
    /// Whether trying again may help (5xx, network errors).
    pub retry: bool,
    /// What went wrong.
    pub reason: String,
}

/// What an integration is asked to deliver.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    /// Receiver name.
    pub receiver: &'a str,
    /// Group key.
    pub group_key: &'a str,
    /// Group labels.
    pub group_labels: &'a LabelSet,
    /// The alerts, in notification order.
    pub alerts: &'a [Alert],
    /// The flush instant.
    pub now: Millis,
    /// Identifies this notification (16 hex digits; the same across its retries) so that
    /// feedback can name it; empty when not sent through the pipeline.
    pub id: &'a str,
}

/// The id of the notification of `group_key` by integration `key` at `now`: stable across
/// retries and restarts (a re-sent flush at the same instant keeps it).
pub fn notification_id(key: &str, group_key: &str, now: Millis) -> String {
    let mut buf = Vec::with_capacity(key.len() + group_key.len() + 10);
    buf.extend_from_slice(key.as_bytes());
    buf.push(0xff);
    buf.extend_from_slice(group_key.as_bytes());
    buf.push(0xff);
    buf.extend_from_slice(&now.to_be_bytes());
    format!("{:016x}", xxhash_rust::xxh64::xxh64(&buf, 0))
}

/// A delivery channel (webhook, ...).
pub trait Integration: Send + Sync {
    /// `webhook`, ...
    fn name(&self) -> &'static str;
    /// Position among the receiver's integrations of the same kind.
    fn index(&self) -> usize;
    /// Whether resolved alerts are sent.
    fn send_resolved(&self) -> bool;
    /// One delivery attempt.
    fn notify<'a>(&'a self, n: &'a Notification<'a>) -> BoxFuture<'a, Result<(), NotifyFailure>>;
}

/// Everything an integration's stages share.
#[derive(Clone)]
pub struct PipelineDeps {
    /// Notification log.
    pub nflog: Arc<NotificationLog>,
    /// History.
    pub history: History,
    /// Metrics.
    pub metrics: AlertingMetrics,
    /// Clock.
    pub clock: SharedClock,
    /// Acknowledgements of groups.
    pub acks: Arc<Acks>,
}

/// The stages of one integration: dedup, send with retries, log.
pub struct IntegrationStage {
    integration: Arc<dyn Integration>,
    receiver: String,
    deps: PipelineDeps,
}

impl IntegrationStage {
    /// Wraps an integration of `receiver`.
    pub fn new(receiver: &str, integration: Arc<dyn Integration>, deps: PipelineDeps) -> Self {
        Self {
            integration,
            receiver: receiver.to_owned(),
            deps,
        }
    }

    fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.receiver,
            self.integration.name(),
            self.integration.index()
        )
    }

    fn send_resolved(&self, ctx: &NotifyContext) -> bool {
        ctx.opts
            .send_resolved
            .unwrap_or_else(|| self.integration.send_resolved())
    }

    /// Alertmanager's `DedupStage.needsUpdate`.
    fn needs_update(
        &self,
        ctx: &NotifyContext,
        entry: Option<&Entry>,
        firing: &HashSet<u64>,
        resolved: &HashSet<u64>,
        acked: bool,
    ) -> bool {
        if acked {
            // Acknowledged (and still firing): only newly resolved alerts go out.
            let previous_resolved: HashSet<u64> = entry
                .map(|e| e.resolved.iter().copied().collect())
                .unwrap_or_default();
            return self.send_resolved(ctx) && !resolved.is_subset(&previous_resolved);
        }
        let Some(entry) = entry else {
            return !firing.is_empty();
        };
        let previous_firing: HashSet<u64> = entry.firing.iter().copied().collect();
        if !firing.is_subset(&previous_firing) {
            return true;
        }
        if firing.is_empty() {
            return !entry.firing.is_empty();
        }
        let previous_resolved: HashSet<u64> = entry.resolved.iter().copied().collect();
        if self.send_resolved(ctx) && !resolved.is_subset(&previous_resolved) {
            return true;
        }
        entry.sent_at < ctx.now - ctx.opts.repeat_interval
    }

    fn record(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
        state: &str,
        outcome: &str,
        notification_id: Option<&str>,
        detail: serde_json::Value,
    ) {
        let first = alerts.first();
        self.deps.history.record(HistoryRow {
            id: 0,
            at: self.deps.clock.now(),
            kind: "notification".to_owned(),
            fingerprint: None,
            alertname: ctx
                .group_labels
                .get("alertname")
                .or_else(|| first.and_then(|a| a.labels.get("alertname")))
                .cloned(),
            service: ctx
                .group_labels
                .get("service")
                .or_else(|| first.and_then(|a| a.labels.get("service")))
                .cloned(),
            group_key: Some(ctx.group_key.clone()),
            receiver: Some(self.key()),
            route: Some(ctx.route_key.clone()),
            state: state.to_owned(),
            outcome: Some(outcome.to_owned()),
            notification_id: notification_id.map(str::to_owned),
            detail: detail.to_string(),
        });
    }

    async fn run(&self, ctx: &mut NotifyContext, alerts: Vec<Alert>) -> Result<Vec<Alert>> {
        let key = self.key();
        // Dedup.
        let (mut firing, mut resolved) = (Vec::new(), Vec::new());
        for a in &alerts {
            if a.resolved_at(ctx.now) {
                resolved.push(hash_labels(&a.labels));
            } else {
                firing.push(hash_labels(&a.labels));
            }
        }
        let entry = self.deps.nflog.query(&key, &ctx.group_key, ctx.now);
        let firing_set: HashSet<u64> = firing.iter().copied().collect();
        let resolved_set: HashSet<u64> = resolved.iter().copied().collect();
        let acked = self
            .deps
            .acks
            .decide(&ctx.group_key, &firing, ctx.now)
            .await
            == AckDecision::Acked;
        if !self.needs_update(ctx, entry.as_ref(), &firing_set, &resolved_set, acked) {
            if acked {
                self.keep_entry_while_acked(ctx, &key, entry).await?;
            }
            return Ok(Vec::new());
        }
        ctx.firing = firing;
        ctx.resolved = resolved;
        ctx.previous = entry;

        // Choose what to send.
        let mut sent: Vec<Alert> = if self.send_resolved(ctx) {
            alerts.clone()
        } else if ctx.firing.is_empty() {
            // Nothing to tell, but log it so the next dedup knows the alerts are gone.
            Vec::new()
        } else {
            alerts
                .iter()
                .filter(|a| !a.resolved_at(ctx.now))
                .cloned()
                .collect()
        };
        if ctx.opts.notify_only_changes
            && let Some(previous) = &ctx.previous
        {
            let was_firing: HashSet<u64> = previous.firing.iter().copied().collect();
            let was_resolved: HashSet<u64> = previous.resolved.iter().copied().collect();
            let changed: Vec<Alert> = sent
                .iter()
                .filter(|a| {
                    let h = hash_labels(&a.labels);
                    if a.resolved_at(ctx.now) {
                        !was_resolved.contains(&h)
                    } else {
                        !was_firing.contains(&h)
                    }
                })
                .cloned()
                .collect();
            // A pure repeat (nothing changed) still reminds with everything.
            if !changed.is_empty() {
                sent = changed;
            }
        }

        if !sent.is_empty() {
            let sent_result = self.send_with_retries(ctx, &sent).await;
            // The history row of this notification (written in the background) reaches the
            // store before the log entry does, so a crash never keeps the entry (no resend)
            // while losing the record that it was sent. Notifications are rare next to alert
            // state changes, so waiting here costs little.
            self.deps.history.flush().await;
            sent_result?;
        }

        // Record.
        let expiry = 2 * ctx.opts.repeat_interval;
        self.deps
            .nflog
            .log(
                &key,
                &ctx.group_key,
                Entry {
                    firing: ctx.firing.clone(),
                    resolved: ctx.resolved.clone(),
                    sent_at: ctx.now,
                    expires_at: ctx.now + expiry,
                },
            )
            .await?;
        Ok(alerts)
    }

    /// An acknowledgement can outlast the log entry (kept for two repeat intervals): renewed
    /// so that what was sent is still known when a resolution or the ack's end comes.
    async fn keep_entry_while_acked(
        &self,
        ctx: &NotifyContext,
        key: &str,
        entry: Option<Entry>,
    ) -> Result<()> {
        let Some(entry) = entry else {
            return Ok(());
        };
        if entry.expires_at > ctx.now + ctx.opts.repeat_interval {
            return Ok(());
        }
        let expires_at = ctx.now + 2 * ctx.opts.repeat_interval;
        self.deps
            .nflog
            .log(
                key,
                &ctx.group_key,
                Entry {
                    expires_at,
                    ..entry
                },
            )
            .await
    }

    async fn send_with_retries(&self, ctx: &NotifyContext, sent: &[Alert]) -> Result<()> {
        let name = self.integration.name();
        let id = notification_id(&self.key(), &ctx.group_key, ctx.now);
        let notification = Notification {
            receiver: &ctx.opts.receiver,
            group_key: &ctx.group_key,
            group_labels: &ctx.group_labels,
            alerts: sent,
            now: ctx.now,
            id: &id,
        };
        // Exponential backoff as Alertmanager (500ms, x1.5, at most 60s), until the deadline.
        let mut delay = std::time::Duration::from_millis(500);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let started = Instant::now();
            let result = self.integration.notify(&notification).await;
            self.deps
                .metrics
                .notification_latency
                .with_label_values(&[name])
                .observe(started.elapsed().as_secs_f64());
            let failure = match result {
                Ok(()) => {
                    self.deps
                        .metrics
                        .notifications
                        .with_label_values(&[name, "success"])
                        .inc();
                    let firing = sent.iter().filter(|a| !a.resolved_at(ctx.now)).count();
                    self.record(
                        ctx,
                        sent,
                        "sent",
                        "success",
                        Some(&id),
                        serde_json::json!({
                            "attempts": attempts,
                            "firing": firing,
                            "resolved": sent.len() - firing,
                            "fingerprints": sent.iter().map(|a| format!("{:016x}", a.fingerprint())).collect::<Vec<_>>(),
                        }),
                    );
                    if attempts > 1 {
                        tracing::info!(integration = %self.key(), attempts, "notify success");
                    }
                    return Ok(());
                }
                Err(failure) => failure,
            };
            let outcome = if failure.retry { "retry" } else { "failure" };
            self.deps
                .metrics
                .notifications
                .with_label_values(&[name, outcome])
                .inc();
            let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            let give_up = !failure.retry || self.deps.clock.now() + delay_ms >= ctx.deadline;
            if give_up {
                self.record(
                    ctx,
                    sent,
                    "failed",
                    outcome,
                    Some(&id),
                    serde_json::json!({"attempts": attempts, "error": failure.reason}),
                );
                return Err(Error::Notify {
                    integration: self.key(),
                    reason: format!("{} (after {attempts} attempts)", failure.reason),
                    retryable: failure.retry,
                });
            }
            tracing::warn!(integration = %self.key(), attempts, error = %failure.reason, "notify attempt failed; will retry");
            self.deps
                .clock
                .sleep_until(self.deps.clock.now() + delay_ms)
                .await;
            delay = (delay.mul_f64(1.5)).min(std::time::Duration::from_secs(60));
        }
    }
}

impl Stage for IntegrationStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyContext,
        alerts: Vec<Alert>,
    ) -> BoxFuture<'a, Result<Vec<Alert>>> {
        Box::pin(self.run(ctx, alerts))
    }
}

/// Picks the receiver of the group and runs each of its integrations (each with its own
/// context, as Alertmanager's fan-out does). A receiver without integrations only records
/// the notification in the history.
pub struct RoutingStage {
    /// Receiver name → its integrations' stages.
    pub receivers: HashMap<String, Vec<Arc<IntegrationStage>>>,
    /// History for receivers without integrations.
    pub history: History,
    /// Clock.
    pub clock: SharedClock,
}

impl Stage for RoutingStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyContext,
        alerts: Vec<Alert>,
    ) -> BoxFuture<'a, Result<Vec<Alert>>> {
        Box::pin(async move {
            let Some(integrations) = self.receivers.get(&ctx.opts.receiver) else {
                return Err(Error::Invalid(format!(
                    "receiver {:?} does not exist",
                    ctx.opts.receiver
                )));
            };
            if integrations.is_empty() {
                let firing = alerts.iter().filter(|a| !a.resolved_at(ctx.now)).count();
                self.history.record(HistoryRow {
                    id: 0,
                    at: self.clock.now(),
                    kind: "notification".to_owned(),
                    fingerprint: None,
                    alertname: ctx.group_labels.get("alertname").cloned(),
                    service: ctx.group_labels.get("service").cloned(),
                    group_key: Some(ctx.group_key.clone()),
                    receiver: Some(ctx.opts.receiver.clone()),
                    route: Some(ctx.route_key.clone()),
                    state: "recorded".to_owned(),
                    outcome: None,
                    notification_id: None,
                    detail:
                        serde_json::json!({"firing": firing, "resolved": alerts.len() - firing})
                            .to_string(),
                });
                return Ok(alerts);
            }
            let mut errors = Vec::new();
            for integration in integrations {
                let mut own = ctx.clone();
                if let Err(err) = integration.exec(&mut own, alerts.clone()).await {
                    errors.push(err.to_string());
                }
            }
            if errors.is_empty() {
                Ok(alerts)
            } else {
                Err(Error::Notify {
                    integration: ctx.opts.receiver.clone(),
                    reason: errors.join("; "),
                    retryable: true,
                })
            }
        })
    }
}

macro_rules! opaque_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    )*};
}
opaque_debug!(
    MultiStage,
    MuteStage,
    TimeIntervalStage,
    PipelineDeps,
    IntegrationStage,
    RoutingStage
);
