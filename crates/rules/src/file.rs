//! Rule files in Prometheus's format, parsed strictly; every error names file:line:column.
//!
//! tocsin extension: an alerting rule may carry `resolve_expr`. Once an alert fires, it stays
//! firing until `resolve_expr` returns its series (hysteresis), however its `expr` flaps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use tocsin_config::Duration;
use tocsin_config::yaml::{self, YamlError};

/// A rule file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The groups, evaluated independently.
    #[serde(default)]
    pub groups: Vec<Spanned<GroupSpec>>,
}

/// One group of rules evaluated in order on one interval.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Unique within the file.
    pub name: Spanned<String>,
    /// Evaluation interval (default: the global evaluation interval).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Most alerts or series a rule may produce (0: unlimited).
    #[serde(default)]
    pub limit: usize,
    /// Evaluate this far in the past, so late samples are seen.
    #[serde(default)]
    pub query_offset: Option<Duration>,
    /// Labels added to every rule's output (rule labels win).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The rules, in evaluation order.
    #[serde(default)]
    pub rules: Vec<Spanned<RuleSpec>>,
}

/// A recording or alerting rule as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name of the series a recording rule writes.
    #[serde(default)]
    pub record: Option<Spanned<String>>,
    /// Name of the alert an alerting rule raises.
    #[serde(default)]
    pub alert: Option<Spanned<String>>,
    /// The PromQL expression.
    pub expr: Spanned<String>,
    /// How long a condition must hold before the alert fires.
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// How long an alert keeps firing after its condition cleared.
    #[serde(default)]
    pub keep_firing_for: Option<Duration>,
    /// Labels added (templated for alerts).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of an alert (templated).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// tocsin: a firing alert resolves only when this expression returns its series.
    #[serde(default)]
    pub resolve_expr: Option<Spanned<String>>,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Writes `expr`'s result as series named `record`.
    Recording {
        /// Series name.
        record: String,
    },
    /// Raises alerts named `alert` for every series `expr` returns.
    Alerting {
        /// Alert name.
        alert: String,
        /// Pending time before firing.
        hold: Duration,
        /// Firing time kept after the condition cleared.
        keep_firing_for: Duration,
        /// Annotations (templates).
        annotations: BTreeMap<String, String>,
        /// tocsin: resolution condition.
        resolve_expr: Option<String>,
    },
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    /// Recording or alerting.
    pub kind: RuleKind,
    /// PromQL.
    pub expr: String,
    /// Labels (templates for alerting rules).
    pub labels: BTreeMap<String, String>,
}

impl RuleDef {
    /// The record or alert name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// A validated group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDef {
    /// File it came from.
    pub file: String,
    /// Name.
    pub name: String,
    /// Interval; `None` means the global evaluation interval.
    pub interval: Option<Duration>,
    /// Limit per rule (0: none).
    pub limit: usize,
    /// Query offset.
    pub query_offset: Duration,
    /// Group labels.
    pub labels: BTreeMap<String, String>,
    /// Rules.
    pub rules: Vec<RuleDef>,
}

fn located(source: &str, at: &Location, message: String) -> YamlError {
    YamlError {
        source_name: source.to_owned(),
        line: Some(at.line()).filter(|&l| l > 0),
        column: Some(at.column()).filter(|&c| c > 0),
        message,
        snippet: None,
    }
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// An expression error, positioned at the start of the `expr` value.
fn expr_error(source: &str, context: &str, at: &Location, message: &str) -> YamlError {
    located(
        source,
        at,
        format!("{context}: could not parse expression: {message}"),
    )
}

/// Parses and validates a rule file's text. `source` names it in errors.
pub fn parse_rule_file(source: &str, text: &str) -> Result<Vec<GroupDef>, Vec<YamlError>> {
    let file: RuleFile = yaml::from_str(source, text).map_err(|e| vec![e])?;
    validate(source, &file)
}

/// Reads, parses and validates a rule file.
pub fn load_rule_file(path: &Path) -> Result<Vec<GroupDef>, Vec<YamlError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![YamlError {
            source_name: name.clone(),
            line: None,
            column: None,
            message: format!("cannot read file: {err}"),
            snippet: None,
        }]
    })?;
    parse_rule_file(&name, &text)
}

