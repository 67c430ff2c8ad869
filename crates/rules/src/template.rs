//! Expansion of alert labels and annotations (Go text/template with Prometheus's functions).

use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_model::Timestamp;

use crate::query::QueryFn;

/// Expands one template of an alerting rule.
pub trait Expand: Send + Sync {
    /// Expands `text` for an alert with `labels` and `value` evaluated at `at_ms`. `name` is
    /// the template's name in errors (`__alert_<AlertName>`). `Err` is the text to put in the
    /// alert instead (`<error expanding template: ...>`).
    fn expand(
        &self,
        name: &str,
        text: &str,
        labels: &BTreeMap<String, String>,
        value: f64,
        at_ms: Timestamp,
    ) -> Result<String, String>;

    /// Checks that `text` parses.
    fn check(&self, name: &str, text: &str) -> Result<(), String>;
}

/// Returns templates unexpanded; for callers that do not need annotations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verbatim;

impl Expand for Verbatim {
    fn expand(
        &self,
        _name: &str,
        text: &str,
        _labels: &BTreeMap<String, String>,
        _value: f64,
        _at_ms: Timestamp,
    ) -> Result<String, String> {
        Ok(text.to_owned())
    }

    fn check(&self, _name: &str, _text: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Go text/template with Prometheus's functions (`tocsin-template`), including `query`.
pub struct PrometheusTemplates {
    expander: tocsin_template::prometheus::Expander,
}

impl std::fmt::Debug for PrometheusTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusTemplates")
            .finish_non_exhaustive()
    }
}

struct TemplateQuery(Arc<dyn QueryFn>);

impl tocsin_template::prometheus::QueryFunc for TemplateQuery {
    fn query(
        &self,
        expr: &str,
        at_ms: i64,
    ) -> Result<Vec<tocsin_template::prometheus::QueryResultSample>, String> {
        Ok(self
            .0
            .query(expr, at_ms)?
            .into_iter()
            .map(|s| tocsin_template::prometheus::QueryResultSample {
                labels: s
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
                value: s.value,
            })
            .collect())
    }
}

impl PrometheusTemplates {
    /// Templates seeing `external_labels` and `external_url`; `query` backs the `query`
    /// template function.
    pub fn new(
        external_labels: BTreeMap<String, String>,
        external_url: String,
        query: Option<Arc<dyn QueryFn>>,
    ) -> Self {
        let query = query
            .map(|q| Arc::new(TemplateQuery(q)) as Arc<dyn tocsin_template::prometheus::QueryFunc>);
        Self {
            expander: tocsin_template::prometheus::Expander::new(
                external_labels,
                external_url,
                query,
            ),
        }
    }
}

impl Expand for PrometheusTemplates {
    fn expand(
        &self,
        name: &str,
        text: &str,
        labels: &BTreeMap<String, String>,
        value: f64,
        at_ms: Timestamp,
    ) -> Result<String, String> {
        self.expander
            .expand_or_error(name, text, labels, value, at_ms)
    }

    fn check(&self, name: &str, text: &str) -> Result<(), String> {
        self.expander.check(name, text).map_err(|e| e.to_string())
    }
}

/// Builds [`PrometheusTemplates`] for `tocsin test rules` test groups.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrometheusTemplateFactory;

impl crate::unittest::ExpanderFactory for PrometheusTemplateFactory {
    fn expander(
        &self,
        external_labels: &BTreeMap<String, String>,
        external_url: &str,
        query: Arc<dyn QueryFn>,
    ) -> Box<dyn Expand> {
        Box::new(PrometheusTemplates::new(
            external_labels.clone(),
            external_url.to_owned(),
            Some(query),
        ))
    }
}
