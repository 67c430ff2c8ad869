//! Floats as Go's `strconv.ParseFloat` reads them and as Prometheus restricts them (no hex,
//! no underscores), and as Prometheus writes them.

/// Parses a sample value like Prometheus: decimal with optional exponent and sign, or
/// `NaN`, `Inf`, `+Inf`, `-Inf`, `infinity` in any case. Returns `None` for anything else,
/// including values out of `f64`'s range (Go reports those as errors too).
pub fn parse_go_float(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    let unsigned = match first {
        b'+' | b'-' => &text[1..],
        _ => text,
    };
    // Go accepts a sign before "inf" but not before "nan".
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if first == b'-' {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if text.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    // From here on: digits, one '.', an exponent. Rust's parser also takes "nan"/"inf"
    // spellings, which were handled above, so refuse letters other than e/E up front.
    let mut saw_digit = false;
    for &b in unsigned.as_bytes() {
        match b {
            b'0'..=b'9' => saw_digit = true,
            b'.' | b'e' | b'E' | b'+' | b'-' => {}
            _ => return None,
        }
    }
    if !saw_digit {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    // Go: a finite literal that overflows is an error, not infinity.
    if value.is_infinite() {
        return None;
    }
    Some(value)
}

/// Writes `value` as Prometheus's exposition does (`strconv.FormatFloat(v, 'g', -1, 64)`
/// with `+Inf`, `-Inf`, `NaN`): the shortest text that reads back to the same bits.
pub fn format_go_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's Display is the shortest round-trip representation; Go switches to exponent
    // form for exponents < -4 or >= 21, which parses back the same either way.
    let abs = value.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_go_accepts() {
        for (text, want) in [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("+2", 2.0),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            (".5", 0.5),
            ("5.", 5.0),
            ("+Inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("Infinity", f64::INFINITY),
            ("1.7976931348623157e308", f64::MAX),
        ] {
            assert_eq!(parse_go_float(text), Some(want), "{text}");
        }
        assert!(parse_go_float("NaN").unwrap().is_nan());
        assert!(parse_go_float("nan").unwrap().is_nan());
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for text in [
            "", "+", "-", ".", "e5", "1e", "0x1p3", "1_000", "+NaN", "-nan", "1e400", "abc",
            "1.2.3", "1 ", " 1", "infinit",
        ] {
            assert_eq!(parse_go_float(text), None, "{text:?}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for value in [
            0.0,
            1.0,
            -2.5,
            1e-7,
            1e21,
            123_456_789.0,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let text = format_go_float(value);
            assert_eq!(parse_go_float(&text), Some(value), "{text}");
        }
        assert_eq!(format_go_float(f64::INFINITY), "+Inf");
        assert_eq!(format_go_float(f64::NAN), "NaN");
    }
}
