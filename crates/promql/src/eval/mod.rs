//! The evaluator. Every expression is evaluated over the whole step grid at once (as
//! Prometheus's `rangeEval` does): an instant-vector expression yields step-sampled series,
//! a scalar expression one value per step. Operations that are element-wise work series by
//! series (labels computed once per series); aggregations and binary operators work step by
//! step over per-series keys computed once.

mod aggregate;
mod binary;
mod call;
mod selector;

pub(crate) use selector::matcher_sets as selector_matcher_sets;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use promql_parser::parser::token;
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr};
use tocsin_model::{Labels, METRIC_NAME, Timestamp};

use crate::annotations::Annotations;
use crate::error::{Error, Result, exec};
use crate::position::Positions;
use crate::value::Point;

/// A series sampled at step timestamps (or, for range vectors, raw samples).
#[derive(Debug, Clone)]
pub(crate) struct SSeries {
    pub(crate) labels: Labels,
    pub(crate) points: Vec<Point>,
    /// Delayed `__name__` removal: drop the name when the query finishes.
    pub(crate) drop_name: bool,
}

/// An intermediate value.
#[derive(Debug)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    /// Step-sampled series.
    Vector(Vec<SSeries>),
    /// Raw samples of a range (only at the top of an instant query).
    Matrix(Vec<SSeries>),
    /// A string literal.
    String(String),
}

/// What a query shares across nested evaluators: limits, annotations, positions.
pub(crate) struct Ctx<'a> {
    pub(crate) queryable: &'a dyn tocsin_model::storage::Queryable,
    pub(crate) deadline: Option<Instant>,
    pub(crate) max_samples: u64,
    pub(crate) samples: Cell<u64>,
    pub(crate) annotations: RefCell<Annotations>,
    pub(crate) positions: Positions,
    pub(crate) query_start: Timestamp,
    pub(crate) query_end: Timestamp,
    pub(crate) lookback: i64,
    pub(crate) delayed_name_removal: bool,
    pub(crate) subquery_step: i64,
    /// The query's step (0 for an instant query), for `step()`.
    pub(crate) query_step: i64,
    /// The query text, to tell `\\xNN` escapes (invalid UTF-8 in Prometheus) from characters.
    pub(crate) query: String,
    checks: Cell<u32>,
}

impl<'a> Ctx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        queryable: &'a dyn tocsin_model::storage::Queryable,
        deadline: Option<Instant>,
        max_samples: u64,
        positions: Positions,
        query_start: Timestamp,
        query_end: Timestamp,
        lookback: i64,
        delayed_name_removal: bool,
        subquery_step: i64,
        query_step: i64,
        query: &str,
    ) -> Self {
        Self {
            queryable,
            deadline,
            max_samples,
            samples: Cell::new(0),
            annotations: RefCell::new(Annotations::default()),
            positions,
            query_start,
            query_end,
            lookback,
            delayed_name_removal,
            subquery_step,
            query_step,
            query: query.to_owned(),
            checks: Cell::new(0),
        }
    }

    /// Fails once the deadline has passed (checked cheaply: the clock is read every 64 calls).
    pub(crate) fn check_deadline(&self) -> Result<()> {
        let n = self.checks.get().wrapping_add(1);
        self.checks.set(n);
        if n.is_multiple_of(64)
            && let Some(deadline) = self.deadline
            && Instant::now() >= deadline
        {
            return Err(Error::Timeout("expression evaluation"));
        }
        Ok(())
    }

    /// Whether `s` came from a string literal with `\\xNN` escapes of bytes 0x80-0xff that
    /// Prometheus would read as invalid UTF-8 (the parser maps them to characters).
    pub(crate) fn invalid_utf8_escape(&self, s: &str) -> bool {
        self.query.contains("\\x") && s.chars().any(|c| ('\u{80}'..='\u{ff}').contains(&c))
    }

    /// Accounts for `n` more samples held in memory.
    pub(crate) fn add_samples(&self, n: usize) -> Result<()> {
        let total = self.samples.get().saturating_add(n as u64);
        self.samples.set(total);
        if total > self.max_samples {
            return Err(Error::TooManySamples("query execution"));
        }
        Ok(())
    }

    pub(crate) fn warn(&self, expr: &Expr, msg: impl std::fmt::Display) {
        let pos = self.positions.of(expr);
        self.annotations
            .borrow_mut()
            .warn(format!("PromQL warning: {msg} ({pos})"));
    }

    pub(crate) fn info(&self, expr: &Expr, msg: impl std::fmt::Display) {
        let pos = self.positions.of(expr);
        self.annotations
            .borrow_mut()
            .info(format!("PromQL info: {msg} ({pos})"));
    }
}

