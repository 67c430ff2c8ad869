//! One parser for both formats: the text format is lenient about blanks (any run of spaces
//! and tabs between tokens, blank lines, free comments), OpenMetrics is strict (single
//! spaces, no blank lines, only `# HELP`, `# TYPE`, `# UNIT` and a final `# EOF`), as
//! Prometheus's two lexers are.

use std::borrow::Cow;

use super::Format;
use super::float::parse_go_float;

/// A label name and value as written (unescaped).
pub type LabelPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// A metric family type from `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
    /// `gaugehistogram` (OpenMetrics).
    GaugeHistogram,
    /// `summary`.
    Summary,
    /// `info` (OpenMetrics).
    Info,
    /// `stateset` (OpenMetrics).
    StateSet,
    /// `untyped` (text) or `unknown` (OpenMetrics).
    Unknown,
}

impl MetricType {
    fn parse(text: &str, format: Format) -> Option<Self> {
        Some(match (text, format) {
            ("counter", _) => Self::Counter,
            ("gauge", _) => Self::Gauge,
            ("histogram", _) => Self::Histogram,
            ("summary", _) => Self::Summary,
            ("untyped", Format::PrometheusText) | ("unknown", Format::OpenMetrics) => Self::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => Self::GaugeHistogram,
            ("info", Format::OpenMetrics) => Self::Info,
            ("stateset", Format::OpenMetrics) => Self::StateSet,
            _ => return None,
        })
    }

    /// The name Prometheus's metadata API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
            Self::Unknown => "unknown",
        }
    }
}

/// An OpenMetrics exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'p, 'a> {
    /// Its labels.
    pub labels: &'p [LabelPair<'a>],
    /// Its value.
    pub value: f64,
    /// Its timestamp in milliseconds, if given.
    pub timestamp: Option<i64>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'p, 'a> {
    /// The series exactly as written (name and labels), a cheap key for caches: the same
    /// text always yields the same labels.
    pub series: &'a str,
    /// The metric name.
    pub name: Cow<'a, str>,
    /// The labels in the order written, without the metric name.
    pub labels: &'p [LabelPair<'a>],
    /// The value.
    pub value: f64,
    /// The timestamp in milliseconds, if the line has one.
    pub timestamp: Option<i64>,
    /// The exemplar (OpenMetrics only).
    pub exemplar: Option<Exemplar<'p, 'a>>,
}

/// One line's meaning.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'p, 'a> {
    /// `# HELP name text`.
    Help {
        /// The metric family.
        name: Cow<'a, str>,
        /// The help text, unescaped.
        text: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The metric family.
        name: Cow<'a, str>,
        /// Its type.
        kind: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics).
    Unit {
        /// The metric family.
        name: Cow<'a, str>,
        /// The unit.
        unit: &'a str,
    },
    /// Any other comment (text format only).
    Comment,
    /// A sample.
    Sample(Sample<'p, 'a>),
}

/// Why an exposition could not be parsed: the line and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: u32,
    /// What was wrong.
    pub message: String,
}

/// A pull parser: call [`Parser::next`] until it returns `Ok(None)`.
#[derive(Debug)]
pub struct Parser<'a> {
    input: &'a str,
    pos: usize,
    line: u32,
    format: Format,
    labels: Vec<LabelPair<'a>>,
    exemplar_labels: Vec<LabelPair<'a>>,
    seen_eof: bool,
    done: bool,
}

/// Longest quoted text shown in an error message.
const SHOW: usize = 40;

