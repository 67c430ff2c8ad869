//! One module per subcommand.

mod agent;
mod alerts;
mod bench;
pub(crate) mod check;
mod client;
pub(crate) mod demo;
mod drill;
mod import;
mod incident;
mod oncall;
mod query;
mod rules;
mod slo;
mod tsdb;
mod version;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{
    AlertsCommand, BenchCommand, CheckCommand, Cli, Command, ImportCommand, TestCommand,
    TsdbCommand,
};

/// Runs the chosen subcommand.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => {
            // The demo prints its own steps; server logs stay at warnings unless asked for.
            let level = if cli.log_level == "info" {
                "warn"
            } else {
                cli.log_level.as_str()
            };
            tocsin_telemetry::init_logging(cli.log_format, level)
                .context("cannot set up logging")?;
            demo::run(args)
        }
        Command::Drill(command) => {
            // A drill prints its briefing and report; server logs stay at warnings.
            let level = if cli.log_level == "info" {
                "warn"
            } else {
                cli.log_level.as_str()
            };
            if matches!(command, crate::cli::DrillCommand::Run(_)) {
                tocsin_telemetry::init_logging(cli.log_format, level)
                    .context("cannot set up logging")?;
            }
            drill::run(command)
        }
        Command::Server(args) => {
            tocsin_telemetry::init_logging(cli.log_format, &cli.log_level)
                .context("cannot set up logging")?;
            crate::server::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(CheckCommand::Config { files }) => Ok(check::config(&files)),
        Command::Check(CheckCommand::Rules { files }) => Ok(rules::check(&files)),
        Command::Test(TestCommand::Rules { files }) => Ok(rules::test(&files)),
        Command::Check(CheckCommand::Alertmanager { files }) => Ok(check::alertmanager(&files)),
        Command::Alerts(AlertsCommand::History(args)) => alerts::history(&args),
        Command::Alerts(AlertsCommand::Ack(args)) => alerts::ack(&args),
        Command::Alerts(AlertsCommand::Unack(args)) => alerts::unack(&args),
        Command::Alerts(AlertsCommand::Groups(args)) => alerts::groups(&args),
        Command::Alerts(AlertsCommand::Feedback(args)) => alerts::feedback(&args),
        Command::Alerts(AlertsCommand::Report(args)) => alerts::report(&args),
        Command::Version => {
            version::print();
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::RemoteWrite(args)) => bench::remote_write(&args),
        Command::Bench(BenchCommand::Tsdb(args)) => tsdb::bench(&args),
        Command::Tsdb(TsdbCommand::Inspect { data_dir, top }) => tsdb::inspect(&data_dir, top),
        Command::Tsdb(TsdbCommand::Dump {
            data_dir,
            selector,
            min_time,
            max_time,
        }) => tsdb::dump(&data_dir, selector.as_deref(), min_time, max_time),
        Command::Slo(command) => Ok(slo::run(&command)),
        Command::Oncall(command) => oncall::run(&command),
        Command::Incident(command) => incident::run(&command),
        Command::Postmortem(command) => incident::postmortem(&command),
        Command::Query(args) => query::instant(&args),
        Command::QueryRange(args) => query::range(&args),
        Command::Agent(args) => {
            tocsin_telemetry::init_logging(cli.log_format, &cli.log_level)
                .context("cannot set up logging")?;
            agent::run(&args)
        }
        Command::Import(ImportCommand::Openmetrics {
            file,
            data_dir,
            block_duration,
        }) => import::openmetrics(&file, &data_dir, block_duration),
    }
}
