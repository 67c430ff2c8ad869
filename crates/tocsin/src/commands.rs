//! One module per subcommand.

mod check;
mod version;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{CheckCommand, Cli, Command};

/// Runs the chosen subcommand.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Server(args) => {
            tocsin_telemetry::init_logging(cli.log_format, &cli.log_level)
                .context("cannot set up logging")?;
            crate::server::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(CheckCommand::Config { files }) => Ok(check::config(&files)),
        Command::Version => {
            version::print();
            Ok(ExitCode::SUCCESS)
        }
    }
}
