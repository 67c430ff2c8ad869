//! Table tests over `testdata/*.good.yml` and `testdata/*.bad.yml`, in the style of
//! Prometheus's `config_test.go`: every bad file has the error it must produce, with location.

use std::path::{Path, PathBuf};

use super::*;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

#[test]
fn embedded_default_is_valid_and_empty_file_equals_it() {
    assert_eq!(Config::parse("empty.yml", "").unwrap(), Config::default());
    let cfg = Config::default();
    assert_eq!(cfg.global.scrape_interval, Duration::from_secs(60));
    assert_eq!(
        cfg.storage.tsdb.retention_time,
        Duration::from_secs(15 * 86400)
    );
    assert!(!cfg.web.auth_enabled());
}

#[test]
fn good_files_load() {
    let mut count = 0;
    for entry in std::fs::read_dir(testdata("")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".good.yml") {
            Config::load(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 3, "expected good fixtures, found {count}");
}

#[test]
fn repository_example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tocsin.yml");
    let cfg = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    assert!(!cfg.scrape_configs.is_empty());
}

/// (file, line, column, text the message must contain)
const BAD: &[(&str, u64, u64, &str)] = &[
    (
        "unknown_top_level.bad.yml",
        3,
        1,
        "unknown field `scrape_config`",
    ),
    (
        "unknown_nested.bad.yml",
        3,
        5,
        "unknown field `scrape_intervall`",
    ),
    ("bad_duration.bad.yml", 2, 20, "invalid duration \"15 s\""),
    (
        "timeout_over_interval.bad.yml",
        3,
        5,
        "scrape_timeout 30s is greater than scrape_interval 15s",
    ),
    (
        "timeout_over_global_interval.bad.yml",
        5,
        15,
        "one of them comes from global",
    ),
    (
        "duplicate_job.bad.yml",
        5,
        15,
        "job_name \"node\" is already used at line 2",
    ),
    (
        "bad_relabel_regex.bad.yml",
        6,
        16,
        "invalid regular expression",
    ),
    ("plaintext_password.bad.yml", 2, 3, "must be a bcrypt hash"),
    ("bad_state_store.bad.yml", 2, 10, "unknown state store"),
    (
        "retention_below_block.bad.yml",
        3,
        5,
        "shorter than block_duration",
    ),
    ("yaml_syntax.bad.yml", 3, 2, ""),
    ("bad_tenant.bad.yml", 4, 5, "tenant id"),
    ("negative_limit.bad.yml", 3, 28, ""),
    ("bad_grace_period.bad.yml", 3, 28, "invalid duration"),
    ("wrong_type.bad.yml", 1, 17, ""),
];

#[test]
fn bad_files_fail_with_location_and_reason() {
    for (file, line, column, want) in BAD {
        let path = testdata(file);
        let err = Config::load(&path).expect_err(file);
        assert_eq!(
            (err.line, err.column),
            (Some(*line), Some(*column)),
            "{file}: wrong location in: {err}"
        );
        assert!(
            err.message.contains(want),
            "{file}: message lacks {want:?}: {err}"
        );
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{}:{line}:{column}: ", path.display())),
            "{file}: not file:line:column: {shown}"
        );
    }
}

#[test]
fn every_bad_fixture_is_in_the_table() {
    for entry in std::fs::read_dir(testdata("")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".bad.yml") {
            assert!(
                BAD.iter().any(|(file, ..)| *file == name),
                "{name} has no expected error"
            );
        }
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = Config::load(Path::new("/nonexistent/tocsin.yml")).unwrap_err();
    assert!(err.message.contains("cannot read file"), "{err}");
    assert!(
        err.to_string().starts_with("/nonexistent/tocsin.yml: "),
        "{err}"
    );
}

#[test]
fn redacted_yaml_hides_secrets() {
    let path = testdata("full.good.yml");
    let cfg = Config::load(&path).unwrap();
    let shown = cfg.to_redacted_yaml();
    assert!(!shown.contains("s3cr3t"), "{shown}");
    insta::assert_snapshot!("full_good_redacted", shown);
}

#[test]
fn scrape_defaults_come_from_global() {
    let cfg = Config::parse(
        "t.yml",
        "global: {scrape_interval: 30s, scrape_timeout: 20s}\nscrape_configs:\n  - job_name: a\n  \
         - job_name: b\n    scrape_interval: 10s\n",
    )
    .unwrap();
    let (a, b) = (&cfg.scrape_configs[0], &cfg.scrape_configs[1]);
    assert_eq!(cfg.effective_scrape_interval(a), Duration::from_secs(30));
    assert_eq!(cfg.effective_scrape_timeout(a), Duration::from_secs(20));
    // Prometheus caps an inherited timeout at the job's own interval.
    assert_eq!(cfg.effective_scrape_timeout(b), Duration::from_secs(10));
}
