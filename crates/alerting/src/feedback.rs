//! Alert-quality feedback and the noise report: someone who received a notification says
//! whether it was actionable or noise; the report counts, per alertname, service or route and
//! per time bucket, notifications delivered, alerts fired and feedback, and ranks the noisiest
//! with a suggestion of what to change. This is how a team measures, and then reduces, the
//! alert volume that wears its on-call down.

use std::collections::BTreeMap;

use serde::Serialize;
use tocsin_store::alerting::{FeedbackRow, HistoryFilter, HistoryRow, ReportBy, ReportRow};

use crate::time::{Millis, format_api};
use crate::{Error, Result};

/// Longest report: as many buckets as a range query of Prometheus may return points.
pub const MAX_BUCKETS: i64 = 11_000;

const DAY: Millis = 86_400_000;

/// Whether a notification was worth it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Someone had to act.
    Actionable,
    /// Nobody had to do anything.
    Noise,
}

impl Verdict {
    /// `actionable` or `noise`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actionable => "actionable",
            Self::Noise => "noise",
        }
    }
}

impl std::str::FromStr for Verdict {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "actionable" => Ok(Self::Actionable),
            "noise" => Ok(Self::Noise),
            other => Err(Error::Invalid(format!(
                "verdict {other:?} is neither \"actionable\" nor \"noise\""
            ))),
        }
    }
}

/// Which notification the feedback is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackTarget {
    /// The id the notification carried (`tocsin.notificationID`, `{{ .NotificationID }}`).
    Notification(String),
    /// The latest notification of a group, to a receiver (needed when the group went to
    /// more than one).
    Group {
        /// Group key.
        group_key: String,
        /// Receiver name.
        receiver: Option<String>,
    },
}

/// Feedback as given.
#[derive(Debug, Clone)]
pub struct FeedbackInput {
    /// The notification.
    pub target: FeedbackTarget,
    /// The verdict.
    pub verdict: Verdict,
    /// Who judged.
    pub by: String,
    /// Why (optional).
    pub comment: String,
}

/// Feedback as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    /// When (RFC 3339).
    pub at: String,
    /// The notification.
    pub notification_id: Option<String>,
    /// Its group.
    pub group_key: String,
    /// Its receiver.
    pub receiver: String,
    /// Its route.
    pub route: String,
    /// alertname of the group (empty when it has none).
    pub alertname: String,
    /// service of the group (empty when it has none).
    pub service: String,
    /// `actionable` or `noise`.
    pub verdict: Verdict,
    /// Who.
    pub by: String,
    /// Why.
    pub comment: String,
}

/// The receiver name of a history record's receiver (`name/integration/index`, or `name`).
fn receiver_name(stored: &str) -> &str {
    // Integration keys add exactly two segments; receiver names may contain `/` themselves.
    let mut parts = stored.rsplitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(index), Some(_), Some(name)) if index.parse::<usize>().is_ok() => name,
        _ => stored,
    }
}

fn delivered(row: &HistoryRow) -> bool {
    row.state == "sent" || row.state == "recorded"
}

