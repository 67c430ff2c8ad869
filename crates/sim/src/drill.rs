//! Drill scoring: what a trainee did during a drill (a [`DrillLog`]) against the scenario's
//! answer key gives a [`ScoreReport`]. Pure: the server records the log, this module judges it,
//! so scores are reproducible from a saved log.
//!
//! Criteria and weights (out of 100): acknowledge 15, scoping 20, identify 25, mitigate 25,
//! post-mortem 15. Time criteria get full points up to the scenario's target ([`Targets`]) and
//! decay linearly to their floor at four times the target. See `docs/drills.md`.

use tocsin_model::Timestamp;

use crate::scenario::{Check, Scenario};

const MINUTE: i64 = 60_000;

/// Points for acknowledging the page.
pub const ACK_POINTS: f64 = 15.0;
/// Points for scoping: running the checks a strong responder runs, looking at the faulty service.
pub const SCOPING_POINTS: f64 = 20.0;
/// Points for naming the faulty service and cause.
pub const IDENTIFY_POINTS: f64 = 25.0;
/// Points for applying the mitigation that ends the fault.
pub const MITIGATE_POINTS: f64 = 25.0;
/// Points for the post-mortem.
pub const POSTMORTEM_POINTS: f64 = 15.0;
/// Points lost per wrong identification (at most [`MAX_PENALISED`] count).
pub const WRONG_GUESS_PENALTY: f64 = 3.0;
/// Points lost per mitigation that ended no fault (at most [`MAX_PENALISED`] count).
pub const WRONG_MITIGATION_PENALTY: f64 = 4.0;
/// How many wrong guesses or mitigations are penalised at most.
pub const MAX_PENALISED: usize = 3;
/// Share of identify/mitigate points kept however late the right answer comes: being right
/// late is still better than never being right.
pub const LATE_FLOOR: f64 = 0.4;

/// One thing the trainee did.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillAction {
    /// Acknowledged the drill's page or incident.
    Acknowledged,
    /// Ran a PromQL query (explorer, API, CLI).
    Query {
        /// The expression.
        expr: String,
    },
    /// Opened a UI page.
    PageView {
        /// The page (`/ui/#/slo/checkout-api`).
        page: String,
    },
    /// Named the faulty service and cause.
    Identified {
        /// The service (or region, for a regional outage) named.
        service: String,
        /// The cause in the trainee's words.
        cause: String,
    },
    /// Applied a mitigation.
    Mitigation {
        /// What was done (`roll back checkout-api`).
        mitigation: String,
        /// Whether it ended a drill fault.
        ended_fault: bool,
    },
    /// Submitted the post-mortem.
    PostMortem {
        /// Its Markdown.
        markdown: String,
    },
}

impl DrillAction {
    /// A short stable name (`acknowledged`, `query`, …) for logs and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acknowledged => "acknowledged",
            Self::Query { .. } => "query",
            Self::PageView { .. } => "page_view",
            Self::Identified { .. } => "identified",
            Self::Mitigation { .. } => "mitigation",
            Self::PostMortem { .. } => "postmortem",
        }
    }
}

/// An action with its time.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillEvent {
    /// When (ms).
    pub at: Timestamp,
    /// What.
    pub action: DrillAction,
}

/// Everything recorded during one drill.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillLog {
    /// Catalogue name.
    pub scenario: String,
    /// When the drill started (ms).
    pub start: Timestamp,
    /// When the drill's first page went out (ms), if one did.
    pub page: Option<Timestamp>,
    /// The trainee's actions, in time order.
    pub events: Vec<DrillEvent>,
}

impl DrillLog {
    /// An empty log.
    pub fn new(scenario: &str, start: Timestamp) -> Self {
        Self {
            scenario: scenario.to_owned(),
            start,
            page: None,
            events: Vec::new(),
        }
    }

    /// Records an action.
    pub fn record(&mut self, at: Timestamp, action: DrillAction) {
        self.events.push(DrillEvent { at, action });
    }
}

/// Time targets for a scenario, from the page (or the fault's start when nothing paged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Acknowledge within (ms).
    pub ack_ms: i64,
    /// Name service and cause within (ms).
    pub identify_ms: i64,
    /// End the fault within (ms).
    pub mitigate_ms: i64,
}

/// The targets of a catalogue scenario. Harder diagnoses (a cause five layers down, an
/// instance among many, a budget question) get more time.
pub fn targets(scenario: &str) -> Targets {
    let (identify, mitigate) = match scenario {
        "misconfigured-pool" => (20, 30),
        "intermittent-500s" | "budget-before-launch" | "metric-gap" => (15, 20),
        "disk-over-80" | "peak-event-capacity" => (10, 15),
        _ => (10, 15),
    };
    Targets {
        ack_ms: 5 * MINUTE,
        identify_ms: identify * MINUTE,
        mitigate_ms: mitigate * MINUTE,
    }
}

