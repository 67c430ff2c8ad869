//! `/api/v1/query`, `/api/v1/query_range` and `/api/v1/format_query`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tocsin_model::Labels;
use tocsin_promql::{QueryResult, Value, write_float, write_float_fixed};

use super::params::{Params, parse_duration, write_timestamp};
use super::{ApiError, blocking, success, success_raw};
use crate::AppState;

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn parts(
    state: &AppState,
) -> Result<
    (
        Arc<dyn tocsin_model::storage::Queryable>,
        Arc<tocsin_promql::Engine>,
    ),
    ApiError,
> {
    let store = state.storage.clone().ok_or_else(ApiError::unavailable)?;
    let api = state.prometheus.clone().ok_or_else(ApiError::unavailable)?;
    Ok((store, api.engine))
}

fn query_param(params: &Params) -> String {
    params.get("query").unwrap_or("").to_owned()
}

pub(crate) async fn instant(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let params = Params::parse(raw.as_deref(), &headers, &body)?;
        let query = query_param(&params);
        if let Some(drill) = &state.drill {
            drill.record_query(&query);
        }
        let time = params.time("time", now_ms())?;
        let (store, engine) = parts(&state)?;
        blocking(move || {
            engine
                .instant_query(store.as_ref(), &query, time)
                .map_err(|e| ApiError::from_query(&e))
        })
        .await
    };
    match run.await {
        Ok(result) => encode(&result),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn range(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let params = Params::parse(raw.as_deref(), &headers, &body)?;
        let query = query_param(&params);
        if let Some(drill) = &state.drill {
            drill.record_query(&query);
        }
        let start = params.required_time("start")?;
        let end = params.required_time("end")?;
        if end < start {
            return Err(ApiError::bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        let step_text = params.get("step").unwrap_or("");
        let step = parse_duration(step_text).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"step\": cannot parse \"{step_text}\" to a valid duration"
            ))
        })?;
        if step <= 0 {
            return Err(ApiError::bad_data(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(ApiError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let (store, engine) = parts(&state)?;
        blocking(move || {
            engine
                .range_query(store.as_ref(), &query, start, end, step)
                .map_err(|e| ApiError::from_query(&e))
        })
        .await
    };
    match run.await {
        Ok(result) => encode(&result),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn format(RawQuery(raw): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    let run = || -> Result<String, ApiError> {
        let params = Params::parse(raw.as_deref(), &headers, &body)?;
        tocsin_promql::format_query(&query_param(&params)).map_err(|e| ApiError::from_query(&e))
    };
    match run() {
        Ok(text) => success(&serde_json::Value::String(text)),
        Err(e) => e.into_response(),
    }
}

fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(&l.name).unwrap_or_default());
        out.push(':');
        out.push_str(&serde_json::to_string(&l.value).unwrap_or_default());
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    write_float(out, v);
    out.push_str("\"]");
}

/// Encodes a result exactly as Prometheus does (values as strings, timestamps as seconds).
pub(crate) fn encode_value(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"resultType\":\"");
    out.push_str(value.type_name());
    out.push_str("\",\"result\":");
    match value {
        // Prometheus marshals a scalar with encoding/json: the time as a plain float (`1.5`,
        // not `1.500`) and the value in `'f'` form even at the extremes.
        Value::Scalar(p) => {
            out.push('[');
            write_float_fixed(&mut out, p.t as f64 / 1000.0);
            out.push_str(",\"");
            write_float_fixed(&mut out, p.v);
            out.push_str("\"]");
        }
        Value::String(t, s) => {
            out.push('[');
            write_timestamp(&mut out, *t);
            out.push(',');
            out.push_str(&serde_json::to_string(s).unwrap_or_default());
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                out.push_str(",\"value\":");
                write_point(&mut out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, p.t, p.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

fn encode(result: &QueryResult) -> Response {
    success_raw(
        &encode_value(&result.value),
        &result.annotations.warnings,
        &result.annotations.infos,
    )
}
