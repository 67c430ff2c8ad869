use std::path::Path;
use std::process::ExitCode;

use tocsin_api::WebSecurity;
use tocsin_config::Config;

use crate::output;

/// Checks each file like `promtool check config`: syntax and every field, then the files it
/// names (certificates, keys, token files). Exit status 1 if any file fails.
pub(crate) fn config(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        output::line(&format!("Checking {}", file.display()));
        match check_one(file) {
            Ok(()) => output::line(&format!(
                "  SUCCESS: {} is valid tocsin configuration",
                file.display()
            )),
            Err(message) => {
                failed = true;
                output::line(&format!("  FAILED: {}", file.display()));
                output::detail(&message);
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn check_one(file: &Path) -> Result<(), String> {
    let config = Config::load(file).map_err(|err| match &err.snippet {
        Some(snippet) => format!("{err}\n{snippet}"),
        None => err.to_string(),
    })?;
    let base_dir = file.parent().unwrap_or(Path::new("."));
    WebSecurity::from_config(&config.web, base_dir)
        .map_err(|err| format!("{}: {err}", file.display()))?;
    crate::server::check_alertmanager_reference(&config, base_dir)?;
    crate::server::slo::load_slo_files(&config, base_dir)?;
    crate::server::oncall::check_files(&config, base_dir)?;
    crate::server::incident::load_file(&config, base_dir)?;
    Ok(())
}

/// Checks Alertmanager configuration files like `amtool check-config`.
pub(crate) fn alertmanager(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        output::line(&format!("Checking {}", file.display()));
        match tocsin_alerting::config::AlertmanagerConfig::load(file) {
            Ok(config) => output::line(&format!(
                "  SUCCESS: {} is valid Alertmanager configuration ({} receivers, {} inhibit rules)",
                file.display(),
                config.receivers.len(),
                config.inhibit_rules.len()
            )),
            Err(err) => {
                failed = true;
                output::line(&format!("  FAILED: {}", file.display()));
                output::detail(&match &err.snippet {
                    Some(snippet) => format!("{err}\n{snippet}"),
                    None => err.to_string(),
                });
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
