//! Query results: Prometheus's four value types.

use tocsin_model::{Labels, Timestamp};

/// One float point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Milliseconds.
    pub t: Timestamp,
    /// Value.
    pub v: f64,
}

/// A labelled series with its points in time order (a range-vector element, or one series
/// of a range query's result).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels.
    pub labels: Labels,
    /// Points in time order.
    pub points: Vec<Point>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// Labels.
    pub labels: Labels,
    /// Evaluation time.
    pub t: Timestamp,
    /// Value.
    pub v: f64,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number at a time.
    Scalar(Point),
    /// A string at a time.
    String(Timestamp, String),
    /// An instant vector.
    Vector(Vec<VectorSample>),
    /// A range vector, or a range query's result.
    Matrix(Vec<Series>),
}

impl Value {
    /// Prometheus's `resultType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Scalar(_) => "scalar",
            Self::String(..) => "string",
            Self::Vector(_) => "vector",
            Self::Matrix(_) => "matrix",
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` does (shortest digits that
/// round-trip, never an exponent; ties to even as Go), with `+Inf`, `-Inf`, `NaN`: Prometheus's
/// layout for scalars, and a valid PromQL literal.
pub fn format_float(v: f64) -> String {
    let mut out = String::with_capacity(24);
    write_float_layout(&mut out, v, false);
    out
}

/// [`format_float`] appended to `out` without allocating (a scalar's value in the API).
pub fn write_float_fixed(out: &mut String, v: f64) {
    write_float_layout(out, v, false);
}

/// A sample value as Prometheus's API writes vector and matrix points (`jsonutil.MarshalFloat`,
/// 2.42 and 3.x alike): like [`format_float`], but Go's `'e'` form (`1e+21`, `1e-07`) when
/// `|v| < 1e-6` or `|v| >= 1e21`. Appended without allocating: the query API writes one per
/// point.
pub fn write_float(out: &mut String, v: f64) {
    write_float_layout(out, v, true);
}

fn write_float_layout(out: &mut String, v: f64, exponent_for_extremes: bool) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Whole numbers (most counters and gauges) print as integers; below 1e15 every one is
    // exact in an i64.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(v as i64));
        return;
    }
    // ryu finds the shortest round-tripping digits (as Go does); its layout differs from Go's,
    // so only its digits and decimal exponent are kept.
    let mut ryu_buf = ryu::Buffer::new();
    let text = ryu_buf.format_finite(v);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // Digits d1 d2 ... with the value 0.d1d2... x 10^point.
    let mut digits = [0u8; 40];
    let mut len = 0;
    let mut point = int_part.len() as i32 + exponent;
    for &b in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
        if len == 0 && b == b'0' {
            point -= 1;
            continue;
        }
        if len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    let digits = &digits[..len];
    let push = |out: &mut String, bytes: &[u8]| {
        // Only ASCII digits were copied into `digits`.
        out.extend(bytes.iter().map(|&b| b as char));
    };
    if negative {
        out.push('-');
    }
    let abs = v.abs();
    if exponent_for_extremes && !(1e-6..1e21).contains(&abs) {
        push(out, &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            push(out, &digits[1..]);
        }
        let exp = point - 1;
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        if exp.abs() < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(exp.abs()));
    } else if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        push(out, digits);
    } else if point as usize >= digits.len() {
        push(out, digits);
        for _ in digits.len()..point as usize {
            out.push('0');
        }
    } else {
        push(out, &digits[..point as usize]);
        out.push('.');
        push(out, &digits[point as usize..]);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{format_float, write_float};

    fn sample_value(v: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, v);
        out
    }

    /// The model: Rust's shortest round-trip digits in Go's `'f'` layout, or its `'e'` layout
    /// when `exponent` and the value is extreme. Rust breaks exact ties between two shortest
    /// candidates upwards where Go (and ryu) round to even, so the comparison below accepts
    /// either digit string when both have the same length and round-trip.
    fn go_model(v: f64, exponent: bool) -> String {
        if v.is_nan() {
            return "NaN".to_owned();
        }
        if v.is_infinite() {
            return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
        }
        let abs = v.abs();
        if exponent && abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let s = format!("{v:e}");
            let (mantissa, exp) = s.split_once('e').expect("LowerExp has an exponent");
            let exp: i32 = exp.parse().expect("integer exponent");
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{:02}", exp.abs());
        }
        format!("{v}")
    }

    fn same_shortest(got: &str, want: &str, v: f64) -> bool {
        got == want
            || (got.len() == want.len()
                && got.parse::<f64>().ok() == Some(v)
                && want.parse::<f64>().ok() == Some(v))
    }

    #[test]
    #[allow(
        clippy::excessive_precision,
        reason = "the .25 and .75 are exact: ties between two shortest digit strings"
    )]
    fn scalars_match_go_strconv_f_as_prometheus_prints_them() {
        // What Prometheus 2.42 answers for these scalar queries (checked with Debian's
        // prometheus; 3.x formats scalars the same way).
        for (v, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-42.0, "-42"),
            (0.1, "0.1"),
            (123456.789, "123456.789"),
            (1e15, "1000000000000000"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (0.0000015, "0.0000015"),
            (2.5e-10, "0.00000000025"),
            (-1171062453383300.25, "-1171062453383300.2"),
            (1171062453383300.75, "1171062453383300.8"),
            (0.30000000000000004, "0.30000000000000004"),
            (9007199254740993.0, "9007199254740992"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(format_float(v), want, "{v:?}");
        }
    }

    #[test]
    fn sample_values_switch_to_go_e_at_the_extremes_as_prometheus_does() {
        // `vector(1e21)` and `vector(1e-7)` in Prometheus 2.42 answer "1e+21" and "1e-07".
        for (v, want) in [
            (1.5, "1.5"),
            (0.000001, "0.000001"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-07"),
            (-2.5e-10, "-2.5e-10"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (0.0, "0"),
        ] {
            assert_eq!(sample_value(v), want, "{v:?}");
        }
    }

    proptest! {
        #[test]
        fn any_float_formats_like_the_model(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let (fixed, sample) = (format_float(v), sample_value(v));
            prop_assert!(same_shortest(&fixed, &go_model(v, false), v), "{} vs {}", fixed, go_model(v, false));
            prop_assert!(same_shortest(&sample, &go_model(v, true), v), "{} vs {}", sample, go_model(v, true));
        }

        #[test]
        fn ordinary_floats_format_like_the_model(v in -1e22f64..1e22) {
            let fixed = format_float(v);
            prop_assert!(same_shortest(&fixed, &go_model(v, false), v), "{} vs {}", fixed, go_model(v, false));
        }
    }
}
