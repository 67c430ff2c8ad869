//! Errors of the SLO crate.

use tocsin_config::yaml::YamlError;

/// Everything that can go wrong reading a spec, generating rules or computing a budget.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The YAML did not match the expected structure (names file:line:column).
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The YAML parsed but says something tocsin cannot use.
    #[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Spec {
        /// File (or `<input>`).
        source_name: String,
        /// 1-based line of the document or field, when known.
        line: Option<u64>,
        /// What is wrong and what to do instead.
        message: String,
    },
    /// A query failed while computing a budget.
    #[error("query {query:?} failed: {source}")]
    Query {
        /// The PromQL that failed.
        query: String,
        /// Why.
        source: tocsin_promql::Error,
    },
    /// No SLO of that name is loaded.
    #[error("no SLO named {0:?}; `tocsin slo list` shows the loaded ones")]
    UnknownSlo(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
