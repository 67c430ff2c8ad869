//! The running alerting stage: intake of alerts, the current configuration's route tree,
//! inhibitor and pipeline, silences, and the background maintenance.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tocsin_store::Store;
use tocsin_store::alerting::{AlertRow, HistoryRow};
use tokio_util::sync::CancellationToken;

use crate::ack::{Ack, Acks};
use crate::alert::{Alert, LabelSet, fingerprint, fingerprint_hex, hash_labels};
use crate::config::AlertmanagerConfig;
use crate::dispatch::Dispatcher;
use crate::feedback::{Feedback, FeedbackInput, NoiseReport, ReportQuery};
use crate::history::History;
use crate::inhibit::Inhibitor;
use crate::matcher::{Matcher, all_match};
use crate::metrics::AlertingMetrics;
use crate::nflog::NotificationLog;
use crate::notify::{
    Integration, IntegrationStage, MultiStage, MuteStage, Muter, PipelineDeps, RoutingStage, Stage,
    TimeIntervalStage,
};
use crate::receivers::oncall::OncallHandoff;
use crate::route::Route;
use crate::silence::{Recurrence, Silence, Silences};
use crate::time::{Millis, SharedClock, ZERO_TIME, millis};
use crate::webhook::{HttpPost, Webhook};
use crate::{Error, Result};

/// How the stage runs beyond its configuration file.
#[derive(Clone)]
pub struct AlertingOptions {
    /// `externalURL` in notifications.
    pub external_url: String,
    /// Outgoing HTTP transport (with the URL policy).
    pub http: Arc<dyn HttpPost>,
    /// Directory relative paths in the configuration are resolved against.
    pub base_dir: PathBuf,
    /// How often resolved alerts and expired entries are collected (Alertmanager: 30m).
    pub gc_interval: Duration,
    /// How often empty groups are dropped and gauges refreshed (Alertmanager: 30s).
    pub maintenance_interval: Duration,
    /// How long expired silences and history are kept (Alertmanager: 120h).
    pub retention: Duration,
    /// The on-call stage `oncall_configs` receivers hand groups to; without it, a
    /// configuration using them is refused.
    pub oncall: Option<Arc<dyn OncallHandoff>>,
}

impl std::fmt::Debug for AlertingOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertingOptions")
            .field("external_url", &self.external_url)
            .field("base_dir", &self.base_dir)
            .field("oncall", &self.oncall.is_some())
            .finish_non_exhaustive()
    }
}

/// An alert as posted to `/api/v2/alerts`.
#[derive(Debug, Clone, Default)]
pub struct PostableAlert {
    /// Labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: LabelSet,
    /// Start, if given.
    pub starts_at: Option<Millis>,
    /// End, if given.
    pub ends_at: Option<Millis>,
    /// Link back.
    pub generator_url: String,
}

/// A silence as posted.
#[derive(Debug, Clone)]
pub struct SilenceInput {
    /// Existing id to update, or empty.
    pub id: String,
    /// Matchers.
    pub matchers: Vec<Matcher>,
    /// Start.
    pub starts_at: Millis,
    /// End.
    pub ends_at: Millis,
    /// Author.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// tocsin: mutes only inside these Alertmanager time intervals (JSON list).
    pub recurrence: Option<serde_json::Value>,
    /// tocsin: warn (log, metric, history) this long before the silence ends.
    pub warn_before: Option<Millis>,
}

/// Which alerts `GET /api/v2/alerts` returns.
#[derive(Debug, Clone)]
pub struct AlertFilter {
    /// Label matchers.
    pub matchers: Vec<Matcher>,
    /// Include active alerts.
    pub active: bool,
    /// Include silenced alerts.
    pub silenced: bool,
    /// Include inhibited alerts.
    pub inhibited: bool,
    /// Only alerts routed to a receiver matching this (anchored) regex.
    pub receiver: Option<regex::Regex>,
}

impl Default for AlertFilter {
    fn default() -> Self {
        Self {
            matchers: Vec::new(),
            active: true,
            silenced: true,
            inhibited: true,
            receiver: None,
        }
    }
}

/// An alert with its routing and muting status.
#[derive(Debug, Clone)]
pub struct AlertView {
    /// The alert.
    pub alert: Alert,
    /// 16 hex digits.
    pub fingerprint: String,
    /// Receivers it routes to.
    pub receivers: Vec<String>,
    /// Silences muting it.
    pub silenced_by: Vec<String>,
    /// Alerts inhibiting it.
    pub inhibited_by: Vec<String>,
    /// `active` or `suppressed`.
    pub state: &'static str,
}

