//! Prometheus's relabelling (`model/relabel/relabel.go`), every action, applied to a label
//! list kept sorted by name. Regexes are already anchored (`^(?s:…)$`) by the config type.

use md5::{Digest, Md5};
use tocsin_config::{RelabelAction, RelabelConfig};
use tocsin_model::Label;

/// A mutable label set, sorted by name, with Prometheus builder semantics (setting an empty
/// value deletes the label).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSet {
    labels: Vec<Label>,
}

impl LabelSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// From labels in any order; later duplicates win, empty values are dropped.
    pub fn from_labels(labels: impl IntoIterator<Item = Label>) -> Self {
        let mut set = Self::new();
        for label in labels {
            set.set(&label.name, &label.value);
        }
        set
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.labels.binary_search_by(|l| l.name.as_str().cmp(name))
    }

    /// The value of `name`, or `""` when absent (as Prometheus reads it).
    pub fn get(&self, name: &str) -> &str {
        match self.position(name) {
            Ok(i) => &self.labels[i].value,
            Err(_) => "",
        }
    }

    /// Sets `name`; an empty `value` removes it.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.position(name) {
            Ok(i) if value.is_empty() => {
                self.labels.remove(i);
            }
            Ok(i) => value.clone_into(&mut self.labels[i].value),
            Err(_) if value.is_empty() => {}
            Err(i) => self.labels.insert(i, Label::new(name, value)),
        }
    }

    /// Removes `name`.
    pub fn del(&mut self, name: &str) {
        if let Ok(i) = self.position(name) {
            self.labels.remove(i);
        }
    }

    /// Keeps only labels for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Label) -> bool) {
        self.labels.retain(keep);
    }

    /// The labels, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        &self.labels
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The labels, sorted by name.
    pub fn into_vec(self) -> Vec<Label> {
        self.labels
    }
}

/// Applies `configs` in order. Returns `false` when a `keep`/`drop`-style step drops the
/// target or series.
pub fn relabel(labels: &mut LabelSet, configs: &[RelabelConfig]) -> bool {
    configs.iter().all(|config| step(labels, config))
}

fn joined_source(labels: &LabelSet, config: &RelabelConfig) -> String {
    let mut value = String::new();
    for (i, name) in config.source_labels.iter().enumerate() {
        if i > 0 {
            value.push_str(&config.separator);
        }
        value.push_str(labels.get(name));
    }
    value
}

fn step(labels: &mut LabelSet, config: &RelabelConfig) -> bool {
    let regex = config.regex.regex();
    match config.action {
        RelabelAction::Drop => !regex.is_match(&joined_source(labels, config)),
        RelabelAction::Keep => regex.is_match(&joined_source(labels, config)),
        RelabelAction::DropEqual => {
            joined_source(labels, config) != labels.get(&config.target_label)
        }
        RelabelAction::KeepEqual => {
            joined_source(labels, config) == labels.get(&config.target_label)
        }
        RelabelAction::Replace => {
            let value = joined_source(labels, config);
            // No match: nothing is replaced.
            let Some(captures) = regex.captures(&value) else {
                return true;
            };
            let mut target = String::new();
            captures.expand(&config.target_label, &mut target);
            if target.is_empty() {
                return true;
            }
            let mut replaced = String::new();
            captures.expand(&config.replacement, &mut replaced);
            labels.set(&target, &replaced);
            true
        }
        RelabelAction::Lowercase => {
            let value = joined_source(labels, config).to_lowercase();
            labels.set(&config.target_label, &value);
            true
        }
        RelabelAction::Uppercase => {
            let value = joined_source(labels, config).to_uppercase();
            labels.set(&config.target_label, &value);
            true
        }
        RelabelAction::HashMod => {
            let value = joined_source(labels, config);
            let modulus = config.modulus.unwrap_or(1).max(1);
            let hash = Md5::digest(value.as_bytes());
            // Prometheus keeps the last 8 bytes of the MD5, big-endian.
            let mut last = [0u8; 8];
            last.copy_from_slice(&hash[8..16]);
            let bucket = u64::from_be_bytes(last) % modulus;
            labels.set(&config.target_label, &bucket.to_string());
            true
        }
        RelabelAction::LabelMap => {
            // Matches are taken from the labels as they were before this step.
            let snapshot = labels.as_slice().to_vec();
            for label in snapshot {
                if regex.is_match(&label.name) {
                    let name = regex.replace_all(&label.name, config.replacement.as_str());
                    if !name.is_empty() {
                        labels.set(&name, &label.value);
                    }
                }
            }
            true
        }
        RelabelAction::LabelDrop => {
            labels.retain(|l| !regex.is_match(&l.name));
            true
        }
        RelabelAction::LabelKeep => {
            labels.retain(|l| regex.is_match(&l.name));
            true
        }
    }
}

#[cfg(test)]
mod tests;
