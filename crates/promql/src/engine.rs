//! The query engine: parses, enforces the limits (timeout, samples, concurrency) and runs the
//! evaluator over a store.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, parse};
use tocsin_model::Timestamp;
use tocsin_model::storage::Queryable;

use crate::annotations::Annotations;
use crate::error::{Error, Result};
use crate::eval::{Ctx, Evaluator, SSeries, Val, cleanup_names};
use crate::position::Positions;
use crate::value::{Point, Series, Value, VectorSample};

/// Limits that protect the server; changeable at run time (config reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// A query running longer fails with a timeout error (0: no limit).
    pub timeout: Duration,
    /// A query loading more samples fails (0: no limit).
    pub max_samples: u64,
    /// Queries evaluated at once; more wait (within their timeout) in a queue (0: no limit).
    pub max_concurrency: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_concurrency: 20,
        }
    }
}

/// Semantics switches, fixed for an engine's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback: Duration,
    /// Step of subqueries written without one (Prometheus: the global evaluation interval).
    pub subquery_step: Duration,
    /// Prometheus 3's `promql-delayed-name-removal`: drop `__name__` at the end of the query
    /// rather than at each function (off by default in Prometheus; its test suite turns it on).
    pub delayed_name_removal: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(300),
            subquery_step: Duration::from_secs(60),
            delayed_name_removal: false,
        }
    }
}

/// A query's value and annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The result.
    pub value: Value,
    /// Warnings and infos.
    pub annotations: Annotations,
}

/// Evaluates PromQL. Share one per process (`Arc`); it is `Sync`.
#[derive(Debug)]
pub struct Engine {
    options: EngineOptions,
    limits: RwLock<QueryLimits>,
    running: Mutex<usize>,
    freed: Condvar,
}

/// Deepest expression nesting accepted: evaluation recurses per level, and a query nested
/// deeper than any real one must fail cleanly rather than exhaust the thread's stack.
pub(crate) const MAX_NESTING: usize = 256;

/// Largest number of seconds accepted in a duration (about 31 700 years).
const MAX_DURATION_SECONDS: f64 = 1e12;

/// Whether a token inside `[...]` could be a duration too large for `std::time::Duration`:
/// promql-parser 0.11 panics converting those (found by the rule_file fuzz target).
fn duration_out_of_range(token: &str) -> bool {
    if let Ok(v) = token.parse::<f64>() {
        return !v.is_finite() || v.abs() > MAX_DURATION_SECONDS;
    }
    if let Some(hex) = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        return u64::from_str_radix(hex, 16).map_or(true, |v| v as f64 > MAX_DURATION_SECONDS);
    }
    // `5m30s`, `1y`: each number before a unit; 11 digits of years still fit.
    token
        .split(|c: char| !c.is_ascii_digit())
        .any(|digits| digits.len() > 11)
}

/// Refuses a token inside `[...]` that grows past any duration's length (bounded memory).
fn continue_token_check(token: &str) -> Result<()> {
    if token.len() > 64 {
        return Err(Error::Parse(
            "a duration in brackets is longer than 64 characters; use a smaller value".to_owned(),
        ));
    }
    Ok(())
}

