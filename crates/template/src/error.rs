//! Errors, displayed the way Go's text/template displays them.

use crate::gofmt::quote;

/// A parse or execution error, displayed like Go's so messages match Prometheus and
/// Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is malformed: `template: NAME:LINE: message`.
    #[error("template: {template}:{line}: {message}")]
    Parse {
        /// The name of the text being parsed (the file or rule template).
        template: String,
        /// 1-based line of the offending token.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed at a node:
    /// `template: NAME:LINE:COL: executing "NAME" at <node>: message`.
    #[error("template: {location}: executing {} at <{context}>: {message}", quote(.template))]
    Exec {
        /// `parse-name:line:column` of the node (column is a 0-based byte offset, as in Go).
        location: String,
        /// The template (possibly a `define`d one) being executed.
        template: String,
        /// The node, printed back in template syntax.
        context: String,
        /// What went wrong.
        message: String,
    },
    /// An error not tied to a node (unknown template name, bad option).
    #[error("template: {template}: {message}")]
    Template {
        /// The template concerned.
        template: String,
        /// What went wrong.
        message: String,
    },
}
