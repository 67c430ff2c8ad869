//! One rule group: evaluates its rules in order at a timestamp, keeps alert state, produces
//! the series to write (with stale markers for series that disappeared) and the alerts to send.
//! The semantics follow Prometheus's `rules.Group`/`AlertingRule`/`RecordingRule`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tocsin_model::storage::{Queryable, SelectHints};
use tocsin_model::{Labels, Matcher, STALE_NAN, Timestamp, is_stale_nan};

use crate::alert::{Alert, AlertState, RESOLVED_REASON_ANNOTATION, Resolution};
use crate::file::{GroupDef, RuleDef, RuleKind};
use crate::query::{QueryFn, QuerySample, selectors};
use crate::template::Expand;

/// Resolved alerts are kept (and re-sent) this long, as Prometheus's `resolvedRetention`.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// What a group needs from outside to evaluate.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// PromQL.
    pub query: &'a dyn QueryFn,
    /// Label and annotation templates.
    pub expander: &'a dyn Expand,
    /// How often firing alerts are re-sent (Prometheus: 1m).
    pub resend_delay_ms: i64,
}

impl std::fmt::Debug for EvalContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalContext")
            .field("resend_delay_ms", &self.resend_delay_ms)
            .finish_non_exhaustive()
    }
}

/// Health of a rule after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// Last evaluation succeeded.
    Ok,
    /// Last evaluation failed.
    Err,
}

impl Health {
    /// Prometheus's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Ok => "ok",
            Self::Err => "err",
        }
    }
}

/// A rule and what its evaluations left behind.
#[derive(Debug, Clone)]
pub struct RuleState {
    /// The definition.
    pub def: RuleDef,
    /// Labels applied: the group's, overridden by the rule's.
    pub labels: BTreeMap<String, String>,
    /// Health.
    pub health: Health,
    /// Error of the last evaluation.
    pub last_error: Option<String>,
    /// Time of the last evaluation (ms).
    pub last_eval: Option<Timestamp>,
    /// How long the last evaluation took.
    pub eval_duration: Duration,
    /// Alerts by identity (alerting rules only).
    pub active: BTreeMap<Labels, Alert>,
    /// Whether `for` state was restored (ALERTS series are written only afterwards).
    pub restored: bool,
    series_returned: BTreeSet<Labels>,
}

impl RuleState {
    fn new(def: RuleDef, group_labels: &BTreeMap<String, String>) -> Self {
        let mut labels = group_labels.clone();
        labels.extend(def.labels.clone());
        Self {
            def,
            labels,
            health: Health::Unknown,
            last_error: None,
            last_eval: None,
            eval_duration: Duration::ZERO,
            active: BTreeMap::new(),
            restored: false,
            series_returned: BTreeSet::new(),
        }
    }
}

/// Series to write and alerts to send after one group evaluation.
#[derive(Debug, Default)]
pub struct EvalOutput {
    /// Samples (labels, timestamp, value), stale markers included.
    pub samples: Vec<(Labels, Timestamp, f64)>,
    /// Alerts to send now, with the expression of their rule.
    pub alerts: Vec<(String, Alert)>,
    /// Rules that failed.
    pub failures: usize,
}

/// A group being evaluated.
#[derive(Debug, Clone)]
pub struct Group {
    /// Definition.
    pub def: GroupDef,
    /// Interval in ms.
    pub interval_ms: i64,
    /// Rules in order.
    pub rules: Vec<RuleState>,
    /// Time of the last evaluation (ms).
    pub last_eval: Option<Timestamp>,
    /// Duration of the last evaluation.
    pub eval_duration: Duration,
    /// Evaluations skipped because the previous one was still running or the process was late.
    pub missed: u64,
}

impl Group {
    /// A fresh group; `default_interval_ms` applies when the group sets none.
    pub fn new(def: GroupDef, default_interval_ms: i64) -> Self {
        let interval_ms = def
            .interval
            .map_or(default_interval_ms, |d| {
                i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
            })
            .max(1);
        let rules = def
            .rules
            .iter()
            .map(|r| RuleState::new(r.clone(), &def.labels))
            .collect();
        Self {
            def,
            interval_ms,
            rules,
            last_eval: None,
            eval_duration: Duration::ZERO,
            missed: 0,
        }
    }

    /// Identity across reloads: file and name.
    pub fn key(&self) -> (String, String) {
        (self.def.file.clone(), self.def.name.clone())
    }