/// Words that name each fault kind's cause; a cause matches when it contains one (as a word
/// prefix, case-insensitive). Synonyms responders actually use are included.
pub fn cause_keywords(kind: &str) -> &'static [&'static str] {
    match kind {
        "bad_deploy" => &[
            "deploy",
            "release",
            "version",
            "rollout",
            "roll-out",
            "build",
            "regression",
            "upgrade",
            "change",
        ],
        "slow_burn" => &[
            "deploy",
            "release",
            "version",
            "rollout",
            "budget",
            "burn",
            "regression",
            "rc",
        ],
        "memory_leak" => &["memory", "leak", "oom", "heap", "rss", "out of memory"],
        "cpu_saturation" => &[
            "cpu",
            "saturat",
            "pinned",
            "compute",
            "processor",
            "throttl",
            "expensive",
            "hot loop",
        ],
        "intermittent_errors" => &[
            "instance",
            "host",
            "node",
            "pod",
            "replica",
            "machine",
            "flaky",
            "intermittent",
            "bad host",
        ],
        "pool_exhaustion" => &["pool", "connection", "conn", "max_connections"],
        "dns_failures" => &["dns", "resolv", "name resolution", "lookup", "nameserver"],
        "disk_fill" => &[
            "disk",
            "filesystem",
            "file system",
            "volume",
            "no space",
            "storage",
            "logging",
            "logs",
        ],
        "target_down" => &[
            "down",
            "hung",
            "hang",
            "scrape",
            "unreachable",
            "crash",
            "dead",
            "unresponsive",
            "stuck",
        ],
        "regional_outage" => &[
            "region",
            "data tier",
            "datacenter",
            "data center",
            "zone",
            "outage",
            "partition",
            "unreachable",
            "database",
        ],
        "traffic_surge" => &[
            "traffic", "surge", "load", "capacity", "spike", "demand", "sale", "peak",
        ],
        _ => &[],
    }
}

/// Words that make a post-mortem action item systemic (it changes how the system or the
/// team works, not just this instance of the failure).
pub const SYSTEMIC_WORDS: &[&str] = &[
    "alert",
    "monitor",
    "test",
    "canary",
    "automat",
    "runbook",
    "playbook",
    "limit",
    "capacity",
    "review",
    "validat",
    "dashboard",
    "slo",
    "autoscal",
    "guard",
    "lint",
    "ci",
    "staged",
    "progressive",
    "quota",
    "document",
    "train",
    "policy",
    "budget",
    "rotation",
    "retention",
    "load test",
    "chaos",
    "check",
    "prevent",
    "detect",
    "gate",
    "probe",
    "rate limit",
    "circuit breaker",
    "default",
];

/// Words after a number that make it a quantity of impact (`12 minutes`, `3%`, `4000 requests`).
const IMPACT_UNITS: &[&str] = &[
    "%", "percent", "ms", "s", "sec", "secs", "second", "min", "mins", "minute", "h", "hr", "hour",
    "request", "req", "rps", "error", "user", "customer", "order", "checkout", "page", "call",
    "budget", "x",
];

/// One scored criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// `acknowledge`, `scoping`, `identify`, `mitigate`, `postmortem`.
    pub name: &'static str,
    /// Points scored.
    pub points: f64,
    /// Points available.
    pub max: f64,
    /// Why, in a sentence.
    pub detail: String,
}

/// The result of a drill.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreReport {
    /// Catalogue name.
    pub scenario: String,
    /// One line.
    pub title: String,
    /// The criteria in order.
    pub criteria: Vec<Criterion>,
    /// Sum of points.
    pub total: f64,
    /// Sum of maxima.
    pub max: f64,
    /// `strong`, `competent`, `needs practice` or `insufficient`.
    pub verdict: &'static str,
    /// The answer: faulty service or region, and the cause.
    pub answer: String,
    /// The mitigation that ends the fault.
    pub right_mitigation: String,
    /// What a strong responder would have checked.
    pub strong_checks: Vec<Check>,
    /// What the trainee did not do.
    pub missed: Vec<String>,
}

impl ScoreReport {
    /// Total as a share of the maximum (0..=1).
    pub fn ratio(&self) -> f64 {
        if self.max > 0.0 {
            self.total / self.max
        } else {
            0.0
        }
    }

