//! The `tocsin` command: parses the command line, sets up logging and runs one subcommand.
//! The server subcommand is the composition root that builds every stage from the
//! configuration and wires them together through their traits (see ARCHITECTURE.md).

mod cli;
mod commands;
mod fleet_bundle;
mod output;
mod server;

use std::process::ExitCode;

use clap::Parser;
use tocsin_telemetry::BuildInfo;

pub use crate::cli::Cli;

/// What this binary was built from.
pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    revision: env!("TOCSIN_REVISION"),
    branch: env!("TOCSIN_BRANCH"),
    build_date: env!("TOCSIN_BUILD_DATE"),
    rustc_version: env!("TOCSIN_RUSTC_VERSION"),
};

/// Entry point: 0 on success, 1 when the command failed (the reason is on standard error),
/// 2 for a usage error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            output::error(&format!("{err:#}"));
            ExitCode::FAILURE
        }
    }
}