fn show(text: &str) -> String {
    let mut end = text.len().min(SHOW);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{:?}…", &text[..end])
    } else {
        format!("{text:?}")
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Parser<'a> {
    /// A parser over `input` in `format`.
    pub fn new(input: &'a str, format: Format) -> Self {
        Self {
            input,
            pos: 0,
            line: 1,
            format,
            labels: Vec::new(),
            exemplar_labels: Vec::new(),
            seen_eof: false,
            done: false,
        }
    }

    /// A parser over raw bytes; invalid UTF-8 is refused with the line it is on.
    pub fn from_bytes(input: &'a [u8], format: Format) -> Result<Self, ParseError> {
        match std::str::from_utf8(input) {
            Ok(text) => Ok(Self::new(text, format)),
            Err(err) => {
                let line = input[..err.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                Err(ParseError {
                    line: u32::try_from(line + 1).unwrap_or(u32::MAX),
                    message: format!(
                        "invalid UTF-8 at byte {}; expositions must be UTF-8",
                        err.valid_up_to()
                    ),
                })
            }
        }
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The line the parser is on (1-based).
    pub fn line(&self) -> u32 {
        self.line
    }

    fn strict(&self) -> bool {
        self.format == Format::OpenMetrics
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// What the parser sees now, for error messages.
    fn found(&self) -> String {
        let rest = self.rest();
        let line_end = rest.find('\n').unwrap_or(rest.len());
        if line_end == 0 {
            if rest.is_empty() {
                "end of input".to_owned()
            } else {
                "end of line".to_owned()
            }
        } else {
            show(&rest[..line_end])
        }
    }

    /// Skips blanks: any spaces and tabs in the text format; in OpenMetrics exactly one space
    /// when `required`, none otherwise. Returns whether any was skipped.
    fn blanks(&mut self, required: bool) -> Result<bool, ParseError> {
        let bytes = self.input.as_bytes();
        if self.strict() {
            if bytes.get(self.pos) == Some(&b' ') {
                if !required {
                    return self.err(format!("unexpected space before {}", self.found()));
                }
                self.pos += 1;
                if bytes.get(self.pos) == Some(&b' ') {
                    return self.err("OpenMetrics allows a single space between tokens");
                }
                return Ok(true);
            }
            return Ok(false);
        }
        let start = self.pos;
        while matches!(bytes.get(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        Ok(self.pos > start)
    }

    /// Consumes the end of a line (or of the input).
    fn end_of_line(&mut self, after: &str) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.pos += 1;
                self.line += 1;
                Ok(())
            }
            _ => self.err(format!(
                "expected end of line after {after}, found {}",
                self.found()
            )),
        }
    }

    /// The next entry, `Ok(None)` at the end.
    #[allow(clippy::should_implement_trait)] // Lending: entries borrow the parser's buffers.
    pub fn next(&mut self) -> Result<Option<Entry<'_, 'a>>, ParseError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(b) = self.peek() else {
                self.done = true;
                if self.strict() && !self.seen_eof {
                    return self.err("data does not end with # EOF");
                }
                return Ok(None);
            };
            if self.seen_eof {
                return self.err("unexpected data after # EOF");
            }
            match b {
                b'\n' => {
                    if self.strict() {
                        return self.err("empty lines are not allowed in OpenMetrics");
                    }
                    self.pos += 1;
                    self.line += 1;
                }
                b' ' | b'\t' if !self.strict() => {
                    self.blanks(false)?;
                    // A line of blanks is a blank line; otherwise the line continues.
                    if self.peek() == Some(b'\n') || self.peek().is_none() {
                        continue;
                    }
                    if self.peek() == Some(b'#') {
                        return self.comment();
                    }
                    return self.sample().map(Some);
                }
                b'#' => return self.comment(),
                _ => return self.sample().map(Some),
            }
        }
    }

    fn comment(&mut self) -> Result<Option<Entry<'_, 'a>>, ParseError> {
        self.pos += 1; // '#'
        let spaced = self.blanks(true)?;
        let rest = self.rest();
        let keyword = |word: &str| {
            rest.starts_with(word) && matches!(rest.as_bytes().get(word.len()), Some(b' ' | b'\t'))
        };
        if spaced && keyword("HELP") {
            self.pos += 4;
            self.blanks(true)?;
            let name = self.family_name()?;
            let text = self.meta_text()?;
            let text = unescape(text, self.strict());
            return Ok(Some(Entry::Help { name, text }));
        }
        if spaced && keyword("TYPE") {
            self.pos += 4;
            self.blanks(true)?;
            let name = self.family_name()?;
            let raw = self.meta_text()?;
            let Some(kind) = MetricType::parse(raw.trim_end(), self.format) else {
                return self.err(format!("invalid metric type {}", show(raw)));
            };
            return Ok(Some(Entry::Type { name, kind }));
        }
        if self.strict() {
            if spaced && keyword("UNIT") {
                self.pos += 4;
                self.blanks(true)?;
                let name = self.family_name()?;
                let unit = self.meta_text()?;
                return Ok(Some(Entry::Unit { name, unit }));
            }
            if spaced
                && rest.starts_with("EOF")
                && matches!(rest.as_bytes().get(3), None | Some(b'\n'))
            {
                self.pos += 3;
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
                self.seen_eof = true;
                if self.pos < self.input.len() {
                    return self.err("unexpected data after # EOF");
                }
                self.done = true;
                return Ok(None);
            }
            return self.err(format!(
                "invalid comment {}; OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF",
                self.found()
            ));
        }
        let rest = self.rest();
        let end = rest.find('\n').unwrap_or(rest.len());
        self.pos += end;
        self.end_of_line("a comment")?;
        Ok(Some(Entry::Comment))
    }

    /// The rest of a `# HELP`/`# TYPE`/`# UNIT` line after the name and its separator.
    fn meta_text(&mut self) -> Result<&'a str, ParseError> {
        let rest = self.rest();
        let end = rest.find('\n').unwrap_or(rest.len());
        let mut text = &rest[..end];
        self.pos += end;
        if self.strict() {
            // OpenMetrics: a single space separates the name from the text (absent when the
            // text is empty).
            text = text.strip_prefix(' ').unwrap_or(text);
        } else {
            text = text.trim_start_matches([' ', '\t']);
        }
        self.end_of_line("metadata")?;
        Ok(text)
    }

    /// A metric family name in a comment: legacy characters or a quoted UTF-8 string.
    fn family_name(&mut self) -> Result<Cow<'a, str>, ParseError> {
        if self.peek() == Some(b'"') {
            return self.quoted("metric name");
        }
        let name = self.legacy_name(is_name_start, is_name_char);
        if name.is_empty() {
            return self.err(format!("expected a metric name, found {}", self.found()));
        }
        // The name must be followed by a blank or the end of the line.
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\n') => Ok(Cow::Borrowed(name)),
            _ => self.err(format!(
                "invalid character in metric name at {}",
                self.found()
            )),
        }
    }

    fn legacy_name(&mut self, start: fn(u8) -> bool, cont: fn(u8) -> bool) -> &'a str {
        let bytes = self.input.as_bytes();
        let begin = self.pos;
        if bytes.get(self.pos).is_some_and(|&b| start(b)) {
            self.pos += 1;
            while bytes.get(self.pos).is_some_and(|&b| cont(b)) {
                self.pos += 1;
            }
        }
        &self.input[begin..self.pos]
    }

    /// A double-quoted string, unescaped (`\\`, `\"`, `\n`; other escapes kept as written,
    /// like Prometheus).
    fn quoted(&mut self, what: &str) -> Result<Cow<'a, str>, ParseError> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let bytes = self.input.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match bytes.get(i) {
                None => {
                    return self.err(format!("{what} is missing its closing quote"));
                }
                Some(b'\n') if self.strict() => {
                    return self.err(format!("{what} is missing its closing quote"));
                }
                Some(b'\n') => {
                    // Text format values may span lines; count them for later errors.
                    self.line += 1;
                    i += 1;
                }
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let raw = &self.input[start..i];
        self.pos = i + 1;
        Ok(if escaped {
            unescape(raw, true)
        } else {
            Cow::Borrowed(raw)
        })
    }

    fn sample(&mut self) -> Result<Entry<'_, 'a>, ParseError> {
        let line_start = self.pos;
        self.labels.clear();
        let mut name: Option<Cow<'a, str>> = None;
        if self.peek() != Some(b'{') {
            let legacy = self.legacy_name(is_name_start, is_name_char);
            if legacy.is_empty() {
                return self.err(format!("expected a metric name, found {}", self.found()));
            }
            name = Some(Cow::Borrowed(legacy));
            if !self.strict() {
                self.blanks(false)?;
            }
        }
        if self.peek() == Some(b'{') {
            self.pos += 1;
            let mut labels = std::mem::take(&mut self.labels);
            let result = self.label_set(&mut labels, &mut name, true);
            self.labels = labels;
            result?;
        }
        let series = self.input[line_start..self.pos].trim_end_matches([' ', '\t']);
        let Some(name) = name else {
            return self.err(format!("series {} has no metric name", show(series)));
        };
        if self.labels.iter().any(|(n, _)| n == "__name__") {
            return self.err(format!(
                "series {} sets __name__ as a label besides its metric name",
                show(series)
            ));
        }
        if let Some(dup) = duplicate_name(&self.labels) {
            return self.err(format!(
                "label name {dup:?} appears more than once in {}",
                show(series)
            ));
        }

        // Value: the text format also allows it right after '}'.
        let spaced = self.blanks(true)?;
        if self.strict() && !spaced {
            return self.err(format!(
                "expected a space and a value after {}, found {}",
                show(series),
                self.found()
            ));
        }
        let value_text = self.token();
        if value_text.is_empty() {
            return self.err(format!(
                "expected a value after {}, found {}",
                show(series),
                self.found()
            ));
        }
        let Some(value) = parse_go_float(value_text) else {
            return self.err(format!(
                "invalid value {} for {}",
                show(value_text),
                show(series)
            ));
        };

        let mut timestamp = None;
        let mut exemplar = None;
        if self.blanks(true)? {
            match self.peek() {
                None | Some(b'\n') if !self.strict() => {}
                Some(b'#') if self.strict() => exemplar = Some(self.exemplar()?),
                _ => {
                    timestamp = Some(self.timestamp(series)?);
                    if self.blanks(true)? {
                        match self.peek() {
                            None | Some(b'\n') if !self.strict() => {}
                            Some(b'#') if self.strict() => exemplar = Some(self.exemplar()?),
                            _ => {
                                return self.err(format!(
                                    "expected end of line after the timestamp of {}, found {}",
                                    show(series),
                                    self.found()
                                ));
                            }
                        }
                    }
                }
            }
        }
        self.end_of_line("the sample")?;
        let exemplar = exemplar.map(|(value, timestamp)| Exemplar {
            labels: &self.exemplar_labels,
            value,
            timestamp,
        });
        Ok(Entry::Sample(Sample {
            series,
            name,
            labels: &self.labels,
            value,
            timestamp,
            exemplar,
        }))
    }

    /// `{` already consumed: `name="value"` pairs up to `}`. When `allow_name` is set, a
    /// lone quoted string is the metric name (Prometheus 3).
    fn label_set(
        &mut self,
        labels: &mut Vec<LabelPair<'a>>,
        name: &mut Option<Cow<'a, str>>,
        allow_name: bool,
    ) -> Result<(), ParseError> {
        let strict = self.strict();
        let mut first = true;
        loop {
            if !strict {
                self.blanks(false)?;
            }
            if self.peek() == Some(b'}') {
                if first || !strict {
                    self.pos += 1;
                    return Ok(());
                }
                return self.err("OpenMetrics does not allow a trailing comma in a label set");
            }
            let label: Cow<'a, str> = if self.peek() == Some(b'"') {
                self.quoted("label name")?
            } else {
                let legacy = self.legacy_name(is_label_start, is_label_char);
                if legacy.is_empty() {
                    return self.err(format!(
                        "expected a label name or '}}', found {}",
                        self.found()
                    ));
                }
                Cow::Borrowed(legacy)
            };
            if !strict {
                self.blanks(false)?;
            }
            match self.peek() {
                Some(b'=') => {
                    self.pos += 1;
                    if !strict {
                        self.blanks(false)?;
                    }
                    if self.peek() != Some(b'"') {
                        return self.err(format!(
                            "expected a quoted value for label {label:?}, found {}",
                            self.found()
                        ));
                    }
                    let value = self.quoted("label value")?;
                    labels.push((label, value));
                }
                Some(b',' | b'}') if allow_name && name.is_none() && first => {
                    // `{"my.metric", ...}`: the metric name inside the braces.
                    *name = Some(label);
                }
                _ => {
                    return self.err(format!(
                        "expected '=' after label name {label:?}, found {}",
                        self.found()
                    ));
                }
            }
            first = false;
            if !strict {
                self.blanks(false)?;
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {
                    return self.err(format!(
                        "expected ',' or '}}' after a label, found {}",
                        self.found()
                    ));
                }
            }
        }
    }

    /// A run of non-blank characters.
    fn token(&mut self) -> &'a str {
        let bytes = self.input.as_bytes();
        let start = self.pos;
        while let Some(&b) = bytes.get(self.pos) {
            if b == b' ' || b == b'\n' || (b == b'\t' && !self.strict()) {
                break;
            }
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    fn timestamp(&mut self, series: &str) -> Result<i64, ParseError> {
        let text = self.token();
        if self.strict() {
            // OpenMetrics: seconds as a float; we keep milliseconds. Rounded, not truncated
            // as Prometheus does, so "1.001" is 1001 ms and not 1000.
            return match parse_go_float(text) {
                Some(seconds) if seconds.is_finite() => Ok(seconds_to_ms(seconds)),
                _ => self.err(format!(
                    "invalid timestamp {} for {}",
                    show(text),
                    show(series)
                )),
            };
        }
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return self.err(format!(
                "invalid timestamp {} for {}; expected milliseconds",
                show(text),
                show(series)
            ));
        }
        match text.parse() {
            Ok(ms) => Ok(ms),
            Err(_) => self.err(format!("timestamp {} is out of range", show(text))),
        }
    }

    /// ` # {labels} value [timestamp]` after a sample (OpenMetrics).
    fn exemplar(&mut self) -> Result<(f64, Option<i64>), ParseError> {
        self.pos += 1; // '#'
        if !self.blanks(true)? || self.peek() != Some(b'{') {
            return self.err(format!(
                "expected ' {{' to start an exemplar, found {}",
                self.found()
            ));
        }
        self.pos += 1;
        let mut labels = std::mem::take(&mut self.exemplar_labels);
        labels.clear();
        let mut no_name = None;
        let result = self.label_set(&mut labels, &mut no_name, false);
        let total: usize = labels
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum();
        self.exemplar_labels = labels;
        result?;
        if total > 128 {
            return self.err(format!(
                "exemplar labels have {total} characters; OpenMetrics allows at most 128"
            ));
        }
        if !self.blanks(true)? {
            return self.err(format!(
                "expected a space and the exemplar value, found {}",
                self.found()
            ));
        }
        let value_text = self.token();
        let Some(value) = parse_go_float(value_text) else {
            return self.err(format!("invalid exemplar value {}", show(value_text)));
        };
        let mut timestamp = None;
        if self.blanks(true)? {
            let text = self.token();
            match parse_go_float(text) {
                Some(seconds) if seconds.is_finite() => {
                    timestamp = Some(seconds_to_ms(seconds));
                }
                _ => return self.err(format!("invalid exemplar timestamp {}", show(text))),
            }
        }
        Ok((value, timestamp))
    }
}

/// Seconds to milliseconds, rounded; saturates far outside any real timestamp.
fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// The first label name that appears twice.
fn duplicate_name<'b>(labels: &'b [LabelPair<'_>]) -> Option<&'b str> {
    for (i, (name, _)) in labels.iter().enumerate() {
        if labels[..i].iter().any(|(other, _)| other == name) {
            return Some(name);
        }
    }
    None
}

/// Undoes `\\`, `\n` and (in quoted strings) `\"`; any other backslash is kept as written.
fn unescape(raw: &str, quoted: bool) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quoted => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}
