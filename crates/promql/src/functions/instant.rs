//! Element-wise functions over instant vectors: math, trigonometry, clamping, time parts.

use super::math::{go_max, go_min};

/// Whether `name` is an element-wise function of one vector (plus scalar arguments).
pub(crate) fn is_elementwise(name: &str) -> bool {
    matches!(
        name,
        "abs"
            | "ceil"
            | "floor"
            | "exp"
            | "sqrt"
            | "ln"
            | "log2"
            | "log10"
            | "sgn"
            | "round"
            | "clamp"
            | "clamp_min"
            | "clamp_max"
            | "sin"
            | "cos"
            | "tan"
            | "asin"
            | "acos"
            | "atan"
            | "sinh"
            | "cosh"
            | "tanh"
            | "asinh"
            | "acosh"
            | "atanh"
            | "deg"
            | "rad"
    ) || is_date_function(name)
}

/// Whether `name` takes a time in seconds (default `time()`) and returns a part of the date.
pub(crate) fn is_date_function(name: &str) -> bool {
    matches!(
        name,
        "day_of_month"
            | "day_of_week"
            | "day_of_year"
            | "days_in_month"
            | "hour"
            | "minute"
            | "month"
            | "year"
    )
}

/// Applies `name` to `v` with scalar arguments `args` (already taken at this step).
/// `None` drops the element (clamp with max < min).
pub(crate) fn apply(name: &str, v: f64, args: &[f64]) -> Option<f64> {
    let r = match name {
        "abs" => v.abs(),
        "ceil" => v.ceil(),
        "floor" => v.floor(),
        "exp" => v.exp(),
        "sqrt" => v.sqrt(),
        "ln" => v.ln(),
        "log2" => v.log2(),
        "log10" => v.log10(),
        "sgn" => {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        }
        "round" => {
            let to_nearest = args.first().copied().unwrap_or(1.0);
            let inverse = 1.0 / to_nearest;
            (v * inverse + 0.5).floor() / inverse
        }
        "clamp" => {
            let (lo, hi) = (args[0], args[1]);
            if hi < lo {
                return None;
            }
            go_max(lo, go_min(hi, v))
        }
        "clamp_min" => go_max(args[0], go_min(f64::INFINITY, v)),
        "clamp_max" => go_max(f64::NEG_INFINITY, go_min(args[0], v)),
        "sin" => v.sin(),
        "cos" => v.cos(),
        "tan" => v.tan(),
        "asin" => v.asin(),
        "acos" => v.acos(),
        "atan" => v.atan(),
        "sinh" => v.sinh(),
        "cosh" => v.cosh(),
        "tanh" => v.tanh(),
        "asinh" => v.asinh(),
        "acosh" => v.acosh(),
        "atanh" => v.atanh(),
        "deg" => v * 180.0 / std::f64::consts::PI,
        "rad" => v * std::f64::consts::PI / 180.0,
        other => date_part(other, go_float_to_int(v)),
    };
    Some(r)
}

/// Go's `int64(f)` on amd64: truncation, and the minimum for NaN and out-of-range values.
fn go_float_to_int(v: f64) -> i64 {
    if v.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// A part of the UTC date of `secs` (Go's `time.Unix(secs, 0).UTC()`).
pub(crate) fn date_part(name: &str, secs: i64) -> f64 {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match name {
        "day_of_month" => d as f64,
        "day_of_week" => ((days.rem_euclid(7) + 4) % 7) as f64,
        "day_of_year" => {
            let start = days_from_civil(y, 1, 1);
            (days - start + 1) as f64
        }
        "days_in_month" => {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as f64
        }
        "hour" => (rem / 3600) as f64,
        "minute" => (rem % 3600 / 60) as f64,
        "month" => m as f64,
        "year" => y as f64,
        _ => f64::NAN,
    }
}

/// Howard Hinnant's `civil_from_days` (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_go() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300;
        assert_eq!(date_part("year", t), 2024.0);
        assert_eq!(date_part("month", t), 2.0);
        assert_eq!(date_part("day_of_month", t), 29.0);
        assert_eq!(date_part("days_in_month", t), 29.0);
        assert_eq!(date_part("day_of_week", t), 4.0);
        assert_eq!(date_part("day_of_year", t), 60.0);
        assert_eq!(date_part("hour", t), 13.0);
        assert_eq!(date_part("minute", t), 45.0);
        assert_eq!(date_part("day_of_week", 0), 4.0);
        assert_eq!(date_part("year", -1), 1969.0);
    }
}
