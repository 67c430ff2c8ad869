//! `/api/v1/status/*`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use tocsin_model::storage::SelectHints;
use tocsin_model::{MatchType, Matcher};

use super::params::{MAX_TIME, MIN_TIME};
use super::{ApiError, success};
use crate::AppState;

/// Process facts for `/status/runtimeinfo`.
#[derive(Debug, Clone, Default)]
pub struct RuntimeInfo {
    /// Process start, RFC 3339.
    pub start_time: String,
    /// Working directory.
    pub cwd: String,
    /// Whether the last reload succeeded.
    pub reload_config_success: bool,
    /// When the configuration was last loaded, RFC 3339.
    pub last_config_time: String,
    /// Retention as configured (`15d`, or a size).
    pub storage_retention: String,
}

/// What `/status/config`, `/status/flags` and `/status/runtimeinfo` report; the composition
/// root implements it over the live configuration.
pub trait PrometheusStatus: Send + Sync {
    /// The configuration as YAML with secrets redacted.
    fn config_yaml(&self) -> String;
    /// Command-line flags and their values.
    fn flags(&self) -> BTreeMap<String, String>;
    /// Runtime facts.
    fn runtime(&self) -> RuntimeInfo;
}

fn status_source(state: &AppState) -> Result<std::sync::Arc<dyn PrometheusStatus>, ApiError> {
    state
        .prometheus
        .as_ref()
        .map(|p| std::sync::Arc::clone(&p.status))
        .ok_or_else(ApiError::unavailable)
}

pub(crate) async fn buildinfo(State(state): State<AppState>) -> Response {
    let b = &state.build;
    success(&serde_json::json!({
        "version": b.version,
        "revision": b.revision,
        "branch": b.branch,
        "buildUser": "",
        "buildDate": b.build_date,
        "goVersion": b.rustc_version,
    }))
}

pub(crate) async fn config(State(state): State<AppState>) -> Response {
    match status_source(&state) {
        Ok(s) => success(&serde_json::json!({ "yaml": s.config_yaml() })),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn flags(State(state): State<AppState>) -> Response {
    match status_source(&state) {
        Ok(s) => success(&serde_json::json!(s.flags())),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn runtimeinfo(State(state): State<AppState>) -> Response {
    match status_source(&state) {
        Ok(s) => {
            let r = s.runtime();
            let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            success(&serde_json::json!({
                "startTime": r.start_time,
                "CWD": r.cwd,
                "reloadConfigSuccess": r.reload_config_success,
                "lastConfigTime": r.last_config_time,
                "corruptionCount": 0,
                "goroutineCount": 0,
                "GOMAXPROCS": threads,
                "GOMEMLIMIT": i64::MAX,
                "GOGC": "",
                "GODEBUG": "",
                "storageRetention": r.storage_retention,
            }))
        }
        Err(e) => e.into_response(),
    }
}

fn top(counts: HashMap<String, u64>, limit: usize) -> Vec<serde_json::Value> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v.into_iter()
        .map(|(name, value)| serde_json::json!({ "name": name, "value": value }))
        .collect()
}

/// Cardinality statistics, computed from the series the store selects (every series with a
/// metric name); Prometheus's head-only figures (chunks) are reported from the same pass.
pub(crate) async fn tsdb(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let run = async {
        let params =
            super::params::Params::parse(raw.as_deref(), &Default::default(), &Default::default())?;
        let limit = match params.get("limit") {
            None | Some("") => 10,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|l| *l > 0)
                .ok_or_else(|| ApiError::bad_data("limit must be a positive number"))?,
        };
        let store = state.storage.clone().ok_or_else(ApiError::unavailable)?;
        tokio::task::spawn_blocking(move || -> Result<serde_json::Value, ApiError> {
            let querier = store
                .querier(MIN_TIME, MAX_TIME)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let any_name = Matcher::new(MatchType::Regex, "__name__", ".+")
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let series = querier
                .select(
                    &SelectHints {
                        start: MIN_TIME,
                        end: MAX_TIME,
                    },
                    &[any_name],
                )
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let mut by_metric: HashMap<String, u64> = HashMap::new();
            let mut values_by_name: HashMap<String, std::collections::HashSet<String>> =
                HashMap::new();
            let mut bytes_by_name: HashMap<String, u64> = HashMap::new();
            let mut by_pair: HashMap<String, u64> = HashMap::new();
            let mut min_t = i64::MAX;
            let mut max_t = i64::MIN;
            let num_series = series.len();
            for mut s in series {
                if let Some(n) = s.labels.metric_name() {
                    *by_metric.entry(n.to_owned()).or_default() += 1;
                }
                for l in s.labels.iter() {
                    if values_by_name
                        .entry(l.name.clone())
                        .or_default()
                        .insert(l.value.clone())
                    {
                        *bytes_by_name.entry(l.name.clone()).or_default() += l.value.len() as u64;
                    }
                    *by_pair
                        .entry(format!("{}={}", l.name, l.value))
                        .or_default() += 1;
                }
                if let Some(first) = s.samples.next() {
                    min_t = min_t.min(first.t);
                    let mut last = first.t;
                    while let Some(x) = s.samples.next() {
                        last = x.t;
                    }
                    max_t = max_t.max(last);
                }
            }
            let num_pairs: usize = values_by_name
                .values()
                .map(std::collections::HashSet::len)
                .sum();
            let label_counts = values_by_name
                .iter()
                .map(|(k, v)| (k.clone(), v.len() as u64))
                .collect();
            Ok(serde_json::json!({
                "headStats": {
                    "numSeries": num_series,
                    "numLabelPairs": num_pairs,
                    "chunkCount": 0,
                    "minTime": if min_t == i64::MAX { 0 } else { min_t },
                    "maxTime": if max_t == i64::MIN { 0 } else { max_t },
                },
                "seriesCountByMetricName": top(by_metric, limit),
                "labelValueCountByLabelName": top(label_counts, limit),
                "memoryInBytesByLabelName": top(bytes_by_name, limit),
                "seriesCountByLabelValuePair": top(by_pair, limit),
            }))
        })
        .await
        .map_err(|e| ApiError::internal(format!("task failed: {e}")))?
    };
    match run.await {
        Ok(v) => success(&v),
        Err(e) => e.into_response(),
    }
}
