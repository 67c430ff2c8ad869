//! Prometheus's template functions (`template/template.go`) and the expander that alerting
//! rules use for annotations and labels.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::builtins::{expect_string, query_escape};
use crate::gofmt::sprintf;
use crate::gotime::GoTime;
use crate::value::Value;
use crate::{Func, Funcs, MissingKey, Template, TemplateError};

/// Runs a PromQL instant query for the `query` template function.
pub trait QueryFunc: Send + Sync {
    /// Evaluates `expr` at `at_ms` (milliseconds since the epoch).
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QueryResultSample>, String>;
}

/// One sample of a query result, as templates see it (`.Labels`, `.Value`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResultSample {
    /// The series' labels, `__name__` included when present.
    pub labels: BTreeMap<String, String>,
    /// The sample value.
    pub value: f64,
}

impl From<&QueryResultSample> for Value {
    fn from(s: &QueryResultSample) -> Self {
        let mut m = BTreeMap::new();
        m.insert("Labels".to_owned(), Self::from(&s.labels));
        m.insert("Value".to_owned(), Self::Float(s.value));
        Self::Map(m)
    }
}

/// The definitions Prometheus prepends to every alert annotation and label template
/// (rules/alerting.go); error columns on line 1 include their length, as in Prometheus.
pub const ALERT_DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Expands alerting rules' templates as Prometheus does.
#[derive(Clone)]
pub struct Expander {
    external_labels: BTreeMap<String, String>,
    external_url: String,
    query: Option<Arc<dyn QueryFunc>>,
    /// Every function that does not depend on the evaluation time, built once.
    base: Funcs,
    /// Parsed templates by (name, text): rules expand the same annotations every
    /// evaluation, and parsing costs about three times executing.
    cache: Arc<Mutex<TemplateCache>>,
}

/// Parsed templates by (name, text).
type TemplateCache = HashMap<(String, String), Arc<Template>>;

/// Cached parsed templates; past this the cache starts over (rule files changed a lot).
const MAX_CACHED_TEMPLATES: usize = 10_000;

impl std::fmt::Debug for Expander {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expander")
            .field("external_labels", &self.external_labels)
            .field("external_url", &self.external_url)
            .field("query", &self.query.is_some())
            .finish_non_exhaustive()
    }
}

impl Expander {
    /// An expander for a server with these external labels and URL; `query` backs the
    /// `query` function (without one, calling it is an execution error).
    pub fn new(
        external_labels: BTreeMap<String, String>,
        external_url: String,
        query: Option<Arc<dyn QueryFunc>>,
    ) -> Self {
        let mut base = Funcs::builtins();
        register_pure(&mut base);
        let url = external_url.clone();
        base.insert_checked("externalURL", 0, Some(0), move |_| {
            Ok(Value::String(url.clone()))
        });
        let path = url_path(&external_url);
        base.insert_checked("pathPrefix", 0, Some(0), move |_| {
            Ok(Value::String(path.clone()))
        });
        Self {
            external_labels,
            external_url,
            query,
            base: base.freeze(),
            cache: Arc::default(),
        }
    }

    /// Prometheus's functions, bound to this server and to the evaluation time `at_ms`
    /// (`query` and `now` use it). Includes `tmpl`, which Prometheus offers only in console
    /// templates.
    pub fn funcs(&self, at_ms: i64) -> Funcs {
        let mut funcs = self.annotation_funcs(at_ms);
        funcs.insert_special("tmpl", Func::Tmpl);
        funcs
    }

    /// The functions of Prometheus's text expander (everything but `tmpl`).
    fn annotation_funcs(&self, at_ms: i64) -> Funcs {
        let mut f = self.base.clone();
        let query = self.query.clone();
        f.insert_checked("query", 1, Some(1), move |a| {
            let expr = expect_string(&a[0])?;
            let Some(q) = &query else {
                return Err("no query function is configured".to_owned());
            };
            let samples = q.query(expr, at_ms)?;
            Ok(Value::List(samples.iter().map(Value::from).collect()))
        });
        f.insert_checked("now", 0, Some(0), move |_| {
            Ok(Value::Float(at_ms as f64 / 1000.0))
        });
        f
    }