/// An acknowledgement as asked for through the API.
#[derive(Debug, Clone)]
pub struct AckInput {
    /// The group key.
    pub group_key: String,
    /// Who.
    pub by: String,
    /// Why.
    pub comment: String,
    /// When it stops holding; `None` until the group resolves.
    pub expires_at: Option<Millis>,
}

/// An aggregation group with its alerts.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// Group key (what an acknowledgement names).
    pub key: String,
    /// Its acknowledgement, if one holds.
    pub ack: Option<Ack>,
    /// Group labels.
    pub labels: LabelSet,
    /// Receiver.
    pub receiver: String,
    /// Alerts.
    pub alerts: Vec<AlertView>,
}

/// A configuration built by [`Alerting::prepare`], not yet in force.
pub struct PreparedConfig {
    running: Arc<Running>,
}

impl std::fmt::Debug for PreparedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedConfig").finish_non_exhaustive()
    }
}

struct Running {
    config: AlertmanagerConfig,
    route: Arc<Route>,
    inhibitor: Arc<Inhibitor>,
    dispatcher: Arc<Dispatcher>,
}

struct SilenceMuter(Arc<Silences>);
impl Muter for SilenceMuter {
    fn mutes(&self, labels: &LabelSet, now: Millis) -> bool {
        !self.0.silenced_by(labels, now).is_empty()
    }
}

struct InhibitMuter(Arc<Inhibitor>);
impl Muter for InhibitMuter {
    fn mutes(&self, labels: &LabelSet, now: Millis) -> bool {
        self.0.inhibited_by(labels, now).is_some()
    }
}

struct Inner {
    clock: SharedClock,
    store: Store,
    metrics: AlertingMetrics,
    history: History,
    silences: Arc<Silences>,
    nflog: Arc<NotificationLog>,
    acks: Arc<Acks>,
    alerts: RwLock<HashMap<u64, Arc<Alert>>>,
    running: RwLock<Arc<Running>>,
    options: AlertingOptions,
    intake: tokio::sync::Mutex<()>,
    stop: CancellationToken,
    // Wakes the expiry warner when a silence changes.
    silences_changed: tokio::sync::Notify,
}

/// The alerting stage. Cheap to clone.
#[derive(Clone)]
pub struct Alerting {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Alerting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerting").finish_non_exhaustive()
    }
}

impl Alerting {
    /// Migrates the store, loads silences, the notification log and alerts, and starts
    /// routing. Restored groups wait their `group_wait` before the first notification.
    pub async fn start(
        config: AlertmanagerConfig,
        store: Store,
        clock: SharedClock,
        metrics: AlertingMetrics,
        options: AlertingOptions,
    ) -> Result<Self> {
        store.migrate(&tocsin_store::alerting::FEATURE).await?;
        let silences = Arc::new(Silences::load(store.clone()).await?);
        let nflog = Arc::new(NotificationLog::load(store.clone()).await?);
        let history = History::start(store.clone());
        let acks = Arc::new(Acks::load(store.clone(), history.clone()).await?);
        let mut alerts = HashMap::new();
        for row in store.alerting().list_alerts().await? {
            let alert = Alert {
                labels: row.labels,
                annotations: row.annotations,
                starts_at: row.starts_at,
                ends_at: row.ends_at,
                updated_at: row.updated_at,
                generator_url: row.generator_url,
                timeout: row.timeout,
            };
            alerts.insert(alert.fingerprint(), Arc::new(alert));
        }
        let restored = alerts.len();
        let deps = PipelineDeps {
            nflog: Arc::clone(&nflog),
            history: history.clone(),
            metrics: metrics.clone(),
            clock: Arc::clone(&clock),
            acks: Arc::clone(&acks),
        };
        let running = build(&config, &deps, &silences, &options, &clock, &metrics, true)?;
        for alert in alerts.values() {
            running.inhibitor.observe(alert);
        }
        for (&fp, alert) in &alerts {
            running.dispatcher.process(fp, alert);
        }
        if restored > 0 {
            tracing::info!(alerts = restored, "restored alerts from the state store");
        }
        let inner = Arc::new(Inner {
            clock,
            store,
            metrics,
            history,
            silences,
            nflog,
            acks,
            alerts: RwLock::new(alerts),
            running: RwLock::new(running),
            options,
            intake: tokio::sync::Mutex::new(()),
            stop: CancellationToken::new(),
            silences_changed: tokio::sync::Notify::new(),
        });
        tokio::spawn(maintain(Arc::clone(&inner)));
        tokio::spawn(warn_before_silences_end(Arc::clone(&inner)));
        Ok(Self { inner })
    }

