//! Aggregation operators (`sum`, `avg`, ..., `topk`, `limit_ratio`, `count_values`).

use std::collections::HashMap;

use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};
use tocsin_model::Labels;

use super::{
    Cursors, Evaluator, NAME, OutBuilder, SSeries, T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES,
    T_GROUP, T_LIMIT_RATIO, T_LIMITK, T_MAX, T_MIN, T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
    Val, valid_label_name,
};
use crate::error::{Result, exec};
use crate::functions::math::{format_go_float, format_go_g, go_max, go_min, kahan_inc, quantile};

/// `by`/`without` as Prometheus applies it.
struct Grouping {
    without: bool,
    names: Vec<String>,
}

impl Grouping {
    fn of(modifier: Option<&LabelModifier>) -> Self {
        match modifier {
            Some(LabelModifier::Include(l)) => Self {
                without: false,
                names: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Self {
                without: true,
                names: l.labels.clone(),
            },
            None => Self {
                without: false,
                names: Vec::new(),
            },
        }
    }

    fn labels(&self, labels: &Labels) -> Labels {
        if self.without {
            let mut drop = self.names.clone();
            drop.push(NAME.to_owned());
            labels.drop_names(&drop)
        } else if self.names.is_empty() {
            Labels::empty()
        } else {
            labels.keep(&self.names)
        }
    }
}

/// Parameter values per step with Prometheus's min/max/NaN summary.
struct Params {
    values: Vec<f64>,
    min: f64,
    max: f64,
    any_nan: bool,
}

impl Params {
    fn new(values: Vec<f64>) -> Self {
        let mut min = f64::MAX;
        let mut max = -f64::MAX;
        let mut any_nan = false;
        for &v in &values {
            max = go_max(max, v);
            min = go_min(min, v);
            any_nan |= v.is_nan();
        }
        Self {
            values,
            min,
            max,
            any_nan,
        }
    }
}

#[derive(Clone, Default)]
struct Group {
    seen: bool,
    value: f64,
    mean: f64,
    kahan: f64,
    count: f64,
    incremental_mean: bool,
    values: Vec<f64>,
}

impl Evaluator<'_, '_> {
    pub(crate) fn eval_aggregate(&self, a: &AggregateExpr) -> Result<Val> {
        let op = a.op.id();
        let grouping = Grouping::of(a.modifier.as_ref());
        if op == T_COUNT_VALUES {
            return self.count_values(a, &grouping);
        }
        let params = match &a.param {
            Some(p) if op != T_COUNT_VALUES => Some(Params::new(self.eval_scalar(p)?)),
            _ => None,
        };
        let input = self.eval_vector(&a.expr)?;
        match op {
            T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
                let params = params.ok_or_else(|| exec("missing parameter"))?;
                self.aggregate_k(a, op, &grouping, &params, input)
            }
            _ => {
                if op == T_QUANTILE
                    && let (Some(p), Some(param)) = (&params, &a.param)
                {
                    if p.any_nan {
                        self.ctx
                            .warn(param, "quantile value should be between 0 and 1, got NaN");
                    }
                    if p.max > 1.0 {
                        self.ctx.warn(
                            param,
                            format!(
                                "quantile value should be between 0 and 1, got {}",
                                format_go_g(p.max)
                            ),
                        );
                    }
                    if p.min < 0.0 {
                        self.ctx.warn(
                            param,
                            format!(
                                "quantile value should be between 0 and 1, got {}",
                                format_go_g(p.min)
                            ),
                        );
                    }
                }
                self.aggregate(op, &grouping, params.as_ref(), input)
            }
        }
    }

    fn group_index(grouping: &Grouping, input: &[SSeries]) -> (Vec<usize>, Vec<Labels>) {
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut labels = Vec::new();
        let map = input
            .iter()
            .map(|s| {
                let key = grouping.labels(&s.labels);
                let n = index.len();
                *index.entry(key.clone()).or_insert_with(|| {
                    labels.push(key);
                    n
                })
            })
            .collect();
        (map, labels)
    }