    /// The report as Markdown, for the terminal and `drill-report.md`.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Drill report: {} — {}\n\n**Score: {:.1} / {:.0} ({:.0}%) — {}**\n\n",
            self.scenario,
            self.title,
            self.total,
            self.max,
            self.ratio() * 100.0,
            self.verdict
        );
        out.push_str("| Criterion | Points | Max | Detail |\n|---|---:|---:|---|\n");
        for c in &self.criteria {
            out.push_str(&format!(
                "| {} | {:.1} | {:.0} | {} |\n",
                c.name,
                c.points,
                c.max,
                c.detail.replace('|', "\\|")
            ));
        }
        out.push_str(&format!(
            "\n## The answer\n\n{}\n\nMitigation: {}.\n",
            self.answer, self.right_mitigation
        ));
        out.push_str("\n## What a strong responder would have checked\n\n");
        for c in &self.strong_checks {
            out.push_str(&format!("- {}\n  `{}`\n", c.why, c.query));
        }
        if !self.missed.is_empty() {
            out.push_str("\n## Missed\n\n");
            for m in &self.missed {
                out.push_str(&format!("- {m}\n"));
            }
        }
        out
    }

    /// The report as a JSON object (hand-written so this crate needs no serde).
    pub fn to_json(&self) -> String {
        let criteria: Vec<String> = self
            .criteria
            .iter()
            .map(|c| {
                format!(
                    "{{\"name\":{},\"points\":{},\"max\":{},\"detail\":{}}}",
                    json_str(c.name),
                    json_num(c.points),
                    json_num(c.max),
                    json_str(&c.detail)
                )
            })
            .collect();
        let checks: Vec<String> = self
            .strong_checks
            .iter()
            .map(|c| {
                format!(
                    "{{\"why\":{},\"query\":{}}}",
                    json_str(&c.why),
                    json_str(&c.query)
                )
            })
            .collect();
        let missed: Vec<String> = self.missed.iter().map(|m| json_str(m)).collect();
        format!(
            "{{\"scenario\":{},\"title\":{},\"total\":{},\"max\":{},\"verdict\":{},\"answer\":{},\"right_mitigation\":{},\"criteria\":[{}],\"strong_checks\":[{}],\"missed\":[{}]}}",
            json_str(&self.scenario),
            json_str(&self.title),
            json_num(self.total),
            json_num(self.max),
            json_str(self.verdict),
            json_str(&self.answer),
            json_str(&self.right_mitigation),
            criteria.join(","),
            checks.join(","),
            missed.join(",")
        )
    }
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "0".to_owned()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Full credit up to `target`, falling linearly to 0 at four times the target.
fn decay(elapsed_ms: i64, target_ms: i64) -> f64 {
    let elapsed = elapsed_ms.max(0) as f64;
    let target = target_ms.max(1) as f64;
    if elapsed <= target {
        1.0
    } else {
        (1.0 - (elapsed - target) / (3.0 * target)).clamp(0.0, 1.0)
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn minutes(ms: i64) -> String {
    format!("{:.1} min", ms.max(0) as f64 / MINUTE as f64)
}

/// Scores `log` against `scenario` (built for the same fleet and start as the drill).
pub fn score(log: &DrillLog, scenario: &Scenario) -> ScoreReport {
    let targets = targets(scenario.name);
    let fault_start = scenario
        .faults
        .iter()
        .map(|f| f.start)
        .min()
        .unwrap_or(log.start);
    // Times run from the page; with no page (a slow burn pages nobody) from when the fault
    // was there to find, which is the drill's start at the earliest.
    let reference = log.page.unwrap_or(fault_start.max(log.start));
    let mut missed = Vec::new();
    let criteria = vec![
        score_ack(log, reference, targets, &mut missed),
        score_scoping(log, scenario, &mut missed),
        score_identify(log, scenario, reference, targets, &mut missed),
        score_mitigate(log, scenario, reference, targets, &mut missed),
        score_postmortem(log, &mut missed),
    ];
    let total = round1(criteria.iter().map(|c| c.points).sum());
    let max = criteria.iter().map(|c| c.max).sum::<f64>();
    let ratio = if max > 0.0 { total / max } else { 0.0 };
    let verdict = if ratio >= 0.85 {
        "strong"
    } else if ratio >= 0.6 {
        "competent"
    } else if ratio >= 0.3 {
        "needs practice"
    } else {
        "insufficient"
    };
    let answer = match &scenario.answer.service {
        Some(s) => match &scenario.answer.location {
            Some(l) => format!("{s} ({l}): {}", scenario.answer.cause),
            None => format!("{s}: {}", scenario.answer.cause),
        },
        None => format!(
            "region {}: {}",
            scenario.answer.location.as_deref().unwrap_or("?"),
            scenario.answer.cause
        ),
    };
    ScoreReport {
        scenario: scenario.name.to_owned(),
        title: scenario.title.to_owned(),
        criteria,
        total,
        max,
        verdict,
        answer,
        right_mitigation: scenario.mitigation.describe(),
        strong_checks: scenario.checks.clone(),
        missed,
    }
}

fn score_ack(
    log: &DrillLog,
    reference: Timestamp,
    targets: Targets,
    missed: &mut Vec<String>,
) -> Criterion {
    // Without a page there is nothing to acknowledge; the first thing the trainee does counts.
    let first = if log.page.is_some() {
        log.events
            .iter()
            .find(|e| e.action == DrillAction::Acknowledged)
    } else {
        log.events.first()
    };
    let what = if log.page.is_some() {
        "acknowledged the page"
    } else {
        "engaged (no page went out; first action)"
    };
    match first {
        Some(e) => {
            let elapsed = e.at - reference;
            let points = round1(ACK_POINTS * decay(elapsed, targets.ack_ms));
            if points < ACK_POINTS {
                missed.push(format!(
                    "acknowledge within {} (took {})",
                    minutes(targets.ack_ms),
                    minutes(elapsed)
                ));
            }
            Criterion {
                name: "acknowledge",
                points,
                max: ACK_POINTS,
                detail: format!(
                    "{what} after {} (target {})",
                    minutes(elapsed),
                    minutes(targets.ack_ms)
                ),
            }
        }
        None => {
            missed.push("acknowledge the page".to_owned());
            Criterion {
                name: "acknowledge",
                points: 0.0,
                max: ACK_POINTS,
                detail: "never acknowledged".to_owned(),
            }
        }
    }
}

/// Metric names in a PromQL expression: identifiers outside label matchers, grouping lists
/// and ranges that are not functions, keywords or aggregations.
pub fn metric_names(expr: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "and",
        "or",
        "unless",
        "offset",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "inf",
        "nan",
    ];
    // Aggregations can be followed by `by (…)` rather than their `(`.
    const AGGREGATIONS: &[&str] = &[
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "limitk",
        "limit_ratio",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut brace = 0usize;
    let mut bracket = 0usize;
    let mut skip_group = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                // Skip a string literal (label values can look like metric names).
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            '{' => brace += 1,
            '}' => brace = brace.saturating_sub(1),
            '[' => bracket += 1,
            ']' => bracket = bracket.saturating_sub(1),
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let begin = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':'))
            {
                i += 1;
            }
            let word: String = chars[begin..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let next = chars.get(j).copied();
            let lower = word.to_ascii_lowercase();
            if brace > 0 || bracket > 0 {
                continue;
            }
            if lower == "by" || lower == "without" || lower == "on" || lower == "ignoring" {
                skip_group = true;
                continue;
            }
            if next == Some('(')
                || KEYWORDS.contains(&lower.as_str())
                || AGGREGATIONS.contains(&lower.as_str())
            {
                continue;
            }
            if !names.contains(&word) {
                names.push(word);
            }
            continue;
        }
        if c.is_ascii_digit() {
            // A number or duration (`0.99`, `1d`, `5m`): not a name.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if c == '(' && skip_group {
            // A grouping list `by (service, le)`: skip to its close.
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            skip_group = false;
        }
        i += 1;
    }
    names
}

