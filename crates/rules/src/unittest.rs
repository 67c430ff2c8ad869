//! promtool's rule unit tests (`promtool test rules`), file format unchanged: input series are
//! loaded into an in-memory store, the rule groups are evaluated every `evaluation_interval`
//! from time 0 with the real engine, and firing alerts and PromQL results are compared at
//! their `eval_time`s. Messages follow promtool's.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use tocsin_config::Duration;
use tocsin_config::yaml;
use tocsin_model::storage::{Appendable, Queryable};
use tocsin_model::{Labels, Timestamp};
use tocsin_promql::{Engine, EngineOptions, QueryLimits};

use crate::alert::AlertState;
use crate::file::{GroupDef, load_rule_file};
use crate::group::{EvalContext, Group};
use crate::query::{EngineQuery, QueryFn};
use crate::series::{parse_metric, parse_points};
use crate::template::Expand;

/// A unit-test file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitTestFile {
    /// Rule files (relative to the test file; `*` globs in the file name).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Evaluation step (default 1m).
    #[serde(default)]
    pub evaluation_interval: Option<Duration>,
    /// Order in which groups are evaluated at each step.
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    /// Test groups.
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

/// One test group: its own series and expectations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    /// Spacing of `input_series` values (default: evaluation_interval).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Series.
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    /// Alert expectations.
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTestCase>,
    /// Query expectations.
    #[serde(default)]
    pub promql_expr_test: Vec<PromqlTestCase>,
    /// `$externalLabels` in templates.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` in templates.
    #[serde(default)]
    pub external_url: String,
    /// Shown in failures.
    #[serde(default)]
    pub name: String,
}

/// A series and its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    /// `metric{label="value"}`.
    pub series: String,
    /// Values in series notation.
    pub values: String,
}

/// Expected firing alerts of one alert name at one time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTestCase {
    /// When.
    pub eval_time: Duration,
    /// Which alert.
    #[serde(default)]
    pub alertname: String,
    /// Firing alerts expected (empty: none).
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

/// One expected alert.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    /// Labels besides `alertname`.
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    /// Annotations after expansion.
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

/// Expected result of a query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromqlTestCase {
    /// The query.
    pub expr: String,
    /// When.
    pub eval_time: Duration,
    /// Expected samples (any order).
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

/// One expected sample.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    /// `metric{label="value"}`.
    #[serde(default)]
    pub labels: String,
    /// Value.
    #[serde(default)]
    pub value: f64,
}

/// Builds the template expander of a test group from its external labels and URL.
pub trait ExpanderFactory {
    /// An expander whose `query` function reads `query`.
    fn expander(
        &self,
        external_labels: &BTreeMap<String, String>,
        external_url: &str,
        query: Arc<dyn QueryFn>,
    ) -> Box<dyn Expand>;
}

/// Outcome of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file as given.
    pub file: String,
    /// Failures, each formatted as promtool prints it; empty means SUCCESS.
    pub errors: Vec<String>,
}

/// Runs one unit-test file.
pub fn run_file(path: &Path, expanders: &dyn ExpanderFactory) -> FileOutcome {
    let file = path.display().to_string();
    let errors = match run_file_inner(path, expanders) {
        Ok(()) => Vec::new(),
        Err(errors) => errors,
    };
    FileOutcome { file, errors }
}

