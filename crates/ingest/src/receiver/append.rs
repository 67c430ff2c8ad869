//! The append loop: every valid series of a decoded request into one appender, then one
//! commit; refusals are counted by reason and the first few are reported.

use tocsin_config::IngestLimits;
use tocsin_model::storage::{AppendError, SeriesRef, StorageError};
use tocsin_model::{Label, Labels, METRIC_NAME};

use super::validate::{describe, validate};
use super::{Receiver, WriteOutcome};
use crate::limits::{Admission, SeriesKey, TenantState};
use crate::remote_write::{Protocol, WriteRequest};

/// How many refusal messages a 400 quotes.
const MAX_MESSAGES: usize = 5;

#[derive(Debug, Default)]
struct Refusals {
    by_reason: Vec<(&'static str, u64)>,
    total: u64,
    events: usize,
    messages: Vec<String>,
}

impl Refusals {
    fn add(&mut self, reason: &'static str, samples: u64, message: impl FnOnce() -> String) {
        if samples == 0 {
            return;
        }
        self.total += samples;
        self.events += 1;
        match self.by_reason.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, count)) => *count += samples,
            None => self.by_reason.push((reason, samples)),
        }
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(message());
        }
    }
}

pub(super) fn append(
    receiver: &Receiver,
    tenant: &TenantState,
    limits: &IngestLimits,
    request: &WriteRequest<'_>,
    now: i64,
    protocol: Protocol,
) -> WriteOutcome {
    let label = tenant.metrics_label.as_str();
    let grace = limits.creation_grace_period.as_millis() as i64;
    let max_t = if grace > 0 {
        now.saturating_add(grace)
    } else {
        i64::MAX
    };
    let mut refusals = Refusals::default();
    let mut appender = receiver.storage.appender();
    let mut sorted: Vec<(&str, &str)> = Vec::with_capacity(32);
    let mut scratch: Vec<u8> = Vec::with_capacity(512);
    let mut stored: u64 = 0;
    let exemplars = request.exemplar_count();
    let histograms = request.histogram_count();

    // Validate and key every series first; then the tracker looks all the keys up at once
    // (see `SeriesTracker::admit_many`).
    let views: Vec<_> = request.series().collect();
    let mut keyed: Vec<(usize, &str)> = Vec::with_capacity(views.len());
    let mut keys: Vec<SeriesKey> = Vec::with_capacity(views.len());
    for (index, series) in views.iter().enumerate() {
        if series.histograms > 0 {
            refusals.add(
                "native_histograms_unsupported",
                u64::from(series.histograms),
                || {
                    format!(
                        "series {}: native histogram samples are not supported yet; send classic \
                     histograms",
                        describe(series.labels)
                    )
                },
            );
        }
        if series.samples.is_empty() {
            continue;
        }
        if let Err(invalid) = validate(series.labels, limits, &mut sorted) {
            refusals.add(invalid.reason, series.samples.len() as u64, || {
                invalid.message
            });
            continue;
        }
        let metric = sorted
            .iter()
            .find(|(n, _)| *n == METRIC_NAME)
            .map_or("", |(_, v)| *v);
        keys.push(SeriesKey::new(
            sorted.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            metric.as_bytes(),
            &mut scratch,
        ));
        keyed.push((index, metric));
    }
    let mut admissions = Vec::new();
    tenant.series.admit_many(
        &keys,
        now,
        limits.max_series_per_tenant,
        limits.max_series_per_metric,
        &mut admissions,
    );

    for ((&(index, metric), &key), &admission) in keyed.iter().zip(&keys).zip(&admissions) {
        let series = &views[index];
        let count = series.samples.len() as u64;
        let mut series_ref: SeriesRef = match admission {
            Admission::Known(series_ref) => series_ref,
            Admission::New => 0,
            Admission::TenantLimit => {
                refusals.add("series_limit_tenant", count, || {
                    format!(
                        "series {}: tenant {:?} is at its limit of {} active series \
                         (max_series_per_tenant)",
                        describe(series.labels),
                        tenant.id,
                        limits.max_series_per_tenant
                    )
                });
                continue;
            }
            Admission::MetricLimit => {
                refusals.add("series_limit_metric", count, || {
                    format!(
                        "series {}: metric {metric:?} is at its limit of {} active series \
                         (max_series_per_metric)",
                        describe(series.labels),
                        limits.max_series_per_metric
                    )
                });
                continue;
            }
        };
        let mut labels: Option<Labels> = None;
        let mut series_stored = 0u64;
        for sample in series.samples {
            if sample.t > max_t {
                refusals.add("too_far_in_future", 1, || {
                    format!(
                        "series {}: sample at {} is more than {} ahead of the receiver's clock \
                         ({now})",
                        describe(series.labels),
                        sample.t,
                        limits.creation_grace_period
                    )
                });
                continue;
            }
            let by_ref = if series_ref != 0 {
                appender.append_by_ref(series_ref, sample.t, sample.v)
            } else {
                None
            };
            let result = match by_ref {
                Some(result) => result,
                None => {
                    let labels = labels.get_or_insert_with(|| {
                        // Validated above, so this only sorts the labels again (for series
                        // the store does not know by ref: new ones, in the steady state none).
                        let _ = validate(series.labels, limits, &mut sorted);
                        Labels::from_sorted_unchecked(
                            sorted.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
                        )
                    });
                    appender.append(0, labels, sample.t, sample.v)
                }
            };
            match result {
                Ok(new_ref) => {
                    series_stored += 1;
                    if new_ref != 0 && new_ref != series_ref {
                        series_ref = new_ref;
                        tenant.series.set_ref(key, new_ref);
                    }
                }
                Err(err) => refusals.add(err.reason(), 1, || append_message(&err)),
            }
        }
        if series_stored == 0 && admission == Admission::New {
            tenant.series.forget(key);
        }
        stored += series_stored;
    }

    match appender.commit() {
        Ok(_) => {}
        Err(err) => {
            let (status, reason) = match err {
                StorageError::Closed => (503, "storage_closed"),
                _ => (500, "storage_error"),
            };
            tracing::error!(%err, samples = stored, "remote_write commit failed; nothing of the request was acknowledged");
            receiver
                .metrics
                .samples_rejected
                .with_label_values(&[reason, label])
                .inc_by(stored);
            let mut outcome = receiver.reject(
                status,
                reason,
                label,
                format!(
                    "the store could not commit the samples ({err}); nothing was stored, retry"
                ),
            );
            if status == 503 {
                outcome.retry_after = Some(5);
            }
            return outcome;
        }
    }

    let metrics = &receiver.metrics;
    metrics
        .samples_accepted
        .with_label_values(&["remote_write", label])
        .inc_by(stored);
    for (reason, count) in &refusals.by_reason {
        metrics
            .samples_rejected
            .with_label_values(&[reason, label])
            .inc_by(*count);
    }
    if exemplars > 0 {
        metrics
            .not_stored
            .with_label_values(&["exemplar"])
            .inc_by(exemplars);
    }
    let headers = match protocol {
        Protocol::V1 => Vec::new(),
        Protocol::V2 => vec![
            (
                "X-Prometheus-Remote-Write-Samples-Written",
                stored.to_string(),
            ),
            (
                "X-Prometheus-Remote-Write-Histograms-Written",
                "0".to_owned(),
            ),
            (
                "X-Prometheus-Remote-Write-Exemplars-Written",
                "0".to_owned(),
            ),
        ],
    };
    if refusals.total == 0 {
        return WriteOutcome {
            status: 204,
            message: String::new(),
            retry_after: None,
            headers,
        };
    }
    let total = request.sample_count() as u64 + histograms;
    let mut message = format!(
        "{} of {total} samples refused ({stored} stored): {}",
        refusals.total,
        refusals.messages.join("; ")
    );
    if refusals.events > refusals.messages.len() {
        message.push_str("; …");
    }
    message.push('\n');
    tracing::debug!(
        tenant = label,
        refused = refusals.total,
        stored,
        "remote_write request partly refused"
    );
    WriteOutcome {
        status: 400,
        message,
        retry_after: None,
        headers,
    }
}

fn append_message(err: &AppendError) -> String {
    err.to_string()
}