    /// Applies a new configuration: new routes, inhibition and receivers; every alert is
    /// routed again (the notification log prevents repeats).
    pub fn reload(&self, config: AlertmanagerConfig) -> Result<()> {
        let prepared = self.prepare(&config)?;
        self.apply_prepared(prepared);
        Ok(())
    }

    /// Builds everything a new configuration needs (templates, receivers, URL files) without
    /// touching the running one, so a caller can check several configurations before
    /// applying any. Nothing runs until [`Alerting::apply_prepared`]; dropping it is free.
    pub fn prepare(&self, config: &AlertmanagerConfig) -> Result<PreparedConfig> {
        let inner = &self.inner;
        let deps = PipelineDeps {
            nflog: Arc::clone(&inner.nflog),
            history: inner.history.clone(),
            metrics: inner.metrics.clone(),
            clock: Arc::clone(&inner.clock),
            acks: Arc::clone(&inner.acks),
        };
        let running = build(
            config,
            &deps,
            &inner.silences,
            &inner.options,
            &inner.clock,
            &inner.metrics,
            false,
        )?;
        Ok(PreparedConfig { running })
    }

    /// Swaps in a configuration [`Alerting::prepare`] built; cannot fail.
    pub fn apply_prepared(&self, prepared: PreparedConfig) {
        let inner = &self.inner;
        let running = prepared.running;
        let alerts = inner.alerts.read();
        for alert in alerts.values() {
            running.inhibitor.observe(alert);
        }
        let old = std::mem::replace(&mut *inner.running.write(), Arc::clone(&running));
        old.dispatcher.stop();
        for (&fp, alert) in alerts.iter() {
            running.dispatcher.process(fp, alert);
        }
        tracing::info!("alerting configuration applied");
    }

