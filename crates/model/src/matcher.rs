use std::fmt;

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::labels::go_quote;

/// The four PromQL matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// Why a matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?} in matcher on {name:?}: {reason}")]
pub struct MatcherError {
    name: String,
    pattern: String,
    reason: String,
}

/// How a regex is evaluated: most real-world patterns avoid the regex engine entirely.
#[derive(Debug, Clone)]
enum Compiled {
    /// `=` and `!=`.
    Literal,
    /// `a|b|c` (also a single literal): sorted for binary search.
    Set(Vec<String>),
    /// `prefix.*`.
    Prefix(String),
    /// `.*`: everything, the empty string included.
    Any,
    /// `.+`: everything but the empty string.
    NonEmpty,
    /// Anything else, anchored as `^(?s:…)$`.
    Regex(regex::Regex),
}

/// A label matcher with Prometheus's semantics: regexes are anchored and `.` matches newlines;
/// a series without the label is matched as if the label were the empty string.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub kind: MatchType,
    /// Value or pattern as written.
    pub value: String,
    compiled: Compiled,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher; only regex operators can fail.
    pub fn new(
        kind: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let compiled = match kind {
            MatchType::Equal | MatchType::NotEqual => Compiled::Literal,
            MatchType::Regex | MatchType::NotRegex => compile(&name, &value)?,
        };
        Ok(Self {
            name,
            kind,
            value,
            compiled,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: MatchType::Equal,
            value: value.into(),
            compiled: Compiled::Literal,
        }
    }

    /// Whether a label value (the empty string for an absent label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        let positive = match &self.compiled {
            Compiled::Literal => value == self.value,
            Compiled::Set(set) => set.binary_search_by(|s| s.as_str().cmp(value)).is_ok(),
            Compiled::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Compiled::Any => true,
            Compiled::NonEmpty => !value.is_empty(),
            Compiled::Regex(re) => re.is_match(value),
        };
        match self.kind {
            MatchType::Equal | MatchType::Regex => positive,
            MatchType::NotEqual | MatchType::NotRegex => !positive,
        }
    }

    /// Whether series lacking the label match (decides whether an index lookup can start
    /// from the label's postings or must consider every series).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` and for `=~` over a literal alternation: the exact values that match, so an
    /// index can look up postings directly instead of scanning every value.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (self.kind, &self.compiled) {
            (MatchType::Equal, Compiled::Literal) => Some(vec![self.value.as_str()]),
            (MatchType::Regex, Compiled::Set(set)) => {
                Some(set.iter().map(String::as_str).collect())
            }
            _ => None,
        }
    }

    /// For `=~"prefix.*"`: the literal prefix every matching value starts with.
    pub fn prefix(&self) -> Option<&str> {
        match (self.kind, &self.compiled) {
            (MatchType::Regex, Compiled::Prefix(prefix)) => Some(prefix),
            _ => None,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.name,
            self.kind.as_str(),
            go_quote(&self.value)
        )
    }
}

fn compile(name: &str, pattern: &str) -> Result<Compiled, MatcherError> {
    let error = |reason: String| MatcherError {
        name: name.to_owned(),
        pattern: pattern.to_owned(),
        reason,
    };
    let hir = regex_syntax::ParserBuilder::new()
        .dot_matches_new_line(true)
        .build()
        .parse(pattern)
        .map_err(|err| error(err.to_string()))?;
    if let Some(fast) = fast_path(&hir) {
        return Ok(fast);
    }
    let regex = regex::RegexBuilder::new(&format!("^(?s:{pattern})$"))
        .size_limit(8 << 20)
        .build()
        .map_err(|err| error(err.to_string()))?;
    Ok(Compiled::Regex(regex))
}

/// Most values a literal set may expand to before falling back to the regex engine.
const MAX_SET_SIZE: usize = 256;

