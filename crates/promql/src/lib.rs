//! PromQL for tocsin: Prometheus 3.x semantics over the storage traits of `tocsin-model`.
//!
//! - Parsing is `promql-parser` (GreptimeTeam). Its matchers anchor regexes as `^(?:…)$`;
//!   every matcher is converted to [`tocsin_model::Matcher`], which anchors as Prometheus does
//!   (`^(?s:…)$`), and the parser's own `is_match` is never used.
//! - [`Engine`] evaluates instant and range queries with lookback, staleness, `offset`, `@`,
//!   subqueries, every function and aggregation, binary operators with vector matching, and
//!   reports annotations (warnings, infos) with the position of the expression they concern.
//! - Protections: [`QueryLimits`] (timeout, max samples, max concurrency), changeable at run
//!   time.
//!
//! Native histograms are not supported yet (the store keeps float samples only): functions
//! that only act on native histograms return nothing.

mod annotations;
mod engine;
mod error;
mod eval;
pub mod functions;
use tocsin_model::parallel;
mod position;
mod value;

pub use crate::annotations::Annotations;
pub use crate::engine::{Engine, EngineOptions, QueryLimits, QueryResult, parse_expr};
pub use crate::error::{Error, Result};
pub use crate::value::{
    Point, Series, Value, VectorSample, format_float, write_float, write_float_fixed,
};
pub use promql_parser;

/// Parses a series selector (`up{job="x"}`, the API's `match[]`) into matcher sets (more than
/// one with `or`), with Prometheus's regex anchoring.
pub fn parse_selector(selector: &str) -> Result<Vec<Vec<tocsin_model::Matcher>>> {
    match parse_expr(selector)? {
        promql_parser::parser::Expr::VectorSelector(vs) => eval::selector_matcher_sets(&vs),
        _ => Err(Error::Parse(format!(
            "invalid series selector {selector:?}: expected a vector selector such as up{{job=\"x\"}}"
        ))),
    }
}

/// Pretty-prints a query as Prometheus's `/api/v1/format_query` does.
pub fn format_query(query: &str) -> Result<String> {
    Ok(parse_expr(query)?.prettify())
}
