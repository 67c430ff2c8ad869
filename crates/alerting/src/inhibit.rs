//! Inhibition: a firing alert matching a rule's source matchers mutes alerts matching its
//! target matchers when the `equal` labels agree. Source alerts are indexed per rule by
//! their `equal` values, so a check costs one lookup per rule, not a scan of every alert.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::alert::{Alert, LabelSet};
use crate::config::{InhibitRuleConfig, build_matchers};
use crate::matcher::{Matcher, all_match};
use crate::time::Millis;

#[derive(Debug)]
struct Rule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
    // equal-label values -> fingerprint -> source alert
    sources: RwLock<HashMap<Vec<String>, HashMap<u64, Alert>>>,
}

impl Rule {
    fn key(&self, labels: &LabelSet) -> Vec<String> {
        self.equal
            .iter()
            .map(|n| labels.get(n).cloned().unwrap_or_default())
            .collect()
    }
}

/// The inhibitor of one configuration.
#[derive(Debug, Default)]
pub struct Inhibitor {
    rules: Vec<Rule>,
}

impl Inhibitor {
    /// Builds the rules of a validated configuration.
    pub fn new(rules: &[serde_saphyr::Spanned<InhibitRuleConfig>]) -> Self {
        Self {
            rules: rules
                .iter()
                .map(|r| {
                    let r = &r.value;
                    Rule {
                        source: build_matchers(
                            &r.source_match,
                            &r.source_match_re,
                            &r.source_matchers,
                        )
                        .unwrap_or_default(),
                        target: build_matchers(
                            &r.target_match,
                            &r.target_match_re,
                            &r.target_matchers,
                        )
                        .unwrap_or_default(),
                        equal: r.equal.clone(),
                        sources: RwLock::new(HashMap::new()),
                    }
                })
                .collect(),
        }
    }

    /// Takes note of a received (or restored) alert.
    pub fn observe(&self, alert: &Alert) {
        let fp = alert.fingerprint();
        for rule in &self.rules {
            if all_match(&rule.source, &alert.labels) {
                rule.sources
                    .write()
                    .entry(rule.key(&alert.labels))
                    .or_default()
                    .insert(fp, alert.clone());
            }
        }
    }

    /// Forgets an alert (deleted by garbage collection).
    pub fn forget(&self, alert: &Alert) {
        let fp = alert.fingerprint();
        for rule in &self.rules {
            let key = rule.key(&alert.labels);
            let mut sources = rule.sources.write();
            if let Some(set) = sources.get_mut(&key) {
                set.remove(&fp);
                if set.is_empty() {
                    sources.remove(&key);
                }
            }
        }
    }

    /// The fingerprint of a firing alert that inhibits `labels`, if any.
    pub fn inhibited_by(&self, labels: &LabelSet, now: Millis) -> Option<u64> {
        let own = crate::alert::fingerprint(labels);
        for rule in &self.rules {
            if !all_match(&rule.target, labels) {
                continue;
            }
            // An alert matching both sides cannot be inhibited by one that also does.
            let exclude_two_sided = all_match(&rule.source, labels);
            let sources = rule.sources.read();
            let Some(candidates) = sources.get(&rule.key(labels)) else {
                continue;
            };
            for (fp, source) in candidates {
                if *fp == own || source.resolved_at(now) {
                    continue;
                }
                if exclude_two_sided && all_match(&rule.target, &source.labels) {
                    continue;
                }
                return Some(*fp);
            }
        }
        None
    }
}