    fn data(&self, labels: &BTreeMap<String, String>, value: f64) -> Value {
        let mut data = BTreeMap::new();
        data.insert("Labels".to_owned(), Value::from(labels));
        data.insert(
            "ExternalLabels".to_owned(),
            Value::from(&self.external_labels),
        );
        data.insert(
            "ExternalURL".to_owned(),
            Value::String(self.external_url.clone()),
        );
        data.insert("Value".to_owned(), Value::Float(value));
        Value::Map(data)
    }

    fn template(&self, name: &str, text: &str, at_ms: i64) -> Result<Template, TemplateError> {
        let full = format!("{ALERT_DEFS}{text}");
        let mut t = Template::parse(name, &full, &self.annotation_funcs(at_ms))?;
        t.set_missing_key(MissingKey::Zero);
        Ok(t)
    }

    /// The parsed template, from the cache when this text was seen before.
    fn cached(&self, name: &str, text: &str) -> Result<Arc<Template>, TemplateError> {
        let key = (name.to_owned(), text.to_owned());
        if let Some(t) = self.cache.lock().get(&key) {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(self.template(name, text, 0)?);
        let mut cache = self.cache.lock();
        if cache.len() >= MAX_CACHED_TEMPLATES {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&t));
        Ok(t)
    }

    /// Expands an alerting rule's annotation or label template as Prometheus does (prepends
    /// the `$labels`, `$externalLabels`, `$externalURL`, `$value` definitions; missingkey=zero).
    pub fn expand(
        &self,
        name: &str,
        text: &str,
        labels: &BTreeMap<String, String>,
        value: f64,
        at_ms: i64,
    ) -> Result<String, TemplateError> {
        let t = self.cached(name, text)?;
        t.execute_with_funcs(
            name,
            &self.data(labels, value),
            &self.annotation_funcs(at_ms),
        )
    }

    /// Like [`Expander::expand`], but on failure returns the text Prometheus puts in the
    /// alert instead: `<error expanding template: error parsing|executing template NAME: ...>`.
    pub fn expand_or_error(
        &self,
        name: &str,
        text: &str,
        labels: &BTreeMap<String, String>,
        value: f64,
        at_ms: i64,
    ) -> Result<String, String> {
        match self.cached(name, text) {
            Err(e) => Err(format!(
                "<error expanding template: error parsing template {name}: {e}>"
            )),
            Ok(t) => t
                .execute_with_funcs(
                    name,
                    &self.data(labels, value),
                    &self.annotation_funcs(at_ms),
                )
                .map_err(|e| {
                    format!("<error expanding template: error executing template {name}: {e}>")
                }),
        }
    }

    /// Parses only, for `check rules`.
    pub fn check(&self, name: &str, text: &str) -> Result<(), TemplateError> {
        self.template(name, text, 0).map(|_| ())
    }
}

/// The path of a URL (`externalURL.Path`), empty if it has none.
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = match after_scheme.find('/') {
        Some(i) => &after_scheme[i..],
        None => "",
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path[..end].to_owned()
}