fn score_scoping(log: &DrillLog, scenario: &Scenario, missed: &mut Vec<String>) -> Criterion {
    let queries: Vec<&str> = log
        .events
        .iter()
        .filter_map(|e| match &e.action {
            DrillAction::Query { expr } => Some(expr.as_str()),
            _ => None,
        })
        .collect();
    let views: Vec<&str> = log
        .events
        .iter()
        .filter_map(|e| match &e.action {
            DrillAction::PageView { page } => Some(page.as_str()),
            _ => None,
        })
        .collect();
    let queried: Vec<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    let mut covered = 0usize;
    for check in &scenario.checks {
        let needed = metric_names(&check.query);
        if !needed.is_empty() && needed.iter().all(|m| queried.contains(m)) {
            covered += 1;
        } else {
            missed.push(format!("check: {} `{}`", check.why, check.query));
        }
    }
    let coverage = if scenario.checks.is_empty() {
        1.0
    } else {
        covered as f64 / scenario.checks.len() as f64
    };
    // The faulty service (or region) named in a query or a page looked at.
    let focus = scenario
        .answer
        .service
        .clone()
        .or_else(|| scenario.answer.location.clone())
        .unwrap_or_default();
    let focused = !focus.is_empty()
        && (queries.iter().any(|q| q.contains(focus.as_str()))
            || views.iter().any(|v| v.contains(focus.as_str())));
    if !focused {
        missed.push(format!("look at {focus} itself (a query or its pages)"));
    }
    let check_points = SCOPING_POINTS * 0.7;
    let focus_points = SCOPING_POINTS - check_points;
    let points = round1(check_points * coverage + if focused { focus_points } else { 0.0 });
    Criterion {
        name: "scoping",
        points,
        max: SCOPING_POINTS,
        detail: format!(
            "ran the signals of {covered} of {} strong checks ({} queries, {} page views); {} {focus}",
            scenario.checks.len(),
            queries.len(),
            views.len(),
            if focused {
                "looked at"
            } else {
                "never looked at"
            }
        ),
    }
}

fn contains_word_prefix(haystack: &str, needle: &str) -> bool {
    let hay = haystack.to_lowercase();
    let needle = needle.to_lowercase();
    hay.match_indices(&needle).any(|(i, _)| {
        i == 0
            || !hay[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric())
    })
}

