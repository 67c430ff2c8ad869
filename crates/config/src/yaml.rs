//! Strict YAML loading shared by every file tocsin reads (config, rules, SLOs, routes, on-call).
//!
//! Every error names `file:line:column` and says what is wrong. Types that load through here
//! should use `#[serde(deny_unknown_fields)]` and validate in `TryFrom` (`#[serde(try_from)]`):
//! an error raised there is reported at the start of the mapping that failed.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::{MessageFormatter, UserMessageFormatter};

/// A YAML document could not be turned into the expected structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct YamlError {
    /// The file name (or `<embedded>` / `<input>`) the error is in.
    pub source_name: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<u64>,
    /// 1-based column, when the parser knows it.
    pub column: Option<u64>,
    /// What is wrong, and where known, what to do instead.
    pub message: String,
    /// The offending lines with a caret, for terminals.
    pub snippet: Option<String>,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.source_name, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.source_name, self.message),
            _ => write!(f, "{}: {}", self.source_name, self.message),
        }
    }
}

/// Maximum size of a YAML file we accept; a larger one is almost certainly a mistake and would
/// only cost memory.
pub const MAX_YAML_BYTES: usize = 16 * 1024 * 1024;

/// Parses one YAML document into `T`. An empty document is parsed as an empty mapping, so types
/// whose fields all have defaults accept an empty file.
pub fn from_str<T: DeserializeOwned>(source_name: &str, text: &str) -> Result<T, YamlError> {
    if text.len() > MAX_YAML_BYTES {
        return Err(YamlError {
            source_name: source_name.to_owned(),
            line: None,
            column: None,
            message: format!(
                "file is {} bytes, more than the {MAX_YAML_BYTES} bytes tocsin accepts for a YAML file",
                text.len()
            ),
            snippet: None,
        });
    }
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_saphyr::from_str::<T>(text).map_err(|err| convert(source_name, &err))
}

/// Reads and parses a YAML file. I/O errors are reported as a [`YamlError`] without location.
pub fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| YamlError {
        source_name: name.clone(),
        line: None,
        column: None,
        message: format!("cannot read file: {err}"),
        snippet: None,
    })?;
    from_str(&name, &text)
}

fn convert(source_name: &str, err: &serde_saphyr::Error) -> YamlError {
    let inner = err.without_snippet();
    let message = UserMessageFormatter.format_message(inner);
    let location = err.location();
    let snippet = err
        .render_with_options(serde_saphyr::render_options! { source_name: Some(source_name) })
        .lines()
        .skip(1) // the first line repeats the message; keep the ` --> file:l:c` block
        .collect::<Vec<_>>()
        .join("\n");
    YamlError {
        source_name: source_name.to_owned(),
        line: location.map(|l| l.line()).filter(|&l| l > 0),
        column: location.map(|l| l.column()).filter(|&c| c > 0),
        message: without_control_characters(&message),
        snippet: (!snippet.trim().is_empty()).then_some(snippet),
    }
}

/// Parser messages quote the input, which may hold control characters (a terminal escape in a
/// hostile file); keep the message on one line and inert.
fn without_control_characters(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn unknown_field_names_line_and_column() {
        let err = from_str::<Doc>("x.yml", "name: a\nnmae: b\n").unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(1)));
        assert!(err.message.contains("nmae"), "{err}");
        assert!(err.to_string().starts_with("x.yml:2:1: "), "{err}");
    }

    #[test]
    fn empty_document_is_an_empty_mapping() {
        from_str::<Doc>("x.yml", "\n# only a comment\n").unwrap();
    }

    #[test]
    fn syntax_error_has_location_and_snippet() {
        let err = from_str::<Doc>("x.yml", "name: [a\n").unwrap_err();
        assert!(err.line.is_some(), "{err:?}");
        assert!(
            err.snippet.as_deref().unwrap_or_default().contains("x.yml"),
            "{err:?}"
        );
    }

    #[test]
    fn control_characters_in_messages_are_escaped() {
        assert_eq!(
            without_control_characters("a\u{1b}[31m'b'\n"),
            "a\\u{1b}[31m'b'\\n"
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = "a".repeat(MAX_YAML_BYTES + 1);
        let err = from_str::<Doc>("big.yml", &big).unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
    }
}
