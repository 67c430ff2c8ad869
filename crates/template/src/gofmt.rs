//! Go's `fmt` and `strconv` formatting for template values: `%v` printing of actions, `print`,
//! `println` and `printf` with Go's verbs, flags, widths and precisions, and `strconv.Quote`.

use std::fmt::Write as _;

use crate::value::Value;

/// `fmt.Sprint`: operands separated by a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        format_value(&mut out, arg, 'v', &Spec::default());
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: operands always separated by a space, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        format_value(&mut out, arg, 'v', &Spec::default());
    }
    out.push('\n');
    out
}

/// Flags, width and precision of one verb.
#[derive(Debug, Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Widths and precisions above this are treated as bad, so a template cannot ask for a
/// gigabyte of padding.
const MAX_WIDTH: usize = 10_000;

/// `fmt.Sprintf` with Go's verbs and error notation (`%!d(string=x)`, `%!s(MISSING)`).
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if chars.peek().map(|&(_, c)| c) == Some('*') {
            chars.next();
            match args.get(next_arg) {
                Some(Value::Int(w)) => {
                    if *w < 0 {
                        spec.minus = true;
                    }
                    spec.width = usize::try_from(w.unsigned_abs())
                        .ok()
                        .filter(|w| *w <= MAX_WIDTH);
                    if spec.width.is_none() {
                        out.push_str("%!(BADWIDTH)");
                    }
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            next_arg += 1;
        } else {
            spec.width = parse_num(&mut chars);
        }
        // Precision.
        if chars.peek().map(|&(_, c)| c) == Some('.') {
            chars.next();
            if chars.peek().map(|&(_, c)| c) == Some('*') {
                chars.next();
                match args.get(next_arg) {
                    Some(Value::Int(p)) if *p >= 0 && (*p as u64) <= MAX_WIDTH as u64 => {
                        spec.prec = usize::try_from(*p).ok();
                    }
                    _ => out.push_str("%!(BADPREC)"),
                }
                next_arg += 1;
            } else {
                spec.prec = Some(parse_num(&mut chars).unwrap_or(0));
            }
        }
        if spec.width.is_some_and(|w| w > MAX_WIDTH) {
            spec.width = None;
            out.push_str("%!(BADWIDTH)");
        }
        if spec.prec.is_some_and(|p| p > MAX_WIDTH) {
            spec.prec = None;
            out.push_str("%!(BADPREC)");
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next_arg += 1;
        if verb == 'T' {
            pad(&mut out, arg.type_name(), &spec);
            continue;
        }
        format_value(&mut out, arg, verb, &spec);
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, arg) in args[next_arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if matches!(arg, Value::Nil) {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}=", arg.type_name());
                format_value(&mut out, arg, 'v', &Spec::default());
            }
        }
        out.push(')');
    }
    out
}

fn parse_num(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

fn format_value(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    match v {
        Value::Nil => {
            if verb == 'v' {
                pad(out, "<nil>", spec);
            } else {
                let _ = write!(out, "%!{verb}(<nil>)");
            }
        }
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Int(i) => match verb {
            'v' | 'd' => format_int(out, *i, 10, verb, spec),
            'b' => format_int(out, *i, 2, verb, spec),
            'o' | 'O' => format_int(out, *i, 8, verb, spec),
            'x' | 'X' => format_int(out, *i, 16, verb, spec),
            'c' => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                pad(out, c.encode_utf8(&mut [0; 4]), spec);
            }
            'q' => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                pad(out, &quote_rune(c), spec);
            }
            'U' => pad(out, &format!("U+{i:04X}"), spec),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, v, verb),
            _ => bad_verb(out, v, verb),
        },
        Value::Float(f) => match verb {
            'v' => format_float(out, *f, 'g', spec.prec, spec),
            'e' | 'E' | 'f' | 'F' => {
                format_float(out, *f, verb, Some(spec.prec.unwrap_or(6)), spec);
            }
            'g' | 'G' | 'x' | 'X' => format_float(out, *f, verb, spec.prec, spec),
            _ => bad_verb(out, v, verb),
        },
        Value::String(s) => match verb {
            'v' | 's' => {
                let s = truncate_runes(s, spec.prec);
                pad(out, s, spec);
            }
            'q' => pad(out, &quote(truncate_runes(s, spec.prec)), spec),
            'x' | 'X' => {
                let mut hex = String::with_capacity(s.len() * 2);
                let bytes = s.as_bytes();
                let limit = spec.prec.unwrap_or(bytes.len()).min(bytes.len());
                for (i, b) in bytes[..limit].iter().enumerate() {
                    if spec.space && i > 0 {
                        hex.push(' ');
                    }
                    if spec.sharp && (spec.space || i == 0) {
                        hex.push_str(if verb == 'x' { "0x" } else { "0X" });
                    }
                    if verb == 'x' {
                        let _ = write!(hex, "{b:02x}");
                    } else {
                        let _ = write!(hex, "{b:02X}");
                    }
                }
                pad(out, &hex, spec);
            }
            _ => bad_verb(out, v, verb),
        },
        Value::Time(t) => match verb {
            'v' | 's' => pad(out, truncate_runes(&t.to_string(), spec.prec), spec),
            'q' => pad(out, &quote(&t.to_string()), spec),
            _ => bad_verb(out, v, verb),
        },
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_value(out, item, verb, spec);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push_str("map[");
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_value(out, &Value::String(k.clone()), verb, spec);
                out.push(':');
                format_value(out, item, verb, spec);
            }
            out.push(']');
        }
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    let _ = write!(out, "%!{verb}({}=", v.type_name());
    format_value(out, v, 'v', &Spec::default());
    out.push(')');
}

