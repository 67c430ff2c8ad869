//! How rules reach PromQL: a small trait, backed by the engine over a store.

use std::sync::Arc;

use promql_parser::parser::Expr;
use tocsin_model::storage::Queryable;
use tocsin_model::{Labels, Timestamp};
use tocsin_promql::{Engine, Value, promql_parser};

/// One element of a rule's result.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// Labels (with `__name__` when the expression keeps it).
    pub labels: Labels,
    /// Value.
    pub value: f64,
}

/// Evaluates an instant query for rules (Prometheus's `rules.QueryFunc`).
pub trait QueryFn: Send + Sync {
    /// The instant vector `expr` returns at `at_ms`; a scalar becomes one sample without labels.
    fn query(&self, expr: &str, at_ms: Timestamp) -> Result<Vec<QuerySample>, String>;
}

/// [`QueryFn`] over the PromQL engine and a store.
#[derive(Clone)]
pub struct EngineQuery {
    engine: Arc<Engine>,
    store: Arc<dyn Queryable>,
}

impl std::fmt::Debug for EngineQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineQuery").finish_non_exhaustive()
    }
}

impl EngineQuery {
    /// Queries `store` with `engine`.
    pub fn new(engine: Arc<Engine>, store: Arc<dyn Queryable>) -> Self {
        Self { engine, store }
    }
}

impl QueryFn for EngineQuery {
    fn query(&self, expr: &str, at_ms: Timestamp) -> Result<Vec<QuerySample>, String> {
        let result = self
            .engine
            .instant_query(&*self.store, expr, at_ms)
            .map_err(|e| e.to_string())?;
        match result.value {
            Value::Vector(v) => Ok(v
                .into_iter()
                .map(|s| QuerySample {
                    labels: s.labels,
                    value: s.v,
                })
                .collect()),
            Value::Scalar(p) => Ok(vec![QuerySample {
                labels: Labels::empty(),
                value: p.v,
            }]),
            _ => Err("rule result is not a vector or scalar".to_owned()),
        }
    }
}

/// The instant-vector selectors inside `expr` (range selectors as their instant form), used
/// to tell "condition cleared" from "series vanished".
pub(crate) fn selectors(expr: &str) -> Vec<String> {
    let Ok(parsed) = tocsin_promql::parse_expr(expr) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![&parsed];
    while let Some(e) = stack.pop() {
        match e {
            Expr::VectorSelector(vs) => {
                let mut vs = vs.clone();
                vs.at = None;
                out.push(Expr::VectorSelector(vs).to_string());
            }
            Expr::MatrixSelector(ms) => {
                let mut vs = ms.vs.clone();
                vs.at = None;
                out.push(Expr::VectorSelector(vs).to_string());
            }
            Expr::Aggregate(a) => {
                stack.push(&a.expr);
                if let Some(p) = &a.param {
                    stack.push(p);
                }
            }
            Expr::Unary(u) => stack.push(&u.expr),
            Expr::Binary(b) => {
                stack.push(&b.lhs);
                stack.push(&b.rhs);
            }
            Expr::Paren(p) => stack.push(&p.expr),
            Expr::Subquery(s) => stack.push(&s.expr),
            Expr::Call(c) => stack.extend(c.args.args.iter().map(AsRef::as_ref)),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_collected_in_instant_form() {
        let got =
            selectors("sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) / on() up > 1");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got.iter()
                .any(|s| s.starts_with("http_requests_total{") && !s.contains('[')),
            "{got:?}"
        );
        assert!(got.iter().any(|s| s == "up"), "{got:?}");
    }
}
