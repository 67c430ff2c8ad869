//! The command line itself.

use std::process::Command;

use crate::support::BIN;

#[test]
fn help_lists_subcommands_with_descriptions() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (command, words) in [
        ("server", "Run the server"),
        ("check", "Validate files"),
        ("version", "Print version"),
    ] {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(command))
            .unwrap_or_else(|| panic!("{command} missing from:\n{help}"));
        assert!(line.contains(words), "{line}");
    }
}

#[test]
fn version_prints_build_information() {
    let output = Command::new(BIN).arg("version").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(&format!("tocsin, version {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("rust version:"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(BIN)
        .args(["server", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(BIN)
        .args(["server", "--shutdown-timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("invalid duration"), "{stderr}");
}

#[test]
fn missing_explicit_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["server", "--config", "nope.yml", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("configuration file nope.yml does not exist"),
        "{stderr}"
    );
}