/// Registers the functions that need no server context.
fn register_pure(f: &mut Funcs) {
    f.insert_checked("first", 1, Some(1), |a| match &a[0] {
        Value::List(l) => l
            .first()
            .cloned()
            .ok_or_else(|| "first() called on vector with no elements".to_owned()),
        other => Err(format!(
            "wrong type for value; expected template.queryResult; got {}",
            other.type_name()
        )),
    });
    f.insert_checked("label", 2, Some(2), |a| {
        let name = expect_string(&a[0])?;
        Ok(Value::String(sample_label(&a[1], name)?))
    });
    f.insert_checked("value", 1, Some(1), |a| sample_field(&a[0], "Value"));
    f.insert_checked("strvalue", 1, Some(1), |a| {
        Ok(Value::String(sample_label(&a[0], "__value__")?))
    });
    f.insert_checked("sortByLabel", 2, Some(2), |a| {
        let name = expect_string(&a[0])?.to_owned();
        let Value::List(list) = &a[1] else {
            return Err(format!(
                "wrong type for value; expected template.queryResult; got {}",
                a[1].type_name()
            ));
        };
        let mut keyed: Vec<(String, Value)> = list
            .iter()
            .map(|s| (sample_label(s, &name).unwrap_or_default(), s.clone()))
            .collect();
        keyed.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(Value::List(keyed.into_iter().map(|(_, s)| s).collect()))
    });
    f.insert_checked("args", 0, None, |a| {
        Ok(Value::Map(
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone()))
                .collect(),
        ))
    });
    f.insert_checked("reReplaceAll", 3, Some(3), |a| {
        let re = compile(expect_string(&a[0])?)?;
        let repl = expect_string(&a[1])?;
        let text = expect_string(&a[2])?;
        Ok(Value::String(re.replace_all(text, repl).into_owned()))
    });
    f.insert_checked("match", 2, Some(2), |a| {
        let re = compile(expect_string(&a[0])?)?;
        Ok(Value::Bool(re.is_match(expect_string(&a[1])?)))
    });
    f.insert_checked("safeHtml", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_owned()))
    });
    f.insert_checked("title", 1, Some(1), |a| {
        Ok(Value::String(title(expect_string(&a[0])?)))
    });
    f.insert_checked("toUpper", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_uppercase()))
    });
    f.insert_checked("toLower", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_lowercase()))
    });
    f.insert_checked("graphLink", 1, Some(1), |a| {
        Ok(Value::String(format!(
            "/graph?g0.expr={}&g0.tab=0",
            query_escape(expect_string(&a[0])?)
        )))
    });
    f.insert_checked("tableLink", 1, Some(1), |a| {
        Ok(Value::String(format!(
            "/graph?g0.expr={}&g0.tab=1",
            query_escape(expect_string(&a[0])?)
        )))
    });
    f.insert_checked("stripPort", 1, Some(1), |a| {
        let hp = expect_string(&a[0])?;
        Ok(Value::String(match split_host_port(hp) {
            Some((host, _)) => host.to_owned(),
            None => hp.to_owned(),
        }))
    });
    f.insert_checked("stripDomain", 1, Some(1), |a| {
        Ok(Value::String(strip_domain(expect_string(&a[0])?)))
    });
    f.insert_checked("humanize", 1, Some(1), |a| {
        Ok(Value::String(humanize(to_float(&a[0])?)))
    });
    f.insert_checked("humanize1024", 1, Some(1), |a| {
        Ok(Value::String(humanize1024(to_float(&a[0])?)))
    });
    f.insert_checked("humanizeDuration", 1, Some(1), |a| {
        Ok(Value::String(humanize_duration(to_float(&a[0])?)))
    });
    f.insert_checked("humanizePercentage", 1, Some(1), |a| {
        Ok(Value::String(format!("{}%", g4(to_float(&a[0])? * 100.0))))
    });
    f.insert_checked("humanizeTimestamp", 1, Some(1), |a| {
        let v = to_float(&a[0])?;
        if v.is_nan() || v.is_infinite() {
            return Ok(Value::String(g4(v)));
        }
        Ok(Value::String(go_time_string(float_to_millis(v)?)))
    });
    f.insert_checked("toTime", 1, Some(1), |a| {
        let v = to_float(&a[0])?;
        if v.is_nan() || v.is_infinite() {
            return Err("value is NaN or Inf".to_owned());
        }
        Ok(Value::Time(GoTime::from_unix_millis(float_to_millis(v)?)))
    });
    f.insert_checked("toDuration", 1, Some(1), |a| {
        let v = to_float(&a[0])?;
        if v.is_nan() || v.is_infinite() {
            return Err("value is NaN or Inf".to_owned());
        }
        let nanos = v * 1e9;
        if nanos >= i64::MAX as f64 || nanos < i64::MIN as f64 {
            return Err(format!(
                "{} cannot be represented as a nanoseconds duration since it overflows int64",
                crate::gofmt::sprint(&[Value::Float(v)])
            ));
        }
        Ok(Value::String(go_duration_string(nanos as i64)))
    });
    f.insert_checked("parseDuration", 1, Some(1), |a| {
        let ms = parse_duration_ms(expect_string(&a[0])?)?;
        Ok(Value::Float(ms as f64 / 1000.0))
    });
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("error parsing regexp: {e}"))
}

