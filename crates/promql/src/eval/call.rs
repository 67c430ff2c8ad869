//! Function calls: dispatch to range functions (series by series over windows), element-wise
//! functions (series by series), and the few that need whole vectors per step.

use std::collections::HashMap;
use std::time::Instant;

use promql_parser::parser::{Call, Expr};
use tocsin_model::{Labels, MatchType};

use super::selector::matcher_sets;
use super::{Cursors, Evaluator, NAME, OutBuilder, RangeSource, SSeries, Val, merge_same_labelset};
use crate::error::{Error, Result, exec};
use crate::functions::histogram::{Bucket, bucket_fraction, bucket_quantile, parse_le};
use crate::functions::labels::{Replace, compare_by_labels, join};
use crate::functions::math::{format_go_g, format_openmetrics_float, go_max, go_min};
use crate::functions::{instant, range};
use crate::parallel;
use crate::value::Point;

/// Series per task handed to the pool (handing one over costs a few µs).
const SERIES_PER_TASK: usize = 64;

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn string_arg(e: &Expr) -> Result<String> {
    match unwrap_parens(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        _ => Err(exec("expected a string literal argument")),
    }
}

impl Evaluator<'_, '_> {
    pub(crate) fn eval_call(&self, call: &Call, node: &Expr) -> Result<Val> {
        let name = call.func.name;
        let args: Vec<&Expr> = call.args.args.iter().map(AsRef::as_ref).collect();
        if range::is_range_function(name) {
            return self.eval_range_call(name, &args);
        }
        if matches!(
            name,
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
        ) && !self.is_instant()
        {
            self.ctx.warn(
                node,
                "sort is ineffective for range queries since results are always ordered by labels",
            );
        }
        match name {
            "time" => Ok(Val::Scalar(
                (0..self.steps())
                    .map(|i| self.ts(i) as f64 / 1000.0)
                    .collect(),
            )),
            "start" | "end" | "step" | "range" => {
                let v = match name {
                    "start" => self.ctx.query_start as f64 / 1000.0,
                    "end" => self.ctx.query_end as f64 / 1000.0,
                    "step" => self.ctx.query_step as f64 / 1000.0,
                    _ => (self.ctx.query_end - self.ctx.query_start) as f64 / 1000.0,
                };
                Ok(Val::Scalar(vec![v; self.steps()]))
            }
            "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; self.steps()])),
            "max_of" | "min_of" => {
                let a = self.eval_scalar(args[0])?;
                let b = self.eval_scalar(args[1])?;
                let f = if name == "max_of" { go_max } else { go_min };
                Ok(Val::Scalar(
                    a.iter().zip(&b).map(|(x, y)| f(*x, *y)).collect(),
                ))
            }
            "vector" => {
                let values = self.eval_scalar(args[0])?;
                Ok(Val::Vector(vec![SSeries {
                    labels: Labels::empty(),
                    points: values
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| Point { t: self.ts(i), v })
                        .collect(),
                    drop_name: false,
                }]))
            }
            "scalar" => {
                let input = self.eval_vector(args[0])?;
                let mut cursors = Cursors::new(input.len());
                let mut out = Vec::with_capacity(self.steps());
                for step in 0..self.steps() {
                    let ts = self.ts(step);
                    let mut found = None;
                    let mut many = false;
                    for i in 0..input.len() {
                        if let Some(v) = cursors.at(&input, i, ts) {
                            many |= found.is_some();
                            found = Some(v);
                        }
                    }
                    out.push(if many {
                        f64::NAN
                    } else {
                        found.unwrap_or(f64::NAN)
                    });
                }
                Ok(Val::Scalar(out))
            }
            "absent" => {
                let input = self.eval_vector(args[0])?;
                let mut present = vec![false; self.steps()];
                for s in &input {
                    for p in &s.points {
                        present[self.step_of(p.t)] = true;
                    }
                }
                let points: Vec<Point> = present
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| !**p)
                    .map(|(i, _)| Point {
                        t: self.ts(i),
                        v: 1.0,
                    })
                    .collect();
                if points.is_empty() {
                    return Ok(Val::Vector(Vec::new()));
                }
                Ok(Val::Vector(vec![SSeries {
                    labels: absent_labels(args[0])?,
                    points,
                    drop_name: false,
                }]))
            }
            "timestamp" => {
                if let Expr::VectorSelector(vs) = args[0] {
                    let series = self.eval_vector_selector_with(vs, true)?;
                    return self.rename_all(series);
                }
                let series = self.eval_vector(args[0])?;
                let series = series
                    .into_iter()
                    .map(|mut s| {
                        s.points.iter_mut().for_each(|p| p.v = p.t as f64 / 1000.0);
                        s
                    })
                    .collect();
                self.rename_all(series)
            }
            "sort" | "sort_desc" => {
                let mut input = self.eval_vector(args[0])?;
                if self.is_instant() {
                    let desc = name == "sort_desc";
                    input.sort_by(|a, b| {
                        let (x, y) = (a.points[0].v, b.points[0].v);
                        match (x.is_nan(), y.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    });
                }
                Ok(Val::Vector(input))
            }
            "sort_by_label" | "sort_by_label_desc" => {
                let mut input = self.eval_vector(args[0])?;
                let names = args[1..]
                    .iter()
                    .map(|a| string_arg(a))
                    .collect::<Result<Vec<_>>>()?;
                if self.is_instant() {
                    input.sort_by(|a, b| compare_by_labels(&a.labels, &b.labels, &names));
                    if name == "sort_by_label_desc" {
                        input.sort_by(|a, b| compare_by_labels(&b.labels, &a.labels, &names));
                    }
                }
                Ok(Val::Vector(input))
            }
            "label_replace" => {
                let dst = string_arg(args[1])?;
                if self.ctx.invalid_utf8_escape(&dst) {
                    return Err(exec(format!(
                        "invalid destination label name in label_replace(): {dst}"
                    )));
                }
                let replace = Replace::new(
                    &string_arg(args[1])?,
                    &string_arg(args[2])?,
                    &string_arg(args[3])?,
                    &string_arg(args[4])?,
                )?;
                let input = self.eval_vector(args[0])?;
                let out = input
                    .into_iter()
                    .map(|mut s| {
                        if let Some(labels) = replace.apply(&s.labels) {
                            s.labels = labels;
                            if replace.dst() == NAME {
                                s.drop_name = false;
                            }
                        }
                        s
                    })
                    .collect();
                Ok(Val::Vector(merge_same_labelset(out)?))
            }
            "label_join" => {
                let dst = string_arg(args[1])?;
                let sep = string_arg(args[2])?;
                let srcs = args[3..]
                    .iter()
                    .map(|a| string_arg(a))
                    .collect::<Result<Vec<_>>>()?;
                if dst.is_empty() {
                    return Err(exec(format!(
                        "invalid destination label name in label_join(): {dst}"
                    )));
                }
                let input = self.eval_vector(args[0])?;
                let out = input
                    .into_iter()
                    .map(|mut s| {
                        s.labels = join(&s.labels, &dst, &sep, &srcs);
                        if dst == NAME {
                            s.drop_name = false;
                        }
                        s
                    })
                    .collect();
                Ok(Val::Vector(merge_same_labelset(out)?))
            }
            "histogram_quantile" => {
                let q = self.eval_scalar(args[0])?;
                self.warn_quantiles(&q, args[0]);
                let input = self.eval_vector(args[1])?;
                self.classic_histograms(&input, args[1], |buckets, step, out_for| {
                    let qv = q[step];
                    let (v, forced) = bucket_quantile(qv, buckets);
                    vec![(out_for(None), v, forced)]
                })
            }
            "histogram_quantiles" => {
                let input = self.eval_vector(args[0])?;
                let label = string_arg(args[1])?;
                let qs = args[2..]
                    .iter()
                    .map(|a| self.eval_scalar(a))
                    .collect::<Result<Vec<_>>>()?;
                for (k, q) in qs.iter().enumerate() {
                    self.warn_quantiles(q, args[k + 2]);
                }
                self.classic_histograms(&input, args[0], |buckets, step, out_for| {
                    let mut res = Vec::new();
                    for q in &qs {
                        let qv = q[step];
                        let (v, forced) = bucket_quantile(qv, buckets.clone());
                        res.push((
                            out_for(Some((&label, format_openmetrics_float(qv)))),
                            v,
                            forced,
                        ));
                    }
                    res
                })
            }
            "histogram_fraction" => {
                let lower = self.eval_scalar(args[0])?;
                let upper = self.eval_scalar(args[1])?;
                let input = self.eval_vector(args[2])?;
                self.classic_histograms(&input, args[2], |buckets, step, out_for| {
                    let v = bucket_fraction(lower[step], upper[step], buckets);
                    vec![(out_for(None), v, Default::default())]
                })
            }
            // Native-histogram functions ignore float samples; native histograms are not
            // stored yet, so they return nothing.
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                let _ = self.eval_vector(args[0])?;
                Ok(Val::Vector(Vec::new()))
            }
            _ if instant::is_date_function(name) && args.is_empty() => {
                let points = (0..self.steps())
                    .map(|i| {
                        let t = self.ts(i);
                        Point {
                            t,
                            v: instant::date_part(name, t.div_euclid(1000)),
                        }
                    })
                    .collect();
                Ok(Val::Vector(vec![SSeries {
                    labels: Labels::empty(),
                    points,
                    drop_name: false,
                }]))
            }
            _ if instant::is_elementwise(name) => {
                let input = self.eval_vector(args[0])?;
                let scalars = args[1..]
                    .iter()
                    .map(|a| self.eval_scalar(a))
                    .collect::<Result<Vec<_>>>()?;
                let mut out = Vec::with_capacity(input.len());
                let mut extra = Vec::with_capacity(scalars.len());
                for s in input {
                    self.ctx.check_deadline()?;
                    let mut points = Vec::with_capacity(s.points.len());
                    for p in &s.points {
                        let step = self.step_of(p.t);
                        extra.clear();
                        extra.extend(scalars.iter().map(|sc| sc[step]));
                        if let Some(v) = instant::apply(name, p.v, &extra) {
                            points.push(Point { t: p.t, v });
                        }
                    }
                    if points.is_empty() {
                        continue;
                    }
                    let (labels, drop_name) = self.drop_name(&s.labels);
                    out.push(SSeries {
                        labels,
                        points,
                        drop_name,
                    });
                }
                self.finish_renamed(out)
            }
            other => Err(exec(format!("function {other}() is not supported"))),
        }
    }

    fn warn_quantiles(&self, qs: &[f64], arg: &Expr) {
        for &q in qs {
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                self.ctx.warn(
                    arg,
                    format!(
                        "quantile value should be between 0 and 1, got {}",
                        format_go_g(q)
                    ),
                );
            }
        }
    }

    fn rename_all(&self, series: Vec<SSeries>) -> Result<Val> {
        let out = series
            .into_iter()
            .map(|s| {
                let (labels, drop_name) = self.drop_name(&s.labels);
                SSeries {
                    labels,
                    points: s.points,
                    drop_name,
                }
            })
            .collect();
        self.finish_renamed(out)
    }

    fn finish_renamed(&self, out: Vec<SSeries>) -> Result<Val> {
        if self.ctx.delayed_name_removal {
            Ok(Val::Vector(out))
        } else {
            Ok(Val::Vector(merge_same_labelset(out)?))
        }
    }

    /// Evaluates a function whose matrix argument is a range selector or a subquery.
    fn eval_range_call(&self, name: &str, args: &[&Expr]) -> Result<Val> {
        let matrix_index = args
            .iter()
            .position(|a| {
                matches!(
                    unwrap_parens(a),
                    Expr::MatrixSelector(_) | Expr::Subquery(_)
                )
            })
            .ok_or_else(|| exec(format!("{name}() needs a range vector argument")))?;
        let matrix_arg = unwrap_parens(args[matrix_index]);
        let mut scalars = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != matrix_index {
                scalars.push(self.eval_scalar(a)?);
            }
        }
        let src: RangeSource = match matrix_arg {
            Expr::MatrixSelector(ms) => self.matrix_source(ms)?,
            Expr::Subquery(sq) => self.subquery_source(sq)?,
            _ => return Err(exec("expected a range vector")),
        };
        let keeps_name = matches!(name, "last_over_time" | "first_over_time");
        let steps = self.steps();
        let range_secs = src.range as f64 / 1000.0;
        let mut out = Vec::with_capacity(src.series.len());
        let mut quantile_warned = false;
        let deadline = self.ctx.deadline;
        let (grid_start, interval) = (self.start, self.interval);
        // Series by series, spread over the cores: each yields its points and the first
        // out-of-range quantile it met (warned about below, in series order as before).
        let computed = parallel::map(
            (0..src.series.len()).collect(),
            SERIES_PER_TASK,
            |si| -> Result<(Vec<Point>, Option<f64>)> {
                if si % 64 == 63 && deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::Timeout("expression evaluation"));
                }
                let s = &src.series[si];
                let mut step_args = vec![0.0; scalars.len()];
                let mut bad_quantile = None;
                let mut points = Vec::new();
                let (mut lo, mut hi) = (0usize, 0usize);
                for step in 0..steps {
                    let ts = grid_start + interval * step as i64;
                    let end = src.window_end(ts);
                    let start = end - src.range;
                    if src.at.is_some() {
                        lo = s.points.partition_point(|p| p.t <= start);
                        hi = s.points.partition_point(|p| p.t <= end);
                    } else {
                        while lo < s.points.len() && s.points[lo].t <= start {
                            lo += 1;
                        }
                        hi = hi.max(lo);
                        while hi < s.points.len() && s.points[hi].t <= end {
                            hi += 1;
                        }
                    }
                    if hi <= lo {
                        continue;
                    }
                    for (k, sc) in scalars.iter().enumerate() {
                        step_args[k] = sc[step];
                    }
                    if name == "quantile_over_time" && bad_quantile.is_none() {
                        let q = step_args[0];
                        if q.is_nan() || !(0.0..=1.0).contains(&q) {
                            bad_quantile = Some(q);
                        }
                    }
                    let window = range::Window {
                        start,
                        end,
                        range_secs,
                        ts,
                    };
                    if let Some(v) = range::eval(name, &s.points[lo..hi], window, &step_args)? {
                        points.push(Point { t: ts, v });
                    }
                }
                Ok((points, bad_quantile))
            },
        );
        self.ctx.check_deadline()?;
        for (s, computed) in src.series.iter().zip(computed) {
            let (points, bad_quantile) = computed?;
            if let Some(q) = bad_quantile
                && !quantile_warned
            {
                quantile_warned = true;
                self.ctx.warn(
                    args[0],
                    format!(
                        "quantile value should be between 0 and 1, got {}",
                        format_go_g(q)
                    ),
                );
            }
            if points.is_empty() {
                continue;
            }
            if matches!(name, "rate" | "increase")
                && let Some(metric) = s.labels.metric_name()
                && !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suffix| metric.ends_with(suffix))
            {
                self.ctx.info(
                    args[matrix_index],
                    format!(
                        "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                        tocsin_model::go_quote(metric)
                    ),
                );
            }
            self.ctx.add_samples(points.len())?;
            let drop = !keeps_name || s.drop_name;
            let labels = if drop && !self.ctx.delayed_name_removal {
                s.labels.without_metric_name()
            } else {
                s.labels.clone()
            };
            out.push(SSeries {
                labels,
                points,
                drop_name: drop,
            });
        }
        if name == "absent_over_time" {
            let mut found = vec![false; steps];
            for s in &out {
                for p in &s.points {
                    found[self.step_of(p.t)] = true;
                }
            }
            let points: Vec<Point> = (0..steps)
                .filter(|i| !found[*i])
                .map(|i| Point {
                    t: self.ts(i),
                    v: 1.0,
                })
                .collect();
            if points.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            let labels = match matrix_arg {
                Expr::MatrixSelector(ms) => absent_labels(&Expr::VectorSelector(ms.vs.clone()))?,
                _ => Labels::empty(),
            };
            return Ok(Val::Vector(vec![SSeries {
                labels,
                points,
                drop_name: true,
            }]));
        }
        if self.ctx.delayed_name_removal {
            Ok(Val::Vector(out))
        } else {
            Ok(Val::Vector(merge_same_labelset(out)?))
        }
    }

    /// Groups classic bucket series by their labels without `le` and calls `f` per group and
    /// step with the buckets; `f` returns (output labels, value, monotonicity fix) triples.
    fn classic_histograms<F>(&self, input: &[SSeries], vec_arg: &Expr, mut f: F) -> Result<Val>
    where
        F: FnMut(
            Vec<Bucket>,
            usize,
            &dyn Fn(Option<(&str, String)>) -> Labels,
        ) -> Vec<(Labels, f64, crate::functions::histogram::Forced)>,
    {
        let mut group_of: Vec<Option<usize>> = Vec::with_capacity(input.len());
        let mut les: Vec<f64> = Vec::with_capacity(input.len());
        let mut group_index: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<Labels> = Vec::new();
        for s in input {
            let le = s.labels.get("le").unwrap_or("");
            match parse_le(le) {
                Some(upper) => {
                    let key = s.labels.drop_names(&["le"]);
                    let n = group_index.len();
                    let gi = *group_index.entry(key.clone()).or_insert_with(|| {
                        groups.push(key);
                        n
                    });
                    group_of.push(Some(gi));
                    les.push(upper);
                }
                None => {
                    group_of.push(None);
                    les.push(f64::NAN);
                }
            }
        }
        let mut out = OutBuilder::default();
        let mut cursors = Cursors::new(input.len());
        let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); groups.len()];
        let mut order: Vec<usize> = Vec::new();
        let mut forced_reported = false;
        for step in 0..self.steps() {
            self.ctx.check_deadline()?;
            let ts = self.ts(step);
            order.clear();
            for b in &mut buckets {
                b.clear();
            }
            for (i, s) in input.iter().enumerate() {
                let Some(v) = cursors.at(input, i, ts) else {
                    continue;
                };
                match group_of[i] {
                    Some(gi) => {
                        if buckets[gi].is_empty() {
                            order.push(gi);
                        }
                        buckets[gi].push(Bucket {
                            upper: les[i],
                            count: v,
                        });
                    }
                    None => {
                        let le = s.labels.get("le").unwrap_or("");
                        let name = if self.ctx.delayed_name_removal {
                            s.labels.metric_name().unwrap_or("")
                        } else {
                            ""
                        };
                        let mut msg = format!(
                            "bucket label \"le\" is missing or has a malformed value of {}",
                            tocsin_model::go_quote(le)
                        );
                        if !name.is_empty() {
                            msg.push_str(&format!(
                                " for metric name {}",
                                tocsin_model::go_quote(name)
                            ));
                        }
                        self.ctx.warn(vec_arg, msg);
                    }
                }
            }
            for &gi in &order {
                let group_labels = &groups[gi];
                let delayed = self.ctx.delayed_name_removal;
                let out_for = |extra: Option<(&str, String)>| -> Labels {
                    let mut b = group_labels.to_builder();
                    if !delayed {
                        b.del(NAME);
                    }
                    if let Some((name, value)) = extra {
                        b.set(name, &value);
                    }
                    b.build()
                };
                let results = f(std::mem::take(&mut buckets[gi]), step, &out_for);
                for (labels, v, forced) in results {
                    if forced.forced && !forced_reported {
                        forced_reported = true;
                        let mut msg = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_owned();
                        if delayed && let Some(n) = group_labels.metric_name() {
                            msg.push_str(&format!(
                                " for metric name {}",
                                tocsin_model::go_quote(n)
                            ));
                        }
                        msg.push_str(&format!(
                            ", from buckets {} to {}, with a max diff of {}",
                            format_go_g(forced.min_bucket),
                            format_go_g(forced.max_bucket),
                            format_go_g(forced.max_diff)
                        ));
                        self.ctx.info(vec_arg, msg);
                    }
                    let i = out.series_for(&labels, true);
                    out.push(i, ts, v)?;
                }
            }
        }
        Ok(Val::Vector(out.finish()))
    }
}

/// The labels `absent()` reports: equality matchers other than the name, unless a label is
/// matched twice.
fn absent_labels(arg: &Expr) -> Result<Labels> {
    let vs = match arg {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Ok(Labels::empty()),
    };
    let sets = matcher_sets(vs)?;
    let Some(matchers) = sets.first() else {
        return Ok(Labels::empty());
    };
    let mut b = Labels::empty().to_builder();
    let mut has: HashMap<&str, bool> = HashMap::new();
    for m in matchers {
        if m.name == NAME {
            continue;
        }
        if m.kind == MatchType::Equal && !has.contains_key(m.name.as_str()) {
            b.set(&m.name, &m.value);
            has.insert(&m.name, true);
        } else {
            b.del(&m.name);
        }
    }
    Ok(b.build())
}
