//! Runs Prometheus's own PromQL test suite (`testdata/promqltest/*.test`, vendored unchanged
//! with its licence and NOTICE; the DSL is in its `README.upstream.md`) against our engine over
//! `MemStorage`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use promql_parser::parser::Expr;
use tocsin_model::storage::Appendable;
use tocsin_model::storage::mem::MemStorage;
use tocsin_model::{Labels, STALE_NAN};
use tocsin_promql::functions::math::almost_equal;
use tocsin_promql::{Engine, EngineOptions, QueryLimits, Value};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/promqltest");

/// Files whose every case (except those needing native histograms) must pass.
const IN_SCOPE: &[&str] = &[
    "aggregators",
    "at_modifier",
    "collision",
    "functions",
    "histograms",
    "literals",
    "name_label_dropping",
    "operators",
    "range_queries",
    "selectors",
    "staleness",
    "subquery",
    "trig_functions",
    "limit",
];

const EPSILON: f64 = 0.000_001;

#[derive(Debug, Default)]
struct Counts {
    passed: usize,
    failed: usize,
    /// Cases that need native histograms (not stored yet): run, counted apart.
    native_passed: usize,
    native_failed: usize,
    failures: Vec<String>,
}

fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.trim_start_matches('0')
        .chars()
        .all(|c| c.is_ascii_alphabetic())
        && s.starts_with('0')
    {
        return Ok(0);
    }
    if let Ok(n) = s.parse::<f64>() {
        return Ok((n * 1000.0) as i64);
    }
    let (neg, body) = s.strip_prefix('-').map_or((false, s), |b| (true, b));
    let d = promql_parser::util::parse_duration(body)
        .map_err(|e| format!("bad duration {s:?}: {e}"))?;
    let ms = i64::try_from(d.as_millis()).map_err(|e| e.to_string())?;
    Ok(if neg { -ms } else { ms })
}

/// One expected or loaded value; `None` is a gap (`_`).
type Points = Vec<Option<f64>>;

fn parse_value(tok: &str) -> Result<f64, String> {
    match tok {
        "stale" => Ok(STALE_NAN),
        "Inf" | "+Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => tok
            .parse::<f64>()
            .map_err(|e| format!("bad value {tok:?}: {e}")),
    }
}

/// Expands `1 2+3x2 _ _x3 stale` (promtool's series notation). Native histograms (`{{…}}`)
/// make it return `Err("native")`.
fn parse_points(text: &str) -> Result<Points, String> {
    if text.contains("{{") {
        return Err("native".to_owned());
    }
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|e| format!("bad {tok:?}: {e}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        if let Some(xi) = tok.rfind('x')
            && xi > 0
        {
            let (head, times) = (&tok[..xi], &tok[xi + 1..]);
            let n: usize = times.parse().map_err(|e| format!("bad {tok:?}: {e}"))?;
            // head is `a`, `a+b` or `a-b` (a may itself be negative).
            let split = head[1..].rfind(['+', '-']).map(|i| i + 1);
            let (a, b) = match split {
                Some(i) if !head[..i].ends_with(['e', 'E']) => {
                    let a = parse_value(&head[..i])?;
                    let b = parse_value(&head[i + 1..])?;
                    (a, if &head[i..=i] == "-" { -b } else { b })
                }
                _ => (parse_value(head)?, 0.0),
            };
            for k in 0..=n {
                out.push(Some(a + b * k as f64));
            }
            continue;
        }
        out.push(Some(parse_value(tok)?));
    }
    Ok(out)
}

