//! Cases ported from Prometheus's `model/relabel/relabel_test.go`: same inputs, configs and
//! expected outputs.

use tocsin_config::yaml;

use super::*;

fn set(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_labels(pairs.iter().map(|(n, v)| Label::new(*n, *v)))
}

fn configs(text: &str) -> Vec<RelabelConfig> {
    yaml::from_str("relabel.yml", text).unwrap()
}

fn run(input: &[(&str, &str)], rules: &str) -> Option<Vec<(String, String)>> {
    let mut labels = set(input);
    relabel(&mut labels, &configs(rules)).then(|| {
        labels
            .into_vec()
            .into_iter()
            .map(|l| (l.name, l.value))
            .collect()
    })
}

fn pairs(expected: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    out.sort();
    Some(out)
}

#[test]
fn replace() {
    let abc = [("a", "foo"), ("b", "bar"), ("c", "baz")];
    assert_eq!(
        run(
            &abc,
            "- {source_labels: [a], regex: 'f(.*)', target_label: d, separator: ';', replacement: 'ch${1}-ch${1}'}"
        ),
        pairs(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")])
    );
    assert_eq!(
        run(
            &abc,
            "- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, separator: ';', replacement: 'b${1}${2}m'}\n- {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, separator: ';', replacement: '$1$2$2$3'}"
        ),
        pairs(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")])
    );
    // No match: nothing changes.
    assert_eq!(
        run(
            &[("a", "boo")],
            "- {source_labels: [a], regex: f, target_label: b, replacement: bar}"
        ),
        pairs(&[("a", "boo")])
    );
    // An empty replacement deletes the target.
    assert_eq!(
        run(
            &[("a", "foo"), ("b", "bar")],
            "- {source_labels: [a], regex: 'f(.*)', target_label: b, replacement: ''}"
        ),
        pairs(&[("a", "foo")])
    );
    // Templated target names; an unknown group gives an empty name and no change.
    assert_eq!(
        run(
            &[("a", "some-name-value")],
            "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', target_label: '${1}', replacement: '${2}'}"
        ),
        pairs(&[("a", "some-name-value"), ("name", "value")])
    );
    assert_eq!(
        run(
            &[("a", "foo")],
            "- {source_labels: [a], regex: '(f).*', target_label: '$1', replacement: '$2'}"
        ),
        pairs(&[("a", "foo")])
    );
    // The default regex and replacement copy the joined value.
    assert_eq!(
        run(
            &[("a", "x"), ("b", "y")],
            "- {source_labels: [a, b], target_label: c}"
        ),
        pairs(&[("a", "x"), ("b", "y"), ("c", "x;y")])
    );
    // Regexes are anchored and `.` matches newlines.
    assert_eq!(
        run(
            &[("a", "foo\nbar")],
            "- {source_labels: [a], regex: 'foo.bar', target_label: b, replacement: matched}"
        ),
        pairs(&[("a", "foo\nbar"), ("b", "matched")])
    );
    assert_eq!(
        run(
            &[("a", "xfoo")],
            "- {source_labels: [a], regex: 'foo', target_label: b, replacement: matched}"
        ),
        pairs(&[("a", "xfoo")])
    );
}

#[test]
fn keep_drop_and_equal() {
    let abc = [("a", "foo"), ("b", "bar"), ("c", "baz")];
    assert_eq!(
        run(&abc, "- {source_labels: [a], regex: '.*o.*', action: drop}"),
        None
    );
    assert_eq!(
        run(
            &[("a", "abc")],
            "- {source_labels: [a], regex: '.*(b).*', action: drop}"
        ),
        None
    );
    assert_eq!(
        run(
            &[("a", "foo")],
            "- {source_labels: [a], regex: 'no-match', action: drop}"
        ),
        pairs(&[("a", "foo")])
    );
    assert_eq!(
        run(
            &[("a", "foo")],
            "- {source_labels: [a], regex: 'no-match', action: keep}"
        ),
        None
    );
    assert_eq!(
        run(
            &[("a", "foo")],
            "- {source_labels: [a], regex: 'f.*', action: keep}"
        ),
        pairs(&[("a", "foo")])
    );
    // A missing label joins as the empty string.
    assert_eq!(
        run(
            &[("a", "foo")],
            "- {source_labels: [b], regex: '', action: keep}"
        ),
        pairs(&[("a", "foo")])
    );
    let ports = [
        ("__tmp_port", "1234"),
        ("__port1", "1234"),
        ("__port2", "5678"),
    ];
    assert!(
        run(
            &ports,
            "- {source_labels: [__tmp_port], target_label: __port1, action: keepequal}"
        )
        .is_some()
    );
    assert!(
        run(
            &ports,
            "- {source_labels: [__tmp_port], target_label: __port2, action: keepequal}"
        )
        .is_none()
    );
    assert!(
        run(
            &ports,
            "- {source_labels: [__tmp_port], target_label: __port1, action: dropequal}"
        )
        .is_none()
    );
    assert!(
        run(
            &ports,
            "- {source_labels: [__tmp_port], target_label: __port2, action: dropequal}"
        )
        .is_some()
    );
}

#[test]
fn hashmod_matches_prometheus() {
    assert_eq!(
        run(
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            "- {source_labels: [c], target_label: d, action: hashmod, modulus: 1000}"
        ),
        pairs(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")])
    );
    assert_eq!(
        run(
            &[("a", "foo\nbar")],
            "- {source_labels: [a], target_label: b, action: hashmod, modulus: 1000}"
        ),
        pairs(&[("a", "foo\nbar"), ("b", "734")])
    );
}

#[test]
fn label_map_drop_keep() {
    let b = [("a", "foo"), ("b1", "bar"), ("b2", "baz")];
    assert_eq!(
        run(
            &b,
            "- {regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}"
        ),
        pairs(&[
            ("a", "foo"),
            ("b1", "bar"),
            ("b2", "baz"),
            ("bar_b1", "bar"),
            ("bar_b2", "baz")
        ])
    );
    assert_eq!(
        run(
            &[
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc")
            ],
            "- {regex: '__meta_(my.*)', replacement: '${1}', action: labelmap}"
        ),
        pairs(&[
            ("__meta_my_bar", "aaa"),
            ("__meta_my_baz", "bbb"),
            ("__meta_other", "ccc"),
            ("my_bar", "aaa"),
            ("my_baz", "bbb")
        ])
    );
    assert_eq!(
        run(
            &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            "- {regex: 'b.*', action: labeldrop}"
        ),
        pairs(&[("a", "foo")])
    );
    assert_eq!(
        run(
            &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            "- {regex: 'b.*', action: labelkeep}"
        ),
        pairs(&[("b1", "bar"), ("b2", "baz")])
    );
    assert_eq!(
        run(
            &[("a", "foo"), ("b1", "bar")],
            "- {regex: '(b.*)', action: labelkeep}"
        ),
        pairs(&[("b1", "bar")])
    );
}

#[test]
fn lower_and_upper_case() {
    assert_eq!(
        run(
            &[("foo", "bAr123Foo")],
            "- {source_labels: [foo], target_label: foo_uppercase, action: uppercase}\n- {source_labels: [foo], target_label: foo_lowercase, action: lowercase}"
        ),
        pairs(&[
            ("foo", "bAr123Foo"),
            ("foo_lowercase", "bar123foo"),
            ("foo_uppercase", "BAR123FOO")
        ])
    );
}

#[test]
fn label_set_builder_semantics() {
    let mut labels = set(&[("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
    assert_eq!(labels.get("b"), "3");
    assert_eq!(labels.get("c"), "");
    labels.set("a", "");
    labels.del("zz");
    assert_eq!(labels.len(), 1);
}
