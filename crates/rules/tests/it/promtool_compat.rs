//! The files under `tests/promtool/` give the same verdict under `tocsin test rules` (this
//! crate's runner) and `promtool test rules`: those in `pass/` pass, those in `fail/` fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use tocsin_rules::PrometheusTemplateFactory;
use tocsin_rules::unittest::run_file;

use crate::support::reference_tool;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/promtool")
        .join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("test directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    out.sort();
    assert!(out.len() >= 3, "too few files in {}", dir.display());
    out
}

fn check(dir: &str, should_pass: bool) {
    let promtool = reference_tool("promtool");
    for file in files(dir) {
        let outcome = run_file(&file, &PrometheusTemplateFactory);
        assert_eq!(
            outcome.errors.is_empty(),
            should_pass,
            "tocsin on {}: {:#?}",
            file.display(),
            outcome.errors
        );
        if let Some(promtool) = &promtool {
            let out = Command::new(promtool)
                .arg("test")
                .arg("rules")
                .arg(&file)
                .output()
                .expect("run promtool");
            assert_eq!(
                out.status.success(),
                should_pass,
                "promtool on {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn passing_files_pass_under_both() {
    check("pass", true);
}

#[test]
fn failing_files_fail_under_both() {
    check("fail", false);
}

#[test]
fn failures_are_worded_like_promtool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promtool/fail");
    let outcome = run_file(&dir.join("too_early.yml"), &PrometheusTemplateFactory);
    assert_eq!(outcome.errors.len(), 1);
    let expected = "    name: fires before for elapsed,\n    alertname: InstanceDown, time: 1m, \n        exp:[\n            0:\n              Labels:{alertname=\"InstanceDown\", instance=\"a\", job=\"api\", severity=\"page\"}\n              Annotations:{summary=\"Instance a of api is down\", value=\"0\"}\n            ], \n        got:[]";
    assert_eq!(outcome.errors[0], expected);
    let outcome = run_file(&dir.join("wrong_value.yml"), &PrometheusTemplateFactory);
    assert_eq!(
        outcome.errors,
        vec!["    expr: \"job:requests:rate1m\", time: 5m,\n        exp: {__name__=\"job:requests:rate1m\", job=\"web\"} 3E+00\n        got: {__name__=\"job:requests:rate1m\", job=\"web\"} 2E+00".to_owned()]
    );
}