fn score_identify(
    log: &DrillLog,
    scenario: &Scenario,
    reference: Timestamp,
    targets: Targets,
    missed: &mut Vec<String>,
) -> Criterion {
    let expected = scenario
        .answer
        .service
        .clone()
        .or_else(|| scenario.answer.location.clone())
        .unwrap_or_default();
    let keywords = cause_keywords(scenario.answer.kind);
    let mut wrong = 0usize;
    let mut right_service_only: Option<Timestamp> = None;
    let mut correct: Option<Timestamp> = None;
    for e in &log.events {
        if let DrillAction::Identified { service, cause } = &e.action {
            let service_ok = service.trim().eq_ignore_ascii_case(&expected)
                || (scenario.answer.service.is_none()
                    && service
                        .trim()
                        .eq_ignore_ascii_case(&format!("region {expected}")));
            let cause_ok = keywords.iter().any(|k| contains_word_prefix(cause, k));
            if service_ok && cause_ok {
                correct = Some(e.at);
                break;
            }
            if service_ok && right_service_only.is_none() {
                right_service_only = Some(e.at);
            }
            wrong += 1;
        }
    }
    let penalty = WRONG_GUESS_PENALTY * wrong.min(MAX_PENALISED) as f64;
    let (base, detail) = match (correct, right_service_only) {
        (Some(at), _) => {
            let elapsed = at - reference;
            let base = IDENTIFY_POINTS
                * (LATE_FLOOR + (1.0 - LATE_FLOOR) * decay(elapsed, targets.identify_ms));
            if elapsed > targets.identify_ms {
                missed.push(format!(
                    "identify within {} (took {})",
                    minutes(targets.identify_ms),
                    minutes(elapsed)
                ));
            }
            (
                base,
                format!(
                    "named {expected} and the cause after {} (target {}); {wrong} wrong guesses",
                    minutes(elapsed),
                    minutes(targets.identify_ms)
                ),
            )
        }
        (None, Some(at)) => {
            missed.push(format!(
                "name the cause of {expected} (words that match: {})",
                keywords.join(", ")
            ));
            (
                IDENTIFY_POINTS * 0.5 * LATE_FLOOR.max(decay(at - reference, targets.identify_ms)),
                format!("named {expected} but not its cause; {wrong} wrong guesses"),
            )
        }
        (None, None) => {
            missed.push(format!("identify the faulty {expected} and its cause"));
            (
                0.0,
                if wrong == 0 {
                    "never identified".to_owned()
                } else {
                    format!("{wrong} wrong guesses, never right")
                },
            )
        }
    };
    Criterion {
        name: "identify",
        points: round1((base - penalty).max(0.0)),
        max: IDENTIFY_POINTS,
        detail,
    }
}

fn score_mitigate(
    log: &DrillLog,
    scenario: &Scenario,
    reference: Timestamp,
    targets: Targets,
    missed: &mut Vec<String>,
) -> Criterion {
    let mut wrong = Vec::new();
    let mut ended: Option<Timestamp> = None;
    for e in &log.events {
        if let DrillAction::Mitigation {
            mitigation,
            ended_fault,
        } = &e.action
        {
            if *ended_fault {
                ended = Some(e.at);
                break;
            }
            wrong.push(mitigation.as_str());
        }
    }
    let penalty = WRONG_MITIGATION_PENALTY * wrong.len().min(MAX_PENALISED) as f64;
    let wrong_text = if wrong.is_empty() {
        "no wrong mitigations".to_owned()
    } else {
        format!("wrong mitigations: {}", wrong.join("; "))
    };
    let (base, detail) = match ended {
        Some(at) => {
            let elapsed = at - reference;
            if elapsed > targets.mitigate_ms {
                missed.push(format!(
                    "mitigate within {} (took {})",
                    minutes(targets.mitigate_ms),
                    minutes(elapsed)
                ));
            }
            (
                MITIGATE_POINTS
                    * (LATE_FLOOR + (1.0 - LATE_FLOOR) * decay(elapsed, targets.mitigate_ms)),
                format!(
                    "ended the fault after {} (target {}); {wrong_text}",
                    minutes(elapsed),
                    minutes(targets.mitigate_ms)
                ),
            )
        }
        None => {
            missed.push(format!("mitigate: {}", scenario.mitigation.describe()));
            (0.0, format!("the fault was never ended; {wrong_text}"))
        }
    };
    Criterion {
        name: "mitigate",
        points: round1((base - penalty).max(0.0)),
        max: MITIGATE_POINTS,
        detail,
    }
}

/// What a post-mortem contains, as the scorer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostMortemFindings {
    /// Numbers with units of impact (`12 minutes`, `3.5%`, `4000 requests`).
    pub quantities: usize,
    /// Whether it has a timeline (a heading, or three lines with clock times).
    pub timeline: bool,
    /// Action items that change the system, not just this instance of the failure.
    pub systemic_actions: usize,
}

