//! Writing samples in either format: used by tests (round trips), the load generator's
//! fixtures and `tocsin import` tests.

use std::fmt::Write as _;

use super::Format;
use super::float::format_go_float;

fn is_legacy_metric_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_' || bytes[0] == b':')
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_legacy_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends one sample line. Names outside the legacy character set are quoted, inside the
/// braces, as Prometheus 3 writes them. `timestamp` is in milliseconds.
pub fn write_sample(
    out: &mut String,
    name: &str,
    labels: &[(&str, &str)],
    value: f64,
    timestamp: Option<i64>,
    format: Format,
) {
    let legacy_name = is_legacy_metric_name(name);
    if legacy_name {
        out.push_str(name);
    }
    if !legacy_name || !labels.is_empty() {
        out.push('{');
        let mut first = true;
        if !legacy_name {
            push_quoted(out, name);
            first = false;
        }
        for (label, value) in labels {
            if !first {
                out.push(',');
            }
            first = false;
            if is_legacy_label_name(label) {
                out.push_str(label);
            } else {
                push_quoted(out, label);
            }
            out.push('=');
            push_quoted(out, value);
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_go_float(value));
    if let Some(ms) = timestamp {
        match format {
            Format::PrometheusText => {
                let _ = write!(out, " {ms}");
            }
            Format::OpenMetrics => {
                let sign = if ms < 0 { "-" } else { "" };
                let abs = ms.unsigned_abs();
                let (secs, frac) = (abs / 1000, abs % 1000);
                if frac == 0 {
                    let _ = write!(out, " {sign}{secs}");
                } else {
                    let _ = write!(out, " {sign}{secs}.{frac:03}");
                }
            }
        }
    }
    out.push('\n');
}