fn sample_field(sample: &Value, field: &str) -> Result<Value, String> {
    match sample {
        Value::Map(m) => Ok(m.get(field).cloned().unwrap_or_default()),
        Value::Nil => Err("invalid memory address or nil pointer dereference".to_owned()),
        other => Err(format!(
            "wrong type for value; expected *template.sample; got {}",
            other.type_name()
        )),
    }
}

fn sample_label(sample: &Value, name: &str) -> Result<String, String> {
    match sample_field(sample, "Labels")? {
        Value::Map(labels) => Ok(match labels.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }),
        _ => Ok(String::new()),
    }
}

/// `ConvertToFloat` from Prometheus's common templates: floats, ints and numeric strings.
pub(crate) fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::String(s) => parse_go_float(s).ok_or_else(|| {
            format!(
                "strconv.ParseFloat: parsing {}: invalid syntax",
                crate::gofmt::quote(s)
            )
        }),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// `strconv.ParseFloat(s, 64)` for decimal input (Go also takes hex floats and `_` after a
/// base prefix, which Rust's parser does not).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse().ok();
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
    {
        return None;
    }
    s.parse().ok()
}

/// `fmt.Sprintf("%.4g", v)`.
fn g4(v: f64) -> String {
    sprintf("%.4g", &[Value::Float(v)])
}

pub(crate) fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", g4(v))
}

fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

pub(crate) fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        // Go's int64 conversion saturates differently, but such durations are nonsense.
        let d = v as i64;
        let seconds = d % 60;
        let minutes = (d / 60) % 60;
        let hours = (d / 60 / 60) % 24;
        let days = d / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// Seconds to milliseconds the way `model.TimeFromUnixNano(int64(v*1e9))` truncates.
fn float_to_millis(v: f64) -> Result<i64, String> {
    let nanos = v * 1e9;
    if nanos >= i64::MAX as f64 || nanos < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            crate::gofmt::sprint(&[Value::Float(v)])
        ));
    }
    Ok((nanos as i64) / 1_000_000)
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub(crate) fn go_time_string(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if millis != 0 {
        let frac = format!("{millis:03}");
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn go_duration_string(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let frac = |v: u64, digits: u32| -> String {
        // v in units of 10^-digits; print with trailing zeros trimmed.
        let pow = 10u64.pow(digits);
        let int = v / pow;
        let rem = v % pow;
        if rem == 0 {
            int.to_string()
        } else {
            let f = format!("{rem:0width$}", width = digits as usize);
            format!("{int}.{}", f.trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        let _ = write!(out, "{u}ns");
    } else if u < 1_000_000 {
        let _ = write!(out, "{}µs", frac(u, 3));
    } else if u < 1_000_000_000 {
        let _ = write!(out, "{}ms", frac(u, 6));
    } else {
        let total_secs = u / 1_000_000_000;
        let h = total_secs / 3600;
        let m = (total_secs / 60) % 60;
        let s_nanos = u % 60_000_000_000;
        if h > 0 {
            let _ = write!(out, "{h}h{m}m");
        } else if m > 0 {
            let _ = write!(out, "{m}m");
        }
        let _ = write!(out, "{}s", frac(s_nanos, 9));
    }
    out
}

/// Prometheus's `model.ParseDuration`, in milliseconds.
pub(crate) fn parse_duration_ms(s: &str) -> Result<i64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".to_owned()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", crate::gofmt::quote(s));
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = 0usize;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        // Prometheus 2.x says "not a valid duration string" for unknown units too.
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(invalid());
        };
        if pos < last_unit {
            return Err(invalid());
        }
        last_unit = pos + 1;
        // time.Duration is nanoseconds in an int64.
        let mult_ns = u128::from(UNITS[pos].1) * 1_000_000;
        let add = u128::from(v) * mult_ns;
        let sum = u128::from(total) * 1_000_000 + add;
        if sum > i64::MAX as u128 {
            return Err("duration out of range".to_owned());
        }
        total += v * UNITS[pos].1;
    }
    i64::try_from(total).map_err(|_| "duration out of range".to_owned())
}

