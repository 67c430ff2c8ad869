//! Our rules for Sloth's example specs against the rules Sloth generated for them
//! (`testdata/sloth/`, see its NOTICE), compared semantically: same groups in the same order,
//! and per rule the same name, labels, annotations and expression once parsed and printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tocsin_slo::normalize::normalize_expr;
use tocsin_slo::{AlertStyle, GenerateOptions, Rule, RuleFile, RuleGroup, load_file, rule_groups};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sloth")
}

fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testdata().join("examples"))
        .expect("testdata/sloth/examples exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn sloth_options() -> GenerateOptions {
    GenerateOptions {
        style: AlertStyle::Sloth,
        extra_labels: BTreeMap::from([("cmd".to_owned(), "examplesgen.sh".to_owned())]),
        version: "dev".to_owned(),
    }
}

/// Every document of a generated file, groups concatenated.
fn sloth_groups(path: &Path) -> Vec<RuleGroup> {
    let text = std::fs::read_to_string(path).expect("golden file");
    let mut groups = Vec::new();
    for doc in text.split("\n---\n").flat_map(|d| d.split("---\n")) {
        if !doc.contains("groups:") {
            continue;
        }
        let file: RuleFile = tocsin_config::yaml::from_str(&path.display().to_string(), doc)
            .unwrap_or_else(|e| panic!("{e}"));
        groups.extend(file.groups);
    }
    groups
}

/// Record, alert, normalised expression, labels, annotations.
type Canonical = (
    Option<String>,
    Option<String>,
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
);

/// A rule in comparable form.
fn canonical(rule: &Rule) -> Canonical {
    let expr = normalize_expr(&rule.expr)
        .unwrap_or_else(|e| panic!("expression {:?} does not parse: {e}", rule.expr));
    (
        rule.record.clone(),
        rule.alert.clone(),
        expr,
        rule.labels.clone(),
        rule.annotations.clone(),
    )
}

fn assert_same(example: &str, ours: &[RuleGroup], theirs: &[RuleGroup], with_alerts: bool) {
    let keep = |g: &&RuleGroup| with_alerts || !g.name.starts_with("sloth-slo-alerts-");
    let ours: Vec<&RuleGroup> = ours.iter().filter(keep).collect();
    let theirs: Vec<&RuleGroup> = theirs.iter().filter(keep).collect();
    let names = |gs: &[&RuleGroup]| gs.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "{example}: group names");
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(
            a.rules.len(),
            b.rules.len(),
            "{example}: rule count in {}",
            a.name
        );
        for (ra, rb) in a.rules.iter().zip(&b.rules) {
            assert_eq!(canonical(ra), canonical(rb), "{example}: group {}", a.name);
        }
    }
}

#[test]
fn sloth_style_matches_sloths_output_for_every_example() {
    let names = examples();
    assert!(
        names.len() >= 8,
        "expected Sloth's examples, found {names:?}"
    );
    for name in names {
        let slos =
            load_file(&testdata().join("examples").join(&name)).unwrap_or_else(|e| panic!("{e}"));
        let ours = rule_groups(&slos, &sloth_options()).groups;
        let theirs = sloth_groups(&testdata().join("_gen").join(&name));
        assert_same(&name, &ours, &theirs, true);
    }
}

#[test]
fn tiered_style_records_the_same_series_and_alerts_per_tier() {
    for name in examples() {
        let slos =
            load_file(&testdata().join("examples").join(&name)).unwrap_or_else(|e| panic!("{e}"));
        let options = GenerateOptions {
            style: AlertStyle::Tiered,
            ..sloth_options()
        };
        let ours = rule_groups(&slos, &options).groups;
        let theirs = sloth_groups(&testdata().join("_gen").join(&name));
        assert_same(&name, &ours, &theirs, false);
        for group in ours
            .iter()
            .filter(|g| g.name.starts_with("sloth-slo-alerts-"))
        {
            let tiers: Vec<&str> = group
                .rules
                .iter()
                .map(|r| {
                    r.labels
                        .get("burnrate_tier")
                        .map(String::as_str)
                        .unwrap_or("missing")
                })
                .collect();
            assert_eq!(
                tiers,
                ["1h5m", "6h30m", "1d2h", "3d6h"],
                "{name}: {}",
                group.name
            );
            // Every slower tier is silenced by the faster ones.
            assert!(!group.rules[0].expr.contains("unless"));
            assert!(group.rules[1..].iter().all(|r| {
                r.expr
                    .contains("unless on(sloth_id, sloth_service, sloth_slo)")
            }));
        }
    }
}

#[test]
fn generated_yaml_reads_back_as_the_same_rules() {
    let slos = load_file(&testdata().join("examples/getting-started.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let yaml = tocsin_slo::rule_groups_yaml(&slos, &GenerateOptions::default());
    let back: RuleFile =
        tocsin_config::yaml::from_str("<generated>", &yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, rule_groups(&slos, &GenerateOptions::default()));
    for group in &back.groups {
        for rule in &group.rules {
            normalize_expr(&rule.expr).unwrap_or_else(|e| panic!("{}: {e}", rule.expr));
        }
    }
}

#[test]
fn tiered_rules_for_getting_started() {
    // The whole tiered output for one spec, with a traffic guard, as users see it.
    let mut slos = load_file(&testdata().join("examples/getting-started.yml")).unwrap();
    slos[0].tocsin.min_events = 100.0;
    let options = GenerateOptions {
        version: "test".to_owned(),
        ..GenerateOptions::default()
    };
    insta::assert_snapshot!(tocsin_slo::rule_groups_yaml(&slos, &options));
}
