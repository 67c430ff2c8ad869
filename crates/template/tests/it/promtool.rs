//! Golden tests against Prometheus itself: every template below is put in an alerting rule's
//! annotations, our expansion becomes the expected value of a `promtool test rules` unit
//! test, and promtool (Go's text/template with Prometheus's functions) must agree exactly —
//! output and error messages alike. Parse errors are compared with `promtool check rules`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use tocsin_template::prometheus::{Expander, QueryFunc, QueryResultSample};

use crate::support::reference_tool;

/// Templates that expand (or fail at execution) in Prometheus 2.42's annotation context.
const EXPANSIONS: &[&str] = &[
    // Data and variables.
    "{{ $value }} {{ .Value }}",
    "{{ $labels }}",
    "{{ $labels.instance }} {{ .Labels.job }} {{ $externalLabels.region }}",
    "[{{ $labels.missing }}] [{{ $externalLabels.missing }}]",
    "{{ $externalURL }} {{ .ExternalURL }}",
    "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
    "{{ $x := $labels }}{{ with $x.job }}{{ $x.instance }}/{{ . }}/{{ $.Labels.job }}{{ end }}",
    // Control structures.
    "{{ if gt $value 1000.0 }}big{{ else }}small{{ end }}",
    "{{ if gt $value 1000 }}x{{ end }}",
    "{{ if eq $labels.job \"db\" }}db{{ else if eq $labels.job \"api\" }}api{{ else }}other{{ end }}",
    "{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}",
    "{{ range $labels }}{{ . }};{{ end }}",
    "{{ range $i, $e := query \"other_metric\" | sortByLabel \"name\" }}{{ $i }}:{{ $e.Labels.name }}={{ $e.Value }} {{ end }}",
    "{{ range $i, $e := query \"other_metric\" | sortByLabel \"name\" }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e.Value }}{{ end }}",
    "{{ range $i, $e := query \"other_metric\" | sortByLabel \"name\" }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $e.Value }}{{ end }}",
    "{{ range query \"nothing\" }}x{{ else }}empty{{ end }}",
    "{{ with $labels.job }}{{ . }}{{ else }}none{{ end }} {{ with $labels.nope }}x{{ else }}none{{ end }}",
    "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" $labels.job }}{{ template \"x\" }}",
    "{{ block \"b\" $value }}<{{ . }}>{{ end }}",
    "{{ define \"t\" }}{{ .arg0 }}-{{ .arg1 }}{{ end }}{{ template \"t\" (args 1 \"x\") }}",
    // Whitespace and comments.
    "a  {{- \"b\" -}}  c {{- /* gone */ -}} d {{/* also gone */}}e",
    "line1\n  {{- \" line2\" }}\n{{ \"line3\" -}}\n\n",
    // Literals.
    "{{ \"\\u00e9\\t\\x41\" }} {{ `raw\\n` }} {{ 'a' }} {{ 0x1F }} {{ 1_000 }} {{ 0o17 }} {{ 0b101 }} {{ 017 }}",
    "{{ 1e6 }} {{ 1234567.0 }} {{ 0.00001 }} {{ 100000.0 }} {{ -0.0 }} {{ 1.0 }} {{ 3 }} {{ -2.5e-3 }} {{ true }}",
    // Builtins.
    "{{ len $labels }} {{ len \"héllo\" }} {{ index $labels \"job\" }} [{{ index $labels \"nope\" }}] {{ slice \"abcdef\" 1 3 }}",
    "{{ html \"<b>&'\\\"\" }} {{ js \"a'b<c>=&\\\"\" }} {{ urlquery \"a b/c?d=é\" }}",
    "{{ and 1 0 }} {{ and 1 2 }} {{ or 0 \"x\" }} {{ or 0 \"\" }} {{ not true }} {{ not \"\" }}",
    "{{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt \"a\" \"b\" }} {{ le 1.5 1.5 }} {{ ge 2 3 }} {{ gt 2 1 }}",
    "{{ print 1 2 \"x\" 3.5 nil \"y\" \"z\" }} {{ println \"a\" 1 }}",
    "{{ printf \"%.2f|%5.1f|%-8s|%q|%x|%X|%d|%05d|%+d|%v|%g|%e|%E|%8.3e\" $value $value \"ab\" \"q\\\"t\" 255 255 42 -42 7 $labels 1e21 123.456 0.000123 99.5 }}",
    "{{ printf \"%s|%d|%t|%v|%.3s|%c|%o|%b|%%|%T %T %T\" $value \"x\" true nil \"abcdef\" 65 8 5 1 1.0 \"s\" }}",
    "{{ printf \"%d %s\" 1 }} {{ printf \"%d\" 1 2 }} {{ printf \"%!\" }}",
    "{{ printf \"%6.2f%%\" 12.3456 }} {{ printf \"%-6d|\" 3 }} {{ printf \"%x\" \"hi\" }} {{ printf \"% x\" \"hi\" }} {{ printf \"%#x\" 255 }}",
    "{{ printf \"%g %g %g %g %G\" 1e-7 123456789.0 0.1 100.0 1e-10 }} {{ printf \"%.3g|%.10g|%.0f|%.1f\" 1234.5678 1.0 2.5 0.25 }}",
    // More corners of Go's semantics.
    "{{ range $i, $e := $labels }}{{ if eq $i \"job\" }}{{ break }}{{ end }}{{ $i }};{{ else }}none{{ end }}",
    "{{ $x := 0 }}{{ range $labels }}{{ $x = . }}{{ end }}{{ $x }} {{ range $k, $v := $labels }}{{ $k := 1 }}{{ $k }}{{ end }}",
    "{{ with $labels.job }}{{ $y := . }}{{ $y }}{{ end }}{{ if false }}{{ else }}{{ with $labels.instance }}{{ . }}{{ end }}{{ end }}",
    "{{ printf \"%*d|%-*d|%.*f\" 5 42 4 7 2 3.14159 }} {{ printf \"%v %v\" (args 1 2) $externalLabels }}",
    "{{ html 1 2.5 \"<\" }} {{ urlquery $labels.instance \" x\" }} {{ print $labels.job 1 2 nil }} {{ len (printf \"%s\" \"abc\") }}",
    "{{ index (args 10 20) \"arg1\" }} {{ slice \"hello\" 1 }} {{ slice \"hello\" }} {{ index \"abc\" 1 }}",
    "{{ and }}",
    "{{ or 0 (index $labels \"nope\") }}|{{ and 1 $labels.nope 2 }}|",
    "{{ eq 1.5 1.5 2.5 }} {{ eq \"a\" \"a\" }} {{ eq 1 1.0 }}",
    "{{\"a\"}}{{- \"\\n\" -}}{{\"b\"}} {{- 3 -}} c {{ -3 }}",
    "x\t\n {{- /* a\nmultiline comment */ -}} \n\ty",
    "{{ $value | printf \"%.1f\" | printf \"[%s]\" }} {{ $labels.instance | reReplaceAll \":.*\" \"\" | toUpper }}",
    "{{ template \"t2\" $labels }}{{ define \"t2\" }}{{ .job }}{{ template \"t3\" . }}{{ end }}{{ define \"t3\" }}/{{ .instance }}/{{ $.job }}{{ end }}",
    "{{ printf \"%5.2s|%-5q|%x|%X\" \"abc\" \"a\" -1 -255 }} {{ printf \"%e %g %.0e %.1e\" 0.0 0.0 5.5 -0.000123 }}",
    "{{ printf \"%08.3f|%+.2e|%-9.3g|%+d|% .1f\" -3.14159 12345.678 0.000012345 0 2.25 }}",
    "{{ printf \"%v\" 1e20 }} {{ 1e20 }} {{ 123456789012.0 }} {{ printf \"%.3v|%.10v\" 3.14159 2.0 }}",
    "{{ printf \"%6.2v|%t|%5t|%-6v|\" \"abc\" false true 12 }} {{ printf \"%c|%q|%U\" 9731 9731 9731 }}",
    "{{ printf \"%x %X % X\" \"héllo\" \"hi\" \"hi\" }} {{ printf \"%d %.2f %s\" true \"x\" 1.5 }}",
    "{{ print 1.0 2 }} {{ println }}|{{ printf \"%5.1f%%\" 99.56 }} {{ printf \"%o %b %x %O %#o %#b %#X\" 8 -5 3.5 8 8 5 255 }}",
    "{{ printf \"%v|%s|%d\" (args 1 \"a\") $labels (args 1 2) }}",
    "{{ printf \"%.0f %.0f %.0f %.0f %.1f %.2f\" 0.5 1.5 2.5 -0.5 0.25 1.005 }}",
    "{{ printf \"%g %g %g %G\" 1e21 1e-5 123456.0 1234567.0 }} {{ printf \"%.2g %.1g %.3g\" 99.5 0.05 1e-10 }}",
    "{{ printf \"%x|%X|%.2x|%.0x|%x|%x|%8.1x\" 1.0 -3.5 1.999 1.5 0.0 5e-324 255.0 }}",
    "{{ printf \"%10.4v|%-10v|\" 3.14159265 \"x\" }} {{ printf \"%05s|%.1q\" \"ab\" \"héllo\" }}",
    // Prometheus's functions.
    "{{ humanize 0 }} {{ humanize 1 }} {{ humanize 1234.5678 }} {{ humanize 1e30 }} {{ humanize 0.000123 }} {{ humanize -1500 }} {{ humanize \"2048\" }} {{ humanize 1e-30 }} {{ humanize $value }}",
    "{{ humanize1024 1024 }} {{ humanize1024 1048576.5 }} {{ humanize1024 0.5 }} {{ humanize1024 1e30 }} {{ humanize1024 -4096 }}",
    "{{ humanizeDuration 0 }} {{ humanizeDuration 1.5 }} {{ humanizeDuration 59.999 }} {{ humanizeDuration 3600 }} {{ humanizeDuration 90061.5 }} {{ humanizeDuration 0.0015 }} {{ humanizeDuration -75 }} {{ humanizeDuration 1e-9 }} {{ humanizeDuration \"120\" }}",
    "{{ humanizePercentage 0.1234567 }} {{ humanizePercentage 1 }} {{ humanizePercentage 0 }} {{ humanizePercentage 2.5e-7 }}",
    "{{ humanizeTimestamp 0 }} {{ humanizeTimestamp 1234567890.123 }} {{ humanizeTimestamp 1.5 }} {{ humanizeTimestamp -1.5 }} {{ humanizeTimestamp $value }}",
    "{{ toTime 1234567890 }} {{ toTime 1.25 }}",
    "{{ (toTime 1234567890.12).Format \"Mon Jan _2 15:04:05.000 MST 2006 3:04PM Z07:00 -0700 .999 Monday January 01/02/06 002\" }}",
    "{{ (toTime 1.5).Unix }} {{ (toTime 1.5).UnixMilli }} {{ (toTime 0).UTC }} {{ (toTime 1e9).Year }} {{ (toTime 86400).YearDay }} {{ (toTime 0).IsZero }} {{ (toTime -62135596800).IsZero }}",
    "{{ printf \"%v|%s|%q\" (toTime 0) (toTime 0) (toTime 0) }} {{ if toTime 0 }}t{{ end }} {{ with $t := toTime 3600.5 }}{{ $t.Hour }}:{{ $t.Minute }}:{{ $t.Second }} {{ $t.Day }} {{ .Format \"15:04:05.9\" }}{{ end }}",
    "{{ (toTime 1e9).Format \"2006-01-02T15:04:05Z07:00\" }} {{ (toTime -1.5).Format \"2006-01-02 15:04:05.000000\" }} {{ (toTime 951782400).Format \"Jan 2 _2 __2 pm PM 03 3 06 1 01 Mon\" }}",
    "{{ title \"hello wORLD foo-bar x_y 1st\" }} {{ toUpper \"abcé\" }} {{ toLower \"ABCÉ\" }}",
    "{{ match \"^node\" $labels.instance }} {{ match \"^db\" $labels.instance }} {{ reReplaceAll \"(.*):(.*)\" \"$2 on $1\" $labels.instance }} {{ reReplaceAll \"o\" \"0\" \"foo\" }} {{ reReplaceAll \"(?P<h>[a-z0-9]+)\\\\..*\" \"${h}\" $labels.instance }}",
    "{{ with query \"test_metric\" }}{{ . | first | value }} {{ . | first | label \"job\" }} [{{ . | first | strvalue }}]{{ end }}",
    "{{ range query \"other_metric\" | sortByLabel \"rev\" }}{{ .Labels.name }}{{ end }} {{ (query \"other_metric\" | sortByLabel \"name\" | first).Labels.name }}",
    "{{ query \"nothing\" | first | value }}",
    "{{ safeHtml \"<b>\" }} {{ graphLink \"rate(x[5m])\" }} {{ tableLink \"up == 0\" }}",
    "{{ stripPort $labels.instance }} {{ stripDomain $labels.instance }} {{ stripPort \"[::1]:80\" }} {{ stripDomain \"10.0.0.1:80\" }} {{ stripPort \"nohost\" }} {{ stripDomain \"a.b.c\" }}",
    "{{ parseDuration \"1h30m\" }} {{ parseDuration \"1y\" }} {{ parseDuration \"0\" }} {{ parseDuration \"250ms\" }}",
    // Execution errors, compared message for message.
    "{{ humanize \"abc\" }}",
    "{{ parseDuration \"5x\" }}",
    "{{ $labels.job.foo }}",
    "{{ .Labels.job.foo }}",
    "{{ (.Labels).job.foo }}",
    "{{ with $labels }}{{ (index . \"job\").x }}{{ end }}",
    "{{ template \"y\" 1 }}{{ define \"y\" }}\n  {{ .Nope }}{{ end }}",
    "{{ humanize (printf \"%s\" \"x\") }}",
    "{{ printf \"%s\" }}{{ .Value.x }}",
    "{{ index $labels 1 }}",
    "{{ len 3 }}",
    "{{ template \"nope\" }}",
    "{{ range $value }}{{ end }}",
    "{{ nil }}",
    "{{ 1 2 }}",
    "{{ not 1 2 }}",
    "{{ lt true false }}",
];

/// Templates that must fail to parse, with promtool's message.
const PARSE_ERRORS: &[&str] = &[
    "{{ nofunc }}",
    "{{ $undefined }}",
    "{{ if true }}",
    "{{ end }}",
    "{{ .Labels",
    "{{ break }}",
    "{{ }}",
    "{{/* x }}",
    "{{ 1 | 2 }}",
    "{{ \"unterminated }}",
    "{{ else }}",
    "{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}",
    "{{ 3x }}",
    "{{ .a. }}",
    "{{ ( 1 }}",
    "{{ ) }}",
    "{{ tmpl \"x\" . }}",
    "line\n{{ if }}",
    "{{ - 3 }}",
    "{{ \"a\nb\" }}",
    "{{ 1.2.3 }}",
    "{{ $x := 1 }}{{ $x, $y := 2 }}",
    "{{ range $a, $b, $c := . }}{{ end }}",
    "{{ template . }}",
    "{{ define \"x\" }}{{ define \"y\" }}{{ end }}{{ end }}",
];

/// The query results promtool's storage gives for the expressions used above. promtool
/// returns series in no fixed order, so the cases sort before depending on it.
struct FakeStorage;

impl QueryFunc for FakeStorage {
    fn query(&self, expr: &str, _at_ms: i64) -> Result<Vec<QueryResultSample>, String> {
        let sample = |pairs: &[(&str, &str)], value: f64| QueryResultSample {
            labels: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        };
        Ok(match expr {
            "test_metric" => vec![sample(&TEST_METRIC, 1234.5678)],
            "other_metric" => vec![
                sample(
                    &[("__name__", "other_metric"), ("name", "a"), ("rev", "2")],
                    1.0,
                ),
                sample(
                    &[("__name__", "other_metric"), ("name", "b"), ("rev", "1")],
                    2.0,
                ),
            ],
            _ => Vec::new(),
        })
    }
}

const TEST_METRIC: [(&str, &str); 3] = [
    ("__name__", "test_metric"),
    ("instance", "node1.example.com:9100"),
    ("job", "api"),
];

fn expander() -> Expander {
    let external: BTreeMap<String, String> = [("region".to_owned(), "eu".to_owned())].into();
    Expander::new(
        external,
        "http://prom.example.com/prom".to_owned(),
        Some(Arc::new(FakeStorage)),
    )
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn run(tool: &Path, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn expansions_equal_promtool() {
    let Some(promtool) = reference_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let expander = expander();
    let labels: BTreeMap<String, String> = TEST_METRIC
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut rules = String::from(
        "groups:\n- name: golden\n  rules:\n  - alert: Golden\n    expr: test_metric\n    annotations:\n",
    );
    let mut expected = String::new();
    for (i, text) in EXPANSIONS.iter().enumerate() {
        rules.push_str(&format!("      a{i:02}: {}\n", yaml_string(text)));
        let ours = match expander.expand_or_error("__alert_Golden", text, &labels, 1234.5678, 0) {
            Ok(s) | Err(s) => s,
        };
        expected.push_str(&format!("          a{i:02}: {}\n", yaml_string(&ours)));
    }
    std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
    let test = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  external_labels: {{region: eu}}\n  external_url: http://prom.example.com/prom\n  input_series:\n  - series: 'test_metric{{instance=\"node1.example.com:9100\", job=\"api\"}}'\n    values: '1234.5678'\n  - series: 'other_metric{{name=\"a\", rev=\"2\"}}'\n    values: '1'\n  - series: 'other_metric{{name=\"b\", rev=\"1\"}}'\n    values: '2'\n  alert_rule_test:\n  - eval_time: 0m\n    alertname: Golden\n    exp_alerts:\n    - exp_labels: {{instance: \"node1.example.com:9100\", job: api}}\n      exp_annotations:\n{expected}"
    );
    std::fs::write(dir.path().join("test.yml"), &test).unwrap();
    let (ok, output) = run(&promtool, &["test", "rules", "test.yml"], dir.path());
    assert!(
        ok,
        "promtool disagrees with our expansion:\n{}\n--- full output:\n{output}",
        annotation_differences(&output)
    );
}

/// The annotations that differ between promtool's `exp:` and `got:` blocks.
fn annotation_differences(output: &str) -> String {
    let blocks: Vec<BTreeMap<String, String>> = output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Annotations:{"))
        .map(parse_go_map)
        .collect();
    let [exp, got] = blocks.as_slice() else {
        return "(could not find exp/got annotations)".to_owned();
    };
    let mut diff = String::new();
    for (key, want) in exp {
        let have = got.get(key).map_or("<missing>", String::as_str);
        if have != want {
            diff.push_str(&format!("{key}:\n  ours:     {want}\n  promtool: {have}\n"));
        }
    }
    diff
}

/// Parses `k="v", k2="v2"}` as Go prints a label set (values kept escaped).
fn parse_go_map(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    value.push(c);
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches([',', ' ']).to_owned(), value);
        rest = &after[end..];
    }
    out
}

#[test]
fn parse_errors_equal_promtool_check_rules() {
    let Some(promtool) = reference_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let expander = expander();
    let mut rules = String::from(
        "groups:\n- name: golden\n  rules:\n  - alert: Golden\n    expr: up\n    annotations:\n",
    );
    let mut ours = BTreeMap::new();
    for (i, text) in PARSE_ERRORS.iter().enumerate() {
        let key = format!("a{i:02}");
        rules.push_str(&format!("      {key}: {}\n", yaml_string(text)));
        let err = expander
            .check("__alert_Golden", text)
            .expect_err(&format!("{text:?} should not parse"));
        ours.insert(key, err.to_string());
    }
    std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
    let (ok, output) = run(&promtool, &["check", "rules", "rules.yml"], dir.path());
    assert!(
        !ok,
        "promtool accepted templates that should not parse:\n{output}"
    );
    let mut theirs = BTreeMap::new();
    for line in output.lines() {
        if let Some((_, rest)) = line.split_once("annotation \"")
            && let Some((key, message)) = rest.split_once("\": ")
        {
            theirs.insert(key.to_owned(), message.to_owned());
        }
    }
    let differences: Vec<String> = ours
        .iter()
        .filter(|(k, v)| theirs.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: ours {v:?}, promtool {:?}", theirs.get(k)))
        .collect();
    assert!(
        differences.is_empty() && ours.len() == theirs.len(),
        "{differences:#?}\npromtool output:\n{output}"
    );
}