/// Finds the notification the feedback names.
pub(crate) async fn find_notification(
    store: &tocsin_store::Store,
    target: &FeedbackTarget,
) -> Result<HistoryRow> {
    let repo = store.alerting();
    match target {
        FeedbackTarget::Notification(id) => {
            if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::Invalid(format!(
                    "notification id {id:?} is not 16 hex digits as notifications carry it"
                )));
            }
            let rows = repo
                .query_history(&HistoryFilter {
                    kind: Some("notification".to_owned()),
                    notification_id: Some(id.to_ascii_lowercase()),
                    limit: Some(100),
                    ..HistoryFilter::default()
                })
                .await?;
            // A notification that failed and was never delivered can still be judged (the
            // people paged by a later retry saw it); delivered records are preferred.
            rows.iter()
                .find(|r| delivered(r))
                .or_else(|| rows.first())
                .cloned()
                .ok_or_else(|| {
                    Error::NotificationNotFound(format!(
                        "no notification with id {id} is in the history (it is kept for the \
                         retention period)"
                    ))
                })
        }
        FeedbackTarget::Group {
            group_key,
            receiver,
        } => {
            let rows = repo
                .query_history(&HistoryFilter {
                    kind: Some("notification".to_owned()),
                    group_key: Some(group_key.clone()),
                    limit: Some(1000),
                    ..HistoryFilter::default()
                })
                .await?;
            let mut rows: Vec<HistoryRow> = rows.into_iter().filter(delivered).collect();
            if let Some(receiver) = receiver {
                rows.retain(|r| r.receiver.as_deref().map(receiver_name) == Some(receiver));
            }
            let mut names: Vec<&str> = rows
                .iter()
                .filter_map(|r| r.receiver.as_deref().map(receiver_name))
                .collect();
            names.sort_unstable();
            names.dedup();
            if names.len() > 1 {
                return Err(Error::Invalid(format!(
                    "alert group {group_key} was notified to several receivers ({}); name one",
                    names.join(", ")
                )));
            }
            rows.into_iter().next().ok_or_else(|| {
                Error::NotificationNotFound(match receiver {
                    Some(r) => format!(
                        "no notification of alert group {group_key} to receiver {r:?} is in the \
                         history"
                    ),
                    None => format!("no notification of alert group {group_key} is in the history"),
                })
            })
        }
    }
}

/// The stored row of feedback on `notification`.
pub(crate) fn feedback_row(
    notification: &HistoryRow,
    input: &FeedbackInput,
    now: Millis,
) -> FeedbackRow {
    FeedbackRow {
        id: 0,
        at: now,
        group_key: notification.group_key.clone().unwrap_or_default(),
        receiver: notification
            .receiver
            .as_deref()
            .map(receiver_name)
            .unwrap_or_default()
            .to_owned(),
        route: notification.route.clone().unwrap_or_default(),
        alertname: notification.alertname.clone().unwrap_or_default(),
        service: notification.service.clone().unwrap_or_default(),
        verdict: input.verdict.as_str().to_owned(),
        author: input.by.trim().to_owned(),
        comment: input.comment.clone(),
        notification_id: notification.notification_id.clone(),
    }
}

pub(crate) fn feedback_view(row: &FeedbackRow, verdict: Verdict) -> Feedback {
    Feedback {
        at: format_api(row.at),
        notification_id: row.notification_id.clone(),
        group_key: row.group_key.clone(),
        receiver: row.receiver.clone(),
        route: row.route.clone(),
        alertname: row.alertname.clone(),
        service: row.service.clone(),
        verdict,
        by: row.author.clone(),
        comment: row.comment.clone(),
    }
}

/// What the report covers.
#[derive(Debug, Clone, Copy)]
pub struct ReportQuery {
    /// Grouping.
    pub by: ReportBy,
    /// Start (Unix ms, inclusive).
    pub from: Millis,
    /// End (Unix ms, exclusive).
    pub to: Millis,
    /// Bucket width (ms).
    pub step: Millis,
}

impl ReportQuery {
    /// Checks the range and the number of buckets.
    pub fn validate(&self) -> Result<()> {
        if self.step <= 0 {
            return Err(Error::Invalid(
                "report step must be a positive duration such as 1d or 1h".to_owned(),
            ));
        }
        if self.to <= self.from {
            return Err(Error::Invalid(format!(
                "report range is empty: to ({}) must be after from ({})",
                format_api(self.to),
                format_api(self.from)
            )));
        }
        let buckets = (self.to - self.from + self.step - 1) / self.step;
        if buckets > MAX_BUCKETS {
            return Err(Error::Invalid(format!(
                "report would have {buckets} buckets, more than {MAX_BUCKETS}; raise step or \
                 shorten the range"
            )));
        }
        Ok(())
    }

    fn buckets(&self) -> i64 {
        (self.to - self.from + self.step - 1) / self.step
    }
}

/// Counts over a bucket or a whole range.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Notifications delivered (each integration of a receiver counts once; receivers
    /// without integrations count what they recorded).
    pub notifications: i64,
    /// Alerts that started firing.
    pub alerts_fired: i64,
    /// Feedback: actionable.
    pub actionable: i64,
    /// Feedback: noise.
    pub noise: i64,
    /// `noise / (noise + actionable)`; absent without feedback.
    pub noise_ratio: Option<f64>,
}

