//! promtool's series notation for `input_series`: `metric{l="v"}` and values such as
//! `1 2+3x2 _ _x3 stale -2+4x3 1x3` (the same expansion as Prometheus's promqltest `load`).

use promql_parser::parser::Expr;
use tocsin_model::{Labels, STALE_NAN};
use tocsin_promql::promql_parser;

/// One value of a series; `None` is a gap (`_`).
pub type Points = Vec<Option<f64>>;

fn parse_value(tok: &str) -> Result<f64, String> {
    match tok {
        "stale" => Ok(STALE_NAN),
        "Inf" | "+Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => tok
            .parse::<f64>()
            .map_err(|e| format!("bad value {tok:?}: {e}")),
    }
}

/// Most points one series may expand to, so a typo such as `1x99999999999` fails cleanly.
pub const MAX_POINTS: usize = 1_000_000;

/// Expands a values string.
pub fn parse_points(text: &str) -> Result<Points, String> {
    if text.contains("{{") {
        return Err("native histograms are not supported in input_series".to_owned());
    }
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|e| format!("bad {tok:?}: {e}"))?;
            if out.len().saturating_add(n) > MAX_POINTS {
                return Err(format!("series expands to more than {MAX_POINTS} points"));
            }
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        if let Some(xi) = tok.rfind('x')
            && xi > 0
        {
            let (head, times) = (&tok[..xi], &tok[xi + 1..]);
            let n: usize = times.parse().map_err(|e| format!("bad {tok:?}: {e}"))?;
            if out.len().saturating_add(n).saturating_add(1) > MAX_POINTS {
                return Err(format!("series expands to more than {MAX_POINTS} points"));
            }
            // head is `a`, `a+b` or `a-b` (a may itself be negative).
            let split = head
                .get(1..)
                .and_then(|rest| rest.rfind(['+', '-']))
                .map(|i| i + 1);
            let (a, b) = match split {
                Some(i) if !head[..i].ends_with(['e', 'E']) => {
                    let a = parse_value(&head[..i])?;
                    let b = parse_value(&head[i + 1..])?;
                    (a, if &head[i..=i] == "-" { -b } else { b })
                }
                _ => (parse_value(head)?, 0.0),
            };
            for k in 0..=n {
                #[allow(clippy::cast_precision_loss)]
                out.push(Some(a + b * k as f64));
            }
            continue;
        }
        out.push(Some(parse_value(tok)?));
    }
    Ok(out)
}

/// Parses `metric{a="b"}` (or `{__name__="m", a="b"}`) into labels.
pub fn parse_metric(text: &str) -> Result<Labels, String> {
    let text = text.trim();
    if text == "{}" {
        return Ok(Labels::empty());
    }
    let expr = tocsin_promql::parse_expr(text).map_err(|e| format!("bad series {text:?}: {e}"))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("bad series {text:?}: not a series selector"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(n) = &vs.name {
        pairs.push(("__name__".to_owned(), n.clone()));
    }
    for m in &vs.matchers.matchers {
        if m.op.to_string() != "=" {
            return Err(format!(
                "bad series {text:?}: only = matchers describe a series"
            ));
        }
        if !pairs.iter().any(|(n, _)| n == &m.name) {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    Labels::from_pairs(pairs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_promtool_notation() {
        assert_eq!(
            parse_points("1 2+3x2 _ -2+4x1 1x2 5-1x2").expect("valid"),
            vec![
                Some(1.0),
                Some(2.0),
                Some(5.0),
                Some(8.0),
                None,
                Some(-2.0),
                Some(2.0),
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(5.0),
                Some(4.0),
                Some(3.0)
            ]
        );
        assert_eq!(
            parse_points("_x2 1e3").expect("valid"),
            vec![None, None, Some(1000.0)]
        );
        let stale = parse_points("stale").expect("valid");
        assert!(stale[0].is_some_and(tocsin_model::is_stale_nan));
        assert!(parse_points("1x").is_err());
        assert!(parse_points("abc").is_err());
    }

    #[test]
    fn parses_metrics() {
        let l = parse_metric("up{job=\"a\", instance=\"b\"}").expect("valid");
        assert_eq!(
            l.to_string(),
            "{__name__=\"up\", instance=\"b\", job=\"a\"}"
        );
        assert!(parse_metric("up{job=~\"a\"}").is_err());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::parse_points;

    #[derive(Debug, Clone)]
    enum Token {
        Value(i32),
        Gap,
        Gaps(u8),
        Expand(i32, i32, u8),
    }

    fn token() -> impl Strategy<Value = Token> {
        prop_oneof![
            any::<i32>().prop_map(Token::Value),
            Just(Token::Gap),
            (0u8..20).prop_map(Token::Gaps),
            (any::<i32>(), -1000i32..1000, 0u8..20).prop_map(|(a, b, n)| Token::Expand(a, b, n)),
        ]
    }

    proptest! {
        /// The parser agrees with a direct expansion of the same tokens.
        #[test]
        fn notation_expands_like_the_model(tokens in proptest::collection::vec(token(), 0..20)) {
            let mut text = Vec::new();
            let mut expected: Vec<Option<f64>> = Vec::new();
            for t in &tokens {
                match *t {
                    Token::Value(v) => {
                        text.push(v.to_string());
                        expected.push(Some(f64::from(v)));
                    }
                    Token::Gap => {
                        text.push("_".to_owned());
                        expected.push(None);
                    }
                    Token::Gaps(n) => {
                        text.push(format!("_x{n}"));
                        expected.extend(std::iter::repeat_n(None, usize::from(n)));
                    }
                    Token::Expand(a, b, n) => {
                        let sign = if b < 0 { '-' } else { '+' };
                        text.push(format!("{a}{sign}{}x{n}", b.unsigned_abs()));
                        for k in 0..=i32::from(n) {
                            expected.push(Some(f64::from(a) + f64::from(b) * f64::from(k)));
                        }
                    }
                }
            }
            let got = parse_points(&text.join(" ")).expect("valid notation");
            prop_assert_eq!(got, expected);
        }
    }
}
