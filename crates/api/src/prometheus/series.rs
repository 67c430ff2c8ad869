//! `/api/v1/series`, `/labels`, `/label/<name>/values`, `/metadata`, `/query_exemplars`.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tocsin_model::storage::SelectHints;
use tocsin_model::{Labels, Matcher};

use super::params::{MAX_TIME, MIN_TIME, Params};
use super::{ApiError, blocking, success};
use crate::AppState;

fn matcher_sets(params: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::new();
    for m in params.all("match[]") {
        let parsed = tocsin_promql::parse_selector(m)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}")))?;
        sets.extend(parsed);
    }
    Ok(sets)
}

fn range(params: &Params) -> Result<(i64, i64), ApiError> {
    Ok((
        params.time("start", MIN_TIME)?,
        params.time("end", MAX_TIME)?,
    ))
}

fn limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit") {
        None | Some("") => Ok(0),
        Some(v) => v.parse::<usize>().map_err(|_| {
            ApiError::bad_data(format!(
                "invalid parameter \"limit\": cannot parse \"{v}\" to a valid limit"
            ))
        }),
    }
}

fn labels_json(labels: &Labels) -> serde_json::Value {
    serde_json::Value::Object(
        labels
            .iter()
            .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
            .collect(),
    )
}

fn storage_error(e: &tocsin_model::storage::StorageError) -> ApiError {
    match e {
        tocsin_model::storage::StorageError::Invalid(m) => ApiError::bad_data(m.clone()),
        other => ApiError::internal(other.to_string()),
    }
}

pub(crate) async fn series(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let params = Params::parse(raw.as_deref(), &headers, &body)?;
        let sets = matcher_sets(&params)?;
        if sets.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let (start, end) = range(&params)?;
        let limit = limit(&params)?;
        let store = state.storage.clone().ok_or_else(ApiError::unavailable)?;
        blocking(move || {
            let querier = store.querier(start, end).map_err(|e| storage_error(&e))?;
            let hints = SelectHints { start, end };
            let mut all = BTreeSet::new();
            for set in &sets {
                for s in querier.select(&hints, set).map_err(|e| storage_error(&e))? {
                    all.insert(s.labels);
                }
            }
            let mut out: Vec<serde_json::Value> = all.iter().map(labels_json).collect();
            if limit > 0 {
                out.truncate(limit);
            }
            Ok(serde_json::Value::Array(out))
        })
        .await
    };
    match run.await {
        Ok(v) => success(&v),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn labels(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let params = Params::parse(raw.as_deref(), &headers, &body)?;
        let sets = matcher_sets(&params)?;
        let (start, end) = range(&params)?;
        let limit = limit(&params)?;
        let store = state.storage.clone().ok_or_else(ApiError::unavailable)?;
        blocking(move || {
            let querier = store.querier(start, end).map_err(|e| storage_error(&e))?;
            let mut names = BTreeSet::new();
            if sets.is_empty() {
                names.extend(querier.label_names(&[]).map_err(|e| storage_error(&e))?);
            }
            for set in &sets {
                names.extend(querier.label_names(set).map_err(|e| storage_error(&e))?);
            }
            let mut out: Vec<String> = names.into_iter().collect();
            if limit > 0 {
                out.truncate(limit);
            }
            Ok(serde_json::json!(out))
        })
        .await
    };
    match run.await {
        Ok(v) => success(&v),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn label_values(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let params = Params::parse(raw.as_deref(), &headers, &Bytes::new())?;
        // Prometheus 3 accepts `U__`-escaped names for UTF-8 label names.
        let name = unescape_label_name(&name);
        if name.is_empty() {
            return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
        }
        let sets = matcher_sets(&params)?;
        let (start, end) = range(&params)?;
        let limit = limit(&params)?;
        let store = state.storage.clone().ok_or_else(ApiError::unavailable)?;
        blocking(move || {
            let querier = store.querier(start, end).map_err(|e| storage_error(&e))?;
            let mut values = BTreeSet::new();
            if sets.is_empty() {
                values.extend(
                    querier
                        .label_values(&name, &[])
                        .map_err(|e| storage_error(&e))?,
                );
            }
            for set in &sets {
                values.extend(
                    querier
                        .label_values(&name, set)
                        .map_err(|e| storage_error(&e))?,
                );
            }
            let mut out: Vec<String> = values.into_iter().collect();
            if limit > 0 {
                out.truncate(limit);
            }
            Ok(serde_json::json!(out))
        })
        .await
    };
    match run.await {
        Ok(v) => success(&v),
        Err(e) => e.into_response(),
    }
}

/// Prometheus's `U__` escaping of label names in URL paths (`U__a_2e_b` → `a.b`).
fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_owned();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            if chars.peek() == Some(&'_') {
                chars.next();
                out.push('_');
                continue;
            }
            let hex: String = chars.by_ref().take_while(|c| *c != '_').collect();
            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                Some(ch) => out.push(ch),
                None => return name.to_owned(),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// No metric metadata is stored yet: an empty map, as Prometheus answers for unknown metrics.
pub(crate) async fn metadata() -> Response {
    success(&serde_json::json!({}))
}

/// Exemplars are not stored yet: an empty list.
pub(crate) async fn exemplars() -> Response {
    success(&serde_json::json!([]))
}
