//! Binary operators: arithmetic, comparison (with and without `bool`), and set operators,
//! with `on`/`ignoring`, `group_left`/`group_right` and fill values.

use std::collections::HashMap;

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use tocsin_model::Labels;

use super::{
    Cursors, Evaluator, NAME, OutBuilder, SSeries, T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR,
    T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD, T_MUL, T_NEQ, T_POW, T_SUB, Val,
    merge_same_labelset,
};
use crate::error::{Result, exec};
use crate::value::Point;

/// Arithmetic operators change what the value means, so the metric name goes.
fn changes_metric_schema(op: u16) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD | T_ATAN2)
}

fn is_comparison(op: u16) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Go's `math.Mod`/`math.Pow` and Rust's agree (both are C's fmod/pow).
pub(crate) fn scalar_binop(op: u16, l: f64, r: f64) -> f64 {
    match op {
        T_ADD => l + r,
        T_SUB => l - r,
        T_MUL => l * r,
        T_DIV => l / r,
        T_POW => l.powf(r),
        T_MOD => l % r,
        T_EQLC => btos(l == r),
        T_NEQ => btos(l != r),
        T_GTR => btos(l > r),
        T_LSS => btos(l < r),
        T_GTE => btos(l >= r),
        T_LTE => btos(l <= r),
        T_ATAN2 => l.atan2(r),
        _ => f64::NAN,
    }
}

fn btos(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// (value, keep) of one element pair.
fn elem_binop(op: u16, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (scalar_binop(op, l, r), true),
    }
}

/// How two vectors are matched.
struct Matching {
    card: Card,
    on: bool,
    names: Vec<String>,
    include: Vec<String>,
    fill_lhs: Option<f64>,
    fill_rhs: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

impl Matching {
    fn of(b: &BinaryExpr, set_op: bool) -> Self {
        let mut m = Self {
            card: if set_op {
                Card::ManyToMany
            } else {
                Card::OneToOne
            },
            on: false,
            names: Vec::new(),
            include: Vec::new(),
            fill_lhs: None,
            fill_rhs: None,
        };
        if let Some(modifier) = &b.modifier {
            match &modifier.card {
                VectorMatchCardinality::OneToOne => {}
                VectorMatchCardinality::ManyToOne(l) => {
                    m.card = Card::ManyToOne;
                    m.include = l.labels.clone();
                }
                VectorMatchCardinality::OneToMany(l) => {
                    m.card = Card::OneToMany;
                    m.include = l.labels.clone();
                }
                VectorMatchCardinality::ManyToMany => m.card = Card::ManyToMany,
            }
            if set_op {
                m.card = Card::ManyToMany;
            }
            match &modifier.matching {
                Some(LabelModifier::Include(l)) => {
                    m.on = true;
                    m.names = l.labels.clone();
                }
                Some(LabelModifier::Exclude(l)) => m.names = l.labels.clone(),
                None => {}
            }
            m.fill_lhs = modifier.fill_values.lhs;
            m.fill_rhs = modifier.fill_values.rhs;
        }
        m
    }

    /// The labels that decide matching (`MatchLabels` in Prometheus).
    fn match_labels(&self, labels: &Labels) -> Labels {
        if self.on {
            labels.keep(&self.names)
        } else {
            let mut drop = self.names.clone();
            drop.push(NAME.to_owned());
            labels.drop_names(&drop)
        }
    }
}

/// Signature ordinals for both sides, shared so equal signatures get the same ordinal.
fn signatures(m: &Matching, lhs: &[SSeries], rhs: &[SSeries]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut ords: HashMap<Labels, usize> = HashMap::new();
    let mut sig = |s: &SSeries| {
        let key = m.match_labels(&s.labels);
        let n = ords.len();
        *ords.entry(key).or_insert(n)
    };
    let l: Vec<usize> = lhs.iter().map(&mut sig).collect();
    let r: Vec<usize> = rhs.iter().map(&mut sig).collect();
    (l, r, ords.len())
}

impl Evaluator<'_, '_> {
    pub(crate) fn eval_binary(&self, b: &BinaryExpr) -> Result<Val> {
        let op = b.op.id();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(a, b)| scalar_binop(op, *a, *b))
                    .collect(),
            )),
            (Val::Vector(l), Val::Scalar(r)) => self
                .vector_scalar(op, l, &r, false, return_bool)
                .map(Val::Vector),
            (Val::Scalar(l), Val::Vector(r)) => self
                .vector_scalar(op, r, &l, true, return_bool)
                .map(Val::Vector),
            (Val::Vector(l), Val::Vector(r)) => {
                let set_op = matches!(op, T_LAND | T_LOR | T_LUNLESS);
                let m = Matching::of(b, set_op);
                if set_op {
                    self.set_op(op, &m, l, r).map(Val::Vector)
                } else {
                    self.vector_binop(op, &m, return_bool, l, r)
                        .map(Val::Vector)
                }
            }
            _ => Err(exec(
                "binary expressions are only allowed between scalars and instant vectors",
            )),
        }
    }

    fn vector_scalar(
        &self,
        op: u16,
        series: Vec<SSeries>,
        scalar: &[f64],
        swap: bool,
        return_bool: bool,
    ) -> Result<Vec<SSeries>> {
        let drops = changes_metric_schema(op) || return_bool;
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            self.ctx.check_deadline()?;
            let mut points = Vec::with_capacity(s.points.len());
            for p in &s.points {
                let sv = scalar[self.step_of(p.t)];
                let (l, r) = if swap { (sv, p.v) } else { (p.v, sv) };
                let (mut v, mut keep) = elem_binop(op, l, r);
                if is_comparison(op) && swap {
                    v = p.v;
                }
                if return_bool {
                    v = btos(keep);
                    keep = true;
                }
                if keep {
                    points.push(Point { t: p.t, v });
                }
            }
            if points.is_empty() {
                continue;
            }
            let (labels, drop_name) = if drops {
                self.drop_name(&s.labels)
            } else {
                (s.labels, s.drop_name)
            };
            out.push(SSeries {
                labels,
                points,
                drop_name: drop_name || s.drop_name,
            });
        }
        if drops && !self.ctx.delayed_name_removal {
            out = merge_same_labelset(out)?;
        }
        Ok(out)
    }

    fn set_op(
        &self,
        op: u16,
        m: &Matching,
        lhs: Vec<SSeries>,
        rhs: Vec<SSeries>,
    ) -> Result<Vec<SSeries>> {
        let (lsig, rsig, nsigs) = signatures(m, &lhs, &rhs);
        let mut out = OutBuilder::default();
        let mut lout: Vec<Option<usize>> = vec![None; lhs.len()];
        let mut rout: Vec<Option<usize>> = vec![None; rhs.len()];
        let mut lc = Cursors::new(lhs.len());
        let mut rc = Cursors::new(rhs.len());
        let mut present = vec![false; nsigs];
        let mut lvec = Vec::new();
        let mut rvec = Vec::new();
        for step in 0..self.steps() {
            self.ctx.check_deadline()?;
            let ts = self.ts(step);
            lvec.clear();
            rvec.clear();
            for i in 0..lhs.len() {
                if let Some(v) = lc.at(&lhs, i, ts) {
                    lvec.push((i, v));
                }
            }
            for j in 0..rhs.len() {
                if let Some(v) = rc.at(&rhs, j, ts) {
                    rvec.push((j, v));
                }
            }
            present.iter_mut().for_each(|p| *p = false);
            let mut emit_l = |i: usize, v: f64, out: &mut OutBuilder| -> Result<()> {
                let idx = *lout[i]
                    .get_or_insert_with(|| out.series_for(&lhs[i].labels, lhs[i].drop_name));
                out.push(idx, ts, v)
            };
            match op {
                T_LAND => {
                    if lvec.is_empty() || rvec.is_empty() {
                        continue;
                    }
                    for &(j, _) in &rvec {
                        present[rsig[j]] = true;
                    }
                    for &(i, v) in &lvec {
                        if present[lsig[i]] {
                            emit_l(i, v, &mut out)?;
                        }
                    }
                }
                T_LUNLESS => {
                    for &(j, _) in &rvec {
                        present[rsig[j]] = true;
                    }
                    for &(i, v) in &lvec {
                        if !present[lsig[i]] {
                            emit_l(i, v, &mut out)?;
                        }
                    }
                }
                _ => {
                    for &(i, v) in &lvec {
                        present[lsig[i]] = true;
                        emit_l(i, v, &mut out)?;
                    }
                    for &(j, v) in &rvec {
                        if !present[rsig[j]] {
                            let idx = *rout[j].get_or_insert_with(|| {
                                out.series_for(&rhs[j].labels, rhs[j].drop_name)
                            });
                            out.push(idx, ts, v)?;
                        }
                    }
                }
            }
        }
        Ok(out.finish())
    }

    #[allow(clippy::too_many_lines)]
    fn vector_binop(
        &self,
        op: u16,
        m: &Matching,
        return_bool: bool,
        lhs_in: Vec<SSeries>,
        rhs_in: Vec<SSeries>,
    ) -> Result<Vec<SSeries>> {
        let (lsig_in, rsig_in, nsigs) = signatures(m, &lhs_in, &rhs_in);
        // One-to-many: swap sides so the right is always the "one" side.
        let swapped = m.card == Card::OneToMany;
        let (lhs, rhs, lsig, rsig) = if swapped {
            (&rhs_in, &lhs_in, &rsig_in, &lsig_in)
        } else {
            (&lhs_in, &rhs_in, &lsig_in, &rsig_in)
        };
        let drop_metric_name = !self.ctx.delayed_name_removal && return_bool;
        let mut out = OutBuilder::default();
        // Output series per (lhs index or fill, rhs index or fill).
        let mut result_cache: HashMap<(usize, usize), (usize, Labels)> = HashMap::new();
        let mut lc = Cursors::new(lhs.len());
        let mut rc = Cursors::new(rhs.len());
        let mut right: Vec<Option<(usize, f64)>> = vec![None; nsigs];
        let mut matched_one: Vec<bool> = vec![false; nsigs];
        let mut matched_many: Vec<Vec<Labels>> = vec![Vec::new(); nsigs];
        let mut lvec = Vec::new();
        let mut rvec = Vec::new();
        const FILL: usize = usize::MAX;
        for step in 0..self.steps() {
            self.ctx.check_deadline()?;
            let ts = self.ts(step);
            lvec.clear();
            rvec.clear();
            for i in 0..lhs.len() {
                if let Some(v) = lc.at(lhs, i, ts) {
                    lvec.push((i, v));
                }
            }
            for j in 0..rhs.len() {
                if let Some(v) = rc.at(rhs, j, ts) {
                    rvec.push((j, v));
                }
            }
            if (lvec.is_empty() && rvec.is_empty())
                || ((lvec.is_empty() || rvec.is_empty())
                    && m.fill_lhs.is_none()
                    && m.fill_rhs.is_none())
            {
                continue;
            }
            right.iter_mut().for_each(|r| *r = None);
            for &(j, v) in &rvec {
                let sig = rsig[j];
                if let Some((dup, _)) = right[sig] {
                    let one_side = if swapped { "left" } else { "right" };
                    let matched = m.match_labels(&rhs[j].labels);
                    let mut d1 = rhs[j].labels.to_string();
                    let mut d2 = rhs[dup].labels.to_string();
                    if d1 > d2 {
                        std::mem::swap(&mut d1, &mut d2);
                    }
                    return Err(exec(format!(
                        "found duplicate series for the match group {matched} on the {one_side} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side"
                    )));
                }
                right[sig] = Some((j, v));
            }
            if m.card == Card::OneToOne {
                matched_one.iter_mut().for_each(|x| *x = false);
            } else {
                matched_many.iter_mut().for_each(Vec::clear);
            }

            let mut do_op = |li: usize,
                             lv: f64,
                             rj: usize,
                             rv: f64,
                             sig: usize,
                             out: &mut OutBuilder,
                             matched_one: &mut Vec<bool>,
                             matched_many: &mut Vec<Vec<Labels>>|
             -> Result<()> {
                let (fl, fr) = if swapped { (rv, lv) } else { (lv, rv) };
                let (mut v, keep) = elem_binop(op, fl, fr);
                if return_bool {
                    v = btos(keep);
                }
                let key = (li, rj);
                let (idx, metric) = &*result_cache.entry(key).or_insert_with(|| {
                    let llabels = if li == FILL {
                        m.match_labels(&rhs[rj].labels)
                    } else {
                        lhs[li].labels.clone()
                    };
                    let rlabels = if rj == FILL {
                        m.match_labels(&lhs[li].labels)
                    } else {
                        rhs[rj].labels.clone()
                    };
                    let metric = result_metric(&llabels, &rlabels, op, m, drop_metric_name);
                    let idx = out.series_for(&metric, return_bool);
                    (idx, metric)
                });
                if m.card == Card::OneToOne {
                    if matched_one[sig] {
                        return Err(exec(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                        ));
                    }
                    matched_one[sig] = true;
                } else {
                    if matched_many[sig].contains(metric) {
                        return Err(exec(
                            "multiple matches for labels: grouping labels must ensure unique matches",
                        ));
                    }
                    matched_many[sig].push(metric.clone());
                }
                if !keep && !return_bool {
                    return Ok(());
                }
                out.push(*idx, ts, v)
            };

            for &(i, lv) in &lvec {
                let sig = lsig[i];
                match right[sig] {
                    Some((j, rv)) => do_op(
                        i,
                        lv,
                        j,
                        rv,
                        sig,
                        &mut out,
                        &mut matched_one,
                        &mut matched_many,
                    )?,
                    None => {
                        if let Some(fill) = if swapped { m.fill_lhs } else { m.fill_rhs } {
                            do_op(
                                i,
                                lv,
                                FILL,
                                fill,
                                sig,
                                &mut out,
                                &mut matched_one,
                                &mut matched_many,
                            )?;
                        }
                    }
                }
            }
            if let Some(fill) = if swapped { m.fill_rhs } else { m.fill_lhs } {
                for &(j, rv) in &rvec {
                    let sig = rsig[j];
                    let already = if m.card == Card::OneToOne {
                        matched_one[sig]
                    } else {
                        !matched_many[sig].is_empty()
                    };
                    if !already {
                        do_op(
                            FILL,
                            fill,
                            j,
                            rv,
                            sig,
                            &mut out,
                            &mut matched_one,
                            &mut matched_many,
                        )?;
                    }
                }
            }
        }
        Ok(out.finish())
    }
}

/// The labels of a binary operation's result (Prometheus's `resultMetric`).
fn result_metric(lhs: &Labels, rhs: &Labels, op: u16, m: &Matching, drop_name: bool) -> Labels {
    let mut b = lhs.to_builder();
    if drop_name || changes_metric_schema(op) {
        b.del(NAME);
    }
    if m.card == Card::OneToOne {
        if m.on {
            let keep = lhs.keep(&m.names);
            let mut kb = keep.to_builder();
            if (drop_name || changes_metric_schema(op)) && m.names.iter().any(|n| n == NAME) {
                kb.del(NAME);
            }
            return kb.build();
        }
        for n in &m.names {
            b.del(n);
        }
    }
    for n in &m.include {
        match rhs.get(n) {
            Some(v) => {
                b.set(n, v);
            }
            None => {
                b.del(n);
            }
        }
    }
    b.build()
}