fn run_file_inner(path: &Path, expanders: &dyn ExpanderFactory) -> Result<(), Vec<String>> {
    let spec: UnitTestFile = yaml::from_file(path).map_err(|e| vec![e.to_string()])?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut rule_paths = Vec::new();
    for pattern in &spec.rule_files {
        rule_paths.extend(crate::file::glob(dir, pattern).map_err(|e| vec![e])?);
    }
    let eval_interval = spec
        .evaluation_interval
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(60));
    let mut order: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, name) in spec.group_eval_order.iter().enumerate() {
        if order.insert(name, i).is_some() {
            return Err(vec![format!(
                "group name repeated in evaluation order: {name}"
            )]);
        }
    }
    let mut defs = Vec::new();
    for rule_path in &rule_paths {
        defs.extend(
            load_rule_file(rule_path)
                .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>())?,
        );
    }
    // Groups named in group_eval_order come first in that order; the others keep file order.
    defs.sort_by_key(|g| order.get(g.name.as_str()).copied().unwrap_or(usize::MAX));
    let mut errors = Vec::new();
    for test in &spec.tests {
        let interval = test
            .interval
            .filter(|d| !d.is_zero())
            .unwrap_or(eval_interval);
        errors.extend(run_group(test, &defs, eval_interval, interval, expanders));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Most evaluation steps one test group may take, so `eval_time: 100y` at `1s` fails cleanly.
const MAX_STEPS: i64 = 10_000_000;

fn run_group(
    test: &TestGroup,
    defs: &[GroupDef],
    eval_interval: Duration,
    interval: Duration,
    expanders: &dyn ExpanderFactory,
) -> Vec<String> {
    let store = Arc::new(crate::teststore::TestStorage::new());
    if let Err(e) = load_series(&*store, &test.input_series, ms(interval)) {
        return vec![e];
    }
    let engine = Arc::new(Engine::new(
        QueryLimits::default(),
        EngineOptions {
            subquery_step: eval_interval.as_std(),
            ..EngineOptions::default()
        },
    ));
    let queryable: Arc<dyn Queryable> = Arc::clone(&store) as Arc<dyn Queryable>;
    let query: Arc<dyn QueryFn> = Arc::new(EngineQuery::new(engine, queryable));
    let expander = expanders.expander(
        &test.external_labels,
        &test.external_url,
        Arc::clone(&query),
    );
    let mut groups: Vec<Group> = defs
        .iter()
        .map(|d| {
            let mut g = Group::new(d.clone(), ms(interval));
            for r in &mut g.rules {
                r.restored = true;
            }
            g
        })
        .collect();
    let test_name = if test.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", test.name)
    };
    for case in &test.alert_rule_test {
        if case.alertname.is_empty() {
            let in_group = if test.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", test.name)
            };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                case.eval_time
            )];
        }
    }
    let step = ms(eval_interval).max(1);
    let maxt = test
        .alert_rule_test
        .iter()
        .map(|c| ms(c.eval_time))
        .chain(test.promql_expr_test.iter().map(|c| ms(c.eval_time)))
        .max()
        .unwrap_or(0);
    if maxt / step > MAX_STEPS {
        return vec![format!(
            "eval_time {maxt}ms needs more than {MAX_STEPS} evaluations at {eval_interval}; raise evaluation_interval"
        )];
    }
    let mut alert_cases: Vec<&AlertTestCase> = test.alert_rule_test.iter().collect();
    alert_cases.sort_by_key(|c| ms(c.eval_time));
    let mut next_case = 0;
    let mut errors = Vec::new();
    let mut ts = 0;
    while ts <= maxt {
        let ctx = EvalContext {
            query: &*query,
            expander: &*expander,
            resend_delay_ms: 60_000,
        };
        let mut eval_errors = Vec::new();
        for group in &mut groups {
            let out = group.eval(ts, ctx);
            write(&*store, &out.samples);
            for r in &group.rules {
                if let Some(err) = &r.last_error
                    && r.last_eval == Some(ts)
                {
                    eval_errors.push(format!(
                        "    rule: {}, time: {}, err: {err}",
                        r.def.name(),
                        Duration::from_millis(u64::try_from(ts).unwrap_or(0))
                    ));
                }
            }
        }
        if !eval_errors.is_empty() {
            errors.extend(eval_errors);
            break;
        }
        while next_case < alert_cases.len() {
            let case = alert_cases[next_case];
            let t = ms(case.eval_time);
            if !(ts <= t && t < ts + step) {
                break;
            }
            check_alerts(&groups, case, &test_name, &mut errors);
            next_case += 1;
        }
        ts += step;
    }
    for case in &test.promql_expr_test {
        check_expr(&*query, case, &test_name, &mut errors);
    }
    errors
}

fn load_series(
    store: &dyn Appendable,
    series: &[InputSeries],
    interval: i64,
) -> Result<(), String> {
    let mut app = store.appender();
    for s in series {
        let labels = parse_metric(&s.series)?;
        let points = parse_points(&s.values)?;
        for (i, v) in points.into_iter().enumerate() {
            let Some(v) = v else { continue };
            let t = i64::try_from(i)
                .unwrap_or(i64::MAX)
                .saturating_mul(interval);
            app.append(0, &labels, t, v)
                .map_err(|e| format!("{}: {e}", s.series))?;
        }
    }
    app.commit().map_err(|e| e.to_string())?;
    Ok(())
}

fn write(store: &dyn Appendable, samples: &[(Labels, Timestamp, f64)]) {
    if samples.is_empty() {
        return;
    }
    let mut app = store.appender();
    for (l, t, v) in samples {
        let _ = app.append(0, l, *t, *v);
    }
    let _ = app.commit();
}

type LabelsAndAnnotations = Vec<(Labels, Labels)>;