    fn aggregate(
        &self,
        op: u16,
        grouping: &Grouping,
        params: Option<&Params>,
        input: Vec<SSeries>,
    ) -> Result<Val> {
        let (series_group, group_labels) = Self::group_index(grouping, &input);
        let mut out: Vec<SSeries> = group_labels
            .into_iter()
            .map(|labels| SSeries {
                labels,
                points: Vec::new(),
                drop_name: false,
            })
            .collect();
        let mut groups = vec![Group::default(); out.len()];
        let mut cursors = Cursors::new(input.len());
        for step in 0..self.steps() {
            self.ctx.check_deadline()?;
            let ts = self.ts(step);
            let q = params.map_or(0.0, |p| p.values[step]);
            for g in &mut groups {
                g.seen = false;
            }
            for (si, s) in input.iter().enumerate() {
                let Some(f) = cursors.at(&input, si, ts) else {
                    continue;
                };
                let gi = series_group[si];
                let g = &mut groups[gi];
                if !g.seen {
                    *g = Group {
                        seen: true,
                        value: f,
                        mean: f,
                        count: 1.0,
                        values: Vec::new(),
                        ..Group::default()
                    };
                    out[gi].drop_name = s.drop_name;
                    match op {
                        T_STDVAR | T_STDDEV => {
                            g.value = if f.is_nan() || f.is_infinite() {
                                f64::NAN
                            } else {
                                0.0
                            };
                        }
                        T_QUANTILE => g.values.push(f),
                        T_GROUP => g.value = 1.0,
                        _ => {}
                    }
                    continue;
                }
                if s.drop_name {
                    out[gi].drop_name = true;
                }
                match op {
                    T_SUM => (g.value, g.kahan) = kahan_inc(f, g.value, g.kahan),
                    T_AVG => {
                        g.count += 1.0;
                        if !g.incremental_mean {
                            let (nv, nc) = kahan_inc(f, g.value, g.kahan);
                            if !nv.is_infinite() {
                                g.value = nv;
                                g.kahan = nc;
                                continue;
                            }
                            g.incremental_mean = true;
                            g.mean = g.value / (g.count - 1.0);
                            g.kahan /= g.count - 1.0;
                        }
                        let q = (g.count - 1.0) / g.count;
                        (g.mean, g.kahan) = kahan_inc(f / g.count, q * g.mean, q * g.kahan);
                    }
                    T_MAX if g.value < f || g.value.is_nan() => g.value = f,
                    T_MIN if g.value > f || g.value.is_nan() => g.value = f,
                    T_COUNT => g.count += 1.0,
                    T_STDVAR | T_STDDEV => {
                        g.count += 1.0;
                        let delta = f - g.mean;
                        g.mean += delta / g.count;
                        g.value += delta * (f - g.mean);
                    }
                    T_QUANTILE => g.values.push(f),
                    _ => {}
                }
            }
            for (gi, g) in groups.iter_mut().enumerate() {
                if !g.seen {
                    continue;
                }
                let v = match op {
                    T_AVG => {
                        if g.incremental_mean {
                            g.mean + g.kahan
                        } else {
                            g.value / g.count + g.kahan / g.count
                        }
                    }
                    T_COUNT => g.count,
                    T_STDVAR => g.value / g.count,
                    T_STDDEV => (g.value / g.count).sqrt(),
                    T_QUANTILE => quantile(q, &mut g.values),
                    T_SUM => g.value + g.kahan,
                    _ => g.value,
                };
                out[gi].points.push(crate::value::Point { t: ts, v });
            }
        }
        let out: Vec<SSeries> = out.into_iter().filter(|s| !s.points.is_empty()).collect();
        self.ctx
            .add_samples(out.iter().map(|s| s.points.len()).sum())?;
        Ok(Val::Vector(out))
    }