    /// Takes alerts (Alertmanager's API semantics). Valid alerts are stored durably and
    /// routed even when others in the batch are refused; the error lists the refused ones.
    pub async fn put_alerts(&self, posted: Vec<PostableAlert>) -> Result<()> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let resolve_timeout = {
            let running = inner.running.read();
            millis(running.config.global.resolve_timeout)
        };
        let mut errors = Vec::new();
        let mut valid = Vec::with_capacity(posted.len());
        for p in posted {
            match normalize(p, now, resolve_timeout) {
                Ok(alert) => valid.push(alert),
                Err(reason) => {
                    inner
                        .metrics
                        .alerts_invalid
                        .with_label_values(&["validation"])
                        .inc();
                    errors.push(reason);
                }
            }
        }
        let _serialised = inner.intake.lock().await;
        let mut merged = Vec::with_capacity(valid.len());
        // Alerts whose firing/resolved state changed get a history record.
        let mut changed = Vec::with_capacity(valid.len());
        {
            let alerts = inner.alerts.read();
            for alert in valid {
                let fp = alert.fingerprint();
                let old = alerts.get(&fp);
                let alert = match old {
                    Some(old)
                        if (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                            || (alert.starts_at > old.starts_at
                                && alert.starts_at < old.ends_at) =>
                    {
                        old.merge(&alert, now)
                    }
                    _ => alert,
                };
                let was = old.map(|o| o.resolved_at(now));
                changed.push(was != Some(alert.resolved_at(now)));
                merged.push((fp, alert));
            }
        }
        // The rows borrow the alerts' maps and strings for the write (moved, not cloned: a
        // storm is 10,000 of them) and give them back after.
        let rows: Vec<AlertRow> = merged
            .iter_mut()
            .map(|(fp, a)| AlertRow {
                fingerprint: format!("{fp:016x}"),
                labels: std::mem::take(&mut a.labels),
                annotations: std::mem::take(&mut a.annotations),
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                updated_at: a.updated_at,
                generator_url: std::mem::take(&mut a.generator_url),
                timeout: a.timeout,
            })
            .collect();
        let written = inner.store.alerting().upsert_alerts(&rows).await;
        for ((_, a), row) in merged.iter_mut().zip(rows) {
            a.labels = row.labels;
            a.annotations = row.annotations;
            a.generator_url = row.generator_url;
        }
        written?;
        let merged: Vec<(u64, Arc<Alert>)> = merged
            .into_iter()
            .map(|(fp, alert)| (fp, Arc::new(alert)))
            .collect();
        let running = Arc::clone(&inner.running.read());
        {
            let mut alerts = inner.alerts.write();
            for (fp, alert) in &merged {
                alerts.insert(*fp, Arc::clone(alert));
            }
        }
        let (mut firing, mut resolved) = (0u64, 0u64);
        for (_, alert) in &merged {
            if alert.resolved_at(now) {
                resolved += 1;
            } else {
                firing += 1;
            }
            running.inhibitor.observe(alert);
        }
        let metric = &inner.metrics.alerts_received;
        metric.with_label_values(&["firing"]).inc_by(firing);
        metric.with_label_values(&["resolved"]).inc_by(resolved);
        for ((fp, alert), changed) in merged.iter().zip(changed) {
            let routes = running.route.matches(&alert.labels);
            if changed {
                inner.history.record(HistoryRow {
                    id: 0,
                    at: now,
                    kind: "alert".to_owned(),
                    fingerprint: Some(format!("{fp:016x}")),
                    alertname: alert.labels.get("alertname").cloned(),
                    service: alert.labels.get("service").cloned(),
                    group_key: None,
                    receiver: None,
                    // The first route it matches (the noise report counts alerts by route).
                    route: routes.first().map(|r| r.key.clone()),
                    state: alert.status(now).to_owned(),
                    outcome: None,
                    notification_id: None,
                    detail: alert_detail(&alert.labels),
                });
            }
            running.dispatcher.process_routed(*fp, alert, &routes);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(errors.join(";")))
        }
    }

    fn view(&self, running: &Running, alert: &Alert, now: Millis) -> AlertView {
        let silenced_by = self.inner.silences.silenced_by(&alert.labels, now);
        let inhibited_by: Vec<String> = running
            .inhibitor
            .inhibited_by(&alert.labels, now)
            .map(|fp| vec![format!("{fp:016x}")])
            .unwrap_or_default();
        let mut receivers: Vec<String> = running
            .route
            .matches(&alert.labels)
            .iter()
            .map(|r| r.opts.receiver.clone())
            .collect();
        receivers.dedup();
        let state = if silenced_by.is_empty() && inhibited_by.is_empty() {
            "active"
        } else {
            "suppressed"
        };
        AlertView {
            fingerprint: fingerprint_hex(&alert.labels),
            alert: alert.clone(),
            receivers,
            silenced_by,
            inhibited_by,
            state,
        }
    }

    fn keep(filter: &AlertFilter, view: &AlertView) -> bool {
        if !all_match(&filter.matchers, &view.alert.labels) {
            return false;
        }
        if !filter.silenced && !view.silenced_by.is_empty() {
            return false;
        }
        if !filter.inhibited && !view.inhibited_by.is_empty() {
            return false;
        }
        if !filter.active && view.state == "active" {
            return false;
        }
        if let Some(re) = &filter.receiver
            && !view.receivers.iter().any(|r| re.is_match(r))
        {
            return false;
        }
        true
    }

    /// Alerts that have not resolved, sorted by fingerprint.
    pub fn alerts(&self, filter: &AlertFilter) -> Vec<AlertView> {
        let now = self.inner.clock.now();
        let running = Arc::clone(&self.inner.running.read());
        let alerts = self.inner.alerts.read();
        let mut out: Vec<AlertView> = alerts
            .values()
            .filter(|a| !a.resolved_at(now))
            .map(|a| self.view(&running, a, now))
            .filter(|v| Self::keep(filter, v))
            .collect();
        out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        out
    }

    /// Aggregation groups with their (filtered) alerts; groups left empty are omitted.
    pub fn groups(&self, filter: &AlertFilter) -> Vec<GroupView> {
        let now = self.inner.clock.now();
        let running = Arc::clone(&self.inner.running.read());
        let alerts = self.inner.alerts.read();
        running
            .dispatcher
            .groups()
            .into_iter()
            .filter(|g| {
                filter
                    .receiver
                    .as_ref()
                    .is_none_or(|re| re.is_match(&g.receiver))
            })
            .filter_map(|g| {
                let views: Vec<AlertView> = g
                    .alerts
                    .iter()
                    .filter_map(|fp| alerts.get(fp))
                    .filter(|a| !a.resolved_at(now))
                    .map(|a| self.view(&running, a, now))
                    .filter(|v| {
                        Self::keep(
                            &AlertFilter {
                                receiver: None,
                                ..filter.clone()
                            },
                            v,
                        )
                    })
                    .collect();
                (!views.is_empty()).then(|| GroupView {
                    ack: self.inner.acks.get(&g.key).filter(|ack| ack.holds_at(now)),
                    key: g.key,
                    labels: g.labels,
                    receiver: g.receiver,
                    alerts: views,
                })
            })
            .collect()
    }

    /// Acknowledges a group: it covers the alerts firing in it now (rules in [`crate::ack`]).
    pub async fn ack_group(&self, input: AckInput) -> Result<Ack> {
        let now = self.inner.clock.now();
        if input.by.trim().is_empty() {
            return Err(Error::Invalid(
                "an acknowledgement needs `by`: who is taking care of it".to_owned(),
            ));
        }
        if let Some(expires_at) = input.expires_at
            && expires_at <= now
        {
            return Err(Error::Invalid(
                "the acknowledgement would already have expired: give a later `expires_at` or a positive `duration`".to_owned(),
            ));
        }
        let covered = {
            let running = Arc::clone(&self.inner.running.read());
            let group = running
                .dispatcher
                .groups()
                .into_iter()
                .find(|g| g.key == input.group_key)
                .ok_or_else(|| Error::GroupNotFound(input.group_key.clone()))?;
            let alerts = self.inner.alerts.read();
            group
                .alerts
                .iter()
                .filter_map(|fp| alerts.get(fp))
                .filter(|a| !a.resolved_at(now))
                .map(|a| hash_labels(&a.labels))
                .collect::<BTreeSet<u64>>()
        };
        if covered.is_empty() {
            return Err(Error::Invalid(format!(
                "alert group {} has no firing alert to acknowledge",
                input.group_key
            )));
        }
        let ack = Ack {
            group_key: input.group_key,
            by: input.by,
            comment: input.comment,
            at: now,
            expires_at: input.expires_at,
            alerts: covered,
        };
        self.inner.acks.set(ack.clone()).await?;
        Ok(ack)
    }

    /// Removes a group's acknowledgement; the removed one.
    pub async fn unack_group(&self, group_key: &str) -> Result<Ack> {
        self.inner
            .acks
            .remove(group_key, self.inner.clock.now(), "removed")
            .await?
            .ok_or_else(|| Error::GroupNotFound(group_key.to_owned()))
    }

    /// Acknowledgements that still hold.
    pub fn acks(&self) -> Vec<Ack> {
        let now = self.inner.clock.now();
        self.inner
            .acks
            .list()
            .into_iter()
            .filter(|a| a.holds_at(now))
            .collect()
    }

    /// Creates or updates a silence; returns its id.
    pub async fn set_silence(&self, input: SilenceInput) -> Result<String> {
        let now = self.inner.clock.now();
        if input.ends_at < input.starts_at {
            return Err(Error::Invalid(
                "failed to create silence: start time must be before end time".to_owned(),
            ));
        }
        if input.ends_at < now {
            return Err(Error::Invalid(
                "failed to create silence: end time can't be in the past".to_owned(),
            ));
        }
        if input.warn_before.is_some_and(|w| w <= 0) {
            return Err(Error::Invalid(
                "failed to create silence: warnBefore must be a positive duration".to_owned(),
            ));
        }
        let recurrence = input.recurrence.map(Recurrence::parse).transpose()?;
        let id = self
            .inner
            .silences
            .set(
                Silence {
                    id: input.id,
                    matchers: input.matchers,
                    starts_at: input.starts_at,
                    ends_at: input.ends_at,
                    updated_at: now,
                    created_by: input.created_by,
                    comment: input.comment,
                    recurrence,
                    warn_before: input.warn_before,
                    warned_at: None,
                },
                now,
            )
            .await?;
        self.inner.silences_changed.notify_one();
        self.record_silence(&id, "set");
        Ok(id)
    }

    fn record_silence(&self, id: &str, state: &str) {
        self.inner.history.record(HistoryRow {
            id: 0,
            at: self.inner.clock.now(),
            kind: "silence".to_owned(),
            fingerprint: Some(id.to_owned()),
            alertname: None,
            service: None,
            group_key: None,
            receiver: None,
            route: None,
            state: state.to_owned(),
            outcome: None,
            notification_id: None,
            detail: "{}".to_owned(),
        });
    }

    /// Records feedback on a notification (named by its id, or by its group and receiver).
    pub async fn feedback(&self, input: FeedbackInput) -> Result<Feedback> {
        if input.by.trim().is_empty() {
            return Err(Error::Invalid(
                "feedback needs `by`: who judged the notification".to_owned(),
            ));
        }
        // Notifications are recorded by a background writer; the one named may be queued.
        self.inner.history.flush().await;
        let notification =
            crate::feedback::find_notification(&self.inner.store, &input.target).await?;
        let now = self.inner.clock.now();
        let row = crate::feedback::feedback_row(&notification, &input, now);
        self.inner.store.alerting().insert_feedback(&row).await?;
        self.inner
            .metrics
            .feedback
            .with_label_values(&[input.verdict.as_str()])
            .inc();
        self.inner.history.record(HistoryRow {
            id: 0,
            at: now,
            kind: "feedback".to_owned(),
            fingerprint: None,
            alertname: notification.alertname.clone(),
            service: notification.service.clone(),
            group_key: notification.group_key.clone(),
            receiver: notification.receiver.clone(),
            route: notification.route.clone(),
            state: input.verdict.as_str().to_owned(),
            outcome: None,
            notification_id: notification.notification_id.clone(),
            detail: serde_json::json!({"by": row.author, "comment": row.comment}).to_string(),
        });
        tracing::info!(
            group = %row.group_key,
            receiver = %row.receiver,
            verdict = input.verdict.as_str(),
            by = %row.author,
            "feedback recorded"
        );
        Ok(crate::feedback::feedback_view(&row, input.verdict))
    }

    /// Alert volume and noise per alertname, service or route over time.
    pub async fn report(&self, query: ReportQuery) -> Result<NoiseReport> {
        query.validate()?;
        self.inner.history.flush().await;
        let rows = self
            .inner
            .store
            .alerting()
            .noise_report(query.by, query.from, query.to, query.step)
            .await?;
        Ok(crate::feedback::build_report(&query, &rows))
    }

    /// Expires a silence.
    pub async fn expire_silence(&self, id: &str) -> Result<()> {
        self.inner
            .silences
            .expire(id, self.inner.clock.now())
            .await?;
        self.record_silence(id, "expired");
        Ok(())
    }

    /// One silence.
    pub fn silence(&self, id: &str) -> Option<Silence> {
        self.inner.silences.get(id)
    }

    /// Every silence.
    pub fn silences(&self) -> Vec<Silence> {
        self.inner.silences.list()
    }

    /// Flushes in progress.
    pub fn busy(&self) -> usize {
        self.inner.running.read().dispatcher.busy()
    }

    /// The clock's now.
    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    /// Receiver names of the configuration in force.
    pub fn receivers(&self) -> Vec<String> {
        self.inner
            .running
            .read()
            .config
            .receivers
            .iter()
            .map(|r| r.value.name.clone())
            .collect()
    }

    /// The state store (history queries).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Writes queued history now (tests, shutdown).
    pub async fn flush_history(&self) {
        self.inner.history.flush().await;
    }

    /// Stops routing and writes what is queued.
    pub async fn stop(&self) {
        self.inner.stop.cancel();
        self.inner.running.read().dispatcher.stop();
        self.inner.history.flush().await;
    }
}

