//! Log files tailed into counters: each rule's regex is applied to every new line, and a
//! match counts under the rule's name and the values of its named groups
//! (`" (?P<code>5\d\d) "` counts 5xx responses by code). Files are followed across
//! rotation (new inode) and truncation; reading starts at the end, like `tail -f`.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use regex::Regex;

use super::{Collector, Point};

/// Distinct label sets one rule may count; further ones count under `other`, so a log
/// cannot grow the agent's series without bound.
pub const MAX_LABEL_SETS_PER_RULE: usize = 100;

/// Bytes read per collection at most (the rest is read next time).
const MAX_READ: u64 = 64 << 20;

/// A counting rule.
#[derive(Debug, Clone)]
pub struct LogRule {
    /// The counter's `rule` label.
    pub name: String,
    /// Applied to each line; named groups become labels.
    pub regex: Regex,
}

/// One followed file.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    rules: Vec<LogRule>,
    position: Option<(u64, u64)>,
    partial: Vec<u8>,
    counts: HashMap<(usize, Vec<(String, String)>), u64>,
    sets_per_rule: Vec<usize>,
}

impl LogTail {
    /// Follows `path` with `rules`.
    pub fn new(path: PathBuf, rules: Vec<LogRule>) -> Self {
        let sets_per_rule = vec![0; rules.len()];
        Self {
            path,
            rules,
            position: None,
            partial: Vec::new(),
            counts: HashMap::new(),
            sets_per_rule,
        }
    }

    fn count_line(&mut self, line: &str) {
        for (index, rule) in self.rules.iter().enumerate() {
            let Some(captures) = rule.regex.captures(line) else {
                continue;
            };
            let mut labels: Vec<(String, String)> = rule
                .regex
                .capture_names()
                .flatten()
                .filter_map(|name| {
                    captures
                        .name(name)
                        .map(|m| (name.to_owned(), m.as_str().to_owned()))
                })
                .collect();
            let mut key = (index, labels.clone());
            if !self.counts.contains_key(&key) {
                if self.sets_per_rule[index] >= MAX_LABEL_SETS_PER_RULE {
                    for (_, value) in &mut labels {
                        "other".clone_into(value);
                    }
                    key = (index, labels);
                } else {
                    self.sets_per_rule[index] += 1;
                }
            }
            *self.counts.entry(key).or_insert(0) += 1;
        }
    }

    /// Reads what was appended since the last call.
    fn read_new(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        let Ok(meta) = file.metadata() else {
            return;
        };
        let (inode, size) = (meta.ino(), meta.len());
        let offset = match self.position {
            // First sight: start at the end.
            None => size,
            // Rotated or truncated: the new file from its start.
            Some((known, offset)) if known != inode || size < offset => {
                self.partial.clear();
                0
            }
            Some((_, offset)) => offset,
        };
        let mut buf = Vec::new();
        if file.seek(SeekFrom::Start(offset)).is_err()
            || file.take(MAX_READ).read_to_end(&mut buf).is_err()
        {
            return;
        }
        self.position = Some((inode, offset + buf.len() as u64));
        self.partial.extend_from_slice(&buf);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = self.partial.drain(..=last_newline).collect();
        for line in String::from_utf8_lossy(&complete).lines() {
            self.count_line(line);
        }
    }
}

impl Collector for LogTail {
    fn collect(&mut self, out: &mut Vec<Point>) {
        self.read_new();
        let file = self.path.display().to_string();
        for ((index, labels), count) in &self.counts {
            let mut all = labels.clone();
            all.push((
                "__name__".to_owned(),
                "tocsin_agent_log_matches_total".to_owned(),
            ));
            all.push(("file".to_owned(), file.clone()));
            all.push(("rule".to_owned(), self.rules[*index].name.clone()));
            out.push((all, *count as f64));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn counts(tail: &mut LogTail) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        tail.collect(&mut out);
        let mut rows: Vec<(String, f64)> = out
            .into_iter()
            .map(|(labels, v)| {
                let code = labels
                    .iter()
                    .find(|(n, _)| n == "code")
                    .map_or("-", |(_, v)| v.as_str());
                (code.to_owned(), v)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }

    #[test]
    fn counts_new_lines_by_group_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        std::fs::write(&path, "old \" 500 \n").unwrap();
        let mut tail = LogTail::new(
            path.clone(),
            vec![LogRule {
                name: "http_errors".to_owned(),
                regex: Regex::new(r#"" (?P<code>5\d\d) "#).unwrap(),
            }],
        );
        // Starts at the end: the old line does not count.
        assert!(counts(&mut tail).is_empty());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"a \" 500 \nb \" 200 \nc \" 503 \nd \" 5")
            .unwrap();
        assert_eq!(
            counts(&mut tail),
            [("500".to_owned(), 1.0), ("503".to_owned(), 1.0)]
        );
        // The partial line completes.
        file.write_all(b"03 \n").unwrap();
        assert_eq!(
            counts(&mut tail),
            [("500".to_owned(), 1.0), ("503".to_owned(), 2.0)]
        );
        // Rotation: a new file at the same path is read from its start.
        std::fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        std::fs::write(&path, "e \" 500 \n").unwrap();
        assert_eq!(
            counts(&mut tail),
            [("500".to_owned(), 2.0), ("503".to_owned(), 2.0)]
        );
    }

    #[test]
    fn label_sets_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "").unwrap();
        let mut tail = LogTail::new(
            path.clone(),
            vec![LogRule {
                name: "ids".to_owned(),
                regex: Regex::new(r"id=(?P<code>\d+)").unwrap(),
            }],
        );
        tail.collect(&mut Vec::new());
        let lines: String = (0..500).map(|i| format!("id={i}\n")).collect();
        std::fs::write(&path, lines).unwrap();
        let rows = counts(&mut tail);
        assert_eq!(rows.len(), MAX_LABEL_SETS_PER_RULE + 1);
        assert_eq!(rows.iter().map(|(_, v)| v).sum::<f64>(), 500.0);
        assert_eq!(rows.iter().find(|(c, _)| c == "other").unwrap().1, 400.0);
    }
}