/// Evaluates over the grid `start, start+interval, ..., end`.
pub(crate) struct Evaluator<'c, 'a> {
    pub(crate) ctx: &'c Ctx<'a>,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) interval: i64,
}

pub(crate) fn millis(d: &std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn offset_millis(offset: Option<&Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => millis(d),
        Some(Offset::Neg(d)) => -millis(d),
    }
}

impl<'c, 'a> Evaluator<'c, 'a> {
    pub(crate) fn new(ctx: &'c Ctx<'a>, start: Timestamp, end: Timestamp, interval: i64) -> Self {
        Self {
            ctx,
            start,
            end,
            interval: interval.max(1),
        }
    }

    pub(crate) fn steps(&self) -> usize {
        if self.end < self.start {
            return 0;
        }
        usize::try_from((self.end - self.start) / self.interval + 1).unwrap_or(0)
    }

    pub(crate) fn ts(&self, step: usize) -> Timestamp {
        self.start + self.interval * step as i64
    }

    pub(crate) fn step_of(&self, t: Timestamp) -> usize {
        usize::try_from((t - self.start) / self.interval).unwrap_or(0)
    }

    pub(crate) fn is_instant(&self) -> bool {
        self.start == self.end
    }

    /// The timestamp an `@` modifier pins to.
    pub(crate) fn at_time(&self, at: Option<&AtModifier>) -> Option<Timestamp> {
        match at? {
            AtModifier::Start => Some(self.ctx.query_start),
            AtModifier::End => Some(self.ctx.query_end),
            AtModifier::At(t) => Some(system_time_millis(*t)),
        }
    }

    /// Drops `__name__` now, or flags it for dropping at the end (delayed name removal).
    pub(crate) fn drop_name(&self, labels: &Labels) -> (Labels, bool) {
        if self.ctx.delayed_name_removal {
            (labels.clone(), true)
        } else {
            (labels.without_metric_name(), true)
        }
    }