fn map_to_labels(map: &BTreeMap<String, String>) -> Labels {
    Labels::from_pairs(map.iter().map(|(k, v)| (k.clone(), v.clone()))).unwrap_or_default()
}

fn indent_lines(lines: &str, indentation: &str) -> String {
    let parts: Vec<&str> = lines.split('\n').collect();
    let mut out = String::new();
    for (i, l) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(indentation);
        }
        out.push_str(l);
        if i != parts.len() - 1 {
            out.push('\n');
        }
    }
    out
}

fn alerts_string(list: &LabelsAndAnnotations) -> String {
    if list.is_empty() {
        return "[]".to_owned();
    }
    let one = |(l, a): &(Labels, Labels)| format!("Labels:{l}\nAnnotations:{a}");
    let mut s = format!(
        "[\n0:{}",
        indent_lines(&format!("\n{}", one(&list[0])), "  ")
    );
    for (i, item) in list.iter().enumerate().skip(1) {
        s.push_str(&format!(
            ",\n{i}:{}",
            indent_lines(&format!("\n{}", one(item)), "  ")
        ));
    }
    s.push_str("\n]");
    s
}

fn check_alerts(groups: &[Group], case: &AlertTestCase, test_name: &str, errors: &mut Vec<String>) {
    let mut got: LabelsAndAnnotations = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .filter(|r| {
            r.def.name() == case.alertname
                && matches!(r.def.kind, crate::file::RuleKind::Alerting { .. })
        })
        .flat_map(|r| r.active.values())
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| (a.labels.clone(), map_to_labels(&a.annotations)))
        .collect();
    let mut exp: LabelsAndAnnotations = case
        .exp_alerts
        .iter()
        .map(|a| {
            let mut labels = a.exp_labels.clone();
            labels.insert("alertname".to_owned(), case.alertname.clone());
            (map_to_labels(&labels), map_to_labels(&a.exp_annotations))
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    if got != exp {
        errors.push(format!(
            "{test_name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
            case.alertname,
            case.eval_time,
            indent_lines(&alerts_string(&exp), "            "),
            indent_lines(&alerts_string(&got), "            "),
        ));
    }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`.
pub fn format_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let s = format!("{v:E}");
    let Some((mantissa, exp)) = s.split_once('E') else {
        return s;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", exp.abs())
}

fn samples_string(samples: &[(Labels, f64)]) -> String {
    if samples.is_empty() {
        return "nil".to_owned();
    }
    samples
        .iter()
        .map(|(l, v)| format!("{l} {}", format_float_e(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_expr(
    query: &dyn QueryFn,
    case: &PromqlTestCase,
    test_name: &str,
    errors: &mut Vec<String>,
) {
    let _ = test_name;
    let got = match query.query(&case.expr, ms(case.eval_time)) {
        Ok(got) => got,
        Err(err) => {
            errors.push(format!(
                "    expr: {:?}, time: {}, err: {err}",
                case.expr, case.eval_time
            ));
            return;
        }
    };
    let mut got: Vec<(Labels, f64)> = got.into_iter().map(|s| (s.labels, s.value)).collect();
    let mut exp = Vec::new();
    for s in &case.exp_samples {
        match parse_metric(&s.labels) {
            Ok(l) => exp.push((l, s.value)),
            Err(err) => {
                errors.push(format!(
                    "    expr: {:?}, time: {}, err: labels {:?}: {err}",
                    case.expr, case.eval_time, s.labels
                ));
                return;
            }
        }
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    #[allow(clippy::float_cmp)]
    let equal =
        got.len() == exp.len() && got.iter().zip(&exp).all(|(g, e)| g.0 == e.0 && g.1 == e.1);
    if !equal {
        errors.push(format!(
            "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
            case.expr,
            case.eval_time,
            samples_string(&exp),
            samples_string(&got)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_go_e() {
        assert_eq!(format_float_e(1.0), "1E+00");
        assert_eq!(format_float_e(0.5), "5E-01");
        assert_eq!(format_float_e(1234.5), "1.2345E+03");
        assert_eq!(format_float_e(-3e-12), "-3E-12");
    }
}

/// Expander factory returning templates unexpanded.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerbatimFactory;

impl ExpanderFactory for VerbatimFactory {
    fn expander(
        &self,
        _external_labels: &BTreeMap<String, String>,
        _external_url: &str,
        _query: Arc<dyn QueryFn>,
    ) -> Box<dyn Expand> {
        Box::new(crate::template::Verbatim)
    }
}