fn truncate_runes(s: &str, prec: Option<usize>) -> &str {
    match prec {
        Some(p) => match s.char_indices().nth(p) {
            Some((idx, _)) => &s[..idx],
            None => s,
        },
        None => s,
    }
}

/// Pads to the width in runes: spaces (or zeros with the `0` flag) on the left, spaces on the
/// right with `-`.
fn pad(out: &mut String, s: &str, spec: &Spec) {
    let Some(width) = spec.width else {
        out.push_str(s);
        return;
    };
    let len = s.chars().count();
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        let c = if spec.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.push_str(s);
    }
}

fn format_int(out: &mut String, i: i64, base: u32, verb: char, spec: &Spec) {
    let neg = i < 0;
    let mag = i.unsigned_abs();
    let mut digits = match base {
        2 => format!("{mag:b}"),
        8 => format!("{mag:o}"),
        16 if verb == 'X' => format!("{mag:X}"),
        16 => format!("{mag:x}"),
        _ => mag.to_string(),
    };
    // Go: precision is the minimum number of digits; `%.0d` of 0 prints nothing.
    let mut min_digits = spec.prec;
    if min_digits == Some(0) && i == 0 {
        digits.clear();
    }
    if spec.prec.is_none()
        && spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        let sign = neg || spec.plus || spec.space;
        min_digits = Some(if sign { w.saturating_sub(1) } else { w });
    }
    let mut body = String::new();
    if let Some(m) = min_digits {
        let prefix_len = if spec.sharp {
            prefix_for(base, verb).len()
        } else {
            0
        };
        let m = if spec.prec.is_none() {
            m.saturating_sub(prefix_len)
        } else {
            m
        };
        if digits.len() < m {
            body.extend(std::iter::repeat_n('0', m - digits.len()));
        }
    }
    body.push_str(&digits);
    let mut s = String::new();
    if neg {
        s.push('-');
    } else if spec.plus {
        s.push('+');
    } else if spec.space {
        s.push(' ');
    }
    if verb == 'O' {
        s.push_str("0o");
    } else if spec.sharp {
        s.push_str(prefix_for(base, verb));
    }
    s.push_str(&body);
    // Zero padding was folded into the digits above.
    let spaces = Spec {
        zero: false,
        ..*spec
    };
    pad(out, &s, &spaces);
}

fn prefix_for(base: u32, verb: char) -> &'static str {
    match (base, verb) {
        (2, _) => "0b",
        (8, _) => "0",
        (16, 'X') => "0X",
        (16, _) => "0x",
        _ => "",
    }
}

fn format_float(out: &mut String, v: f64, verb: char, prec: Option<usize>, spec: &Spec) {
    let verb_byte = match verb {
        'F' => b'f',
        c => c as u8,
    };
    let num = format_float_strconv(v, verb_byte, prec);
    let (sign, body) = match num.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => (
            if spec.plus {
                "+"
            } else if spec.space {
                " "
            } else {
                ""
            },
            num.strip_prefix('+').unwrap_or(&num),
        ),
    };
    if v.is_nan() || v.is_infinite() {
        // Not numbers, so never zero-padded. Go always signs infinities ("+Inf") but shows a
        // sign on NaN only when asked for.
        let s = if v.is_infinite() {
            if v > 0.0 && spec.space && !spec.plus {
                format!(" {body}")
            } else {
                format!("{}{body}", if v > 0.0 { "+" } else { "-" })
            }
        } else {
            format!("{sign}{body}")
        };
        pad(
            out,
            &s,
            &Spec {
                zero: false,
                ..*spec
            },
        );
        return;
    }
    let len = sign.len() + body.chars().count();
    if spec.zero
        && !spec.minus
        && let Some(w) = spec.width
        && w > len
    {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', w - len));
        out.push_str(body);
        return;
    }
    pad(
        out,
        &format!("{sign}{body}"),
        &Spec {
            zero: false,
            ..*spec
        },
    );
}