/// `{"labels": {...}}`, serialized straight from the map (no `serde_json::Value` copy).
fn alert_detail(labels: &LabelSet) -> String {
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        labels: &'a LabelSet,
    }
    serde_json::to_string(&Detail { labels }).unwrap_or_else(|_| "{}".to_owned())
}

fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()))
}

/// Alertmanager's API defaults and validation.
fn normalize(
    p: PostableAlert,
    now: Millis,
    resolve_timeout: Millis,
) -> std::result::Result<Alert, String> {
    let ends_at = p.ends_at.filter(|&t| t != ZERO_TIME);
    let starts_at = match (p.starts_at.filter(|&t| t != ZERO_TIME), ends_at) {
        (Some(s), _) => s,
        (None, Some(e)) if e < now => e,
        (None, _) => now,
    };
    let (ends_at, timeout) = match ends_at {
        Some(e) => (e, false),
        None => (now + resolve_timeout, true),
    };
    let mut labels = p.labels;
    labels.retain(|_, v| !v.is_empty());
    let alert = Alert {
        labels,
        annotations: p.annotations,
        starts_at,
        ends_at,
        updated_at: now,
        generator_url: p.generator_url,
        timeout,
    };
    if alert.labels.is_empty() {
        return Err("at least one label pair required".to_owned());
    }
    if let Some(bad) = alert.labels.keys().find(|n| !valid_label_name(n)) {
        return Err(format!("invalid label set: invalid name {bad:?}"));
    }
    if alert.ends_at < alert.starts_at {
        return Err("start time must be before end time".to_owned());
    }
    Ok(alert)
}