/// The exact strings `hir` matches, when it matches a small finite set of them. The parser
/// turns `a|b|c` into the class `[a-c]` and factors common prefixes, so classes and
/// concatenations of alternatives are expanded too.
fn literals(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty => Some(vec![String::new()]),
        HirKind::Literal(lit) => String::from_utf8(lit.0.to_vec()).ok().map(|s| vec![s]),
        HirKind::Capture(cap) => literals(&cap.sub),
        HirKind::Class(Class::Unicode(class)) => {
            let mut out = Vec::new();
            for range in class.ranges() {
                for c in range.start()..=range.end() {
                    out.push(c.to_string());
                    if out.len() > MAX_SET_SIZE {
                        return None;
                    }
                }
            }
            Some(out)
        }
        HirKind::Alternation(alternatives) => {
            let mut out = Vec::new();
            for alternative in alternatives {
                out.extend(literals(alternative)?);
                if out.len() > MAX_SET_SIZE {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Concat(parts) => {
            let mut out = vec![String::new()];
            for part in parts {
                let options = literals(part)?;
                if out.len() * options.len() > MAX_SET_SIZE {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|prefix| options.iter().map(move |o| format!("{prefix}{o}")))
                    .collect();
            }
            Some(out)
        }
        _ => None,
    }
}

fn literal(hir: &Hir) -> Option<String> {
    let mut set = literals(hir)?;
    if set.len() == 1 { set.pop() } else { None }
}

/// `.` with the `s` flag: a class matching every character.
fn is_any_char(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => class.ranges().first().is_some_and(|r| {
            r.start() == '\0' && r.end() == char::MAX && class.ranges().len() == 1
        }),
        HirKind::Class(Class::Bytes(_)) => false,
        _ => false,
    }
}

/// `.*` (min 0) or `.+` (min 1) over any character.
fn any_repetition(hir: &Hir) -> Option<u32> {
    match hir.kind() {
        HirKind::Repetition(rep) if rep.max.is_none() && is_any_char(&rep.sub) => Some(rep.min),
        HirKind::Capture(cap) => any_repetition(&cap.sub),
        _ => None,
    }
}

fn fast_path(hir: &Hir) -> Option<Compiled> {
    if let Some(mut set) = literals(hir) {
        set.sort();
        set.dedup();
        return Some(Compiled::Set(set));
    }
    match any_repetition(hir) {
        Some(0) => return Some(Compiled::Any),
        Some(1) => return Some(Compiled::NonEmpty),
        _ => {}
    }
    match hir.kind() {
        HirKind::Capture(cap) => fast_path(&cap.sub),
        HirKind::Concat(parts) if parts.len() == 2 && any_repetition(&parts[1]) == Some(0) => {
            literal(&parts[0]).map(Compiled::Prefix)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn m(kind: MatchType, value: &str) -> Matcher {
        Matcher::new(kind, "l", value).unwrap()
    }

    #[test]
    fn semantics_match_prometheus() {
        assert!(m(MatchType::Equal, "a").matches("a"));
        assert!(!m(MatchType::Equal, "a").matches("ab"));
        assert!(m(MatchType::NotEqual, "a").matches(""));
        assert!(
            m(MatchType::Regex, "foo.*").matches("foo\nbar"),
            "dot must match newline"
        );
        assert!(
            !m(MatchType::Regex, "foo").matches("xfoo"),
            "regexes are anchored"
        );
        assert!(!m(MatchType::Regex, "a|b").matches("ab"));
        assert!(m(MatchType::NotRegex, "a|b").matches("c"));
        assert!(m(MatchType::Regex, ".*").matches_empty());
        assert!(!m(MatchType::Regex, ".+").matches_empty());
        assert!(m(MatchType::Equal, "").matches_empty());
    }

    #[test]
    fn fast_paths_are_recognised() {
        assert_eq!(
            m(MatchType::Regex, "a|b|c").set_matches(),
            Some(vec!["a", "b", "c"])
        );
        assert_eq!(
            m(MatchType::Regex, "(api|web)").set_matches(),
            Some(vec!["api", "web"])
        );
        assert_eq!(
            m(MatchType::Regex, "node").set_matches(),
            Some(vec!["node"])
        );
        assert_eq!(
            m(MatchType::Regex, "foo|foobar|bar").set_matches(),
            Some(vec!["bar", "foo", "foobar"])
        );
        assert_eq!(
            m(MatchType::Regex, "(a|b)c").set_matches(),
            Some(vec!["ac", "bc"])
        );
        assert_eq!(m(MatchType::Regex, "job.*").prefix(), Some("job"));
        assert_eq!(m(MatchType::Regex, "a.*b").prefix(), None);
        assert_eq!(m(MatchType::Equal, "x").set_matches(), Some(vec!["x"]));
        assert_eq!(m(MatchType::NotRegex, "a|b").set_matches(), None);
        assert!(matches!(
            m(MatchType::Regex, "a.+").compiled,
            Compiled::Regex(_)
        ));
    }

    #[test]
    fn bad_regex_is_an_error() {
        let err = Matcher::new(MatchType::Regex, "job", "(").unwrap_err();
        assert!(err.to_string().contains("\"job\""), "{err}");
    }

    #[test]
    fn displays_as_promql() {
        assert_eq!(m(MatchType::NotRegex, "a\"b").to_string(), r#"l!~"a\"b""#);
    }

    proptest! {
        /// Whatever path is chosen, the answer is the plain anchored regex's.
        #[test]
        fn fast_paths_agree_with_the_regex_engine(
            pattern in "(a|b|ab|\\.\\*|\\.\\+|\\(|\\)|\\||x){0,6}",
            value in "[abx\n]{0,4}",
        ) {
            if let Ok(matcher) = Matcher::new(MatchType::Regex, "l", pattern.clone()) {
                let reference = regex::Regex::new(&format!("^(?s:{pattern})$")).unwrap();
                prop_assert_eq!(matcher.matches(&value), reference.is_match(&value), "{}", pattern);
            }
        }
    }
}