/// `strconv.FormatFloat(v, fmt, prec, 64)` for `e E f g G`; `None` is Go's `-1` (shortest).
pub(crate) fn format_float_strconv(v: f64, fmt: u8, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let neg = v.is_sign_negative();
    let abs = v.abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if fmt == b'x' || fmt == b'X' {
        hex_float(&mut out, abs, prec, fmt == b'X');
        return out;
    }
    if fmt == b'f'
        && let Some(p) = prec
    {
        let _ = write!(out, "{abs:.p$}");
        return out;
    }
    // Decimal digits (no trailing zeros) and the decimal point position, like Go's decimalSlice.
    let (digits, dp, shortest) = match (fmt, prec) {
        (_, None) => {
            let (d, dp) = sci_digits(&format!("{abs:e}"), abs);
            (d, dp, true)
        }
        (b'e' | b'E', Some(p)) => {
            let (d, dp) = sci_digits(&format!("{abs:.p$e}"), abs);
            (d, dp, false)
        }
        (_, Some(p)) => {
            let p = p.max(1);
            let (d, dp) = sci_digits(&format!("{:.*e}", p - 1, abs), abs);
            (d, dp, false)
        }
    };
    let nd = digits.len() as i64;
    match fmt {
        b'e' | b'E' => {
            let p = match prec {
                Some(p) => p as i64,
                None => (nd - 1).max(0),
            };
            fmt_e(&mut out, &digits, dp, p, fmt);
        }
        b'f' => {
            let p = (nd - dp).max(0);
            fmt_f(&mut out, &digits, dp, p);
        }
        _ => {
            let mut p = match prec {
                Some(p) => p.max(1) as i64,
                None => nd,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                let e = if fmt == b'G' { b'E' } else { b'e' };
                fmt_e(&mut out, &digits, dp, (p - 1).max(0), e);
            } else {
                if p > dp {
                    p = nd;
                }
                fmt_f(&mut out, &digits, dp, (p - dp).max(0));
            }
        }
    }
    out
}

/// Go's `%x` of a float: `0x1.cp+01`, mantissa in hex (shortest, or rounded to `prec`
/// digits, half to even), binary exponent with at least two digits.
fn hex_float(out: &mut String, abs: f64, prec: Option<usize>, upper: bool) {
    let bits = abs.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if abs == 0.0 {
        exp = 0;
    } else if exp == 0 {
        // Subnormal: normalise so the leading 1 is implicit, as Go prints it.
        let shift = mant.leading_zeros() - 11;
        mant = (mant << shift) & ((1u64 << 52) - 1);
        exp = 1 - 1023 - i64::from(shift);
    } else {
        exp -= 1023;
    }
    let mut lead = u64::from(abs != 0.0);
    if let Some(p) = prec.filter(|&p| p < 13) {
        // Keep 4*p fraction bits, rounding half to even; a carry bumps the leading digit.
        let drop = 52 - 4 * p as u32;
        let kept = mant >> drop;
        let rest = mant & ((1u64 << drop) - 1);
        let half = 1u64 << (drop - 1);
        let mut rounded = kept;
        // With no fraction digits kept, the leading digit decides evenness.
        let odd = if p == 0 { lead & 1 == 1 } else { kept & 1 == 1 };
        if rest > half || (rest == half && odd) {
            rounded += 1;
        }
        if rounded >> (4 * p as u32) != 0 {
            rounded = 0;
            lead += 1;
            if lead == 2 {
                lead = 1;
                exp += 1;
            }
        }
        mant = rounded << drop;
    }
    let mut digits = format!("{mant:013x}");
    match prec {
        Some(p) if p <= 13 => digits.truncate(p),
        Some(p) => digits.extend(std::iter::repeat_n('0', p - 13)),
        None => {
            let trimmed = digits.trim_end_matches('0').len();
            digits.truncate(trimmed);
        }
    }
    let mut s = format!("0x{lead}");
    if !digits.is_empty() {
        s.push('.');
        s.push_str(&digits);
    }
    let (sign, e) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
    let _ = write!(s, "p{sign}{e:02}");
    if upper {
        s = s.to_uppercase();
    }
    out.push_str(&s);
}

