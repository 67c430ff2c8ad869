//! Properties: text without actions renders verbatim; no input makes parsing or execution
//! panic, and execution stays within its limits.

use proptest::prelude::*;
use tocsin_template::{Funcs, Limits, Template, Value};

proptest! {
    #[test]
    fn text_without_actions_renders_verbatim(text in "[^{]*|([^{]|\\{[^{])*") {
        prop_assume!(!text.contains("{{"));
        let t = Template::parse("t", &text, &Funcs::builtins()).unwrap();
        prop_assert_eq!(t.execute(&Value::Nil).unwrap(), text);
    }

    #[test]
    fn arbitrary_input_never_panics(text in "\\PC{0,200}") {
        if let Ok(t) = Template::parse("t", &text, &tocsin_template::alertmanager::funcs()) {
            let _ = t.execute(&Value::from("dot"));
        }
    }

    #[test]
    fn action_soup_never_panics_and_respects_limits(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "{{", "}}", "{{-", "-}}", " ", "if", "else", "end", "range", "with", "define",
                "template", "block", "break", "continue", "$x", ":=", "=", "$", ".", ".a", "|",
                "(", ")", "\"s\"", "`r`", "1", "2.5", "-3", "nil", "true", "printf", "\"%d\"",
                "len", "index", "slice", "eq", "lt", "and", "or", "not", "print", ",", "$i",
                "/*", "*/", "x", "\n", "'c'", "html", "js", "call",
            ]),
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Ok(mut t) = Template::parse("t", &text, &Funcs::builtins()) {
            t.set_limits(Limits { max_output_bytes: 10_000, max_steps: 10_000, max_template_depth: 20 });
            if let Ok(out) = t.execute(&Value::List(vec![Value::Int(1), Value::Int(2)])) {
                prop_assert!(out.len() <= 10_000);
            }
        }
    }
}

/// Parses what Go prints for a float back into a number.
fn parse_go_float(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => s.parse().unwrap(),
    }
}

fn render(text: &str, value: f64) -> String {
    let t = Template::parse("t", text, &Funcs::builtins()).unwrap();
    t.execute(&Value::Float(value)).unwrap()
}

proptest! {
    /// `{{ . }}` of a float is Go's shortest representation: it reads back exactly.
    #[test]
    fn floats_print_shortest_and_round_trip(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        prop_assume!(v.is_finite());
        let printed = render("{{ . }}", v);
        prop_assert_eq!(parse_go_float(&printed).to_bits(), v.to_bits(), "{}", printed);
        // Exponent form exactly when Go uses it: a decimal exponent below -4 or from 6 up.
        let exp: i32 = format!("{v:e}").split_once('e').unwrap().1.parse().unwrap();
        let exp = if v == 0.0 { 0 } else { exp };
        prop_assert_eq!(printed.contains('e'), !(-4..6).contains(&exp), "{} {}", printed, exp);
    }

    /// `%.4g` keeps four significant digits.
    #[test]
    fn printf_g4_is_close(v in -1e30f64..1e30) {
        let printed = render("{{ printf \"%.4g\" . }}", v);
        let back = parse_go_float(&printed);
        prop_assert!((back - v).abs() <= v.abs() * 5e-4 + f64::MIN_POSITIVE, "{} -> {}", v, printed);
    }

    /// `%d` of an int is the decimal number, padded like Rust's `{:>w$}` / `{:0w$}`.
    #[test]
    fn printf_d_matches_decimal(i in any::<i64>(), width in 0usize..25) {
        let t = Template::parse("t", "{{ printf \"%*d|%0*d\" .w .i .w .i }}", &Funcs::builtins()).unwrap();
        let mut m = std::collections::BTreeMap::new();
        m.insert("i".to_owned(), Value::Int(i));
        m.insert("w".to_owned(), Value::Int(width as i64));
        let out = t.execute(&Value::Map(m)).unwrap();
        prop_assert_eq!(out, format!("{i:>width$}|{i:0width$}"));
    }
}