    /// Prometheus's `EvalTimestamp`: evaluations are spread over the interval by a hash of
    /// the group, so groups with the same interval do not all run at once.
    pub fn eval_offset_ms(&self) -> i64 {
        let hash = fnv1a(format!("{}\u{ff}{}", self.def.name, self.def.file).as_bytes());
        i64::try_from(hash % self.interval_ms.unsigned_abs()).unwrap_or(0)
    }

    /// The latest evaluation time at or before `now`.
    pub fn aligned_at_or_before(&self, now: Timestamp) -> Timestamp {
        let offset = self.eval_offset_ms();
        let adj = now - offset;
        adj - adj.rem_euclid(self.interval_ms) + offset
    }

    /// Copies alert state and stale-marker bookkeeping from `old` for rules that are the same
    /// (same name, expression, labels), as Prometheus does on reload.
    pub fn copy_state_from(&mut self, old: &Self) {
        self.last_eval = old.last_eval;
        for rule in &mut self.rules {
            if let Some(prev) = old
                .rules
                .iter()
                .find(|p| p.def == rule.def && p.labels == rule.labels)
            {
                rule.active = prev.active.clone();
                rule.restored = prev.restored;
                rule.series_returned = prev.series_returned.clone();
                rule.health = prev.health;
                rule.last_error = prev.last_error.clone();
                rule.last_eval = prev.last_eval;
                rule.eval_duration = prev.eval_duration;
            }
        }
    }

    /// Series this group wrote last and must mark stale when it is removed.
    pub fn stale_markers(&self, ts: Timestamp) -> Vec<(Labels, Timestamp, f64)> {
        self.rules
            .iter()
            .flat_map(|r| r.series_returned.iter())
            .map(|l| (l.clone(), ts, STALE_NAN))
            .collect()
    }

    /// Evaluates every rule at `ts`.
    pub fn eval(&mut self, ts: Timestamp, ctx: EvalContext<'_>) -> EvalOutput {
        let started = Instant::now();
        let query_ts = ts - i64::try_from(self.def.query_offset.as_millis()).unwrap_or(0);
        let mut out = EvalOutput::default();
        let limit = self.def.limit;
        let interval_ms = self.interval_ms;
        for rule in &mut self.rules {
            let rule_started = Instant::now();
            let result = match &rule.def.kind {
                RuleKind::Recording { .. } => eval_recording(rule, query_ts, limit, ctx),
                RuleKind::Alerting { .. } => eval_alerting(rule, query_ts, limit, ctx),
            };
            rule.last_eval = Some(ts);
            rule.eval_duration = rule_started.elapsed();
            match result {
                Ok(samples) => {
                    rule.health = Health::Ok;
                    rule.last_error = None;
                    let returned: BTreeSet<Labels> =
                        samples.iter().map(|(l, _)| l.clone()).collect();
                    for gone in rule.series_returned.difference(&returned) {
                        out.samples.push((gone.clone(), query_ts, STALE_NAN));
                    }
                    out.samples
                        .extend(samples.into_iter().map(|(l, v)| (l, query_ts, v)));
                    rule.series_returned = returned;
                }
                Err(err) => {
                    tracing::warn!(group = %self.def.name, rule = %rule.def.name(), error = %err, "rule evaluation failed");
                    rule.health = Health::Err;
                    rule.last_error = Some(err);
                    out.failures += 1;
                }
            }
            if matches!(rule.def.kind, RuleKind::Alerting { .. }) {
                let delta = ctx.resend_delay_ms.max(interval_ms);
                for alert in rule.active.values_mut() {
                    if alert.needs_sending(ts, ctx.resend_delay_ms) {
                        alert.last_sent_at = Some(ts);
                        alert.valid_until = ts + 4 * delta;
                        out.alerts.push((rule.def.expr.clone(), alert.clone()));
                    }
                }
            }
        }
        self.last_eval = Some(ts);
        self.eval_duration = started.elapsed();
        out
    }