    pub(crate) fn eval(&self, expr: &Expr) -> Result<Val> {
        self.ctx.check_deadline()?;
        if self.end < self.start {
            return Ok(Val::Vector(Vec::new()));
        }
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; self.steps()])),
            Expr::StringLiteral(s) => Ok(Val::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => match self.eval(&u.expr)? {
                Val::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Val::Scalar(v))
                }
                Val::Vector(series) => {
                    let mut out = Vec::with_capacity(series.len());
                    for mut s in series {
                        let (labels, drop) = self.drop_name(&s.labels);
                        s.labels = labels;
                        s.drop_name = drop;
                        s.points.iter_mut().for_each(|p| p.v = -p.v);
                        out.push(s);
                    }
                    if !self.ctx.delayed_name_removal {
                        out = merge_same_labelset(out)?;
                    }
                    Ok(Val::Vector(out))
                }
                _ => Err(exec("unary expression only allowed on scalars and vectors")),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.eval_vector_selector(vs)?)),
            Expr::MatrixSelector(ms) => {
                if !self.is_instant() {
                    return Err(exec("cannot do range evaluation of matrix selector"));
                }
                let src = self.matrix_source(ms)?;
                Ok(Val::Matrix(src.window_series(self.start, self)))
            }
            Expr::Subquery(sq) => {
                let src = self.subquery_source(sq)?;
                if self.is_instant() {
                    Ok(Val::Matrix(src.window_series(self.start, self)))
                } else {
                    Err(exec("cannot do range evaluation of a subquery"))
                }
            }
            Expr::Binary(b) => self.eval_binary(b),
            Expr::Aggregate(a) => self.eval_aggregate(a),
            Expr::Call(c) => self.eval_call(c, expr),
            Expr::Extension(_) => Err(exec("extension expressions are not supported")),
        }
    }

    /// Evaluates to a vector (a scalar-typed expression is refused by type checking).
    pub(crate) fn eval_vector(&self, expr: &Expr) -> Result<Vec<SSeries>> {
        match self.eval(expr)? {
            Val::Vector(v) => Ok(v),
            other => Err(exec(format!(
                "expected instant vector, got {}",
                val_type(&other)
            ))),
        }
    }

    pub(crate) fn eval_scalar(&self, expr: &Expr) -> Result<Vec<f64>> {
        match self.eval(expr)? {
            Val::Scalar(v) => Ok(v),
            other => Err(exec(format!("expected scalar, got {}", val_type(&other)))),
        }
    }

    /// A subquery evaluated over its own grid: raw points for windowing per outer step.
    pub(crate) fn subquery_source(&self, sq: &SubqueryExpr) -> Result<RangeSource> {
        let offset = offset_millis(sq.offset.as_ref());
        let range = millis(&sq.range);
        let at = self.at_time(sq.at.as_ref());
        let step = match &sq.step {
            Some(s) if millis(s) > 0 => millis(s),
            _ => self.ctx.subquery_step,
        };
        // With @ the subquery is step invariant: evaluate it as if the outer grid were the
        // single point `at`.
        let (outer_start, outer_end) = match at {
            Some(a) => (a, a),
            None => {
                let end = self.start + (self.end - self.start) / self.interval * self.interval;
                (self.start, end)
            }
        };
        let end = outer_end - offset;
        let lower = outer_start - offset - range;
        let mut start = step * lower.div_euclid(step);
        if start <= lower {
            start += step;
        }
        let inner = Evaluator::new(self.ctx, start, end, step);
        let series = match inner.eval(&sq.expr)? {
            Val::Vector(v) => v,
            Val::Scalar(values) => vec![SSeries {
                labels: Labels::empty(),
                points: values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| Point { t: inner.ts(i), v })
                    .collect(),
                drop_name: false,
            }],
            other => {
                return Err(exec(format!(
                    "subquery is only allowed on instant vector, got {}",
                    val_type(&other)
                )));
            }
        };
        self.ctx
            .add_samples(series.iter().map(|s| s.points.len()).sum())?;
        Ok(RangeSource {
            series,
            range,
            offset,
            at,
        })
    }
}

/// Raw points of a range (matrix selector or subquery), windowed per outer step.
#[derive(Debug)]
pub(crate) struct RangeSource {
    pub(crate) series: Vec<SSeries>,
    pub(crate) range: i64,
    pub(crate) offset: i64,
    pub(crate) at: Option<Timestamp>,
}

impl RangeSource {
    /// The window end for the outer step at `ts`.
    pub(crate) fn window_end(&self, ts: Timestamp) -> Timestamp {
        self.at.unwrap_or(ts) - self.offset
    }

    /// Points in `(end - range, end]`.
    pub(crate) fn window(points: &[Point], end: Timestamp, range: i64) -> &[Point] {
        let lo = points.partition_point(|p| p.t <= end - range);
        let hi = points.partition_point(|p| p.t <= end);
        &points[lo..hi.max(lo)]
    }

    /// The instant-query value of a range: every series' window at `ts`.
    pub(crate) fn window_series(self, ts: Timestamp, _ev: &Evaluator<'_, '_>) -> Vec<SSeries> {
        let end = self.window_end(ts);
        let range = self.range;
        self.series
            .into_iter()
            .filter_map(|s| {
                let points = Self::window(&s.points, end, range).to_vec();
                (!points.is_empty()).then_some(SSeries {
                    labels: s.labels,
                    points,
                    drop_name: s.drop_name,
                })
            })
            .collect()
    }
}

pub(crate) fn system_time_millis(t: std::time::SystemTime) -> Timestamp {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => millis(&d),
        Err(e) => -millis(&e.duration()),
    }
}

pub(crate) fn val_type(v: &Val) -> &'static str {
    match v {
        Val::Scalar(_) => "scalar",
        Val::Vector(_) => "instant vector",
        Val::Matrix(_) => "range vector",
        Val::String(_) => "string",
    }
}

