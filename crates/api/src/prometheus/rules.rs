//! `/api/v1/rules` and `/api/v1/alerts`: the rule stage seen through [`RulesApi`].

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::params::Params;
use super::{ApiError, success};
use crate::AppState;

/// Filters of `/api/v1/rules`, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesRequest {
    /// `type`: `alert` or `record`.
    pub kind: Option<String>,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `exclude_alerts`.
    pub exclude_alerts: bool,
}

/// The rule stage, as the API sees it. Bodies are Prometheus's `data` objects.
pub trait RulesApi: Send + Sync {
    /// `{"groups": [...]}`; `Err` is a bad request (unknown `type`).
    fn rules(&self, request: &RulesRequest) -> Result<serde_json::Value, String>;
    /// `{"alerts": [...]}`: pending and firing alerts.
    fn alerts(&self) -> serde_json::Value;
}

pub(crate) async fn rules(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<serde_json::Value, ApiError> {
        let params = Params::parse(raw.as_deref(), &headers, &Bytes::new())?;
        let owned = |name: &str| params.all(name).into_iter().map(str::to_owned).collect();
        let request = RulesRequest {
            kind: params.get("type").map(str::to_owned),
            rule_names: owned("rule_name[]"),
            rule_groups: owned("rule_group[]"),
            files: owned("file[]"),
            exclude_alerts: params
                .get("exclude_alerts")
                .map(|v| {
                    v.parse::<bool>().map_err(|_| {
                        ApiError::bad_data(format!(
                            "invalid parameter exclude_alerts: {v:?} is not true or false"
                        ))
                    })
                })
                .transpose()?
                .unwrap_or(false),
        };
        match &state.rules {
            Some(api) => api.rules(&request).map_err(ApiError::bad_data),
            None => Ok(serde_json::json!({ "groups": [] })),
        }
    };
    match run() {
        Ok(v) => success(&v),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn alerts(State(state): State<AppState>) -> Response {
    let data = match &state.rules {
        Some(api) => api.alerts(),
        None => serde_json::json!({ "alerts": [] }),
    };
    success(&data)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use parking_lot::Mutex;
    use tocsin_telemetry::{BuildInfo, Registry};
    use tower::ServiceExt;

    use super::*;
    use crate::{HttpMetrics, Readiness, ReloadFuture, Reloader, SecurityHandle, WebSecurity};

    struct NoReload;

    impl Reloader for NoReload {
        fn reload(&self) -> ReloadFuture<'_> {
            Box::pin(async { Ok(()) })
        }
    }

    #[derive(Default)]
    struct FakeRules {
        seen: Mutex<Vec<RulesRequest>>,
    }

    impl RulesApi for FakeRules {
        fn rules(&self, request: &RulesRequest) -> Result<serde_json::Value, String> {
            self.seen.lock().push(request.clone());
            if request.kind.as_deref() == Some("bogus") {
                return Err(
                    "invalid query parameter type='bogus', must be either 'alert' or 'record'"
                        .to_owned(),
                );
            }
            Ok(
                serde_json::json!({"groups": [{"name": "g", "file": "r.yml", "rules": [], "interval": 60, "limit": 0, "evaluationTime": 0, "lastEvaluation": "0001-01-01T00:00:00Z"}]}),
            )
        }

        fn alerts(&self) -> serde_json::Value {
            serde_json::json!({"alerts": [{"labels": {"alertname": "Down"}, "annotations": {}, "state": "firing", "activeAt": "2025-11-29T00:00:00Z", "value": "1e+00"}]})
        }
    }

    fn app(rules: Option<Arc<dyn RulesApi>>) -> Router {
        let build = BuildInfo {
            version: "0.0.0-test",
            revision: "test",
            branch: "test",
            build_date: "test",
            rustc_version: "test",
        };
        let registry = Registry::new(&build).expect("registry");
        let web: tocsin_config::WebConfig =
            tocsin_config::yaml::from_str("t.yml", "{}").expect("web");
        crate::router(AppState {
            readiness: Arc::new(Readiness::default()),
            security: SecurityHandle::new(
                WebSecurity::from_config(&web, std::path::Path::new(".")).expect("security"),
            ),
            reloader: Arc::new(NoReload),
            storage: None,
            ingest: None,
            alerting: None,
            rules,
            sim: None,
            drill: None,
            slo: None,
            incident: None,
            oncall: None,
            prometheus: None,
            http_metrics: HttpMetrics::register(&registry).expect("metrics"),
            registry,
            build,
        })
    }

    async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
        let response = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn rules_and_alerts_are_wrapped_and_filters_passed_on() {
        let fake = Arc::new(FakeRules::default());
        let app = app(Some(Arc::clone(&fake) as Arc<dyn RulesApi>));
        let (status, body) = get(
            &app,
            "/api/v1/rules?type=alert&rule_name[]=A&rule_name[]=B&rule_group[]=g&file[]=r.yml&exclude_alerts=true",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        insta::assert_snapshot!("rules_endpoint", body);
        assert_eq!(
            fake.seen.lock()[0],
            RulesRequest {
                kind: Some("alert".to_owned()),
                rule_names: vec!["A".to_owned(), "B".to_owned()],
                rule_groups: vec!["g".to_owned()],
                files: vec!["r.yml".to_owned()],
                exclude_alerts: true,
            }
        );
        let (status, body) = get(&app, "/api/v1/alerts").await;
        assert_eq!(status, StatusCode::OK);
        insta::assert_snapshot!("alerts_endpoint", body);
        let (status, body) = get(&app, "/api/v1/rules?type=bogus").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("\"errorType\":\"bad_data\""), "{body}");
        let (status, _) = get(&app, "/api/v1/rules?exclude_alerts=maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn without_a_rule_stage_nothing_is_listed() {
        let app = app(None);
        assert_eq!(
            get(&app, "/api/v1/rules").await,
            (
                StatusCode::OK,
                r#"{"status":"success","data":{"groups":[]}}"#.to_owned()
            )
        );
        assert_eq!(
            get(&app, "/api/v1/alerts").await,
            (
                StatusCode::OK,
                r#"{"status":"success","data":{"alerts":[]}}"#.to_owned()
            )
        );
    }
}