fn read_url_file(base: &Path, file: &str) -> Result<String> {
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        base.join(file)
    };
    std::fs::read_to_string(&path)
        .map(|text| text.trim().to_owned())
        .map_err(|err| {
            Error::Invalid(format!(
                "cannot read webhook url_file {}: {err}",
                path.display()
            ))
        })
}

fn build(
    config: &AlertmanagerConfig,
    deps: &PipelineDeps,
    silences: &Arc<Silences>,
    options: &AlertingOptions,
    clock: &SharedClock,
    metrics: &AlertingMetrics,
    after_restart: bool,
) -> Result<Arc<Running>> {
    let route = Route::from_config(&config.route);
    let inhibitor = Arc::new(Inhibitor::new(&config.inhibit_rules));
    let mut receivers: HashMap<String, Vec<Arc<IntegrationStage>>> = HashMap::new();
    let mut templates = crate::receivers::Templates::load(&config.templates, &options.base_dir)?;
    for receiver in &config.receivers {
        let r = &receiver.value;
        let mut stages = Vec::new();
        let cx = crate::receivers::BuildContext {
            external_url: &options.external_url,
            http: &options.http,
            base_dir: &options.base_dir,
            oncall: options.oncall.as_ref(),
        };
        for integration in crate::receivers::build_integrations(config, r, &mut templates, &cx)? {
            stages.push(Arc::new(IntegrationStage::new(
                &r.name,
                integration,
                deps.clone(),
            )));
        }
        for (index, w) in r.webhook_configs.iter().enumerate() {
            let url = match (&w.url, &w.url_file) {
                (Some(url), _) => url.expose().to_owned(),
                (None, Some(file)) => read_url_file(&options.base_dir, file)?,
                (None, None) => continue,
            };
            let integration: Arc<dyn Integration> = Arc::new(Webhook {
                url,
                max_alerts: w.max_alerts,
                send_resolved: w.send_resolved,
                index,
                external_url: options.external_url.clone(),
                http: Arc::clone(&options.http),
            });
            stages.push(Arc::new(IntegrationStage::new(
                &r.name,
                integration,
                deps.clone(),
            )));
        }
        receivers.insert(r.name.clone(), stages);
    }
    let intervals: BTreeMap<String, Vec<crate::timeinterval::TimeInterval>> = config.intervals();
    let pipeline: Arc<dyn Stage> = Arc::new(MultiStage(vec![
        Arc::new(MuteStage(Arc::new(InhibitMuter(Arc::clone(&inhibitor))))),
        Arc::new(TimeIntervalStage {
            intervals: Arc::new(intervals),
        }),
        Arc::new(MuteStage(Arc::new(SilenceMuter(Arc::clone(silences))))),
        Arc::new(RoutingStage {
            receivers,
            history: deps.history.clone(),
            clock: Arc::clone(clock),
        }),
    ]));
    let dispatcher = Dispatcher::new(
        Arc::clone(&route),
        pipeline,
        Arc::clone(clock),
        metrics.clone(),
        after_restart,
    );
    Ok(Arc::new(Running {
        config: config.clone(),
        route,
        inhibitor,
        dispatcher,
    }))
}

