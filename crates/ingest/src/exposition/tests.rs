use std::fmt::Write as _;

use proptest::prelude::*;

use super::*;

/// Every entry on one line, for snapshots: what a scrape would store and the metadata.
fn dump(text: &str, format: Format) -> Result<String, ParseError> {
    let mut parser = Parser::new(text, format);
    let mut out = String::new();
    while let Some(entry) = parser.next()? {
        match entry {
            Entry::Help { name, text } => writeln!(out, "HELP {name} {text:?}"),
            Entry::Type { name, kind } => writeln!(out, "TYPE {name} {}", kind.as_str()),
            Entry::Unit { name, unit } => writeln!(out, "UNIT {name} {unit}"),
            Entry::Comment => writeln!(out, "COMMENT"),
            Entry::Sample(s) => {
                let labels: Vec<String> =
                    s.labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
                let mut line = format!(
                    "{}{{{}}} {}",
                    s.name,
                    labels.join(","),
                    format_go_float(s.value)
                );
                if let Some(t) = s.timestamp {
                    let _ = write!(line, " @{t}");
                }
                if let Some(e) = &s.exemplar {
                    let labels: Vec<String> =
                        e.labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
                    let _ = write!(
                        line,
                        " exemplar{{{}}} {} {:?}",
                        labels.join(","),
                        e.value,
                        e.timestamp
                    );
                }
                writeln!(out, "{line}")
            }
        }
        .expect("invariant: writing to a String cannot fail");
    }
    Ok(out)
}

fn error_of(text: &str, format: Format) -> String {
    match dump(text, format) {
        Ok(out) => panic!("expected an error for {text:?}, parsed:\n{out}"),
        Err(err) => err.to_string(),
    }
}