impl Counts {
    fn add(&mut self, row: &ReportRow) {
        self.notifications += row.notifications;
        self.alerts_fired += row.alerts_fired;
        self.actionable += row.actionable;
        self.noise += row.noise;
        self.noise_ratio = ratio(self.noise, self.actionable);
    }
}

fn ratio(noise: i64, actionable: i64) -> Option<f64> {
    let judged = noise + actionable;
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    (judged > 0).then(|| noise as f64 / judged as f64)
}

/// One time bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Start (RFC 3339).
    pub start: String,
    /// Counts in `[start, start + step)`.
    #[serde(flatten)]
    pub counts: Counts,
}

/// One alertname, service or route over the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The alertname, service or route (empty: alerts without that label).
    pub key: String,
    /// Over the whole range.
    pub total: Counts,
    /// Every bucket of the range, in order (empty ones included).
    pub buckets: Vec<Bucket>,
}

/// A noisy alert and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Noisy {
    /// The alertname, service or route.
    pub key: String,
    /// Alerts fired per day over the range.
    pub fired_per_day: f64,
    /// Notifications per day over the range.
    pub notifications_per_day: f64,
    /// Feedback marked noise.
    pub noise: i64,
    /// Feedback marked actionable.
    pub actionable: i64,
    /// Share of feedback marked noise; absent without feedback.
    pub noise_ratio: Option<f64>,
    /// What to change.
    pub suggestion: String,
}

/// The noise report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseReport {
    /// `alertname`, `service` or `route`.
    pub by: &'static str,
    /// Start (RFC 3339).
    pub from: String,
    /// End (RFC 3339).
    pub to: String,
    /// Bucket width in seconds.
    pub step_seconds: i64,
    /// Over everything.
    pub total: Counts,
    /// One per key, largest volume first.
    pub series: Vec<Series>,
    /// The noisiest first (at most 10).
    pub top_noisy: Vec<Noisy>,
}

/// Alerts firing at least this often without feedback are worth asking about.
const BUSY_PER_DAY: f64 = 10.0;

fn by_name(by: ReportBy) -> &'static str {
    match by {
        ReportBy::Alertname => "alertname",
        ReportBy::Service => "service",
        ReportBy::Route => "route",
    }
}

/// What to change about a key that fires `per_day` times with `counts` feedback; `None` when
/// nothing suggests it is noisy.
fn suggestion(per_day: f64, counts: &Counts) -> Option<String> {
    let pct = |r: f64| (r * 100.0).round();
    match counts.noise_ratio {
        Some(r) if r >= 0.5 => Some(format!(
            "fires {per_day:.1} times/day, {}% marked noise: raise `for` or the threshold, \
             send it to a ticket receiver instead of paging, or silence it while the rule is \
             fixed",
            pct(r)
        )),
        Some(r) if counts.noise > 0 => Some(format!(
            "fires {per_day:.1} times/day, {}% marked noise: tighten its matchers or threshold \
             so only the actionable cases page",
            pct(r)
        )),
        None if per_day >= BUSY_PER_DAY => Some(format!(
            "fires {per_day:.1} times/day and nobody has given feedback: ask the people it pages \
             whether it is actionable (`tocsin alerts feedback`)"
        )),
        _ => None,
    }
}