fn validate(source: &str, file: &RuleFile) -> Result<Vec<GroupDef>, Vec<YamlError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for group in &file.groups {
        let g = &group.value;
        let at = |m: String| located(source, &group.referenced, m);
        if g.name.value.is_empty() {
            errors.push(located(
                source,
                &g.name.referenced,
                "groupname must not be empty".to_owned(),
            ));
        } else if !seen.insert(g.name.value.clone()) {
            errors.push(located(
                source,
                &g.name.referenced,
                format!(
                    "groupname: \"{}\" is repeated in the same file",
                    g.name.value
                ),
            ));
        }
        if g.interval.is_some_and(Duration::is_zero) {
            errors.push(at(format!(
                "group {:?}: interval must be greater than 0; remove it to use the global evaluation_interval",
                g.name.value
            )));
        }
        for name in g.labels.keys() {
            if !valid_label_name(name) {
                errors.push(at(format!(
                    "group {:?}: invalid label name: {name}",
                    g.name.value
                )));
            }
        }
        let mut rules = Vec::new();
        for (i, rule) in g.rules.iter().enumerate() {
            let name = rule
                .value
                .record
                .as_ref()
                .or(rule.value.alert.as_ref())
                .map_or("", |n| n.value.as_str());
            let context = format!("group {:?}, rule {}, {:?}", g.name.value, i + 1, name);
            match validate_rule(source, &context, rule) {
                Ok(r) => rules.push(r),
                Err(mut e) => errors.append(&mut e),
            }
        }
        out.push(GroupDef {
            file: source.to_owned(),
            name: g.name.value.clone(),
            interval: g.interval,
            limit: g.limit,
            query_offset: g.query_offset.unwrap_or_default(),
            labels: g.labels.clone(),
            rules,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn validate_rule(
    source: &str,
    context: &str,
    rule: &Spanned<RuleSpec>,
) -> Result<RuleDef, Vec<YamlError>> {
    let r = &rule.value;
    let at = |m: String| located(source, &rule.referenced, format!("{context}: {m}"));
    let mut errors = Vec::new();
    let kind = match (&r.record, &r.alert) {
        (Some(_), Some(_)) => {
            errors.push(at("only one of 'record' and 'alert' must be set".to_owned()));
            None
        }
        (None, None) => {
            errors.push(at("one of 'record' or 'alert' must be set".to_owned()));
            None
        }
        (Some(record), None) => {
            if !valid_metric_name(&record.value) {
                errors.push(located(
                    source,
                    &record.referenced,
                    format!("invalid recording rule name: {}", record.value),
                ));
            }
            if r.for_.is_some() {
                errors.push(at("invalid field 'for' in recording rule".to_owned()));
            }
            if r.keep_firing_for.is_some() {
                errors.push(at(
                    "invalid field 'keep_firing_for' in recording rule".to_owned()
                ));
            }
            if !r.annotations.is_empty() {
                errors.push(at(
                    "invalid field 'annotations' in recording rule".to_owned()
                ));
            }
            if r.resolve_expr.is_some() {
                errors.push(at(
                    "invalid field 'resolve_expr' in recording rule".to_owned()
                ));
            }
            Some(RuleKind::Recording {
                record: record.value.clone(),
            })
        }
        (None, Some(alert)) => {
            if alert.value.is_empty() {
                errors.push(located(
                    source,
                    &alert.referenced,
                    "alert name must not be empty".to_owned(),
                ));
            }
            for name in r.annotations.keys() {
                if !valid_label_name(name) {
                    errors.push(at(format!("invalid annotation name: {name}")));
                }
            }
            let checker =
                tocsin_template::prometheus::Expander::new(BTreeMap::new(), String::new(), None);
            let template_name = format!("__alert_{}", alert.value);
            for (kind, map) in [("label", &r.labels), ("annotation", &r.annotations)] {
                for (key, text) in map {
                    if let Err(err) = checker.check(&template_name, text) {
                        errors.push(at(format!("{kind} {key:?}: invalid template: {err}")));
                    }
                }
            }
            let resolve_expr = r.resolve_expr.as_ref().map(|e| e.value.clone());
            if let Some(e) = &r.resolve_expr
                && let Err(err) = tocsin_promql::parse_expr(&e.value)
            {
                errors.push(expr_error(source, context, &e.referenced, &err.to_string()));
            }
            Some(RuleKind::Alerting {
                alert: alert.value.clone(),
                hold: r.for_.unwrap_or_default(),
                keep_firing_for: r.keep_firing_for.unwrap_or_default(),
                annotations: r.annotations.clone(),
                resolve_expr,
            })
        }
    };
    if r.expr.value.trim().is_empty() {
        errors.push(located(
            source,
            &r.expr.referenced,
            "field 'expr' must be set in rule".to_owned(),
        ));
    } else if let Err(err) = tocsin_promql::parse_expr(&r.expr.value) {
        errors.push(expr_error(
            source,
            context,
            &r.expr.referenced,
            &err.to_string(),
        ));
    }
    for name in r.labels.keys() {
        if !valid_label_name(name) {
            errors.push(at(format!("invalid label name: {name}")));
        }
        if name == "__name__" {
            errors.push(at("invalid label name: __name__".to_owned()));
        }
    }
    match kind {
        Some(kind) if errors.is_empty() => Ok(RuleDef {
            kind,
            expr: r.expr.value.clone(),
            labels: r.labels.clone(),
        }),
        _ => Err(errors),
    }
}

/// Files matching `pattern` relative to `dir` (`*` and `?` in the last component), sorted;
/// a pattern without wildcards names one file whether or not it exists.
pub fn glob(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        dir.join(pattern)
    };
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(vec![full]);
    }
    let parent = full.parent().unwrap_or(dir);
    let entries = std::fs::read_dir(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_file_names() {
        assert!(wildcard("*.yml", "rules.yml"));
        assert!(wildcard("r?les.yml", "rules.yml"));
        assert!(!wildcard("*.yaml", "rules.yml"));
    }

    #[test]
    fn parses_groups_and_rules() {
        let text = "groups:\n- name: g\n  interval: 30s\n  limit: 3\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 1m\n    resolve_expr: up == 1\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.job }} down'}\n";
        let groups = parse_rule_file("r.yml", text).expect("valid");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].rules.len(), 2);
        assert_eq!(groups[0].rules[0].name(), "job:up:sum");
        let RuleKind::Alerting {
            hold, resolve_expr, ..
        } = &groups[0].rules[1].kind
        else {
            panic!("alerting rule expected");
        };
        assert_eq!(hold.as_millis(), 300_000);
        assert_eq!(resolve_expr.as_deref(), Some("up == 1"));
    }

    #[test]
    fn expression_errors_name_the_line() {
        let text = "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(up\n";
        let errors = parse_rule_file("r.yml", text).expect_err("bad expr");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(5), "{}", errors[0]);
        assert!(
            errors[0].to_string().starts_with("r.yml:5:"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn unknown_fields_and_duplicate_groups_are_refused() {
        let err =
            parse_rule_file("r.yml", "groups:\n- name: g\n  rulez: []\n").expect_err("unknown");
        assert!(err[0].to_string().contains("r.yml:3"), "{}", err[0]);
        let err = parse_rule_file("r.yml", "groups:\n- name: g\n- name: g\n").expect_err("dup");
        assert!(err[0].to_string().contains("repeated"), "{}", err[0]);
        let err = parse_rule_file(
            "r.yml",
            "groups:\n- name: g\n  rules:\n  - record: x\n    alert: y\n    expr: up\n",
        )
        .expect_err("both");
        assert!(err[0].to_string().contains("only one of"), "{}", err[0]);
    }

    proptest::proptest! {
        /// Arbitrary text (biased towards rule-file shapes) is an error or groups, never a panic.
        #[test]
        fn arbitrary_text_never_panics(
            head in proptest::sample::select(vec!["groups:\n- name: g\n  rules:\n  - ", "groups:\n- ", ""]),
            body in "[a-z_:{}()\\[\\]\"' \n=<>0-9.$|-]{0,80}",
        ) {
            let _ = parse_rule_file("p.yml", &format!("{head}{body}"));
        }
    }
}