fn count_samples(text: &str, format: Format) -> usize {
    dump(text, format)
        .unwrap()
        .lines()
        .filter(|l| {
            !["HELP ", "TYPE ", "UNIT ", "COMMENT"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .count()
}

#[test]
fn golden_node_exporter_text() {
    let text = include_str!("../../testdata/node_exporter.prom");
    let out = dump(text, Format::PrometheusText).unwrap();
    // Every non-comment line of node_exporter's output is one sample.
    let expected = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    assert_eq!(
        out.lines()
            .filter(|l| !l.starts_with("HELP ") && !l.starts_with("TYPE "))
            .count(),
        expected
    );
    insta::assert_snapshot!("node_exporter_text", out);
}

#[test]
fn golden_prometheus_self_metrics_text() {
    let text = include_str!("../../testdata/prometheus.prom");
    insta::assert_snapshot!(
        "prometheus_text",
        dump(text, Format::PrometheusText).unwrap()
    );
}

#[test]
fn golden_python_client_openmetrics() {
    let text = include_str!("../../testdata/python_client.om.txt");
    insta::assert_snapshot!(
        "python_client_openmetrics",
        dump(text, Format::OpenMetrics).unwrap()
    );
}

#[test]
fn golden_python_client_text() {
    let text = include_str!("../../testdata/python_client.prom");
    insta::assert_snapshot!(
        "python_client_text",
        dump(text, Format::PrometheusText).unwrap()
    );
}

#[test]
fn text_format_leniency_matches_prometheus() {
    let text = "  # a free comment\n\n\
                metric_without_labels 12.47\n\
                spaced_out   {  a = \"1\" ,b=\"2\",  }   3   1700000000000  \n\
                no_space{a=\"x\"}4\n\
                tabs\t{a=\"x\"}\t5\n\
                job:rule:rate5m{le=\"+Inf\"} -Inf\n\
                escaped{path=\"C:\\\\dir\\\"q\\\"\\n\\t\"} NaN\n\
                last_line_without_newline 1";
    insta::assert_snapshot!(dump(text, Format::PrometheusText).unwrap(), @r#"
    COMMENT
    metric_without_labels{} 12.47
    spaced_out{a="1",b="2"} 3 @1700000000000
    no_space{a="x"} 4
    tabs{a="x"} 5
    job:rule:rate5m{le="+Inf"} -Inf
    escaped{path="C:\\dir\"q\"\n\\t"} NaN
    last_line_without_newline{} 1
    "#);
}

#[test]
fn utf8_quoted_names() {
    let text = "# HELP \"my.metric\" dotted\n\
                # TYPE \"my.metric\" gauge\n\
                {\"my.metric\", \"label.with.dots\"=\"v\", plain=\"é漢\"} 1\n\
                {\"only.name\"} 2\n\
                legacy{\"quoted label\"=\"x\"} 3\n";
    insta::assert_snapshot!(dump(text, Format::PrometheusText).unwrap(), @r#"
    HELP my.metric "dotted"
    TYPE my.metric gauge
    my.metric{label.with.dots="v",plain="é漢"} 1
    only.name{} 2
    legacy{quoted label="x"} 3
    "#);
}

#[test]
fn openmetrics_features() {
    let text = "# TYPE a counter\n\
                # UNIT a seconds\n\
                # HELP a help with \\\"quotes\\\"\n\
                a_total{x=\"1\"} 1 1700000000.5 # {trace_id=\"t\"} 0.5 1700000000.25\n\
                a_total{x=\"2\"} 2 # {} 1\n\
                a_created{x=\"1\"} 1.7e9\n\
                # EOF\n";
    insta::assert_snapshot!(dump(text, Format::OpenMetrics).unwrap(), @r#"
    TYPE a counter
    UNIT a seconds
    HELP a "help with \"quotes\""
    a_total{x="1"} 1 @1700000000500 exemplar{trace_id="t"} 0.5 Some(1700000000250)
    a_total{x="2"} 2 exemplar{} 1 None
    a_created{x="1"} 1700000000
    "#);
}

#[test]
fn openmetrics_timestamps_round_instead_of_truncating() {
    let out = dump("a 1 1.001\n# EOF\n", Format::OpenMetrics).unwrap();
    assert_eq!(out, "a{} 1 @1001\n");
}

#[test]
fn openmetrics_strictness() {
    for (text, want) in [
        ("a 1\n", "does not end with # EOF"),
        ("a 1\n# EOF\nb 2\n", "after # EOF"),
        ("a 1\n\n# EOF\n", "empty lines"),
        ("a  1\n# EOF\n", "single space"),
        ("# free comment\n# EOF\n", "allows only"),
        ("a{b=\"1\",} 1\n# EOF\n", "trailing comma"),
        ("a 0x1p3\n# EOF\n", "invalid value"),
        ("# TYPE a untyped\n# EOF\n", "invalid metric type"),
        ("a 1 # {x=\"1\"} 1 x\n# EOF\n", "invalid exemplar timestamp"),
        ("a 1 #{x=\"1\"} 1\n# EOF\n", "to start an exemplar"),
        (
            &format!("a 1 # {{x=\"{}\"}} 1\n# EOF\n", "y".repeat(200)),
            "at most 128",
        ),
        ("a{b=\"1\n\"} 1\n# EOF\n", "closing quote"),
    ] {
        let err = error_of(text, Format::OpenMetrics);
        assert!(err.contains(want), "{text:?}: {err}");
    }
    // `# EOF` without the final newline is fine.
    assert_eq!(dump("a 1\n# EOF", Format::OpenMetrics).unwrap(), "a{} 1\n");
}

#[test]
fn text_format_errors_name_the_line_and_the_problem() {
    for (text, want) in [
        (
            "ok 1\n{a=\"b\"} 1\n",
            "line 2: series \"{a=\\\"b\\\"}\" has no metric name",
        ),
        (
            "a{b=\"1\",b=\"2\"} 1\n",
            "label name \"b\" appears more than once",
        ),
        ("a{__name__=\"x\"} 1\n", "sets __name__ as a label"),
        ("a{b=1} 1\n", "expected a quoted value for label \"b\""),
        ("a{b\"1\"} 1\n", "expected '=' after label name \"b\""),
        ("a{b=\"1\" c=\"2\"} 1\n", "expected ',' or '}'"),
        ("a{b=\"1\"\n", "expected ',' or '}'"),
        ("a{b=\"unterminated} 1\n", "missing its closing quote"),
        ("a\n", "expected a value"),
        ("a one\n", "invalid value \"one\""),
        ("a 1 12.5\n", "invalid timestamp \"12.5\""),
        ("a 1 99999999999999999999\n", "out of range"),
        ("a 1 2 3\n", "expected end of line after the timestamp"),
        ("# TYPE a countr\n", "invalid metric type \"countr\""),
        ("# TYPE a unknown\n", "invalid metric type"),
        ("1abc 1\n", "expected a metric name"),
        ("a{1=\"x\"} 1\n", "expected a label name"),
        ("a +NaN\n", "invalid value"),
    ] {
        let err = error_of(text, Format::PrometheusText);
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

#[test]
fn invalid_utf8_is_refused_with_its_line() {
    let err = Parser::from_bytes(b"ok 1\nbad{a=\"\xff\"} 1\n", Format::PrometheusText).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("invalid UTF-8"), "{err}");
}

#[test]
fn content_type_negotiation_picks_the_parser() {
    for (ct, want) in [
        (
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::OpenMetrics,
        ),
        (Some("Application/OpenMetrics-Text"), Format::OpenMetrics),
        (Some("text/plain; version=0.0.4"), Format::PrometheusText),
        (Some("application/json"), Format::PrometheusText),
        (None, Format::PrometheusText),
    ] {
        assert_eq!(Format::from_content_type(ct), want, "{ct:?}");
    }
}

#[test]
fn hostile_inputs_never_panic_and_stay_linear() {
    let many_labels = format!(
        "a{{{}}} 1\n",
        (0..2000)
            .map(|i| format!("l{i}=\"v\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(count_samples(&many_labels, Format::PrometheusText), 1);
    let long_value = format!("a{{b=\"{}\"}} 1\n", "x".repeat(1 << 20));
    assert_eq!(count_samples(&long_value, Format::PrometheusText), 1);
    for text in [
        "{", "a{", "a{\"", "a{b=\"\\", "#", "# HELP", "# TYPE a", "\u{0}", "a{}}",
    ] {
        let _ = dump(text, Format::PrometheusText);
        let _ = dump(text, Format::OpenMetrics);
    }
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        // UTF-8 names, quoted when written.
        "[a-z]{1,3}[.é -][a-z]{1,3}",
    ]
    .prop_filter("reserved", |n| n != "__name__")
}

fn sample_strategy() -> impl Strategy<Value = (String, Vec<(String, String)>, f64, Option<i64>)> {
    (
        prop_oneof!["[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", "[a-z]{1,4}\\.[a-z]{1,4}"],
        proptest::collection::btree_map(label_name(), "\\PC{0,6}|[\"\\\\\n]{1,3}", 0..5),
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ],
        proptest::option::of(-1_000_000_000_000i64..5_000_000_000_000),
    )
        .prop_map(|(name, labels, value, ts)| {
            (
                name,
                labels.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
                value,
                ts,
            )
        })
}

proptest! {
    /// Whatever the writer writes, the parser reads back exactly (the model is the list of
    /// samples), in both formats.
    #[test]
    fn write_then_parse_round_trips(
        samples in proptest::collection::vec(sample_strategy(), 0..20),
        om in any::<bool>(),
    ) {
        let format = if om { Format::OpenMetrics } else { Format::PrometheusText };
        let mut text = String::new();
        for (name, labels, value, ts) in &samples {
            let pairs: Vec<(&str, &str)> =
                labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            write_sample(&mut text, name, &pairs, *value, *ts, format);
        }
        if om {
            text.push_str("# EOF\n");
        }
        let mut parser = Parser::new(&text, format);
        let mut parsed = Vec::new();
        while let Some(entry) = parser.next().map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))? {
            if let Entry::Sample(s) = entry {
                parsed.push((
                    s.name.to_string(),
                    s.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>(),
                    s.value,
                    s.timestamp,
                ));
            }
        }
        prop_assert_eq!(parsed.len(), samples.len());
        for (got, want) in parsed.iter().zip(&samples) {
            prop_assert_eq!(&got.0, &want.0);
            prop_assert_eq!(&got.1, &want.1);
            prop_assert_eq!(got.2.to_bits(), want.2.to_bits());
            prop_assert_eq!(got.3, want.3);
        }
    }

    /// Arbitrary bytes never panic either parser.
    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            if let Ok(mut parser) = Parser::from_bytes(&bytes, format) {
                for _ in 0..1000 {
                    match parser.next() {
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
    }
}
