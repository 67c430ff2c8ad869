//! Functions over range vectors (`rate`, `*_over_time`, ...), one window at a time.

use super::math::{kahan_inc, linear_regression, quantile};
use crate::error::{Result, exec};
use crate::value::Point;

/// The window a range function sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Exclusive start (`end - range`).
    pub(crate) start: i64,
    /// Inclusive end.
    pub(crate) end: i64,
    /// The range in seconds.
    pub(crate) range_secs: f64,
    /// The evaluation step's timestamp.
    pub(crate) ts: i64,
}

/// Whether `name` is a function over a range vector this module evaluates.
pub(crate) fn is_range_function(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "deriv"
            | "predict_linear"
            | "double_exponential_smoothing"
            | "holt_winters"
            | "changes"
            | "resets"
            | "avg_over_time"
            | "sum_over_time"
            | "count_over_time"
            | "min_over_time"
            | "max_over_time"
            | "stddev_over_time"
            | "stdvar_over_time"
            | "quantile_over_time"
            | "last_over_time"
            | "first_over_time"
            | "present_over_time"
            | "absent_over_time"
            | "mad_over_time"
            | "ts_of_min_over_time"
            | "ts_of_max_over_time"
            | "ts_of_first_over_time"
            | "ts_of_last_over_time"
    )
}

/// Evaluates `name` over `points` (never empty); `args` are the scalar arguments in order.
pub(crate) fn eval(name: &str, points: &[Point], w: Window, args: &[f64]) -> Result<Option<f64>> {
    let v = match name {
        "rate" => return Ok(extrapolated_rate(points, w, true, true)),
        "increase" => return Ok(extrapolated_rate(points, w, true, false)),
        "delta" => return Ok(extrapolated_rate(points, w, false, false)),
        "irate" => return Ok(instant_value(points, true)),
        "idelta" => return Ok(instant_value(points, false)),
        "deriv" => {
            if points.len() < 2 {
                return Ok(None);
            }
            linear_regression(points, points[0].t).0
        }
        "predict_linear" => {
            if points.len() < 2 {
                return Ok(None);
            }
            let (slope, intercept) = linear_regression(points, w.ts);
            slope * args[0] + intercept
        }
        "double_exponential_smoothing" | "holt_winters" => {
            return double_exponential_smoothing(points, args[0], args[1]);
        }
        "changes" => {
            let mut n = 0.0;
            for pair in points.windows(2) {
                let (prev, cur) = (pair[0].v, pair[1].v);
                if cur != prev && !(cur.is_nan() && prev.is_nan()) {
                    n += 1.0;
                }
            }
            n
        }
        "resets" => points
            .windows(2)
            .filter(|pair| pair[1].v < pair[0].v)
            .count() as f64,
        "avg_over_time" => avg_over_time(points),
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for p in points {
                (sum, c) = kahan_inc(p.v, sum, c);
            }
            if sum.is_infinite() { sum } else { sum + c }
        }
        "count_over_time" => points.len() as f64,
        "min_over_time" => compare(points, |cur, m| cur < m || m.is_nan()).0,
        "max_over_time" => compare(points, |cur, m| cur > m || m.is_nan()).0,
        "ts_of_min_over_time" => compare(points, |cur, m| cur <= m || m.is_nan()).1,
        "ts_of_max_over_time" => compare(points, |cur, m| cur >= m || m.is_nan()).1,
        "ts_of_first_over_time" => points[0].t as f64 / 1000.0,
        "ts_of_last_over_time" => points[points.len() - 1].t as f64 / 1000.0,
        "stddev_over_time" => variance(points).sqrt(),
        "stdvar_over_time" => variance(points),
        "quantile_over_time" => {
            let mut values: Vec<f64> = points.iter().map(|p| p.v).collect();
            quantile(args[0], &mut values)
        }
        "mad_over_time" => {
            if points.iter().any(|p| p.v.is_nan()) {
                f64::NAN
            } else {
                let mut values: Vec<f64> = points.iter().map(|p| p.v).collect();
                let median = quantile(0.5, &mut values);
                values.iter_mut().for_each(|v| *v = (*v - median).abs());
                quantile(0.5, &mut values)
            }
        }
        "last_over_time" => points[points.len() - 1].v,
        "first_over_time" => points[0].v,
        "present_over_time" | "absent_over_time" => 1.0,
        other => return Err(exec(format!("unknown range function {other}"))),
    };
    Ok(Some(v))
}

fn compare(points: &[Point], better: impl Fn(f64, f64) -> bool) -> (f64, f64) {
    let mut best = points[0].v;
    let mut t = points[0].t;
    for p in points {
        if better(p.v, best) {
            best = p.v;
            t = p.t;
        }
    }
    (best, t as f64 / 1000.0)
}

fn variance(points: &[Point]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

fn avg_over_time(points: &[Point]) -> f64 {
    let mut sum = points[0].v;
    let mut count = 1.0;
    let (mut mean, mut kahan_c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, p) in points[1..].iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_inc(p.v, sum, kahan_c);
            if !new_sum.is_infinite() {
                sum = new_sum;
                kahan_c = new_c;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            kahan_c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, kahan_c) = kahan_inc(p.v / count, q * mean, q * kahan_c);
    }
    if incremental {
        mean + kahan_c
    } else {
        sum / count + kahan_c / count
    }
}

/// `rate`, `increase` and `delta` (Prometheus's `extrapolatedRate`).
fn extrapolated_rate(points: &[Point], w: Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n1 = points.len() - 1;
    let first_t = points[0].t;
    let last_t = points[n1].t;
    let mut result = points[n1].v - points[0].v;
    if is_counter {
        let mut prev = points[0].v;
        for p in &points[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut duration_to_start = (first_t - w.start) as f64 / 1000.0;
    let mut duration_to_end = (w.end - last_t) as f64 / 1000.0;
    let sampled_interval = (last_t - first_t) as f64 / 1000.0;
    let average_between = sampled_interval / n1 as f64;
    let threshold = average_between * 1.1;
    let mut extrapolate_to = sampled_interval;
    if duration_to_start >= threshold {
        duration_to_start = average_between / 2.0;
    }
    if is_counter {
        let mut duration_to_zero = duration_to_start;
        if result > 0.0 && points[0].v >= 0.0 {
            duration_to_zero = sampled_interval * (points[0].v / result);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    extrapolate_to += duration_to_start;
    if duration_to_end >= threshold {
        duration_to_end = average_between / 2.0;
    }
    extrapolate_to += duration_to_end;
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= w.range_secs;
    }
    Some(result * factor)
}

/// `irate` and `idelta`.
fn instant_value(points: &[Point], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let last = points[points.len() - 1];
    let prev = points[points.len() - 2];
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

fn double_exponential_smoothing(points: &[Point], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(exec(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(exec(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    if points.len() < 2 {
        return Ok(None);
    }
    let mut s0 = 0.0;
    let mut s1 = points[0].v;
    let mut b = points[1].v - points[0].v;
    for (i, p) in points.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}