    fn aggregate_k(
        &self,
        a: &AggregateExpr,
        op: u16,
        grouping: &Grouping,
        params: &Params,
        input: Vec<SSeries>,
    ) -> Result<Val> {
        let param_expr: &Expr = a
            .param
            .as_deref()
            .ok_or_else(|| exec("missing parameter"))?;
        if op == T_LIMIT_RATIO {
            if params.max == 0.0 && params.min == 0.0 {
                return Ok(Val::Vector(Vec::new()));
            }
            if params.any_nan {
                return Err(exec("Ratio value is NaN"));
            }
            if params.max > 1.0 {
                self.ctx.warn(
                    param_expr,
                    format!(
                        "ratio value should be between -1 and 1, got {}, capping to 1",
                        format_go_g(params.max)
                    ),
                );
            }
            if params.min < -1.0 {
                self.ctx.warn(
                    param_expr,
                    format!(
                        "ratio value should be between -1 and 1, got {}, capping to -1",
                        format_go_g(params.min)
                    ),
                );
            }
        } else {
            if params.max < 1.0 {
                return Ok(Val::Vector(Vec::new()));
            }
            if params.any_nan {
                return Err(exec("Parameter value is NaN"));
            }
            if params.min <= i64::MIN as f64 {
                return Err(exec(format!(
                    "Scalar value {} underflows int64",
                    format_go_g(params.min)
                )));
            }
            if params.max >= i64::MAX as f64 {
                return Err(exec(format!(
                    "Scalar value {} overflows int64",
                    format_go_g(params.max)
                )));
            }
        }
        let (series_group, group_labels) = Self::group_index(grouping, &input);
        let ngroups = group_labels.len();
        let offsets: Vec<f64> = if op == T_LIMIT_RATIO {
            input
                .iter()
                .map(|s| prometheus_hash(&s.labels) as f64 / u64::MAX as f64)
                .collect()
        } else {
            Vec::new()
        };
        let mut out = OutBuilder::default();
        let mut out_index: Vec<Option<usize>> = vec![None; input.len()];
        let mut cursors = Cursors::new(input.len());
        let mut heaps: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ngroups];
        let mut seen = vec![false; ngroups];
        let mut current = Vec::with_capacity(input.len());
        for step in 0..self.steps() {
            self.ctx.check_deadline()?;
            let ts = self.ts(step);
            let param = params.values[step];
            current.clear();
            for si in 0..input.len() {
                if let Some(f) = cursors.at(&input, si, ts) {
                    current.push((si, f));
                }
            }
            let k = if op == T_LIMIT_RATIO {
                0
            } else {
                (param as i64).min(input.len() as i64)
            };
            let r = param.clamp(-1.0, 1.0);
            if (op != T_LIMIT_RATIO && k < 1) || (op == T_LIMIT_RATIO && param == 0.0) {
                continue;
            }
            let k = usize::try_from(k).unwrap_or(0);
            for h in &mut heaps {
                h.clear();
            }
            seen.iter_mut().for_each(|s| *s = false);
            for &(si, f) in &current {
                let gi = series_group[si];
                let heap = &mut heaps[gi];
                seen[gi] = true;
                match op {
                    T_TOPK => {
                        let less = |a: &(usize, f64), b: &(usize, f64)| a.1.is_nan() || a.1 < b.1;
                        if heap.len() < k {
                            heap_push(heap, (si, f), less);
                        } else if heap[0].1 < f || (heap[0].1.is_nan() && !f.is_nan()) {
                            heap[0] = (si, f);
                            if k > 1 {
                                heap_down(heap, 0, less);
                            }
                        }
                    }
                    T_BOTTOMK => {
                        let less = |a: &(usize, f64), b: &(usize, f64)| a.1.is_nan() || a.1 > b.1;
                        if heap.len() < k {
                            heap_push(heap, (si, f), less);
                        } else if heap[0].1 > f || (heap[0].1.is_nan() && !f.is_nan()) {
                            heap[0] = (si, f);
                            if k > 1 {
                                heap_down(heap, 0, less);
                            }
                        }
                    }
                    T_LIMITK => {
                        if heap.len() < k {
                            heap.push((si, f));
                        }
                    }
                    _ => {
                        let offset = offsets[si];
                        if (r >= 0.0 && offset < r) || (r < 0.0 && offset >= 1.0 + r) {
                            heap.push((si, f));
                        }
                    }
                }
            }
            for (gi, heap) in heaps.iter_mut().enumerate() {
                if !seen[gi] {
                    continue;
                }
                match op {
                    // Largest first, NaN last (Go: sort.Sort(sort.Reverse(heap))).
                    T_TOPK => heap.sort_by(|a, b| {
                        let a_less_b = a.1.is_nan() || a.1 < b.1;
                        let b_less_a = b.1.is_nan() || b.1 < a.1;
                        match (b_less_a, a_less_b) {
                            (true, false) => std::cmp::Ordering::Less,
                            (false, true) => std::cmp::Ordering::Greater,
                            _ => std::cmp::Ordering::Equal,
                        }
                    }),
                    T_BOTTOMK => heap.sort_by(|a, b| {
                        let a_less_b = a.1.is_nan() || a.1 > b.1;
                        let b_less_a = b.1.is_nan() || b.1 > a.1;
                        match (b_less_a, a_less_b) {
                            (true, false) => std::cmp::Ordering::Less,
                            (false, true) => std::cmp::Ordering::Greater,
                            _ => std::cmp::Ordering::Equal,
                        }
                    }),
                    _ => {}
                }
                for &(si, f) in heap.iter() {
                    let idx = *out_index[si].get_or_insert_with(|| {
                        out.series_for(&input[si].labels, input[si].drop_name)
                    });
                    out.push(idx, ts, f)?;
                }
            }
        }
        let out = out.finish();
        self.ctx
            .add_samples(out.iter().map(|s| s.points.len()).sum())?;
        Ok(Val::Vector(out))
    }

    fn count_values(&self, a: &AggregateExpr, grouping: &Grouping) -> Result<Val> {
        let label = match a.param.as_deref() {
            Some(Expr::StringLiteral(s)) => s.val.clone(),
            _ => return Err(exec("count_values needs a string parameter")),
        };
        if !valid_label_name(&label) || self.ctx.invalid_utf8_escape(&label) {
            return Err(exec(format!(
                "invalid label name {}",
                go_quote_label(&label)
            )));
        }
        let mut names = grouping.names.clone();
        if !grouping.without {
            names.push(label.clone());
        }
        let grouping = Grouping {
            without: grouping.without,
            names,
        };
        let input = self.eval_vector(&a.expr)?;
        let mut cursors = Cursors::new(input.len());
        let mut out = OutBuilder::default();
        for step in 0..self.steps() {
            self.ctx.check_deadline()?;
            let ts = self.ts(step);
            let mut counts: Vec<(Labels, f64)> = Vec::new();
            let mut index: HashMap<Labels, usize> = HashMap::new();
            for si in 0..input.len() {
                let Some(f) = cursors.at(&input, si, ts) else {
                    continue;
                };
                let mut b = input[si].labels.to_builder();
                b.set(&label, &format_go_float(f));
                let key = grouping.labels(&b.build());
                match index.get(&key) {
                    Some(&i) => counts[i].1 += 1.0,
                    None => {
                        index.insert(key.clone(), counts.len());
                        counts.push((key, 1.0));
                    }
                }
            }
            for (labels, n) in counts {
                let i = out.series_for(&labels, false);
                out.push(i, ts, n)?;
            }
        }
        Ok(Val::Vector(out.finish()))
    }
}

