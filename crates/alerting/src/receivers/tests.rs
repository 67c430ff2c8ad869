//! Unit tests of the shared pieces: globbing, template data, defaults.
#![allow(clippy::unwrap_used, reason = "test code")]

use super::*;

#[test]
fn glob_matches_file_names_like_go() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.tmpl", "b.tmpl", "c.txt"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    let found = expand_glob(dir.path(), "*.tmpl").unwrap();
    let names: Vec<_> = found
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.tmpl", "b.tmpl"]);
    assert_eq!(expand_glob(dir.path(), "[ab].t?pl").unwrap().len(), 2);
    assert!(expand_glob(dir.path(), "nope/*.tmpl").unwrap().is_empty());
    assert!(expand_glob(dir.path(), "*/x.tmpl").is_err());
}

#[test]
fn user_templates_override_defaults_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.tmpl"),
        r#"{{ define "slack.default.title" }}custom {{ .Status }}{{ end }}"#,
    )
    .unwrap();
    let t = Templates::load(&["*.tmpl".to_owned()], dir.path()).unwrap();
    let data = Value::Map(BTreeMap::from([(
        "Status".to_owned(),
        Value::from("firing"),
    )]));
    assert_eq!(
        t.render_text(r#"{{ template "slack.default.title" . }}"#, &data)
            .unwrap(),
        "custom firing"
    );
    std::fs::write(dir.path().join("bad.tmpl"), "{{ nope }}").unwrap();
    let err = Templates::load(&["bad.tmpl".to_owned()], dir.path()).unwrap_err();
    assert!(err.to_string().contains("bad.tmpl"), "{err}");
}

#[test]
fn truncate_counts_characters() {
    assert_eq!(truncate("héllo".into(), 5), ("héllo".into(), false));
    assert_eq!(truncate("héllo".into(), 3), ("hé…".into(), true));
}

#[test]
fn receiver_names_are_quoted_like_go() {
    assert_eq!(go_quote_meta("team-api#1"), "team-api#1");
    assert_eq!(go_quote_meta("a.b*(c)"), "a\\.b\\*\\(c\\)");
}

proptest::proptest! {
    /// Go's quoting makes any receiver name a regex matching exactly that name, and leaves
    /// characters Go does not escape alone.
    #[test]
    fn quoted_names_match_themselves(name in "\\PC{0,24}") {
        let quoted = go_quote_meta(&name);
        let re = regex::Regex::new(&format!("^{quoted}$")).unwrap();
        proptest::prop_assert!(re.is_match(&name));
        proptest::prop_assert_eq!(quoted.replace('\\', ""), name.replace('\\', ""));
    }

    /// Truncation keeps a prefix and never exceeds the limit.
    #[test]
    fn truncate_keeps_a_prefix_within_the_limit(text in "\\PC{0,40}", max in 1usize..30) {
        let (out, cut) = truncate(text.clone(), max);
        proptest::prop_assert!(out.chars().count() <= max);
        proptest::prop_assert_eq!(cut, text.chars().count() > max);
        proptest::prop_assert!(text.starts_with(out.trim_end_matches('…')));
    }
}