    /// Prometheus's `RestoreForState`: after a restart, an alert that was pending keeps the
    /// time it has already waited (read from `ALERTS_FOR_STATE`), and gets at least
    /// `for_grace_ms` more; state older than `outage_tolerance_ms` is ignored.
    pub fn restore_for_state(
        &mut self,
        ts: Timestamp,
        store: &dyn Queryable,
        for_grace_ms: i64,
        outage_tolerance_ms: i64,
    ) {
        let querier = match store.querier(ts - outage_tolerance_ms, ts) {
            Ok(q) => q,
            Err(err) => {
                tracing::warn!(group = %self.def.name, error = %err, "cannot read ALERTS_FOR_STATE; alert state not restored");
                return;
            }
        };
        let hints = SelectHints {
            start: ts - outage_tolerance_ms,
            end: ts,
        };
        for rule in &mut self.rules {
            let RuleKind::Alerting { hold, .. } = &rule.def.kind else {
                continue;
            };
            let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
            if hold_ms < for_grace_ms {
                rule.restored = true;
                continue;
            }
            for alert in rule.active.values_mut() {
                let mut matchers = vec![Matcher::equal("__name__", "ALERTS_FOR_STATE")];
                matchers.extend(
                    alert
                        .labels
                        .iter()
                        .map(|l| Matcher::equal(l.name.clone(), l.value.clone())),
                );
                let Ok(series) = querier.select(&hints, &matchers) else {
                    continue;
                };
                let Some(mut s) = series
                    .into_iter()
                    .find(|s| s.labels.len() == matchers.len())
                else {
                    continue;
                };
                let mut last = None;
                while let Some(sample) = s.samples.next() {
                    last = Some(sample);
                }
                let Some(last) = last else { continue };
                if is_stale_nan(last.v) {
                    continue;
                }
                let down_at = last.t / 1000 * 1000;
                #[allow(clippy::cast_possible_truncation)]
                let mut restored_active_at = (last.v as i64) * 1000;
                let remaining = hold_ms - (down_at - restored_active_at);
                if remaining <= 0 {
                    // It was firing: the next evaluation makes it fire again if it still holds.
                } else if remaining < for_grace_ms {
                    restored_active_at = ts + for_grace_ms - hold_ms;
                } else {
                    restored_active_at += ts - down_at;
                }
                alert.active_at = restored_active_at;
            }
            rule.restored = true;
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn eval_recording(
    rule: &RuleState,
    ts: Timestamp,
    limit: usize,
    ctx: EvalContext<'_>,
) -> Result<Vec<(Labels, f64)>, String> {
    let RuleKind::Recording { record } = &rule.def.kind else {
        return Ok(Vec::new());
    };
    let result = ctx.query.query(&rule.def.expr, ts)?;
    let mut out = Vec::with_capacity(result.len());
    let mut seen = BTreeSet::new();
    for sample in result {
        let mut b = sample.labels.to_builder();
        b.set("__name__", record);
        for (name, value) in &rule.labels {
            b.set(name, value);
        }
        let labels = b.build();
        if !seen.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels"
                    .to_owned(),
            );
        }
        out.push((labels, sample.value));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

fn to_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Whether any series returned by `samples` agrees with `source` on every label both have.
fn matches_source(samples: &[QuerySample], source: &Labels) -> bool {
    samples.iter().any(|s| {
        source
            .iter()
            .all(|l| l.name == "__name__" || s.labels.get(&l.name).is_none_or(|v| v == l.value))
    })
}

fn eval_alerting(
    rule: &mut RuleState,
    ts: Timestamp,
    limit: usize,
    ctx: EvalContext<'_>,
) -> Result<Vec<(Labels, f64)>, String> {
    let RuleKind::Alerting {
        alert: name,
        hold,
        keep_firing_for,
        annotations,
        resolve_expr,
    } = &rule.def.kind
    else {
        return Ok(Vec::new());
    };
    let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
    let keep_ms = i64::try_from(keep_firing_for.as_millis()).unwrap_or(i64::MAX);
    let result = ctx.query.query(&rule.def.expr, ts)?;
    let template_name = format!("__alert_{name}");
    let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
    for sample in result {
        let template_labels = to_map(&sample.labels);
        let expand = |text: &str| {
            ctx.expander
                .expand(&template_name, text, &template_labels, sample.value, ts)
                .unwrap_or_else(|err| {
                    tracing::warn!(alert = %name, error = %err, "expanding alert template failed");
                    err
                })
        };
        let source = sample.labels.without_metric_name();
        let mut b = source.to_builder();
        for (label, value) in &rule.labels {
            b.set(label, &expand(value));
        }
        b.set("alertname", name);
        let labels = b.build();
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.clone(), expand(v)))
            .collect();
        if fresh.contains_key(&labels) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels"
                    .to_owned(),
            );
        }
        fresh.insert(
            labels.clone(),
            Alert {
                labels,
                annotations,
                source,
                state: AlertState::Pending,
                value: sample.value,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                last_sent_at: None,
                valid_until: 0,
                keep_firing_since: None,
                resolve_since: None,
                resolution: None,
            },
        );
    }
    let returned: BTreeSet<Labels> = fresh.keys().cloned().collect();
    for (key, alert) in fresh {
        if let Some(existing) = rule.active.get_mut(&key)
            && existing.state != AlertState::Inactive
        {
            existing.value = alert.value;
            existing.annotations = alert.annotations;
            existing.source = alert.source;
            continue;
        }
        rule.active.insert(key, alert);
    }

    // Lazily evaluated, at most once per evaluation: what resolve_expr returns, and what the
    // expression's selectors still see.
    let mut resolve_result: Option<Vec<QuerySample>> = None;
    let mut selector_result: Option<Vec<QuerySample>> = None;
    let mut resolve_error = None;
    let mut vanished = |source: &Labels| -> bool {
        let samples = selector_result.get_or_insert_with(|| {
            selectors(&rule.def.expr)
                .iter()
                .flat_map(|s| ctx.query.query(s, ts).unwrap_or_default())
                .collect()
        });
        !matches_source(samples, source)
    };

    let mut vec = Vec::new();
    let mut num_active = 0usize;
    let mut remove = Vec::new();
    for (key, alert) in &mut rule.active {
        if returned.contains(key) {
            alert.keep_firing_since = None;
            alert.resolve_since = None;
        } else {
            let mut keep_firing = false;
            let mut reason = None;
            if alert.state == AlertState::Firing {
                if let Some(resolve) = resolve_expr {
                    if resolve_result.is_none() {
                        match ctx.query.query(resolve, ts) {
                            Ok(r) => resolve_result = Some(r),
                            Err(e) => {
                                resolve_error = Some(e);
                                resolve_result = Some(Vec::new());
                            }
                        }
                    }
                    let cleared = resolve_result
                        .as_deref()
                        .is_some_and(|r| matches_source(r, &alert.source));
                    if cleared {
                        reason = Some(Resolution::ConditionCleared);
                        // keep_firing_for counts from when the resolution condition held.
                        if keep_ms > 0 {
                            let since = *alert.resolve_since.get_or_insert(ts);
                            keep_firing = ts - since < keep_ms;
                        }
                    } else {
                        alert.resolve_since = None;
                        if resolve_error.is_none() && vanished(&alert.source) {
                            reason = Some(Resolution::SeriesVanished);
                        } else {
                            keep_firing = true;
                        }
                    }
                } else if keep_ms > 0 {
                    let since = *alert.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < keep_ms;
                }
                if keep_firing {
                    alert.keep_firing_since.get_or_insert(ts);
                }
            }
            if alert.state == AlertState::Pending
                || alert
                    .resolved_at
                    .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
            {
                remove.push(key.clone());
            }
            if alert.state != AlertState::Inactive && !keep_firing {
                if alert.state == AlertState::Firing {
                    let reason = reason.unwrap_or_else(|| {
                        if vanished(&alert.source) {
                            Resolution::SeriesVanished
                        } else {
                            Resolution::ConditionCleared
                        }
                    });
                    alert.resolution = Some(reason);
                    alert.annotations.insert(
                        RESOLVED_REASON_ANNOTATION.to_owned(),
                        reason.as_str().to_owned(),
                    );
                }
                alert.state = AlertState::Inactive;
                alert.resolved_at = Some(ts);
            }
            if !keep_firing {
                continue;
            }
        }
        num_active += 1;
        if alert.state == AlertState::Pending && ts - alert.active_at >= hold_ms {
            alert.state = AlertState::Firing;
            alert.fired_at = Some(ts);
        }
        if rule.restored {
            let mut b = alert.labels.to_builder();
            b.set("__name__", "ALERTS");
            b.set("alertstate", alert.state.as_str());
            vec.push((b.build(), 1.0));
            let mut b = alert.labels.to_builder();
            b.set("__name__", "ALERTS_FOR_STATE");
            #[allow(clippy::cast_precision_loss)]
            vec.push((b.build(), (alert.active_at / 1000) as f64));
        }
    }
    for key in remove {
        rule.active.remove(&key);
    }
    if let Some(err) = resolve_error {
        tracing::warn!(alert = %name, error = %err, "resolve_expr failed; firing alerts kept firing");
    }
    if limit > 0 && num_active > limit {
        rule.active.clear();
        return Err(format!(
            "exceeded limit of {limit} with {num_active} alerts"
        ));
    }
    Ok(vec)
}