async fn maintain(inner: Arc<Inner>) {
    let mut maintenance = tokio::time::interval(inner.options.maintenance_interval);
    let mut gc = tokio::time::interval(inner.options.gc_interval);
    maintenance.tick().await;
    gc.tick().await;
    loop {
        tokio::select! {
            _ = maintenance.tick() => {
                let now = inner.clock.now();
                inner.running.read().dispatcher.remove_empty_groups();
                let running = Arc::clone(&inner.running.read());
                let (mut active, mut suppressed) = (0i64, 0i64);
                for a in inner.alerts.read().values().filter(|a| !a.resolved_at(now)) {
                    let muted = running.inhibitor.inhibited_by(&a.labels, now).is_some()
                        || !inner.silences.silenced_by(&a.labels, now).is_empty();
                    if muted { suppressed += 1 } else { active += 1 }
                }
                inner.metrics.alerts.with_label_values(&["active"]).set(active);
                inner.metrics.alerts.with_label_values(&["suppressed"]).set(suppressed);
                let mut states: BTreeMap<&str, i64> = BTreeMap::from([("active", 0), ("pending", 0), ("expired", 0)]);
                for s in inner.silences.list() {
                    *states.entry(s.state(now).as_str()).or_default() += 1;
                }
                for (state, n) in states {
                    inner.metrics.silences.with_label_values(&[state]).set(n);
                }
            }
            _ = gc.tick() => gc_once(&inner).await,
            () = inner.stop.cancelled() => return,
        }
    }
}

