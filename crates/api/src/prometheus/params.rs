//! Request parameters: the URL query merged with a form-encoded POST body, and Prometheus's
//! time and duration formats.

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

use super::ApiError;

/// All parameters of a request, in order (repeated names such as `match[]` kept).
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

/// Prometheus's `minTime`/`maxTime` (what an omitted `start`/`end` means), in milliseconds.
pub(crate) const MIN_TIME: i64 = -9_223_309_901_257_974;
pub(crate) const MAX_TIME: i64 = 9_223_309_901_257_974;

impl Params {
    pub(crate) fn parse(
        raw_query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(q) = raw_query {
            pairs.extend(
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .map_err(|e| ApiError::bad_data(format!("invalid query string: {e}")))?,
            );
        }
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form && !body.is_empty() {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_data("request body is not valid UTF-8"))?;
            pairs.extend(
                serde_urlencoded::from_str::<Vec<(String, String)>>(text)
                    .map_err(|e| ApiError::bad_data(format!("invalid form body: {e}")))?,
            );
        }
        Ok(Self(pairs))
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter in milliseconds, or `default` when absent or empty.
    pub(crate) fn time(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(v) => parse_time(v).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{name}\": cannot parse \"{v}\" to a valid timestamp"
                ))
            }),
        }
    }

    /// A required time parameter.
    pub(crate) fn required_time(&self, name: &str) -> Result<i64, ApiError> {
        let v = self.get(name).unwrap_or("");
        parse_time(v).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"{name}\": cannot parse \"{v}\" to a valid timestamp"
            ))
        })
    }
}

/// Unix seconds (with fraction) or RFC 3339, as Prometheus accepts.
pub(crate) fn parse_time(v: &str) -> Option<i64> {
    if let Ok(secs) = v.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        let ms = (secs * 1000.0).round();
        return Some(ms.clamp(MIN_TIME as f64, MAX_TIME as f64) as i64);
    }
    match v {
        "-292273086-05-16T16:47:06Z" => return Some(MIN_TIME),
        "292277025-08-18T07:12:54.999999999Z" => return Some(MAX_TIME),
        _ => {}
    }
    let ts: jiff::Timestamp = v.parse().ok()?;
    Some(ts.as_millisecond())
}

/// A duration: float seconds or Prometheus's `1m30s` form, in milliseconds.
pub(crate) fn parse_duration(v: &str) -> Option<i64> {
    if let Ok(secs) = v.parse::<f64>() {
        if !secs.is_finite() || secs * 1000.0 > i64::MAX as f64 {
            return None;
        }
        return Some((secs * 1000.0).round() as i64);
    }
    let d = tocsin_promql::promql_parser::util::parse_duration(v).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// Milliseconds as Prometheus's JSON timestamp (seconds with exactly the needed millis).
pub(crate) fn write_timestamp(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let abs = t.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(abs / 1000));
    let frac = abs % 1000;
    if frac != 0 {
        out.push('.');
        if frac < 100 {
            out.push('0');
        }
        if frac < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(frac));
    }
}
