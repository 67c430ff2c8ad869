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
    /// How many ids.
    fn count(&self) -> u64;
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
    fn count(&self) -> u64 {
        self.len()
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
    fn count(&self) -> u64 {
        self.len()
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
    select_with(ix, matchers, 0).0
}

/// With at most this many candidates left, a matcher that is not a literal lookup (a
/// prefix or other regex, which unions the postings of every value it matches: all of
/// `node_.*`'s, say) is cheaper checked on each candidate's labels, which the caller
/// reads anyway.
pub(crate) const CHECK_ON_LABELS_BELOW: u64 = 1024;

/// Candidates for `matchers` and the matchers still to check on each candidate's labels
/// (`m.matches(value or "")`): [`select`] for callers that read the labels of what it
/// returns.
pub(crate) fn select_candidates<'m, I: LabelIndex>(
    ix: &I,
    matchers: &'m [Matcher],
) -> (I::Set, Vec<&'m Matcher>) {
    select_with(ix, matchers, CHECK_ON_LABELS_BELOW)
}

/// How a positive matcher finds its series: literal lookups before scans, so a selective
/// `instance="…"` narrows the set before a `__name__=~"node_.*"` would union thousands.
fn lookup_cost(m: &Matcher) -> u8 {
    match m.kind {
        MatchType::Equal => 0,
        _ if literal_values(m, true).is_some() => 1,
        _ if prefix_of(m, true).is_some() => 2,
        _ => 3,
    }
}

fn select_with<'m, I: LabelIndex>(
    ix: &I,
    matchers: &'m [Matcher],
    defer_below: u64,
) -> (I::Set, Vec<&'m Matcher>) {
    let mut deferred: Vec<&Matcher> = Vec::new();
    let small = |set: &I::Set| set.count() <= defer_below;
    let mut positive: Vec<&Matcher> = matchers.iter().filter(|m| !m.matches_empty()).collect();
    positive.sort_by_key(|m| lookup_cost(m));
    let mut result: Option<I::Set> = None;
    for m in positive {
        if let Some(r) = &result {
            if r.count() == 0 {
                return (I::Set::empty(), Vec::new());
            }
            if small(r) && lookup_cost(m) >= 2 {
                deferred.push(m);
                continue;
            }
        }
        let set = values_where(ix, m, true);
        match &mut result {
            None => result = Some(set),
            Some(r) => r.and_with(&set),
        }
    }
    let mut result = result.unwrap_or_else(|| ix.all());
    for m in matchers.iter().filter(|m| m.matches_empty()) {
        if small(&result) && literal_values(m, false).is_none() {
            deferred.push(m);
            continue;
        }
        result.sub_with(&values_where(ix, m, false));
    }
    (result, deferred)
}

/// Whether labels pass every matcher [`select_candidates`] left to check (an absent label
/// reads as the empty value, as in Prometheus).
pub(crate) fn passes(deferred: &[&Matcher], labels: &tocsin_model::Labels) -> bool {
    deferred
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}