/// `cases.Title(language.AmericanEnglish, cases.NoLower)`: upper-cases the first letter of
/// each word and leaves the rest alone. Words break at anything but letters, digits, `_`,
/// and `'`/`.`/`:` between letters (Unicode word-break MidLetter/MidNumLet).
pub(crate) fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let word_char = c.is_alphanumeric() || c == '_';
        let joiner = matches!(c, '\'' | '.' | ':' | '’')
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if word_char && !in_word {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        in_word = word_char || joiner;
    }
    out
}

/// Go's `net.SplitHostPort`; `None` where Go returns an error.
pub(crate) fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = after.strip_prefix(':')?;
        if port.contains([':', '[', ']']) {
            return None;
        }
        return Some((host, port));
    }
    let colon = hp.rfind(':')?;
    let host = &hp[..colon];
    let port = &hp[colon + 1..];
    if host.contains(':') || hp.contains(['[', ']']) {
        return None;
    }
    Some((host, port))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = match split_host_port(hp) {
        Some((h, p)) => (h, p),
        None => (hp, ""),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_owned();
    }
    let host = host.split('.').next().unwrap_or_default();
    if port.is_empty() {
        host.to_owned()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_matches_prometheus_examples() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (1234.0, "1.234k"),
            (1_234_567.0, "1.235M"),
            (0.001234, "1.234m"),
            (0.000_001_5, "1.5u"),
            (-1234.0, "-1.234k"),
            (1e30, "1e+06Y"),
        ];
        for (v, want) in cases {
            assert_eq!(humanize(v), want, "{v}");
        }
        assert_eq!(humanize1024(1024.0 * 1024.0), "1Mi");
        assert_eq!(humanize1024(1.0), "1");
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(-3600.0), "-1h 0m 0s");
        assert_eq!(humanize_duration(0.00123), "1.23ms");
    }

    #[test]
    fn times_and_durations_print_like_go() {
        assert_eq!(go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time_string(1_234_567_890_120),
            "2009-02-13 23:31:30.12 +0000 UTC"
        );
        assert_eq!(go_time_string(-1), "1969-12-31 23:59:59.999 +0000 UTC");
        assert_eq!(go_duration_string(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(go_duration_string(1_500_000), "1.5ms");
        assert_eq!(go_duration_string(60_000_000_000), "1m0s");
        assert_eq!(go_duration_string(-2_000), "-2µs");
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("1y"), Ok(365 * 86_400_000));
        assert!(parse_duration_ms("30m1h").is_err());
        assert!(parse_duration_ms("5x").is_err());
        assert!(parse_duration_ms("").is_err());
    }

    #[test]
    fn hosts_and_titles() {
        assert_eq!(split_host_port("a.b:80"), Some(("a.b", "80")));
        assert_eq!(split_host_port("[::1]:80"), Some(("::1", "80")));
        assert_eq!(split_host_port("a.b"), None);
        assert_eq!(strip_domain("node1.example.com:9100"), "node1:9100");
        assert_eq!(strip_domain("10.0.0.1:9100"), "10.0.0.1:9100");
        assert_eq!(strip_domain("node1.example.com"), "node1");
        assert_eq!(title("hello wORLD foo-bar"), "Hello WORLD Foo-Bar");
        assert_eq!(url_path("http://example.com/prom/"), "/prom/");
        assert_eq!(url_path("http://example.com"), "");
    }
}
