//! `tocsin check rules` and `tocsin test rules`, with promtool's output and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use tocsin_rules::unittest;

use crate::output;

/// Checks rule files like `promtool check rules`.
pub(crate) fn check(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        output::line(&format!("Checking {}", file.display()));
        match tocsin_rules::load_rule_file(file) {
            Ok(groups) => {
                let rules: usize = groups.iter().map(|g| g.rules.len()).sum();
                output::line(&format!("  SUCCESS: {rules} rules found"));
            }
            Err(errors) => {
                failed = true;
                output::detail("  FAILED:");
                for err in errors {
                    match &err.snippet {
                        Some(snippet) => output::detail(&format!("{err}\n{snippet}")),
                        None => output::detail(&err.to_string()),
                    }
                }
            }
        }
        output::line("");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs rule unit tests like `promtool test rules`.
pub(crate) fn test(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    let factory = tocsin_rules::PrometheusTemplateFactory;
    for file in files {
        output::line(&format!("Unit Testing:  {}", file.display()));
        let outcome = unittest::run_file(file, &factory);
        if outcome.errors.is_empty() {
            output::line("  SUCCESS");
        } else {
            failed = true;
            output::detail("  FAILED:");
            for err in &outcome.errors {
                output::detail(err);
                output::line("");
            }
        }
        output::line("");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
