//! Alertmanager's label matchers and their text syntax (`{a="b", c=~"d.*"}`, quotes
//! optional), as in Alertmanager 0.25's `pkg/labels`: regexes anchored as `^(?:…)$`.

use std::fmt;

use crate::alert::LabelSet;
use crate::{Error, Result};

/// The operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// One label matcher.
#[derive(Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub kind: MatchType,
    /// Value or pattern.
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.value == other.value
    }
}
impl Eq for Matcher {}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.name,
            self.kind.as_str(),
            tocsin_model::go_quote(&self.value)
        )
    }
}

impl Matcher {
    /// Builds a matcher; a regex that does not compile is an error.
    pub fn new(kind: MatchType, name: &str, value: &str) -> Result<Self> {
        let regex = match kind {
            MatchType::Regex | MatchType::NotRegex => Some(
                regex::RegexBuilder::new(&format!("^(?:{value})$"))
                    .size_limit(4 << 20)
                    .build()
                    .map_err(|err| {
                        Error::Matcher(format!(
                            "invalid regular expression {value:?} in matcher on {name:?}: {}",
                            err.to_string().lines().last().unwrap_or_default().trim()
                        ))
                    })?,
            ),
            _ => None,
        };
        Ok(Self {
            name: name.to_owned(),
            kind,
            value: value.to_owned(),
            regex,
        })
    }

    /// Whether `value` (empty for an absent label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (&self.kind, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regex, Some(re)) => re.is_match(value),
            (MatchType::NotRegex, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    /// Whether the matcher accepts the label set.
    pub fn matches_labels(&self, labels: &LabelSet) -> bool {
        self.matches(labels.get(&self.name).map_or("", String::as_str))
    }
}

/// Whether every matcher accepts the label set.
pub fn all_match(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

/// Alertmanager's `Matchers.String()`: `{a="b",c=~"d"}`.
pub fn matchers_to_string(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers.iter().map(ToString::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

/// Sorts like Alertmanager's `Matchers.Less`: name, then value, then operator.
pub fn sort_matchers(matchers: &mut [Matcher]) {
    matchers.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.value.cmp(&b.value))
            .then_with(|| a.kind.cmp(&b.kind))
    });
}

/// Parses a comma-separated list; the surrounding braces are optional.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>> {
    let s = text.strip_prefix('{').unwrap_or(text);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut inside_quotes, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    inside_quotes = !inside_quotes;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token);
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Parses one matcher: `name op value`, value optionally quoted with `\"`, `\\`, `\n`.
pub fn parse_matcher(text: &str) -> Result<Matcher> {
    let bad = || Error::Matcher(format!("bad matcher format: {text}"));
    let trimmed = text.trim();
    let name_end = trimmed
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(trimmed.len(), |(i, _)| i);
    if name_end == 0 {
        return Err(bad());
    }
    let name = &trimmed[..name_end];
    let rest = trimmed[name_end..].trim_start();
    let (kind, raw) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchType::Regex, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchType::NotRegex, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchType::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchType::Equal, r)
    } else {
        return Err(bad());
    };
    let raw = raw.trim();
    let (raw, mut expect_quote) = match raw.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    let chars: Vec<(usize, char)> = raw.char_indices().collect();
    for (pos, &(_, c)) in chars.iter().enumerate() {
        let last = pos == chars.len() - 1;
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' => {
                if !expect_quote || !last {
                    return Err(Error::Matcher(format!(
                        "matcher value contains unescaped double quote: {raw}"
                    )));
                }
                expect_quote = false;
            }
            other => value.push(other),
        }
    }
    if expect_quote {
        return Err(Error::Matcher(format!(
            "matcher value contains unescaped double quote: {raw}"
        )));
    }
    Matcher::new(kind, name, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alertmanager_examples() {
        let ms = parse_matchers(r#"{foo = "bar", dings != "bums", }"#).unwrap();
        assert_eq!(matchers_to_string(&ms), r#"{foo="bar",dings!="bums"}"#);
        let ms = parse_matchers("foo=bar,dings!=bums").unwrap();
        assert_eq!(ms.len(), 2);
        let ms = parse_matchers(r#"{quote="She said: \"Hi, ladies! That's gender-neutral…\""}"#)
            .unwrap();
        assert_eq!(
            ms[0].value,
            "She said: \"Hi, ladies! That's gender-neutral…\""
        );
        let ms = parse_matchers(r#"statuscode=~"5..""#).unwrap();
        assert!(ms[0].matches("503") && !ms[0].matches("5034"));
        assert!(parse_matcher(r#"a="b"c""#).is_err());
        assert!(parse_matcher("=b").is_err());
        assert!(parse_matcher("a=~(").is_err());
    }

    #[test]
    fn regexes_are_anchored_and_absent_labels_are_empty() {
        let m = parse_matcher("job=~api|web").unwrap();
        assert!(m.matches("api") && !m.matches("xapi"));
        let m = parse_matcher("team!=").unwrap();
        assert!(!m.matches_labels(&LabelSet::new()));
    }
}
