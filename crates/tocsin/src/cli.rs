//! The command line. Runtime knobs are flags (with `TOCSIN_*` environment equivalents);
//! what the pipeline does is configuration (`tocsin.yml`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tocsin_telemetry::LogFormat;

/// tocsin: metrics, SLOs, alerting, on-call and incidents in one binary.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version, about, propagate_version = true)]
pub struct Cli {
    /// Log line format: text or json.
    #[arg(long, global = true, default_value = "text", env = "TOCSIN_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// Log level filter: error, warn, info, debug, trace, or per module
    /// (`info,tocsin_api=debug`).
    #[arg(long, global = true, default_value = "info", env = "TOCSIN_LOG_LEVEL")]
    pub log_level: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: HTTP API and self-monitoring on the embedded default or tocsin.yml.
    Server(ServerArgs),
    /// Validate files without starting anything.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Print version and build information.
    Version,
}

/// `tocsin server` flags.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on (host:port). Keep it on loopback unless `web` auth is configured.
    #[arg(long, default_value = "127.0.0.1:9095", env = "TOCSIN_LISTEN")]
    pub listen: String,

    /// Directory for all state; created if missing.
    #[arg(long, default_value = "data", env = "TOCSIN_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Configuration file. Without it, ./tocsin.yml is used if present, else the embedded
    /// default.
    #[arg(long, env = "TOCSIN_CONFIG")]
    pub config: Option<PathBuf>,

    /// How long requests in flight may take to finish on shutdown.
    #[arg(long, default_value = "30s", env = "TOCSIN_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: tocsin_config::Duration,
}

/// `tocsin check` subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check tocsin.yml files: syntax, every field, and the files they name (TLS, tokens).
    Config {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}
