use std::str::FromStr;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::{Error, Result};

/// How log lines are written (to standard error; standard output is for command output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines with `key=value` fields.
    #[default]
    Text,
    /// One JSON object per line, fields at the top level, for log pipelines.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" | "logfmt" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("unknown log format {text:?}; use text or json")),
        }
    }
}

/// Installs the process-wide subscriber. `filter` uses `tracing`'s `EnvFilter` syntax
/// (`info`, `debug,hyper=info`).
pub fn init_logging(format: LogFormat, filter: &str) -> Result<()> {
    let env_filter = EnvFilter::builder()
        .parse(filter)
        .map_err(|err| Error::LogFilter {
            filter: filter.to_owned(),
            reason: err.to_string(),
        })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|_| Error::LoggingAlreadySet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_filter_is_a_clear_error() {
        let err = init_logging(LogFormat::Text, "info,=[").unwrap_err();
        assert!(err.to_string().contains("invalid log level"), "{err}");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!("text".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
