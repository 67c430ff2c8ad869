//! Per-series checks of a remote_write series: what makes it refused, with a reason for the
//! metrics and a message naming the series.

use tocsin_config::IngestLimits;
use tocsin_model::{METRIC_NAME, go_quote};

use crate::remote_write::RawLabel;

/// Why a series was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// Stable reason for metrics.
    pub(crate) reason: &'static str,
    /// What is wrong, naming the series.
    pub(crate) message: String,
}

/// The series as `{name="value", ...}` for messages, bounded in length.
pub(crate) fn describe(labels: &[RawLabel<'_>]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&String::from_utf8_lossy(name));
        out.push('=');
        out.push_str(&go_quote(&String::from_utf8_lossy(value)));
        if out.len() > 240 {
            out.truncate(out.floor_char_boundary(240));
            out.push('…');
            return out;
        }
    }
    out.push('}');
    out
}

fn invalid(reason: &'static str, labels: &[RawLabel<'_>], what: String) -> Invalid {
    Invalid {
        reason,
        message: format!("series {}: {what}", describe(labels)),
    }
}

/// Checks `labels` and writes them, UTF-8 checked, without empty values and sorted by
/// name, into `out`. Senders should sort labels; some (vmagent, and the compliance suite's
/// own 1.0 requests) do not, so unsorted labels are sorted rather than refused.
pub(crate) fn validate<'a>(
    labels: &[RawLabel<'a>],
    limits: &IngestLimits,
    out: &mut Vec<(&'a str, &'a str)>,
) -> Result<(), Invalid> {
    out.clear();
    for &(name, value) in labels {
        let Ok(name) = std::str::from_utf8(name) else {
            return Err(invalid(
                "invalid_utf8",
                labels,
                "a label name is not valid UTF-8".to_owned(),
            ));
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return Err(invalid(
                "invalid_utf8",
                labels,
                format!("the value of label {name:?} is not valid UTF-8"),
            ));
        };
        if name.is_empty() {
            return Err(invalid(
                "empty_label_name",
                labels,
                "a label has an empty name".to_owned(),
            ));
        }
        // An empty value means the label is absent (Prometheus's rule).
        if !value.is_empty() {
            out.push((name, value));
        }
    }
    if out.is_empty() {
        return Err(Invalid {
            reason: "empty_labels",
            message: "a series has no labels; every series needs at least __name__".to_owned(),
        });
    }
    if !out.is_sorted_by(|a, b| a.0 <= b.0) {
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    if let Some(pair) = out.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(invalid(
            "duplicate_label_name",
            labels,
            format!("label name {:?} appears more than once", pair[0].0),
        ));
    }
    if out
        .binary_search_by(|(n, _)| (*n).cmp(METRIC_NAME))
        .is_err()
    {
        return Err(invalid(
            "missing_metric_name",
            labels,
            "no __name__ label (metric name)".to_owned(),
        ));
    }
    let max_labels = limits.max_label_names_per_series;
    if max_labels > 0 && out.len() as u64 > max_labels {
        return Err(invalid(
            "too_many_labels",
            labels,
            format!("{} labels, more than the limit of {max_labels}", out.len()),
        ));
    }
    let max_name = limits.max_label_name_length;
    let max_value = limits.max_label_value_length;
    for (name, value) in out.iter() {
        if max_name > 0 && name.len() as u64 > max_name {
            return Err(invalid(
                "label_name_too_long",
                labels,
                format!(
                    "label name of {} bytes, more than the limit of {max_name}",
                    name.len()
                ),
            ));
        }
        if max_value > 0 && value.len() as u64 > max_value {
            return Err(invalid(
                "label_value_too_long",
                labels,
                format!(
                    "value of label {name:?} is {} bytes, more than the limit of {max_value}",
                    value.len()
                ),
            ));
        }
    }
    Ok(())
}
