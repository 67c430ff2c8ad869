//! Parsers for the Prometheus text format 0.0.4 and OpenMetrics 1.0, with Prometheus 3's
//! UTF-8 quoted names (`{"my.metric", "my.label"="v"}`), exemplars (parsed, then ignored by
//! ingestion), `# EOF` and Go's float syntax.
//!
//! The parser borrows from the input and allocates only to unescape a quoted string that
//! contains escapes; label pairs go into a buffer reused from line to line.

mod float;
mod parser;
mod write;

#[cfg(test)]
mod tests;

pub use self::float::{format_go_float, parse_go_float};
pub use self::parser::{Entry, Exemplar, LabelPair, MetricType, ParseError, Parser, Sample};
pub use self::write::write_sample;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0` (and 0.0.1).
    OpenMetrics,
}

impl Format {
    /// The parser Prometheus picks for a response's `Content-Type`: OpenMetrics for
    /// `application/openmetrics-text`, the text format for anything else (including none).
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        let media_type = content_type
            .and_then(|ct| ct.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Self::OpenMetrics
        } else {
            Self::PrometheusText
        }
    }

    /// A short name for metrics labels and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::PrometheusText => "prometheus_text",
            Self::OpenMetrics => "openmetrics",
        }
    }
}
