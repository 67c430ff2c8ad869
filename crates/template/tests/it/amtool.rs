//! Golden tests against Alertmanager 0.25's `amtool template render`: notification data in
//! Alertmanager's shape, its functions and its data types' methods.

use std::collections::BTreeMap;
use std::process::Command;

use tocsin_template::{GoTime, Value, alertmanager};

use crate::support::reference_tool;

/// Defines used by the cases, loaded as a template file on both sides.
const DEFINES: &str = r#"{{ define "subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "alerts" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}"#;

const CASES: &[&str] = &[
    "{{ template \"subject\" . }}",
    "{{ template \"alerts\" .Alerts.Firing }}---{{ template \"alerts\" .Alerts.Resolved }}",
    "{{ .Status | toUpper }} {{ .Receiver }} {{ .ExternalURL }}",
    "{{ .Alerts.Firing | len }} {{ .Alerts.Resolved | len }} {{ len .Alerts }}",
    "{{ range .Alerts }}{{ .Status }}:{{ .Labels.alertname }}:{{ .Fingerprint }} {{ end }}",
    "{{ .CommonLabels.Names }} {{ .CommonLabels.Values }} {{ .GroupLabels.SortedPairs.Names }}",
    "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
    "{{ (.CommonLabels.Remove (stringSlice \"job\")).Names | join \",\" }}",
    "{{ title \"hELLO wORLD it's\" }} {{ toLower \"ABC\" }} {{ toUpper \"abc\" }}",
    "{{ join \", \" (stringSlice \"a\" \"b\" \"c\") }} {{ stringSlice }}",
    "{{ match \"^a\" \"abc\" }} {{ reReplaceAll \"b+\" \"X\" \"abbbc\" }} {{ safeHtml \"<b>\" }}",
    "{{ .CommonAnnotations.summary }} [{{ .CommonAnnotations.nope }}]",
    "{{ .Alerts.Nope }}",
    "{{ range .Alerts }}{{ .StartsAt }}|{{ .EndsAt }}|{{ .EndsAt.IsZero }}|{{ .StartsAt.Format \"Mon, 02 Jan 2006 15:04:05.000 MST\" }}|{{ .StartsAt.Unix }} {{ end }}",
    "{{ .CommonLabels.Remove }}",
];

fn kv(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

struct Alert {
    status: &'static str,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    fingerprint: &'static str,
}

fn alerts() -> Vec<Alert> {
    vec![
        Alert {
            status: "firing",
            labels: kv(&[
                ("alertname", "HighLatency"),
                ("job", "api"),
                ("instance", "a:1"),
                ("severity", "page"),
            ]),
            annotations: kv(&[
                ("summary", "latency high"),
                ("runbook", "https://runbooks/x"),
            ]),
            fingerprint: "aaaa",
        },
        Alert {
            status: "resolved",
            labels: kv(&[
                ("alertname", "HighLatency"),
                ("job", "api"),
                ("instance", "b:1"),
                ("severity", "page"),
            ]),
            annotations: kv(&[("summary", "latency high")]),
            fingerprint: "bbbb",
        },
        Alert {
            status: "firing",
            labels: kv(&[
                ("alertname", "HighLatency"),
                ("job", "api"),
                ("instance", "c:1"),
                ("severity", "page"),
            ]),
            annotations: kv(&[("summary", "latency high")]),
            fingerprint: "cccc",
        },
    ]
}

fn group_labels() -> BTreeMap<String, String> {
    kv(&[("alertname", "HighLatency")])
}

fn common_labels() -> BTreeMap<String, String> {
    kv(&[
        ("alertname", "HighLatency"),
        ("job", "api"),
        ("severity", "page"),
    ])
}

fn common_annotations() -> BTreeMap<String, String> {
    kv(&[("summary", "latency high")])
}

/// The data as Alertmanager's JSON (`template.Data`), for amtool.
fn data_json() -> String {
    let alerts: Vec<serde_json::Value> = alerts()
        .iter()
        .map(|a| {
            serde_json::json!({
                "status": a.status,
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": "2026-01-01T00:00:00.25Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom/graph",
                "fingerprint": a.fingerprint,
            })
        })
        .collect();
    serde_json::json!({
        "receiver": "team-api",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": group_labels(),
        "commonLabels": common_labels(),
        "commonAnnotations": common_annotations(),
        "externalURL": "http://am.example.com",
    })
    .to_string()
}

/// The same data as template values, with Alertmanager's field names.
fn data_value() -> Value {
    let alerts = alerts()
        .iter()
        .map(|a| {
            let mut m = BTreeMap::new();
            m.insert("Status".to_owned(), Value::from(a.status));
            m.insert("Labels".to_owned(), Value::from(&a.labels));
            m.insert("Annotations".to_owned(), Value::from(&a.annotations));
            m.insert("GeneratorURL".to_owned(), Value::from("http://prom/graph"));
            m.insert("Fingerprint".to_owned(), Value::from(a.fingerprint));
            m.insert(
                "StartsAt".to_owned(),
                Value::Time(GoTime::from_unix_millis(1_767_225_600_250)),
            );
            m.insert(
                "EndsAt".to_owned(),
                Value::Time(GoTime::from_unix_millis(-62_135_596_800_000)),
            );
            Value::Map(m)
        })
        .collect();
    let mut m = BTreeMap::new();
    m.insert("Receiver".to_owned(), Value::from("team-api"));
    m.insert("Status".to_owned(), Value::from("firing"));
    m.insert("Alerts".to_owned(), Value::List(alerts));
    m.insert("GroupLabels".to_owned(), Value::from(&group_labels()));
    m.insert("CommonLabels".to_owned(), Value::from(&common_labels()));
    m.insert(
        "CommonAnnotations".to_owned(),
        Value::from(&common_annotations()),
    );
    m.insert(
        "ExternalURL".to_owned(),
        Value::from("http://am.example.com"),
    );
    Value::Map(m)
}

/// Ours, rendered as amtool does: the text is parsed into a set holding the template files.
fn ours(text: &str) -> Result<String, String> {
    let mut t = alertmanager::parse("", text).map_err(|e| e.to_string())?;
    t.add("defines.tmpl", DEFINES).map_err(|e| e.to_string())?;
    t.execute(&data_value()).map_err(|e| e.to_string())
}

#[test]
fn notifications_equal_amtool() {
    let Some(amtool) = reference_tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let defines = dir.path().join("defines.tmpl");
    let data = dir.path().join("data.json");
    std::fs::write(&defines, DEFINES).unwrap();
    std::fs::write(&data, data_json()).unwrap();
    let mut mismatches = String::new();
    for text in CASES {
        let out = Command::new(&amtool)
            .arg("template")
            .arg("render")
            .arg(format!("--template.glob={}", defines.display()))
            .arg(format!("--template.text={text}"))
            .arg(format!("--template.data={}", data.display()))
            .output()
            .unwrap();
        let theirs = if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        };
        let ours = ours(text);
        let same = match (&ours, &theirs) {
            (Ok(a), Ok(b)) => a == b,
            // Errors: the same location, node and message; Go names its own types, where
            // ours are untyped lists and maps.
            (Err(a), Err(b)) => b.contains(a.split(" in type ").next().unwrap_or(a)),
            _ => false,
        };
        if !same {
            mismatches.push_str(&format!(
                "{text}\n  ours:   {ours:?}\n  amtool: {theirs:?}\n"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences from amtool:\n{mismatches}"
    );
}