/// Parses a query (Prometheus 3 syntax), with errors worded for the API's `bad_data`.
pub fn parse_expr(query: &str) -> Result<Expr> {
    // Bracket depth first: the parser itself must not see absurd nesting.
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    // Durations inside `[...]` (ranges, subquery steps) are checked before the parser sees
    // them; see `duration_out_of_range`.
    let mut square = 0usize;
    let mut token = String::new();
    for c in query.chars().chain(std::iter::once(' ')) {
        if square > 0 && quote.is_none() && (c.is_ascii_alphanumeric() || c == '.') {
            token.push(c);
            continue_token_check(&token)?;
        } else if !token.is_empty() {
            if duration_out_of_range(&token) {
                return Err(Error::Parse(format!(
                    "duration {token:?} is out of range; use a value under {MAX_DURATION_SECONDS:e} seconds"
                )));
            }
            token.clear();
        }
        if quote.is_none() {
            match c {
                '[' => square += 1,
                ']' => square = square.saturating_sub(1),
                _ => {}
            }
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep());
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    // promql-parser 0.11 panics on some out-of-range literals (a duration of 1e25 seconds
    // overflows `Duration`, found by the rule_file fuzz target); a query must never take a
    // worker down, so such a panic becomes a parse error.
    let expr = std::panic::catch_unwind(|| parse(query))
        .map_err(|_| {
            Error::Parse(
                "a number or duration in the query is out of range; use a smaller value".to_owned(),
            )
        })?
        .map_err(Error::Parse)?;
    if nesting(&expr) > MAX_NESTING {
        return Err(too_deep());
    }
    Ok(expr)
}

fn too_deep() -> Error {
    Error::Parse(format!(
        "query is nested more than {MAX_NESTING} levels deep; simplify it"
    ))
}

/// The depth of an expression tree, without recursion.
fn nesting(expr: &Expr) -> usize {
    let mut max = 0;
    let mut stack = vec![(expr, 1usize)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        if d > MAX_NESTING {
            break;
        }
        match e {
            Expr::Aggregate(a) => {
                stack.push((&a.expr, d + 1));
                if let Some(p) = &a.param {
                    stack.push((p, d + 1));
                }
            }
            Expr::Unary(u) => stack.push((&u.expr, d + 1)),
            Expr::Binary(b) => {
                stack.push((&b.lhs, d + 1));
                stack.push((&b.rhs, d + 1));
            }
            Expr::Paren(p) => stack.push((&p.expr, d + 1)),
            Expr::Subquery(s) => stack.push((&s.expr, d + 1)),
            Expr::Call(c) => stack.extend(c.args.args.iter().map(|a| (a.as_ref(), d + 1))),
            _ => {}
        }
    }
    max
}

struct Slot<'e>(&'e Engine);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut running = self.0.running.lock();
        *running = running.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    /// An engine with `limits` and `options`.
    pub fn new(limits: QueryLimits, options: EngineOptions) -> Self {
        Self {
            options,
            limits: RwLock::new(limits),
            running: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> QueryLimits {
        *self.limits.read()
    }

    /// Replaces the limits (queries already running keep theirs).
    pub fn set_limits(&self, limits: QueryLimits) {
        *self.limits.write() = limits;
        self.freed.notify_all();
    }

    /// Queries currently being evaluated.
    pub fn running(&self) -> usize {
        *self.running.lock()
    }

    fn acquire(&self, deadline: Option<Instant>) -> Result<Slot<'_>> {
        let mut running = self.running.lock();
        loop {
            let max = self.limits.read().max_concurrency;
            if max == 0 || *running < max {
                *running += 1;
                return Ok(Slot(self));
            }
            match deadline {
                Some(d) => {
                    if self.freed.wait_until(&mut running, d).timed_out() && Instant::now() >= d {
                        return Err(Error::Timeout("query queue"));
                    }
                }
                None => self.freed.wait(&mut running),
            }
        }
    }

    /// Evaluates `query` at `time` (milliseconds).
    pub fn instant_query(
        &self,
        store: &dyn Queryable,
        query: &str,
        time: Timestamp,
    ) -> Result<QueryResult> {
        let expr = parse_expr(query)?;
        self.run(store, query, &expr, time, time, 0)
    }

    /// Evaluates `query` at every `step` from `start` to `end` (milliseconds).
    pub fn range_query(
        &self,
        store: &dyn Queryable,
        query: &str,
        start: Timestamp,
        end: Timestamp,
        step: i64,
    ) -> Result<QueryResult> {
        let expr = parse_expr(query)?;
        let vt = expr.value_type();
        if vt != ValueType::Vector && vt != ValueType::Scalar {
            return Err(Error::Parse(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                match vt {
                    ValueType::Matrix => "range vector",
                    _ => "string",
                }
            )));
        }
        if step <= 0 {
            return Err(Error::Parse(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".to_owned(),
            ));
        }
        self.run(store, query, &expr, start, end, step)
    }

    fn run(
        &self,
        store: &dyn Queryable,
        query: &str,
        expr: &Expr,
        start: Timestamp,
        end: Timestamp,
        step: i64,
    ) -> Result<QueryResult> {
        let limits = self.limits();
        let deadline = (!limits.timeout.is_zero()).then(|| Instant::now() + limits.timeout);
        let _slot = self.acquire(deadline)?;
        let max_samples = if limits.max_samples == 0 {
            u64::MAX
        } else {
            limits.max_samples
        };
        let ctx = Ctx::new(
            store,
            deadline,
            max_samples,
            Positions::compute(query, expr),
            start,
            end,
            millis(self.options.lookback),
            self.options.delayed_name_removal,
            millis(self.options.subquery_step).max(1),
            step,
            query,
        );
        let instant = step == 0;
        let ev = Evaluator::new(&ctx, start, end, if instant { 1 } else { step });
        let val = ev.eval(expr)?;
        let delayed = self.options.delayed_name_removal;
        let value = if instant {
            match val {
                Val::Scalar(v) => Value::Scalar(Point {
                    t: start,
                    v: v.first().copied().unwrap_or(f64::NAN),
                }),
                Val::String(s) => Value::String(start, s),
                Val::Vector(series) => {
                    let series = if delayed {
                        cleanup_names(series, false)?
                    } else {
                        series
                    };
                    Value::Vector(
                        series
                            .into_iter()
                            .filter_map(|s| {
                                s.points.first().map(|p| VectorSample {
                                    labels: s.labels,
                                    t: start,
                                    v: p.v,
                                })
                            })
                            .collect(),
                    )
                }
                Val::Matrix(series) => {
                    let series = if delayed {
                        cleanup_names(series, true)?
                    } else {
                        series
                    };
                    Value::Matrix(to_series(series))
                }
            }
        } else {
            let series = match val {
                Val::Scalar(v) => vec![SSeries {
                    labels: tocsin_model::Labels::empty(),
                    points: v
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| Point { t: ev.ts(i), v })
                        .collect(),
                    drop_name: false,
                }],
                Val::Vector(series) => {
                    if delayed {
                        cleanup_names(series, true)?
                    } else {
                        series
                    }
                }
                Val::Matrix(_) | Val::String(_) => {
                    return Err(Error::Execution(
                        "range query result must be a vector or a scalar".to_owned(),
                    ));
                }
            };
            let mut series = to_series(series);
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            Value::Matrix(series)
        };
        let annotations = ctx.annotations.into_inner();
        Ok(QueryResult { value, annotations })
    }
}

fn to_series(series: Vec<SSeries>) -> Vec<Series> {
    series
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| Series {
            labels: s.labels,
            points: s.points,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_literals_are_parse_errors_not_panics() {
        for query in [
            "22[2222222222222222222222222]",
            "up[2222222222222222222222222]",
            "rate(up[2222222222222222222222222s])",
            "up[1e30]",
            "up[NaN]",
            "up[5m:0xffffffffffffffff]",
        ] {
            let err = parse_expr(query).expect_err(query);
            assert!(matches!(err, Error::Parse(_)), "{query}: {err}");
        }
        for ok in [
            "rate(up[5m])",
            "up[1h30m]",
            "up[5m:1m]",
            "up[300]",
            "up{a=\"[1e30]\"}",
        ] {
            assert!(parse_expr(ok).is_ok(), "{ok}");
        }
    }
}
