use std::fmt;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// A label name and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The name (UTF-8; Prometheus 3 allows any non-empty name).
    pub name: String,
    /// The value; never empty inside [`Labels`] (an empty value means "absent").
    pub value: String,
}

impl Label {
    /// A label.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Why a label set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelsError {
    /// Two labels have the same name.
    #[error("label name {0:?} appears more than once")]
    DuplicateName(String),
    /// A label name is empty.
    #[error("a label name is empty")]
    EmptyName,
}

/// A series identity: labels sorted by name, names unique, no empty values (Prometheus treats
/// an empty value as an absent label, and so does every constructor here).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// The empty label set.
    pub const fn empty() -> Self {
        Self(Vec::new())
    }

    /// Sorts, drops empty values, and refuses duplicate or empty names.
    pub fn new(mut labels: Vec<Label>) -> Result<Self, LabelsError> {
        labels.retain(|l| !l.value.is_empty());
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for pair in labels.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(LabelsError::DuplicateName(pair[0].name.clone()));
            }
        }
        if labels.first().is_some_and(|l| l.name.is_empty()) {
            return Err(LabelsError::EmptyName);
        }
        Ok(Self(labels))
    }

    /// Builds from `(name, value)` pairs; see [`Labels::new`].
    pub fn from_pairs<N, V, I>(pairs: I) -> Result<Self, LabelsError>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        Self::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Wraps labels a decoder has already validated (sorted, unique, non-empty values).
    /// Checked in debug builds.
    pub fn from_sorted_unchecked(labels: Vec<Label>) -> Self {
        debug_assert!(
            labels.windows(2).all(|p| p[0].name < p[1].name),
            "labels not sorted and unique: {labels:?}"
        );
        debug_assert!(labels.iter().all(|l| !l.value.is_empty()));
        Self(labels)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A 64-bit hash that is the same in every process and release (xxh3 over names and
    /// values with separators that cannot occur in valid UTF-8), so it can key on-disk and
    /// cross-process structures.
    pub fn stable_hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for label in &self.0 {
            hasher.update(label.name.as_bytes());
            hasher.update(&[0xff]);
            hasher.update(label.value.as_bytes());
            hasher.update(&[0xff]);
        }
        hasher.digest()
    }

    /// Only the labels named in `names` (PromQL `by`, `on`).
    pub fn keep(&self, names: &[impl AsRef<str>]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|l| names.iter().any(|n| n.as_ref() == l.name))
                .cloned()
                .collect(),
        )
    }

    /// All labels except those named in `names` (PromQL `without`, `ignoring`).
    pub fn drop_names(&self, names: &[impl AsRef<str>]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|l| !names.iter().any(|n| n.as_ref() == l.name))
                .cloned()
                .collect(),
        )
    }

    /// The labels without `__name__`.
    pub fn without_metric_name(&self) -> Self {
        self.drop_names(&[METRIC_NAME])
    }

    /// A builder starting from these labels.
    pub fn to_builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.clone(),
        }
    }

    /// Consumes the set, returning its labels in name order.
    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Changes a label set: `set` with an empty value deletes, like Prometheus's builder.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// Sets `name` to `value`, or removes it when `value` is empty.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.labels.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.labels.remove(i);
            }
            Ok(i) => value.clone_into(&mut self.labels[i].value),
            Err(_) if value.is_empty() => {}
            Err(i) => self.labels.insert(i, Label::new(name, value)),
        }
        self
    }

    /// Removes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.set(name, "")
    }

    /// The resulting set.
    pub fn build(&self) -> Labels {
        Labels(self.labels.clone())
    }
}

impl fmt::Display for Labels {
    /// Prometheus's `labels.String()`: `{__name__="up", job="node"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", label.name, go_quote(&label.value))?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Quotes like Go's `strconv.Quote`, which Prometheus uses to print label values.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || is_go_unprintable_format(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Format and separator characters Go's `unicode.IsPrint` rejects (the common ones).
fn is_go_unprintable_format(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{a0}')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sorted_and_empty_values_dropped() {
        let labels =
            Labels::from_pairs([("job", "node"), ("__name__", "up"), ("zone", "")]).unwrap();
        assert_eq!(labels.to_string(), r#"{__name__="up", job="node"}"#);
        assert_eq!(labels.metric_name(), Some("up"));
        assert_eq!(labels.get("zone"), None);
        assert_eq!(labels.len(), 2);
    }

    #[test]
    fn duplicates_and_empty_names_are_refused() {
        assert_eq!(
            Labels::from_pairs([("a", "1"), ("a", "2")]),
            Err(LabelsError::DuplicateName("a".into()))
        );
        assert_eq!(Labels::from_pairs([("", "1")]), Err(LabelsError::EmptyName));
    }

    #[test]
    fn builder_sets_and_deletes() {
        let labels = Labels::from_pairs([("a", "1"), ("b", "2")]).unwrap();
        let mut builder = labels.to_builder();
        builder.set("c", "3").set("a", "").set("b", "x");
        assert_eq!(builder.build().to_string(), r#"{b="x", c="3"}"#);
    }

    #[test]
    fn keep_and_drop() {
        let labels = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "2")]).unwrap();
        assert_eq!(labels.keep(&["a"]).to_string(), r#"{a="1"}"#);
        assert_eq!(
            labels.drop_names(&["a"]).to_string(),
            r#"{__name__="m", b="2"}"#
        );
        assert_eq!(
            labels.without_metric_name().to_string(),
            r#"{a="1", b="2"}"#
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("é漢字"), "\"é漢字\"");
        assert_eq!(go_quote("\u{200b}"), r#""\u200b""#);
    }

    const PINNED: u64 = 9_644_008_637_806_697_401;

    #[test]
    fn stable_hash_is_fixed() {
        // Pinned: the hash may key persistent structures, so it must never change.
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "node")]).unwrap();
        assert_eq!(labels.stable_hash(), PINNED);
        assert_ne!(
            labels.stable_hash(),
            Labels::from_pairs([("__name__", "upjob"), ("", "node")])
                .map_or(0, |l| l.stable_hash())
        );
    }

    proptest! {
        #[test]
        fn any_pairs_give_sorted_unique_labels(
            pairs in proptest::collection::vec(("[a-c]{1,2}", "[xy]{0,2}"), 0..8)
        ) {
            if let Ok(labels) = Labels::from_pairs(pairs) {
                let names: Vec<_> = labels.iter().map(|l| l.name.clone()).collect();
                let mut sorted = names.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(names, sorted);
                prop_assert!(labels.iter().all(|l| !l.value.is_empty()));
            }
        }
    }
}