/// Prometheus's `labels.Hash()`: xxhash64 over `name 0xff value 0xff ...`.
pub(crate) fn prometheus_hash(labels: &Labels) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    for l in labels.iter() {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

/// Go's `%q` of a label name for error messages (invalid UTF-8 shows as `\x..`).
fn go_quote_label(s: &str) -> String {
    tocsin_model::go_quote(s)
}

/// Go's `container/heap` push with a `less` order (min-heap).
fn heap_push<T: Copy>(heap: &mut Vec<T>, item: T, less: impl Fn(&T, &T) -> bool) {
    heap.push(item);
    let mut j = heap.len() - 1;
    while j > 0 {
        let i = (j - 1) / 2;
        if i == j || !less(&heap[j], &heap[i]) {
            break;
        }
        heap.swap(i, j);
        j = i;
    }
}

/// Go's `container/heap` down (used by `heap.Fix(h, 0)` after replacing the root).
fn heap_down<T: Copy>(heap: &mut [T], i0: usize, less: impl Fn(&T, &T) -> bool) {
    let n = heap.len();
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && less(&heap[j2], &heap[j1]) {
            j = j2;
        }
        if !less(&heap[j], &heap[i]) {
            break;
        }
        heap.swap(i, j);
        i = j;
    }
}
