//! Classic (bucket-series) histograms: `histogram_quantile` and `histogram_fraction`
//! (Prometheus's `BucketQuantile` and `BucketFraction`). Native histograms are not stored yet.

use super::math::almost_equal;

/// One `le` bucket: upper bound and cumulative count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub(crate) upper: f64,
    pub(crate) count: f64,
}

const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

fn sort_and_coalesce(buckets: &mut Vec<Bucket>) {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.drain(..) {
        match out.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => out.push(b),
        }
    }
    *buckets = out;
}

/// What monotonicity fixing did (for the info annotation).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Forced {
    pub(crate) forced: bool,
    pub(crate) min_bucket: f64,
    pub(crate) max_bucket: f64,
    pub(crate) max_diff: f64,
}

fn ensure_monotonic(buckets: &mut [Bucket]) -> Forced {
    let mut f = Forced {
        forced: false,
        min_bucket: f64::INFINITY,
        max_bucket: f64::NEG_INFINITY,
        max_diff: 0.0,
    };
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            f.forced = true;
            f.min_bucket = f.min_bucket.min(b.upper);
            f.max_bucket = f.max_bucket.max(b.upper);
            f.max_diff = f.max_diff.max(prev - curr);
            continue;
        }
        prev = curr;
    }
    f
}

/// The `q` quantile of classic buckets.
pub(crate) fn bucket_quantile(q: f64, mut buckets: Vec<Bucket>) -> (f64, Forced) {
    if q.is_nan() {
        return (f64::NAN, Forced::default());
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, Forced::default());
    }
    if q > 1.0 {
        return (f64::INFINITY, Forced::default());
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return (f64::NAN, Forced::default());
    }
    sort_and_coalesce(&mut buckets);
    let forced = ensure_monotonic(&mut buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let n = buckets.len() - 1;
    let b = buckets[..n].partition_point(|b| b.count < rank);
    let v = if b == n {
        buckets[n - 1].upper
    } else if b == 0 && buckets[0].upper <= 0.0 {
        buckets[0].upper
    } else {
        let mut start = 0.0;
        let end = buckets[b].upper;
        let mut count = buckets[b].count;
        if b > 0 {
            start = buckets[b - 1].upper;
            count -= buckets[b - 1].count;
            rank -= buckets[b - 1].count;
        }
        start + (end - start) * (rank / count)
    };
    (v, forced)
}

/// The fraction of observations between `lower` and `upper`.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, mut buckets: Vec<Bucket>) -> f64 {
    sort_and_coalesce(&mut buckets);
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return f64::NAN;
    }
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].upper;
        }
        let upper_bound = b.upper;
        let interpolate = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                b.count
            } else {
                rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

/// Go's `strconv.ParseFloat` for `le` values (accepts `+Inf`, `Inf`, `NaN`, hex floats are
/// rare enough in `le` to be refused).
pub(crate) fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" | "infinity" | "+Infinity" | "Infinity" => {
            Some(f64::INFINITY)
        }
        "-Inf" | "-inf" | "-Infinity" | "-infinity" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => {
            let t = s.trim_start_matches(['+', '-']);
            if t.is_empty() || !t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                return None;
            }
            s.replace('_', "")
                .parse()
                .ok()
                .filter(|_| !s.contains("__"))
        }
    }
}