/// Forgets resolved alerts (as Alertmanager's provider GC) and expired state.
async fn gc_once(inner: &Inner) {
    let now = inner.clock.now();
    let _serialised = inner.intake.lock().await;
    let resolved: Vec<Arc<Alert>> = inner
        .alerts
        .read()
        .values()
        .filter(|a| a.resolved_at(now))
        .cloned()
        .collect();
    let fps: Vec<String> = resolved
        .iter()
        .map(|a| fingerprint_hex(&a.labels))
        .collect();
    if let Err(error) = inner.store.alerting().delete_alerts(&fps).await {
        tracing::error!(%error, "cannot delete resolved alerts from the state store");
        return;
    }
    let running = Arc::clone(&inner.running.read());
    {
        let mut alerts = inner.alerts.write();
        for a in &resolved {
            let fp = fingerprint(&a.labels);
            alerts.remove(&fp);
            running.inhibitor.forget(a);
            running.dispatcher.forget(fp);
        }
    }
    let retention = i64::try_from(inner.options.retention.as_millis()).unwrap_or(i64::MAX);
    for result in [
        inner.nflog.gc(now).await,
        inner.silences.gc(now, retention).await,
        inner
            .store
            .alerting()
            .prune_history(now - retention)
            .await
            .map(|_| ())
            .map_err(Error::from),
    ] {
        if let Err(error) = result {
            tracing::error!(%error, "alerting garbage collection failed");
        }
    }
    let _ = BTreeSet::<u8>::new();
}

/// Warns (log line, `tocsin_silence_expiry_warnings_total`, history `silence`/`expiring`)
/// `warn_before` ahead of each silence's end, sleeping on the clock until the next one is due.
async fn warn_before_silences_end(inner: Arc<Inner>) {
    loop {
        let now = inner.clock.now();
        // After a store failure, retry in 10s rather than spin.
        let mut earliest = now + 1;
        match inner.silences.take_due_warnings(now).await {
            Ok(due) => {
                for silence in due {
                    let minutes_left = (silence.ends_at - now) / 60_000;
                    tracing::warn!(
                        silence = %silence.id,
                        created_by = %silence.created_by,
                        comment = %silence.comment,
                        ends_at = %crate::time::format_api(silence.ends_at),
                        minutes_left,
                        "silence ends soon; extend it if the work is not done"
                    );
                    inner.metrics.silence_expiry_warnings.inc();
                    inner.history.record(HistoryRow {
                        id: 0,
                        at: now,
                        kind: "silence".to_owned(),
                        fingerprint: Some(silence.id.clone()),
                        alertname: None,
                        service: None,
                        group_key: None,
                        receiver: None,
                        route: None,
                        state: "expiring".to_owned(),
                        outcome: None,
                        notification_id: None,
                        detail: serde_json::json!({
                            "ends_at": silence.ends_at,
                            "created_by": silence.created_by,
                            "comment": silence.comment,
                        })
                        .to_string(),
                    });
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot record silence expiry warnings");
                earliest = now + 10_000;
            }
        }
        let changed = inner.silences_changed.notified();
        match inner.silences.next_warning_at() {
            Some(at) => tokio::select! {
                () = inner.clock.sleep_until(at.max(earliest)) => {}
                () = changed => {}
                () = inner.stop.cancelled() => return,
            },
            None => tokio::select! {
                () = changed => {}
                () = inner.stop.cancelled() => return,
            },
        }
    }
}
