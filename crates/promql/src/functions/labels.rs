//! Label functions (`label_replace`, `label_join`) and `sort_by_label`'s natural order.

use std::cmp::Ordering;

use regex::Regex;
use tocsin_model::Labels;

use crate::error::{Result, exec};

/// A compiled `label_replace`: Prometheus anchors the regex as `^(?s:…)$`.
#[derive(Debug)]
pub(crate) struct Replace {
    dst: String,
    repl: String,
    src: String,
    regex: Regex,
}

impl Replace {
    pub(crate) fn new(dst: &str, repl: &str, src: &str, regex: &str) -> Result<Self> {
        let re = Regex::new(&format!("^(?s:{regex})$")).map_err(|_| {
            exec(format!(
                "invalid regular expression in label_replace(): {regex}"
            ))
        })?;
        if dst.is_empty() {
            return Err(exec(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        Ok(Self {
            dst: dst.to_owned(),
            repl: repl.to_owned(),
            src: src.to_owned(),
            regex: re,
        })
    }

    pub(crate) fn dst(&self) -> &str {
        &self.dst
    }

    /// The new labels, or `None` when the regex does not match (labels unchanged).
    pub(crate) fn apply(&self, labels: &Labels) -> Option<Labels> {
        let value = labels.get(&self.src).unwrap_or("");
        let caps = self.regex.captures(value)?;
        let mut res = String::new();
        caps.expand(&self.repl, &mut res);
        let mut b = labels.to_builder();
        b.set(&self.dst, &res);
        Some(b.build())
    }
}

/// `label_join`'s new labels.
pub(crate) fn join(labels: &Labels, dst: &str, sep: &str, srcs: &[String]) -> Labels {
    let joined = srcs
        .iter()
        .map(|s| labels.get(s).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(sep);
    let mut b = labels.to_builder();
    b.set(dst, &joined);
    b.build()
}

fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    for i in 1..=bytes.len() {
        if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
            if start < i {
                out.push(&s[start..i]);
            }
            start = i;
        }
    }
    out
}

/// facette/natsort's `Compare(a, b)`: whether `a` sorts before `b` in natural order.
pub(crate) fn natural_less(a: &str, b: &str) -> bool {
    let ca = chunks(a);
    let cb = chunks(b);
    for (i, x) in ca.iter().enumerate() {
        if i >= cb.len() {
            return false;
        }
        let y = cb[i];
        match (x.parse::<i64>(), y.parse::<i64>()) {
            (Ok(xi), Ok(yi)) => {
                if xi == yi {
                    if i == ca.len() - 1 {
                        return true;
                    } else if i == cb.len() - 1 {
                        return false;
                    }
                    continue;
                }
                return xi < yi;
            }
            _ => {
                if *x == y {
                    if i == ca.len() - 1 {
                        return true;
                    } else if i == cb.len() - 1 {
                        return false;
                    }
                    continue;
                }
                return *x < y;
            }
        }
    }
    false
}

/// `sort_by_label` order: natural order of the listed labels, then all labels.
pub(crate) fn compare_by_labels(a: &Labels, b: &Labels, names: &[String]) -> Ordering {
    for n in names {
        let x = a.get(n).unwrap_or("");
        let y = b.get(n).unwrap_or("");
        if x == y {
            continue;
        }
        return if natural_less(x, y) {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    a.cmp(b)
}