/// Splits `metric{a="b"} 1 2 3` into the metric and the rest.
fn split_series(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'{' {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'{' {
        let mut in_quote: Option<u8> = None;
        while i < bytes.len() {
            let c = bytes[i];
            match in_quote {
                Some(q) => {
                    if c == b'\\' {
                        i += 1;
                    } else if c == q {
                        in_quote = None;
                    }
                }
                None => {
                    if c == b'"' || c == b'\'' || c == b'`' {
                        in_quote = Some(c);
                    } else if c == b'}' {
                        i += 1;
                        break;
                    }
                }
            }
            i += 1;
        }
    }
    (&line[..i], line[i..].trim())
}

fn parse_metric(text: &str) -> Result<Labels, String> {
    let text = text.trim();
    if text == "{}" {
        return Ok(Labels::empty());
    }
    let expr =
        promql_parser::parser::parse(text).map_err(|e| format!("bad series {text:?}: {e}"))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("bad series {text:?}"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(n) = &vs.name {
        pairs.push(("__name__".to_owned(), n.clone()));
    }
    for m in &vs.matchers.matchers {
        if !pairs.iter().any(|(n, _)| n == &m.name) {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    Labels::from_pairs(pairs).map_err(|e| e.to_string())
}

#[derive(Debug, Default)]
struct Expect {
    fail: Option<Option<(bool, String)>>,
    warn: Vec<Option<(bool, String)>>,
    info: Vec<Option<(bool, String)>>,
    no_warn: bool,
    no_info: bool,
    ordered: bool,
    string: Option<String>,
    range_vector: Option<(i64, i64, i64)>,
    scalar: Option<f64>,
    series: Vec<(Labels, Points)>,
    native: bool,
}

fn parse_expect_msg(rest: &str) -> Result<Option<(bool, String)>, String> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(None);
    }
    if let Some(m) = rest.strip_prefix("msg:") {
        return Ok(Some((false, m.trim().trim_matches('"').to_owned())));
    }
    if let Some(m) = rest.strip_prefix("regex:") {
        return Ok(Some((true, m.trim().trim_matches('"').to_owned())));
    }
    Err(format!("bad expect line: {rest:?}"))
}

fn matches_msg(want: &(bool, String), got: &str) -> bool {
    if want.0 {
        regex::Regex::new(&want.1).is_ok_and(|re| re.is_match(got))
    } else {
        want.1 == got
    }
}

struct Case {
    line: usize,
    query: String,
    start: i64,
    end: i64,
    step: i64,
    instant: bool,
    expect: Expect,
}

struct Runner {
    store: MemStorage,
    engine: Engine,
    native_series: Vec<Labels>,
}

impl Runner {
    fn new() -> Self {
        Self {
            store: MemStorage::new(),
            engine: Engine::new(
                QueryLimits {
                    timeout: Duration::from_secs(60),
                    max_samples: 50_000_000,
                    max_concurrency: 0,
                },
                EngineOptions {
                    delayed_name_removal: true,
                    ..EngineOptions::default()
                },
            ),
            native_series: Vec::new(),
        }
    }

    fn load(&mut self, interval: i64, lines: &[&str], nhcb: bool) -> Result<(), String> {
        // Later lines for the same series and time win, as in Prometheus's loader.
        let mut data: BTreeMap<Labels, BTreeMap<i64, f64>> = BTreeMap::new();
        for line in lines {
            let (metric, rest) = split_series(line.trim());
            let labels = parse_metric(metric)?;
            let name = labels.metric_name().unwrap_or("").to_owned();
            if nhcb && let Some(base) = name.strip_suffix("_bucket") {
                // load_with_nhcb also creates a native histogram series named without the
                // suffix and without `le`.
                let mut b = labels.drop_names(&["le"]).to_builder();
                b.set("__name__", base);
                self.native_series.push(b.build());
            }
            let points = match parse_points(rest) {
                Ok(p) => p,
                Err(e) if e == "native" => {
                    // Native histograms are not stored yet: the series is left out and the
                    // cases that read it are counted apart.
                    self.native_series.push(labels);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let series = data.entry(labels).or_default();
            for (i, p) in points.iter().enumerate() {
                if let Some(v) = p {
                    series.insert(interval * i as i64, *v);
                }
            }
        }
        let mut app = self.store.appender();
        for (labels, points) in &data {
            for (t, v) in points {
                app.append(0, labels, *t, *v).map_err(|e| e.to_string())?;
            }
        }
        app.commit().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Whether the case reads a native histogram series (not stored yet) or expects one.
    fn is_native(&self, case: &Case) -> bool {
        if case.expect.native {
            return true;
        }
        let Ok(expr) = promql_parser::parser::parse(&case.query) else {
            return false;
        };
        let mut selectors = Vec::new();
        collect_selectors(&expr, &mut selectors);
        selectors.iter().any(|set| {
            self.native_series
                .iter()
                .any(|l| set.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
        })
    }

    fn run_case(&self, case: &Case) -> Result<(), String> {
        let result = if case.instant {
            self.engine
                .instant_query(&self.store, &case.query, case.start)
        } else {
            self.engine
                .range_query(&self.store, &case.query, case.start, case.end, case.step)
        };
        let e = &case.expect;
        let res = match (result, &e.fail) {
            (Err(err), Some(want)) => {
                if let Some(w) = want
                    && !matches_msg(w, &err.to_string())
                {
                    return Err(format!(
                        "error {:?} does not match {:?}",
                        err.to_string(),
                        w.1
                    ));
                }
                return Ok(());
            }
            (Err(err), None) => return Err(format!("unexpected error: {err}")),
            (Ok(_), Some(_)) => return Err("expected an error, got a result".to_owned()),
            (Ok(r), None) => r,
        };
        check_annotations("warn", &e.warn, e.no_warn, &res.annotations.warnings)?;
        check_annotations("info", &e.info, e.no_info, &res.annotations.infos)?;
        compare(case, &res.value)
    }
}

fn check_annotations(
    kind: &str,
    want: &[Option<(bool, String)>],
    none: bool,
    got: &[String],
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind} annotations, got {got:?}"));
    }
    for w in want {
        let ok = match w {
            None => !got.is_empty(),
            Some(m) => got.iter().any(|g| matches_msg(m, g)),
        };
        if !ok {
            return Err(format!("expected {kind} annotation {w:?}, got {got:?}"));
        }
    }
    if want.iter().any(Option::is_some) {
        for g in got {
            if !want
                .iter()
                .any(|w| w.as_ref().is_none_or(|m| matches_msg(m, g)))
            {
                return Err(format!("unexpected {kind} annotation {g:?}"));
            }
        }
    }
    Ok(())
}

fn eq(a: f64, b: f64) -> bool {
    almost_equal(a, b, EPSILON)
}

fn compare(case: &Case, value: &Value) -> Result<(), String> {
    let e = &case.expect;
    match value {
        Value::String(_, s) => match &e.string {
            Some(want) if want == s => Ok(()),
            other => Err(format!("got string {s:?}, expected {other:?}")),
        },
        Value::Scalar(p) => {
            let want = e
                .scalar
                .or_else(|| {
                    e.series
                        .first()
                        .and_then(|(_, pts)| pts.first().copied().flatten())
                })
                .ok_or_else(|| format!("got scalar {}, expected none", p.v))?;
            if eq(want, p.v) {
                Ok(())
            } else {
                Err(format!("got scalar {}, expected {want}", p.v))
            }
        }
        Value::Vector(samples) => {
            if e.series.len() != samples.len() {
                return Err(format!(
                    "expected {} samples, got {}: {}",
                    e.series.len(),
                    samples.len(),
                    samples.iter().fold(String::new(), |mut s, x| {
                        let _ = write!(s, "{} {}; ", x.labels, x.v);
                        s
                    })
                ));
            }
            for (i, (labels, pts)) in e.series.iter().enumerate() {
                let want = pts.first().copied().flatten().unwrap_or(f64::NAN);
                let got = if e.ordered {
                    let s = &samples[i];
                    (&s.labels == labels).then_some(s)
                } else {
                    samples.iter().find(|s| &s.labels == labels)
                };
                let Some(got) = got else {
                    return Err(format!("expected {labels} (position {i}) not in result"));
                };
                if !eq(want, got.v) {
                    return Err(format!("{labels}: got {}, expected {want}", got.v));
                }
            }
            Ok(())
        }
        Value::Matrix(series) => {
            let exp: BTreeMap<&Labels, &Points> = e.series.iter().map(|(l, p)| (l, p)).collect();
            let non_empty: Vec<_> = exp
                .iter()
                .filter(|(_, p)| p.iter().any(Option::is_some))
                .collect();
            if non_empty.len() != series.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    non_empty.len(),
                    series.len(),
                    series
                        .iter()
                        .map(|s| s.labels.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let (start, step) = match e.range_vector {
                Some((s, _, st)) => (s, st),
                None => (case.start, case.step),
            };
            for s in series {
                let Some(pts) = exp.get(&s.labels) else {
                    return Err(format!("unexpected series {}", s.labels));
                };
                let want: Vec<(i64, f64)> = pts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (start + step * i as i64, v)))
                    .collect();
                if want.len() != s.points.len() {
                    return Err(format!(
                        "{}: expected {} points {want:?}, got {:?}",
                        s.labels,
                        want.len(),
                        s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>()
                    ));
                }
                for (w, g) in want.iter().zip(&s.points) {
                    if (e.range_vector.is_some() || !case.instant) && w.0 != g.t {
                        return Err(format!(
                            "{}: point at {} expected at {}",
                            s.labels, g.t, w.0
                        ));
                    }
                    if !eq(w.1, g.v) {
                        return Err(format!(
                            "{}: at {} got {}, expected {}",
                            s.labels, g.t, g.v, w.1
                        ));
                    }
                }
            }
            Ok(())
        }
    }
}

fn collect_selectors(expr: &Expr, out: &mut Vec<Vec<tocsin_model::Matcher>>) {
    use tocsin_model::{MatchType, Matcher};
    let add = |vs: &promql_parser::parser::VectorSelector, out: &mut Vec<Vec<Matcher>>| {
        let mut set: Vec<Matcher> = vs
            .matchers
            .matchers
            .iter()
            .filter_map(|m| {
                let kind = match m.op {
                    promql_parser::label::MatchOp::Equal => MatchType::Equal,
                    promql_parser::label::MatchOp::NotEqual => MatchType::NotEqual,
                    promql_parser::label::MatchOp::Re(_) => MatchType::Regex,
                    promql_parser::label::MatchOp::NotRe(_) => MatchType::NotRegex,
                };
                Matcher::new(kind, m.name.clone(), m.value.clone()).ok()
            })
            .collect();
        if let Some(n) = &vs.name {
            set.push(Matcher::equal("__name__", n.clone()));
        }
        out.push(set);
    };
    match expr {
        Expr::VectorSelector(vs) => add(vs, out),
        Expr::MatrixSelector(ms) => add(&ms.vs, out),
        Expr::Aggregate(a) => {
            collect_selectors(&a.expr, out);
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_selectors(a, out)),
        _ => {}
    }
}

fn is_indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

fn parse_eval(header: &str, body: &[&str], line: usize) -> Result<Case, String> {
    let (cmd, rest) = header.split_once(' ').ok_or("bad eval")?;
    let mut expect = Expect::default();
    match cmd {
        "eval_fail" => expect.fail = Some(None),
        "eval_warn" => expect.warn.push(None),
        "eval_info" => expect.info.push(None),
        "eval_ordered" => expect.ordered = true,
        _ => {}
    }
    let rest = rest.trim();
    let (instant, start, end, step, query) = if let Some(r) = rest.strip_prefix("instant at ") {
        let (t, q) = r.split_once(' ').ok_or("bad eval instant")?;
        let t = parse_duration_ms(t)?;
        (true, t, t, 0, q.trim().to_owned())
    } else if let Some(r) = rest.strip_prefix("range from ") {
        let (s, r) = r.split_once(" to ").ok_or("bad eval range")?;
        let (e, r) = r.split_once(" step ").ok_or("bad eval range")?;
        let (st, q) = r.split_once(' ').ok_or("bad eval range")?;
        (
            false,
            parse_duration_ms(s)?,
            parse_duration_ms(e)?,
            parse_duration_ms(st)?,
            q.trim().to_owned(),
        )
    } else {
        return Err(format!("bad eval: {rest}"));
    };
    for l in body {
        let l = l.trim();
        if let Some(x) = l.strip_prefix("expect ") {
            let x = x.trim();
            let (kind, tail) = x.split_once(' ').unwrap_or((x, ""));
            let kind = kind.trim_end_matches(':');
            match kind {
                "fail" => expect.fail = Some(parse_expect_msg(tail)?),
                "warn" => expect.warn.push(parse_expect_msg(tail)?),
                "info" => expect.info.push(parse_expect_msg(tail)?),
                "no_warn" => expect.no_warn = true,
                "no_info" => expect.no_info = true,
                "ordered" => expect.ordered = true,
                "string" => expect.string = Some(tail.trim().trim_matches(['"', '`']).to_owned()),
                "range" => {
                    let r = tail
                        .trim()
                        .strip_prefix("vector from ")
                        .ok_or("bad expect range")?;
                    let (s, r) = r.split_once(" to ").ok_or("bad expect range")?;
                    let (e, st) = r.split_once(" step ").ok_or("bad expect range")?;
                    expect.range_vector = Some((
                        parse_duration_ms(s)?,
                        parse_duration_ms(e)?,
                        parse_duration_ms(st)?,
                    ));
                }
                _ => return Err(format!("unknown expect {kind}")),
            }
            continue;
        }
        if l.starts_with("expected_fail_message") || l.starts_with("expected_fail_regexp") {
            let (k, m) = l.split_once(' ').unwrap_or((l, ""));
            expect.fail = Some(Some((k.ends_with("regexp"), m.trim().to_owned())));
            continue;
        }
        if l.contains("{{") {
            expect.native = true;
        }
        let first = l.chars().next().unwrap_or(' ');
        if (first.is_ascii_digit()
            || l.starts_with(['-', '+'])
            || l == "NaN"
            || l.starts_with("Inf"))
            && let Ok(v) = parse_value(l)
        {
            expect.scalar = Some(v);
            continue;
        }
        let (metric, pts) = split_series(l);
        let labels = parse_metric(metric)?;
        let points = match parse_points(pts) {
            Ok(p) => p,
            Err(e) if e == "native" => vec![None],
            Err(e) => return Err(e),
        };
        expect.series.push((labels, points));
    }
    Ok(Case {
        line,
        query,
        start,
        end,
        step,
        instant,
        expect,
    })
}

fn run_file(path: &Path) -> Result<Counts, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut runner = Runner::new();
    let mut counts = Counts::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut body = Vec::new();
        while i < lines.len()
            && (is_indented(lines[i])
                || lines[i].trim().is_empty()
                || lines[i].trim_start().starts_with('#'))
        {
            let l = lines[i].trim();
            if !l.is_empty() && !l.starts_with('#') {
                body.push(lines[i]);
            }
            i += 1;
            // A blank line ends an eval's expectations only if the next line is unindented.
        }
        if trimmed == "clear" {
            runner.store.clear();
            runner.native_series.clear();
        } else if let Some(interval) = trimmed.strip_prefix("load ") {
            let iv = parse_duration_ms(interval)?;
            runner
                .load(iv, &body, false)
                .map_err(|e| format!("line {}: {e}", start + 1))?;
        } else if let Some(interval) = trimmed.strip_prefix("load_with_nhcb ") {
            let iv = parse_duration_ms(interval)?;
            runner
                .load(iv, &body, true)
                .map_err(|e| format!("line {}: {e}", start + 1))?;
        } else if trimmed.starts_with("eval") {
            let case = match parse_eval(trimmed, &body, start + 1) {
                Ok(c) => c,
                Err(e) => {
                    counts.failed += 1;
                    counts
                        .failures
                        .push(format!("line {}: cannot parse case: {e}", start + 1));
                    continue;
                }
            };
            let native = runner.is_native(&case);
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.run_case(&case)))
                    .unwrap_or_else(|_| Err("panicked".to_owned()));
            match (outcome, native) {
                (Ok(()), false) => counts.passed += 1,
                (Ok(()), true) => counts.native_passed += 1,
                (Err(e), false) => {
                    counts.failed += 1;
                    counts
                        .failures
                        .push(format!("line {}: {}: {e}", case.line, case.query));
                }
                (Err(_), true) => counts.native_failed += 1,
            }
        } else {
            return Err(format!("line {}: unknown command {trimmed:?}", start + 1));
        }
    }
    Ok(counts)
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "the runner reports counts per file, as the issue asks"
)]
fn prometheus_promqltest_suite() {
    let dir = Path::new(DIR);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {DIR}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {DIR}");
    let only = std::env::var("PROMQLTEST_FILE").ok();
    let verbose = std::env::var("PROMQLTEST_VERBOSE").is_ok();
    let (mut in_pass, mut in_fail, mut out_pass, mut out_fail, mut nat_pass, mut nat_fail) =
        (0, 0, 0, 0, 0, 0);
    let mut report = Vec::new();
    for path in &files {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if only.as_deref().is_some_and(|o| o != stem) {
            continue;
        }
        let in_scope = IN_SCOPE.contains(&stem);
        let counts = run_file(path).unwrap_or_else(|e| Counts {
            failed: 1,
            failures: vec![e],
            ..Counts::default()
        });
        println!(
            "{stem}.test: {} passed, {} failed{} (native histograms: {} passed, {} failed)",
            counts.passed,
            counts.failed,
            if in_scope { "" } else { " [out of scope]" },
            counts.native_passed,
            counts.native_failed
        );
        nat_pass += counts.native_passed;
        nat_fail += counts.native_failed;
        if in_scope {
            in_pass += counts.passed;
            in_fail += counts.failed;
            for f in &counts.failures {
                report.push(format!("{stem}.test {f}"));
            }
        } else {
            out_pass += counts.passed;
            out_fail += counts.failed;
            if verbose {
                for f in &counts.failures {
                    println!("  {stem}.test {f}");
                }
            }
        }
    }
    for r in &report {
        println!("FAIL {r}");
    }
    println!("out of scope: {out_pass} passed, {out_fail} failed");
    println!("native histogram cases (not required): {nat_pass} passed, {nat_fail} failed");
    println!("in scope: {in_pass} passed, {in_fail} failed");
    assert!(
        report.is_empty(),
        "{in_fail} in-scope promqltest cases failed"
    );
}