/// Builds the report from the store's cells.
pub(crate) fn build_report(query: &ReportQuery, rows: &[ReportRow]) -> NoiseReport {
    let n = usize::try_from(query.buckets()).unwrap_or(0);
    let mut series: BTreeMap<&str, Series> = BTreeMap::new();
    let mut total = Counts::default();
    for row in rows {
        let s = series.entry(&row.key).or_insert_with(|| Series {
            key: row.key.clone(),
            total: Counts::default(),
            buckets: (0..n)
                .map(|i| Bucket {
                    start: format_api(query.from + i64::try_from(i).unwrap_or(0) * query.step),
                    counts: Counts::default(),
                })
                .collect(),
        });
        s.total.add(row);
        total.add(row);
        let index = usize::try_from((row.bucket_start - query.from) / query.step).ok();
        if let Some(bucket) = index.and_then(|i| s.buckets.get_mut(i)) {
            bucket.counts.add(row);
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "ranges far below 2^52 ms")]
    let days = (query.to - query.from) as f64 / DAY as f64;
    let mut top_noisy: Vec<Noisy> = series
        .values()
        .filter_map(|s| {
            #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let (fired, sent) = (
                s.total.alerts_fired as f64 / days,
                s.total.notifications as f64 / days,
            );
            // Routes of receivers that only record count notifications, not alerts.
            let per_day = if s.total.alerts_fired > 0 {
                fired
            } else {
                sent
            };
            suggestion(per_day, &s.total).map(|suggestion| Noisy {
                key: s.key.clone(),
                fired_per_day: fired,
                notifications_per_day: sent,
                noise: s.total.noise,
                actionable: s.total.actionable,
                noise_ratio: s.total.noise_ratio,
                suggestion,
            })
        })
        .collect();
    top_noisy.sort_by(|a, b| {
        b.noise
            .cmp(&a.noise)
            .then(
                b.noise_ratio
                    .unwrap_or(0.0)
                    .total_cmp(&a.noise_ratio.unwrap_or(0.0)),
            )
            .then(b.fired_per_day.total_cmp(&a.fired_per_day))
            .then(a.key.cmp(&b.key))
    });
    top_noisy.truncate(10);
    let mut series: Vec<Series> = series.into_values().collect();
    series.sort_by(|a, b| {
        (b.total.notifications + b.total.alerts_fired)
            .cmp(&(a.total.notifications + a.total.alerts_fired))
            .then(a.key.cmp(&b.key))
    });
    NoiseReport {
        by: by_name(query.by),
        from: format_api(query.from),
        to: format_api(query.to),
        step_seconds: query.step / 1000,
        total,
        series,
        top_noisy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(key: &str, bucket: i64, fired: i64, noise: i64, actionable: i64) -> ReportRow {
        ReportRow {
            key: key.to_owned(),
            bucket_start: bucket * DAY,
            notifications: fired,
            alerts_fired: fired,
            actionable,
            noise,
        }
    }

    #[test]
    fn receiver_names_drop_the_integration_suffix_only() {
        assert_eq!(receiver_name("team/webhook/0"), "team");
        assert_eq!(receiver_name("a/b/slack/1"), "a/b");
        assert_eq!(receiver_name("history"), "history");
        assert_eq!(receiver_name("x/y"), "x/y");
    }

    #[test]
    fn report_fills_buckets_and_ranks_noise_with_suggestions() {
        let query = ReportQuery {
            by: ReportBy::Alertname,
            from: 0,
            to: 2 * DAY,
            step: DAY,
        };
        query.validate().unwrap();
        let rows = [
            cell("Flappy", 0, 30, 4, 1),
            cell("Flappy", 1, 10, 0, 0),
            cell("Useful", 1, 2, 0, 3),
            cell("Busy", 0, 40, 0, 0),
        ];
        let report = build_report(&query, &rows);
        assert_eq!(report.total.alerts_fired, 82);
        assert_eq!(report.series[0].key, "Busy");
        let flappy = report.series.iter().find(|s| s.key == "Flappy").unwrap();
        assert_eq!(flappy.buckets.len(), 2);
        assert_eq!(flappy.buckets[1].counts.alerts_fired, 10);
        assert_eq!(flappy.total.noise_ratio, Some(0.8));
        let keys: Vec<&str> = report.top_noisy.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["Flappy", "Busy"]);
        assert_eq!(
            report.top_noisy[0].suggestion,
            "fires 20.0 times/day, 80% marked noise: raise `for` or the threshold, send it to \
             a ticket receiver instead of paging, or silence it while the rule is fixed"
        );
        assert!(
            report.top_noisy[1]
                .suggestion
                .contains("nobody has given feedback")
        );
    }

    #[test]
    fn report_ranges_are_checked() {
        let bad = |from, to, step| {
            ReportQuery {
                by: ReportBy::Route,
                from,
                to,
                step,
            }
            .validate()
            .unwrap_err()
            .to_string()
        };
        assert!(bad(0, DAY, 0).contains("positive"));
        assert!(bad(DAY, 0, 1).contains("empty"));
        assert!(bad(0, DAY, 1).contains("raise step"));
    }
}
