//! Turning matchers into a set of series with an inverted index (label pair → postings),
//! shared by the head (64-bit refs) and blocks (32-bit ordinals). Literal and alternation
//! regexes look their values up directly; prefixes scan a sorted range; only other regexes
//! test every value of the label.

use roaring::{RoaringBitmap, RoaringTreemap};
use tocsin_model::{MatchType, Matcher};

/// A set of series ids.
pub(crate) trait PostingsSet: Sized {
    /// The empty set.
    fn empty() -> Self;
    /// `self ∩= other`.
    fn and_with(&mut self, other: &Self);
    /// `self ∪= other`.
    fn or_with(&mut self, other: &Self);
    /// `self −= other`.
    fn sub_with(&mut self, other: &Self);
}

impl PostingsSet for RoaringTreemap {
    fn empty() -> Self {
        Self::new()
    }
    fn and_with(&mut self, other: &Self) {
        *self &= other;
    }
    fn or_with(&mut self, other: &Self) {
        *self |= other;
    }
    fn sub_with(&mut self, other: &Self) {
        *self -= other;
    }
}

impl PostingsSet for RoaringBitmap {
    fn empty() -> Self {
        Self::new()
    }
    fn and_with(&mut self, other: &Self) {
        *self &= other;
    }
    fn or_with(&mut self, other: &Self) {
        *self |= other;
    }
    fn sub_with(&mut self, other: &Self) {
        *self -= other;
    }
}

/// An inverted index.
pub(crate) trait LabelIndex {
    /// Its postings type.
    type Set: PostingsSet;
    /// Every series.
    fn all(&self) -> Self::Set;
    /// Series with `name="value"` (empty when none).
    fn postings(&self, name: &str, value: &str) -> Self::Set;
    /// Union of the postings of `name`'s values starting with `prefix`.
    fn postings_with_prefix(&self, name: &str, prefix: &str) -> Self::Set;
    /// Union of the postings of `name`'s values for which `keep` is true.
    fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Self::Set;
}

/// The values of `m`'s label for which `m.matches(v) == want`, when they form a small literal
/// set; `None` when they must be found by testing values.
fn literal_values(m: &Matcher, want: bool) -> Option<Vec<String>> {
    let positive = matches!(m.kind, MatchType::Equal | MatchType::Regex);
    if positive != want {
        return None;
    }
    match m.kind {
        MatchType::Equal | MatchType::NotEqual => Some(vec![m.value.clone()]),
        MatchType::Regex | MatchType::NotRegex => {
            // The positive form knows its literal set.
            let positive = Matcher::new(MatchType::Regex, m.name.clone(), m.value.clone()).ok()?;
            positive
                .set_matches()
                .map(|set| set.into_iter().map(str::to_owned).collect())
        }
    }
}

fn prefix_of(m: &Matcher, want: bool) -> Option<String> {
    if m.kind == MatchType::Regex && want {
        return m.prefix().map(str::to_owned);
    }
    None
}

/// Series with a value of `m.name` for which `m.matches(v) == want` (absent labels excluded).
fn values_where<I: LabelIndex>(ix: &I, m: &Matcher, want: bool) -> I::Set {
    if let Some(values) = literal_values(m, want) {
        let mut out = I::Set::empty();
        for v in values.iter().filter(|v| !v.is_empty()) {
            out.or_with(&ix.postings(&m.name, v));
        }
        return out;
    }
    if let Some(prefix) = prefix_of(m, want) {
        return ix.postings_with_prefix(&m.name, &prefix);
    }
    ix.postings_where(&m.name, &|v| m.matches(v) == want)
}

/// The series matching every matcher (all series when `matchers` is empty). A matcher that
/// matches the empty string also matches series without the label, as in Prometheus.
pub(crate) fn select<I: LabelIndex>(ix: &I, matchers: &[Matcher]) -> I::Set {
    let mut result: Option<I::Set> = None;
    let mut excluded: Vec<I::Set> = Vec::new();
    // Positive matchers first: they narrow the set fastest.
    for m in matchers.iter().filter(|m| !m.matches_empty()) {
        let set = values_where(ix, m, true);
        match &mut result {
            None => result = Some(set),
            Some(r) => r.and_with(&set),
        }
    }
    for m in matchers.iter().filter(|m| m.matches_empty()) {
        excluded.push(values_where(ix, m, false));
    }
    let mut result = result.unwrap_or_else(|| ix.all());
    for set in &excluded {
        result.sub_with(set);
    }
    result
}