/// Digits without trailing zeros and the decimal point position, from Rust's `{:e}` output.
fn sci_digits(sci: &str, abs: f64) -> (Vec<u8>, i64) {
    if abs == 0.0 {
        return (Vec::new(), 0);
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits == [b'0'] {
        return (Vec::new(), 0);
    }
    (digits, exp + 1)
}

fn fmt_e(out: &mut String, digits: &[u8], dp: i64, prec: i64, e: u8) {
    out.push(char::from(digits.first().copied().unwrap_or(b'0')));
    if prec > 0 {
        out.push('.');
        let mut i = 1usize;
        let m = digits.len().min(prec as usize + 1);
        if i < m {
            out.extend(digits[i..m].iter().map(|&b| char::from(b)));
            i = m;
        }
        for _ in i..=(prec as usize) {
            out.push('0');
        }
    }
    out.push(char::from(e));
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    let (sign, exp) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
    out.push(sign);
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

fn fmt_f(out: &mut String, digits: &[u8], dp: i64, prec: i64) {
    if dp > 0 {
        let m = (digits.len() as i64).min(dp) as usize;
        out.extend(digits[..m].iter().map(|&b| char::from(b)));
        for _ in m as i64..dp {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = dp + i - 1;
            let c = if j >= 0 && (j as usize) < digits.len() {
                digits[j as usize]
            } else {
                b'0'
            };
            out.push(char::from(c));
        }
    }
}

/// `strconv.Quote`: Go-escaped, double-quoted.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'');
    out.push('\'');
    out
}

fn escape_char(out: &mut String, c: char, quote: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() => {
            if (c as u32) < 0x10000 {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: &[Value]) -> String {
        sprintf(fmt, args)
    }

    #[test]
    fn floats_print_like_go() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1e21, "1e+21"),
            (123.456, "123.456"),
        ];
        for (v, want) in cases {
            assert_eq!(sprint(&[Value::Float(*v)]), *want, "{v}");
        }
    }

    #[test]
    fn printf_verbs_like_go() {
        let cases: &[(&str, Vec<Value>, &str)] = &[
            ("%.4g", vec![Value::Float(1234.5678)], "1235"),
            ("%.4g", vec![Value::Float(100000.0)], "1e+05"),
            ("%.4g", vec![Value::Float(12.5)], "12.5"),
            ("%.4g", vec![Value::Float(1.0)], "1"),
            ("%.4g", vec![Value::Float(0.0)], "0"),
            ("%.4g", vec![Value::Float(0.000123456)], "0.0001235"),
            ("%.4g", vec![Value::Float(0.0000123456)], "1.235e-05"),
            ("%.2f", vec![Value::Float(2.34567)], "2.35"),
            ("%f", vec![Value::Float(3.0)], "3.000000"),
            ("%5.1f", vec![Value::Float(2.34567)], "  2.3"),
            ("%-6.1f|", vec![Value::Float(2.34567)], "2.3   |"),
            ("%06.2f", vec![Value::Float(-2.34567)], "-02.35"),
            ("%e", vec![Value::Float(1234.5678)], "1.234568e+03"),
            ("%g", vec![Value::Float(1e100)], "1e+100"),
            ("%d", vec![Value::Int(42)], "42"),
            (
                "%5d|%-5d|%05d",
                vec![Value::Int(42), Value::Int(42), Value::Int(-42)],
                "   42|42   |-0042",
            ),
            (
                "%x %X %o %b",
                vec![
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5),
                ],
                "ff FF 10 101",
            ),
            ("%x", vec![Value::from("hi")], "6869"),
            ("%s", vec![Value::from("hi")], "hi"),
            ("%q", vec![Value::from("a\"b\n")], "\"a\\\"b\\n\""),
            (
                "%v",
                vec![Value::List(vec![Value::Int(1), Value::from("a")])],
                "[1 a]",
            ),
            ("%d", vec![Value::from("x")], "%!d(string=x)"),
            ("%s", vec![Value::Int(1)], "%!s(int=1)"),
            ("%d", vec![], "%!d(MISSING)"),
            (
                "%d",
                vec![Value::Int(1), Value::from("x")],
                "1%!(EXTRA string=x)",
            ),
            ("100%%", vec![], "100%"),
            ("%t", vec![Value::Bool(true)], "true"),
            ("%v", vec![Value::Nil], "<nil>"),
            ("%.2s", vec![Value::from("héllo")], "hé"),
            ("%T", vec![Value::Float(1.0)], "float64"),
            ("%c", vec![Value::Int(65)], "A"),
            ("%+d % d", vec![Value::Int(5), Value::Int(5)], "+5  5"),
        ];
        for (fmt, args, want) in cases {
            assert_eq!(f(fmt, args), *want, "{fmt}");
        }
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        assert_eq!(
            sprint(&[
                Value::Int(1),
                Value::Int(2),
                Value::from("a"),
                Value::Int(3)
            ]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[Value::from("a"), Value::from("b")]), "a b\n");
    }
}