/// Reads a post-mortem's Markdown.
pub fn inspect_postmortem(markdown: &str) -> PostMortemFindings {
    let lower = markdown.to_lowercase();
    // Quantities: a number followed by a unit or impact noun.
    let mut quantities = 0;
    let chars: Vec<char> = lower.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | ',')) {
                i += 1;
            }
            // A clock time (`14:05`) is a timeline entry, not a quantity.
            if chars.get(i) == Some(&':') {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ':') {
                    i += 1;
                }
                continue;
            }
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let rest: String = chars[j..chars.len().min(j + 12)].iter().collect();
            let unit: String = rest
                .chars()
                .take_while(|c| c.is_alphabetic() || *c == '%')
                .collect();
            if IMPACT_UNITS
                .iter()
                .any(|u| unit == *u || (u.len() > 2 && unit.starts_with(u)))
            {
                quantities += 1;
            }
            continue;
        }
        i += 1;
    }
    let clock_lines = lower
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.windows(5).any(|w| {
                w[0].is_ascii_digit()
                    && w[1].is_ascii_digit()
                    && w[2] == b':'
                    && w[3].is_ascii_digit()
                    && w[4].is_ascii_digit()
            })
        })
        .count();
    let timeline = lower
        .lines()
        .any(|l| l.trim_start().starts_with('#') && l.contains("timeline"))
        || clock_lines >= 3;
    // Action items: list items under an actions heading, or every list item if none.
    let mut in_actions = false;
    let mut has_actions_heading = false;
    let mut action_items = Vec::new();
    let mut all_items = Vec::new();
    for line in lower.lines() {
        let t = line.trim_start();
        if t.starts_with('#') {
            in_actions = ["action", "follow-up", "follow up", "remediation", "prevent"]
                .iter()
                .any(|w| t.contains(w));
            has_actions_heading |= in_actions;
            continue;
        }
        let item = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| {
                let digits = t.chars().take_while(char::is_ascii_digit).count();
                (digits > 0)
                    .then(|| t[digits..].strip_prefix(". "))
                    .flatten()
            });
        if let Some(item) = item {
            let item = item.trim_start_matches("[ ] ").trim_start_matches("[x] ");
            all_items.push(item.to_owned());
            if in_actions {
                action_items.push(item.to_owned());
            }
        }
    }
    let items = if has_actions_heading {
        action_items
    } else {
        all_items
    };
    let systemic_actions = items
        .iter()
        .filter(|item| SYSTEMIC_WORDS.iter().any(|w| contains_word_prefix(item, w)))
        .count();
    PostMortemFindings {
        quantities,
        timeline,
        systemic_actions,
    }
}