pub(crate) const SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Collects output points per output series, detecting two samples of the same labels at
/// the same step.
#[derive(Debug, Default)]
pub(crate) struct OutBuilder {
    index: HashMap<Labels, usize>,
    pub(crate) series: Vec<SSeries>,
    last_t: Vec<Timestamp>,
}

impl OutBuilder {
    /// The index of the output series with `labels`, creating it.
    pub(crate) fn series_for(&mut self, labels: &Labels, drop_name: bool) -> usize {
        if let Some(&i) = self.index.get(labels) {
            return i;
        }
        let i = self.series.len();
        self.index.insert(labels.clone(), i);
        self.series.push(SSeries {
            labels: labels.clone(),
            points: Vec::new(),
            drop_name,
        });
        self.last_t.push(Timestamp::MIN);
        i
    }

    /// Appends a point at a step, in step order; a second point at the same step is an error.
    pub(crate) fn push(&mut self, i: usize, t: Timestamp, v: f64) -> Result<()> {
        if self.last_t[i] == t {
            return Err(exec(SAME_LABELSET));
        }
        self.last_t[i] = t;
        self.series[i].points.push(Point { t, v });
        Ok(())
    }

    /// Appends the points of a whole series (series-wise operations); points from two inputs
    /// landing at the same step are an error.
    pub(crate) fn extend(&mut self, i: usize, points: Vec<Point>) -> Result<()> {
        let target = &mut self.series[i].points;
        if target.is_empty() {
            *target = points;
            return Ok(());
        }
        target.extend(points);
        target.sort_by_key(|p| p.t);
        if target.windows(2).any(|w| w[0].t == w[1].t) {
            return Err(exec(SAME_LABELSET));
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<SSeries> {
        self.series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

/// Merges series that became equal after dropping names; the same step twice is an error.
pub(crate) fn merge_same_labelset(series: Vec<SSeries>) -> Result<Vec<SSeries>> {
    // Series of one selector keep their label order after losing the same name: strictly
    // ascending labels are all distinct, and there is nothing to merge (nor to hash).
    if series.windows(2).all(|w| w[0].labels < w[1].labels) {
        return Ok(series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect());
    }
    let mut out = OutBuilder::default();
    for s in series {
        let i = out.series_for(&s.labels, s.drop_name);
        out.extend(i, s.points)?;
    }
    Ok(out.finish())
}

/// Applies delayed name removal at the end of a query.
pub(crate) fn cleanup_names(series: Vec<SSeries>, is_matrix_like: bool) -> Result<Vec<SSeries>> {
    let series: Vec<SSeries> = series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = s.labels.without_metric_name();
                s.drop_name = false;
            }
            s
        })
        .collect();
    if is_matrix_like {
        merge_same_labelset(series)
    } else {
        let mut seen = std::collections::HashSet::new();
        for s in &series {
            if !seen.insert(&s.labels) {
                return Err(exec(SAME_LABELSET));
            }
        }
        Ok(series)
    }
}

/// Per-series cursors for reading step-sampled series step by step.
#[derive(Debug)]
pub(crate) struct Cursors {
    pos: Vec<usize>,
}

impl Cursors {
    pub(crate) fn new(n: usize) -> Self {
        Self { pos: vec![0; n] }
    }

    /// The value of series `i` at `t`, advancing its cursor (steps must be visited in order).
    pub(crate) fn at(&mut self, series: &[SSeries], i: usize, t: Timestamp) -> Option<f64> {
        let points = &series[i].points;
        let p = &mut self.pos[i];
        while *p < points.len() && points[*p].t < t {
            *p += 1;
        }
        (*p < points.len() && points[*p].t == t).then(|| points[*p].v)
    }
}

/// Whether a label name is acceptable (Prometheus 3 accepts any non-empty valid UTF-8).
pub(crate) fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// `__name__`.
pub(crate) const NAME: &str = METRIC_NAME;

/// Token ids used by the evaluator.
pub(crate) use token::{
    T_ADD, T_ATAN2, T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_DIV, T_EQLC, T_GROUP, T_GTE,
    T_GTR, T_LAND, T_LIMIT_RATIO, T_LIMITK, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MAX, T_MIN, T_MOD,
    T_MUL, T_NEQ, T_POW, T_QUANTILE, T_STDDEV, T_STDVAR, T_SUB, T_SUM, T_TOPK,
};
