//! Vector and matrix selectors: reading the store.

use promql_parser::label::{MatchOp, Matcher as ParserMatcher};
use promql_parser::parser::{MatrixSelector, VectorSelector};
use std::time::Instant;

use tocsin_model::storage::{SelectHints, Series};
use tocsin_model::{Labels, MatchType, Matcher, Timestamp, is_stale_nan};

use super::{Evaluator, NAME, RangeSource, SSeries, millis, offset_millis};
use crate::error::{Error, Result};
use crate::parallel;
use crate::value::Point;

/// Converts the parser's matchers to ours: ours anchor regexes as `^(?s:…)$` like Prometheus
/// (the parser's own `is_match` uses `^(?:…)$`, so it is never called).
pub(crate) fn convert_matcher(m: &ParserMatcher) -> Result<Matcher> {
    let kind = match m.op {
        MatchOp::Equal => MatchType::Equal,
        MatchOp::NotEqual => MatchType::NotEqual,
        MatchOp::Re(_) => MatchType::Regex,
        MatchOp::NotRe(_) => MatchType::NotRegex,
    };
    Matcher::new(kind, m.name.clone(), m.value.clone()).map_err(|e| Error::Parse(e.to_string()))
}

/// The selector's matcher sets (more than one with `or`), each with the metric name added.
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>> {
    let mut groups: Vec<Vec<&ParserMatcher>> = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        groups.push(vs.matchers.matchers.iter().collect());
    } else {
        for g in &vs.matchers.or_matchers {
            groups.push(g.iter().chain(vs.matchers.matchers.iter()).collect());
        }
    }
    let mut sets = Vec::with_capacity(groups.len());
    for g in groups {
        let mut set = g
            .into_iter()
            .map(convert_matcher)
            .collect::<Result<Vec<_>>>()?;
        if let Some(name) = &vs.name
            && !set
                .iter()
                .any(|m| m.name == NAME && m.kind == MatchType::Equal && &m.value == name)
        {
            set.push(Matcher::equal(NAME, name.clone()));
        }
        sets.push(set);
    }
    Ok(sets)
}

/// Series per task handed to the pool (handing one over costs a few µs).
const SERIES_PER_TASK: usize = 128;

/// A series' samples in `[mint, maxt]` as points, stale markers left out when `skip_stale`.
fn drain(series: &mut Series, mint: Timestamp, maxt: Timestamp, skip_stale: bool) -> Vec<Point> {
    let mut points = Vec::new();
    let mut next = series.samples.seek(mint);
    while let Some(s) = next {
        if s.t > maxt {
            break;
        }
        if !(skip_stale && is_stale_nan(s.v)) {
            points.push(Point { t: s.t, v: s.v });
        }
        next = series.samples.next();
    }
    points
}

impl Evaluator<'_, '_> {
    /// Every series matching `vs` with its samples in `[mint, maxt]` as points, sorted by
    /// labels; stale markers are left out when `skip_stale`.
    pub(crate) fn fetch(
        &self,
        vs: &VectorSelector,
        mint: Timestamp,
        maxt: Timestamp,
        skip_stale: bool,
    ) -> Result<Vec<(Labels, Vec<Point>)>> {
        let sets = matcher_sets(vs)?;
        let querier = self.ctx.queryable.querier(mint, maxt)?;
        let hints = SelectHints {
            start: mint,
            end: maxt,
        };
        let deadline = self.ctx.deadline;
        let mut out: Vec<(Labels, Vec<Point>)> = Vec::new();
        for set in &sets {
            let mut selected = querier.select(&hints, set)?;
            if sets.len() > 1 {
                selected.retain(|series| !out.iter().any(|(l, _)| l == &series.labels));
            }
            self.ctx.check_deadline()?;
            // Reading samples decodes chunks: spread over the cores, each thread watching
            // the deadline now and then.
            let numbered: Vec<(usize, Series)> = selected.into_iter().enumerate().collect();
            let drained = parallel::map(numbered, SERIES_PER_TASK, |(i, mut series)| {
                if i % 64 == 63 && deadline.is_some_and(|d| Instant::now() >= d) {
                    return None;
                }
                let points = drain(&mut series, mint, maxt, skip_stale);
                Some((series.labels, points))
            });
            for series in drained {
                out.push(series.ok_or(Error::Timeout("expression evaluation"))?);
            }
        }
        if sets.len() > 1 {
            out.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(out)
    }

    pub(crate) fn eval_vector_selector(&self, vs: &VectorSelector) -> Result<Vec<SSeries>> {
        self.eval_vector_selector_with(vs, false)
    }

    /// Samples at each step within the lookback window; `timestamps` yields the sample
    /// timestamps in seconds instead of values (for `timestamp()`).
    pub(crate) fn eval_vector_selector_with(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Vec<SSeries>> {
        let offset = offset_millis(vs.offset.as_ref());
        let at = self.at_time(vs.at.as_ref());
        let lookback = self.ctx.lookback;
        let (lo, hi) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.start - offset, self.end - offset),
        };
        let fetched = self.fetch(vs, lo - lookback + 1, hi, false)?;
        let steps = self.steps();
        let mut out = Vec::with_capacity(fetched.len());
        for (labels, samples) in fetched {
            self.ctx.check_deadline()?;
            let mut points = Vec::new();
            let mut cursor = 0usize;
            for step in 0..steps {
                let ts = self.ts(step);
                let te = at.unwrap_or(ts) - offset;
                while cursor < samples.len() && samples[cursor].t <= te {
                    cursor += 1;
                }
                if at.is_some() {
                    cursor = samples.partition_point(|s| s.t <= te);
                }
                if cursor == 0 {
                    continue;
                }
                let s = samples[cursor - 1];
                if s.t <= te - lookback || is_stale_nan(s.v) {
                    continue;
                }
                let v = if timestamps { s.t as f64 / 1000.0 } else { s.v };
                points.push(Point { t: ts, v });
            }
            if !points.is_empty() {
                self.ctx.add_samples(points.len())?;
                out.push(SSeries {
                    labels,
                    points,
                    drop_name: false,
                });
            }
        }
        Ok(out)
    }

    /// A matrix selector's raw samples (stale markers removed) for all steps.
    pub(crate) fn matrix_source(&self, ms: &MatrixSelector) -> Result<RangeSource> {
        let vs = &ms.vs;
        let offset = offset_millis(vs.offset.as_ref());
        let range = millis(&ms.range);
        let at = self.at_time(vs.at.as_ref());
        let (lo, hi) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.start - offset, self.end - offset),
        };
        let fetched = self.fetch(vs, lo - range + 1, hi, true)?;
        let mut series = Vec::with_capacity(fetched.len());
        for (labels, points) in fetched {
            self.ctx.add_samples(points.len())?;
            series.push(SSeries {
                labels,
                points,
                drop_name: false,
            });
        }
        Ok(RangeSource {
            series,
            range,
            offset,
            at,
        })
    }
}
