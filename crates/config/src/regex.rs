//! Regular expressions as Prometheus compiles them in relabelling and matchers: fully anchored
//! and with `.` matching newlines (`^(?s:RE)$`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A compiled, anchored regular expression that remembers how it was written.
#[derive(Clone)]
pub struct AnchoredRegex {
    source: String,
    compiled: regex::Regex,
}

/// Why a regular expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {reason}")]
pub struct RegexError {
    pattern: String,
    reason: String,
}

impl AnchoredRegex {
    /// Compiles `source` anchored at both ends, the way Prometheus does.
    pub fn new(source: &str) -> Result<Self, RegexError> {
        let compiled = regex::RegexBuilder::new(&format!("^(?s:{source})$"))
            // Bound memory for hostile patterns; ample for any real relabel rule.
            .size_limit(4 << 20)
            .build()
            .map_err(|err| RegexError {
                pattern: source.to_owned(),
                reason: err
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches("error: ")
                    .to_owned(),
            })?;
        Ok(Self {
            source: source.to_owned(),
            compiled,
        })
    }

    /// The expression as written, without the anchors.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.compiled
    }

    /// Whether the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text)
    }
}

impl fmt::Debug for AnchoredRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnchoredRegex({:?})", self.source)
    }
}

impl PartialEq for AnchoredRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for AnchoredRegex {}

impl Serialize for AnchoredRegex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for AnchoredRegex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Self::new(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_anchored_and_dot_matches_newline() {
        let re = AnchoredRegex::new("foo.*").unwrap();
        assert!(re.is_match("foo\nbar"));
        assert!(!re.is_match("xfoo"));
        assert!(AnchoredRegex::new("a|b").unwrap().is_match("b"));
        assert!(!AnchoredRegex::new("a|b").unwrap().is_match("ab"));
    }

    #[test]
    fn reports_invalid_patterns() {
        let err = AnchoredRegex::new("(unclosed").unwrap_err();
        assert!(err.to_string().contains("(unclosed"), "{err}");
    }
}
