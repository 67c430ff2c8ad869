//! `tocsin check config`.

use std::process::Command;

use crate::support::BIN;

fn check(dir: &std::path::Path, file: &str) -> (i32, String, String) {
    let output = Command::new(BIN)
        .args(["check", "config", file])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn reports_a_bad_file_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "global:\n  scrape_interval: 15s\nscrape_configz:\n  - job_name: node\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(dir.path(), "bad.yml");
    assert_eq!(code, 1);
    assert!(stdout.contains("FAILED: bad.yml"), "{stdout}");
    assert!(
        stderr.starts_with("bad.yml:3:1: unknown field `scrape_configz`"),
        "{stderr}"
    );
    // The snippet points at the line.
    assert!(stderr.contains("3 | scrape_configz:"), "{stderr}");
}

#[test]
fn accepts_the_example_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tocsin.yml");
    let (code, stdout, stderr) = check(std::path::Path::new("."), example);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("SUCCESS"), "{stdout}");
}

#[test]
fn checks_the_files_a_config_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tls.yml"),
        "web:\n  tls_server_config:\n    cert_file: server.crt\n    key_file: server.key\n",
    )
    .unwrap();
    let (code, _, stderr) = check(dir.path(), "tls.yml");
    assert_eq!(code, 1);
    assert!(stderr.contains("server.crt"), "{stderr}");
}

#[test]
fn fails_if_any_of_several_files_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yml"),
        "global: {scrape_interval: 10s}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "global: {scrape_interval: 10}\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["check", "config", "good.yml", "bad.yml", "missing.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.contains("SUCCESS: good.yml"), "{stdout}");
    assert!(stdout.contains("FAILED: bad.yml"), "{stdout}");
    assert!(stderr.contains("missing.yml: cannot read file"), "{stderr}");
}