fn score_postmortem(log: &DrillLog, missed: &mut Vec<String>) -> Criterion {
    let last = log.events.iter().rev().find_map(|e| match &e.action {
        DrillAction::PostMortem { markdown } => Some(markdown.as_str()),
        _ => None,
    });
    let Some(markdown) = last else {
        missed.push(
            "write a post-mortem (quantified impact, timeline, a systemic action item)".to_owned(),
        );
        return Criterion {
            name: "postmortem",
            points: 0.0,
            max: POSTMORTEM_POINTS,
            detail: "none submitted".to_owned(),
        };
    };
    let f = inspect_postmortem(markdown);
    let part = POSTMORTEM_POINTS / 3.0;
    let impact = match f.quantities {
        0 => 0.0,
        1 => part * 0.6,
        _ => part,
    };
    if f.quantities < 2 {
        missed.push(
            "quantify the impact (duration, error percentage, requests failed, budget spent)"
                .to_owned(),
        );
    }
    if !f.timeline {
        missed.push("give the post-mortem a timeline".to_owned());
    }
    if f.systemic_actions == 0 {
        missed.push(
            "add a systemic action item (an alert, test, limit or process change; not just restart/rollback/fix)"
                .to_owned(),
        );
    }
    let points = impact
        + if f.timeline { part } else { 0.0 }
        + if f.systemic_actions > 0 { part } else { 0.0 };
    Criterion {
        name: "postmortem",
        points: round1(points),
        max: POSTMORTEM_POINTS,
        detail: format!(
            "{} impact figures, {} timeline, {} systemic action items",
            f.quantities,
            if f.timeline { "a" } else { "no" },
            f.systemic_actions
        ),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fleet::{Fleet, FleetConfig};
    use crate::scenario::{self, CATALOGUE};

    const START: Timestamp = 1_700_000_000_000;

    fn fleet() -> Fleet {
        Fleet::build(&FleetConfig::default()).unwrap()
    }

    /// The page goes out two minutes after the fault starts.
    fn page_time(s: &Scenario) -> Timestamp {
        s.faults[0].start.max(START) + 2 * MINUTE
    }

    fn good_postmortem(s: &Scenario) -> String {
        format!(
            "# Post-mortem: {}\n\n## Impact\n\nFor 14 minutes 12% of requests failed (about 3400 requests); \
             we spent 18% of the monthly error budget.\n\n## Timeline\n\n- 10:02 alert fired\n- 10:04 acknowledged\n\
             - 10:09 identified {}\n- 10:12 mitigated: {}\n\n## Action items\n\n- Add an alert on the leading signal \
             and a runbook entry\n- Add a canary stage with automatic rollback to the release pipeline\n",
            s.title,
            s.answer.cause,
            s.mitigation.describe()
        )
    }

    fn strong(s: &Scenario) -> DrillLog {
        let page = page_time(s);
        let mut log = DrillLog::new(s.name, START);
        log.page = Some(page);
        log.record(page + MINUTE, DrillAction::Acknowledged);
        for (n, c) in s.checks.iter().enumerate() {
            log.record(
                page + 2 * MINUTE + n as i64 * 1000,
                DrillAction::Query {
                    expr: c.query.clone(),
                },
            );
        }
        let who = s
            .answer
            .service
            .clone()
            .or_else(|| s.answer.location.clone())
            .unwrap();
        log.record(
            page + 3 * MINUTE,
            DrillAction::PageView {
                page: format!("/ui/#/slo/{who}"),
            },
        );
        log.record(
            page + 5 * MINUTE,
            DrillAction::Identified {
                service: who,
                cause: s.answer.cause.clone(),
            },
        );
        log.record(
            page + 7 * MINUTE,
            DrillAction::Mitigation {
                mitigation: s.mitigation.describe(),
                ended_fault: true,
            },
        );
        log.record(
            page + 20 * MINUTE,
            DrillAction::PostMortem {
                markdown: good_postmortem(s),
            },
        );
        log
    }

    fn idle(s: &Scenario) -> DrillLog {
        let mut log = DrillLog::new(s.name, START);
        log.page = Some(page_time(s));
        log
    }

    /// Acks late, queries broadly, guesses wrong twice, tries wrong fixes, then gets there
    /// slowly; writes a thin post-mortem.
    fn busy_wrong(s: &Scenario) -> DrillLog {
        let page = page_time(s);
        let mut log = DrillLog::new(s.name, START);
        log.page = Some(page);
        log.record(page + 12 * MINUTE, DrillAction::Acknowledged);
        log.record(
            page + 13 * MINUTE,
            DrillAction::Query {
                expr: "sum(rate(http_requests_total[5m]))".to_owned(),
            },
        );
        for n in 0..2 {
            log.record(
                page + (15 + n) * MINUTE,
                DrillAction::Identified {
                    service: "frontend-nowhere".to_owned(),
                    cause: "network blip".to_owned(),
                },
            );
            log.record(
                page + (16 + n) * MINUTE,
                DrillAction::Mitigation {
                    mitigation: "restart something unrelated".to_owned(),
                    ended_fault: false,
                },
            );
        }
        log.record(
            page + 25 * MINUTE,
            DrillAction::PostMortem {
                markdown: "We restarted things and it got better.\n\n- restart\n- fix it\n"
                    .to_owned(),
            },
        );
        log
    }

    #[test]
    fn every_scenario_ranks_idle_busy_wrong_and_strong_responders() {
        let fleet = fleet();
        for info in CATALOGUE {
            let s = scenario::build(info.name, &fleet, START).unwrap();
            let idle = score(&idle(&s), &s);
            let busy = score(&busy_wrong(&s), &s);
            let strong = score(&strong(&s), &s);
            assert!(
                idle.ratio() < 0.25,
                "{}: idle scored {}",
                info.name,
                idle.to_markdown()
            );
            assert!(
                strong.ratio() >= 0.85,
                "{}: strong scored {}",
                info.name,
                strong.to_markdown()
            );
            assert!(
                idle.total < busy.total && busy.total < strong.total,
                "{}: idle {} busy {} strong {}",
                info.name,
                idle.total,
                busy.total,
                strong.total
            );
            assert_eq!(strong.verdict, "strong");
            assert_eq!(idle.verdict, "insufficient");
            assert_eq!(strong.strong_checks, s.checks);
            assert!(idle.missed.len() >= 4, "{}: {:?}", info.name, idle.missed);
        }
    }

    #[test]
    fn wrong_guesses_and_wrong_mitigations_cost_points() {
        let fleet = fleet();
        let s = scenario::build("bad-deploy", &fleet, START).unwrap();
        let clean = score(&strong(&s), &s);
        let mut log = strong(&s);
        let page = log.page.unwrap();
        log.events.insert(
            1,
            DrillEvent {
                at: page + 90_000,
                action: DrillAction::Identified {
                    service: "someone-else".to_owned(),
                    cause: "a bad deploy".to_owned(),
                },
            },
        );
        log.events.insert(
            2,
            DrillEvent {
                at: page + 100_000,
                action: DrillAction::Mitigation {
                    mitigation: "restart everything".to_owned(),
                    ended_fault: false,
                },
            },
        );
        let noisy = score(&log, &s);
        let get =
            |r: &ScoreReport, n: &str| r.criteria.iter().find(|c| c.name == n).unwrap().points;
        assert_eq!(
            get(&clean, "identify") - get(&noisy, "identify"),
            WRONG_GUESS_PENALTY
        );
        assert_eq!(
            get(&clean, "mitigate") - get(&noisy, "mitigate"),
            WRONG_MITIGATION_PENALTY
        );
        assert!(
            get(&noisy, "mitigate") < MITIGATE_POINTS,
            "{}",
            noisy.to_markdown()
        );
    }

    #[test]
    fn causes_match_through_synonyms_and_not_otherwise() {
        let fleet = fleet();
        let s = scenario::build("misconfigured-pool", &fleet, START).unwrap();
        let svc = s.answer.service.clone().unwrap();
        let identify = |cause: &str| {
            let mut log = idle(&s);
            log.record(
                log.page.unwrap() + MINUTE,
                DrillAction::Identified {
                    service: svc.to_uppercase(),
                    cause: cause.to_owned(),
                },
            );
            score(&log, &s).criteria[2].points
        };
        assert_eq!(identify("DB connections maxed out"), IDENTIFY_POINTS);
        assert_eq!(identify("the pool is too small"), IDENTIFY_POINTS);
        // Right service, wrong cause: half credit, minus the wrong guess.
        assert_eq!(
            identify("a bad deploy"),
            IDENTIFY_POINTS * 0.5 - WRONG_GUESS_PENALTY
        );
        // "spool" is not "pool".
        assert!(identify("spool of thread") < IDENTIFY_POINTS);
    }

    #[test]
    fn metric_names_skip_functions_labels_and_groupings() {
        assert_eq!(
            metric_names(
                "histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~\"a|b\"}[5m])))"
            ),
            vec!["http_request_duration_seconds_bucket"]
        );
        assert_eq!(
            metric_names(
                "rate(dns_lookup_failures_total{service=\"x\"}[5m]) / rate(dns_lookups_total[5m]) and up == 0"
            ),
            vec!["dns_lookup_failures_total", "dns_lookups_total", "up"]
        );
        assert_eq!(
            metric_names("sum(rate(http_requests_total[5m] offset 1d))"),
            vec!["http_requests_total"]
        );
    }

    #[test]
    fn postmortem_findings() {
        let f = inspect_postmortem(
            "# PM\n\n## Timeline\n\n- 10:00 page\n\n## Action items\n\n- restart\n- rollback\n- fix\n",
        );
        assert_eq!(f.quantities, 0);
        assert!(f.timeline);
        assert_eq!(f.systemic_actions, 0);
        let f = inspect_postmortem(
            "Down for 25 minutes, 4.5% errors, 1,200 requests failed.\n\n- [ ] Add a disk usage alert at 70%\n",
        );
        assert_eq!(f.quantities, 4);
        assert!(!f.timeline);
        assert_eq!(f.systemic_actions, 1);
    }

    #[test]
    fn no_page_times_run_from_the_fault_and_first_action_counts() {
        let fleet = fleet();
        let s = scenario::build("budget-before-launch", &fleet, START).unwrap();
        let mut log = DrillLog::new(s.name, START);
        log.record(
            START + MINUTE,
            DrillAction::Query {
                expr: s.checks[0].query.clone(),
            },
        );
        let r = score(&log, &s);
        assert_eq!(r.criteria[0].points, ACK_POINTS, "{}", r.to_markdown());
    }

    #[test]
    fn reports_render_as_markdown_and_json() {
        let fleet = fleet();
        let s = scenario::build("dns-failures", &fleet, START).unwrap();
        let r = score(&strong(&s), &s);
        let md = r.to_markdown();
        assert!(md.contains("# Drill report: dns-failures"));
        assert!(md.contains("| identify | 25.0 | 25 |"), "{md}");
        let json = r.to_json();
        assert!(json.starts_with("{\"scenario\":\"dns-failures\""));
        // Queries contain quotes: escaped.
        assert!(json.contains("\\\""), "{json}");
        assert!(!json.contains('\n'));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn score_is_monotone_in_ack_time_and_bounded(
            scenario_index in 0..CATALOGUE.len(),
            early in 0i64..3_600_000,
            extra in 0i64..3_600_000,
        ) {
            let fleet = fleet();
            let s = scenario::build(CATALOGUE[scenario_index].name, &fleet, START).unwrap();
            let with_ack = |delay: i64| {
                let mut log = strong(&s);
                let page = log.page.unwrap();
                for e in &mut log.events {
                    if e.action == DrillAction::Acknowledged {
                        e.at = page + delay;
                    }
                }
                score(&log, &s)
            };
            let a = with_ack(early);
            let b = with_ack(early + extra);
            prop_assert!(a.total >= b.total);
            for r in [&a, &b] {
                prop_assert!(r.total >= 0.0 && r.total <= r.max);
                for c in &r.criteria {
                    prop_assert!(c.points >= 0.0 && c.points <= c.max);
                }
            }
        }
    }
}
