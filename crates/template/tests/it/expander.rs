//! Prometheus's expander: data, options and functions bound to the server.

use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_template::prometheus::{Expander, QueryFunc, QueryResultSample};
use tocsin_template::{Template, Value};

struct Echo;

impl QueryFunc for Echo {
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QueryResultSample>, String> {
        if expr == "fail" {
            return Err("query failed".to_owned());
        }
        Ok(vec![QueryResultSample {
            labels: [("expr".to_owned(), expr.to_owned())].into(),
            value: at_ms as f64,
        }])
    }
}

fn labels() -> BTreeMap<String, String> {
    [("instance".to_owned(), "db1:9100".to_owned())].into()
}

#[test]
fn query_runs_at_the_evaluation_time() {
    let e = Expander::new(BTreeMap::new(), String::new(), Some(Arc::new(Echo)));
    let out = e
        .expand(
            "t",
            "{{ with query \"up\" }}{{ (first .).Labels.expr }}@{{ . | first | value }}{{ end }}",
            &labels(),
            0.0,
            42_000,
        )
        .unwrap();
    assert_eq!(out, "up@42000");
    let err = e
        .expand("t", "{{ query \"fail\" }}", &labels(), 0.0, 0)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("error calling query: query failed"), "{err}");
}

#[test]
fn missing_query_function_is_an_execution_error() {
    let e = Expander::new(BTreeMap::new(), String::new(), None);
    let err = e
        .expand("t", "{{ query \"up\" }}", &labels(), 0.0, 0)
        .unwrap_err();
    assert!(
        err.to_string().contains("no query function is configured"),
        "{err}"
    );
}

#[test]
fn now_and_to_duration_from_prometheus_3() {
    let e = Expander::new(BTreeMap::new(), String::new(), None);
    let out = e
        .expand(
            "t",
            "{{ now }} {{ toDuration 3723.5 }} {{ toDuration 0.0015 }}",
            &labels(),
            0.0,
            1_500,
        )
        .unwrap();
    assert_eq!(out, "1.5 1h2m3.5s 1.5ms");
}

#[test]
fn expand_or_error_wraps_like_the_alerting_rule() {
    let e = Expander::new(BTreeMap::new(), String::new(), None);
    let err = e
        .expand_or_error("__alert_X", "{{ nofunc }}", &labels(), 0.0, 0)
        .unwrap_err();
    assert_eq!(
        err,
        "<error expanding template: error parsing template __alert_X: template: __alert_X:1: function \"nofunc\" not defined>"
    );
    assert!(e.check("__alert_X", "{{ $labels.instance }}").is_ok());
}

#[test]
fn tmpl_executes_a_named_template_to_a_string() {
    let e = Expander::new(BTreeMap::new(), String::new(), None);
    let t = Template::parse(
        "console",
        "{{ define \"row\" }}<{{ . }}>{{ end }}{{ tmpl \"row\" 5 | len }} {{ tmpl \"row\" \"x\" }}",
        &e.funcs(0),
    )
    .unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "3 <x>");
}
