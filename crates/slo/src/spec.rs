//! The normalised SLO model every spec format is turned into, the tocsin extension block, and
//! the loader that recognises the format of each YAML document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tocsin_config::Duration;

use crate::error::{Error, Result};
use crate::window::TimeWindow;
use crate::{openslo, sloth};

/// One service-level objective, whatever format it was written in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slo {
    /// `sloth_id`: `<service>-<name>`, unique across loaded files.
    pub id: String,
    /// `sloth_service`.
    pub service: String,
    /// `sloth_slo`; the name the API and CLI use.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Objective in percent (99.9), as Sloth writes it.
    pub objective: f64,
    /// Labels added to every generated rule (spec labels, then SLO labels).
    pub labels: BTreeMap<String, String>,
    /// How good and bad are measured.
    pub sli: Sli,
    /// The window the budget is computed over.
    pub window: TimeWindow,
    /// How the budget counts.
    pub budgeting: Budgeting,
    /// Sloth's alerting block (page and ticket metadata).
    pub alerting: Alerting,
    /// The format the SLO came from.
    pub format: SpecFormat,
    /// tocsin's extensions.
    pub tocsin: Extensions,
}

impl Slo {
    /// The error budget as a ratio (0.001 for 99.9%), computed as Sloth does
    /// (`(100 - objective) / 100`) so numbers in generated rules match its output.
    pub fn error_budget_ratio(&self) -> f64 {
        (100.0 - self.objective) / 100.0
    }

    /// The objective as a ratio (0.999).
    pub fn objective_ratio(&self) -> f64 {
        self.objective / 100.0
    }
}

/// The service-level indicator: PromQL templates in which `{{.window}}` stands for the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sli {
    /// Bad and total event rates (Sloth `events`, OpenSLO `ratioMetric` with `bad`).
    Events {
        /// Rate of bad events.
        error_query: String,
        /// Rate of all events.
        total_query: String,
    },
    /// Good and total event rates (OpenSLO `ratioMetric` with `good`); the error ratio is
    /// `1 - good/total`.
    GoodTotal {
        /// Rate of good events.
        good_query: String,
        /// Rate of all events.
        total_query: String,
    },
    /// An error ratio computed by the query itself (Sloth `raw`).
    Raw {
        /// Ratio of bad in 0..1.
        error_ratio_query: String,
    },
    /// A gauge compared with a threshold (OpenSLO `thresholdMetric`): the error ratio is the
    /// share of one-minute points that break the threshold.
    Threshold {
        /// The gauge.
        query: String,
        /// PromQL comparison that holds when the point is good (`<`, `<=`, `>`, `>=`).
        op: String,
        /// The threshold.
        value: f64,
    },
}

/// How budget is counted (OpenSLO `budgetingMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Budgeting {
    /// Bad events over all events.
    Occurrences,
    /// Bad slices over all slices: a slice of `slice` is good when its good ratio is at least
    /// `target`.
    Timeslices {
        /// Good ratio a slice needs (0..1).
        target: f64,
        /// Length of a slice.
        slice: Duration,
    },
}

/// Where the spec came from; `sloth_slo_info` reports it as Sloth does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SpecFormat {
    /// Sloth `prometheus/v1`.
    SlothV1,
    /// OpenSLO `openslo/v1`.
    OpenSloV1,
    /// OpenSLO `openslo/v1alpha` (what Sloth's examples use).
    OpenSloV1Alpha,
}

impl SpecFormat {
    /// `sloth_spec` label value.
    pub fn spec_label(self) -> &'static str {
        match self {
            Self::SlothV1 => "prometheus/v1",
            Self::OpenSloV1 => "openslo/v1",
            Self::OpenSloV1Alpha => "openslo/v1alpha",
        }
    }

    /// `sloth_mode` label value.
    pub fn mode_label(self) -> &'static str {
        match self {
            Self::SlothV1 => "cli-gen-prom",
            Self::OpenSloV1 | Self::OpenSloV1Alpha => "cli-gen-openslo",
        }
    }
}

/// Alert metadata for the generated burn-rate alerts (Sloth's `alerting`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Alerting {
    /// Alert name.
    pub name: String,
    /// Labels on every alert.
    pub labels: BTreeMap<String, String>,
    /// Annotations on every alert.
    pub annotations: BTreeMap<String, String>,
    /// The page alert (fast tiers).
    pub page: AlertMeta,
    /// The ticket alert (slow tiers).
    pub ticket: AlertMeta,
}

/// One severity's alert metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertMeta {
    /// No alert of this severity.
    pub disable: bool,
    /// Labels added (over `alerting.labels`).
    pub labels: BTreeMap<String, String>,
    /// Annotations added.
    pub annotations: BTreeMap<String, String>,
}

/// The `tocsin:` block, allowed in every SLO of every format (see docs/slo.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extensions {
    /// Burn-rate tiers to alert on; default all four.
    #[serde(default = "crate::tiers::all_tier_names")]
    pub tiers: Vec<crate::tiers::TierName>,
    /// A tier fires only when the long window saw at least this many events (needs an SLI
    /// with a total query); 0 disables the guard.
    #[serde(default)]
    pub min_events: f64,
    /// SLA objective in percent, reported as breached or not.
    #[serde(default)]
    pub sla: Option<f64>,
    /// The window for Sloth specs (Sloth sets it on the command line): a duration such as
    /// `28d`, or `month` for calendar months. OpenSLO specs set `timeWindow` instead.
    #[serde(default)]
    pub window: Option<String>,
    /// Periods left out of the budget (maintenance).
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
    /// The deploy gate's error-budget policy.
    #[serde(default)]
    pub policy: Policy,
    /// Name of the burn-rate alerts of an OpenSLO SLO (Sloth specs use `alerting.name`, and an
    /// OpenSLO `alertPolicies` entry names them too); without one, OpenSLO SLOs get no alerts,
    /// as in Sloth.
    #[serde(default)]
    pub alert_name: Option<String>,
}

impl Default for Extensions {
    fn default() -> Self {
        Self {
            tiers: crate::tiers::all_tier_names(),
            min_events: 0.0,
            sla: None,
            window: None,
            exclusions: Vec::new(),
            policy: Policy::default(),
            alert_name: None,
        }
    }
}

/// A maintenance window left out of the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// Start (RFC 3339).
    pub start: jiff::Timestamp,
    /// End (RFC 3339), after `start`.
    pub end: jiff::Timestamp,
    /// Why (shown in reports).
    #[serde(default)]
    pub reason: String,
}

/// The error-budget policy the deploy gate applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Block releases while the remaining budget ratio is below this (0: block once the
    /// budget is exhausted).
    #[serde(default)]
    pub block_below_remaining: f64,
    /// Block (until overridden, e.g. once the post-mortem is written) when the last 24 hours
    /// burned more than this share of the whole budget; default 0.2, 0 disables.
    #[serde(default = "default_postmortem_share")]
    pub postmortem_after_burning: f64,
    /// What the gate says when there is no data: `allow` (default) or `block`.
    #[serde(default)]
    pub on_no_data: NoData,
}

fn default_postmortem_share() -> f64 {
    0.2
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            block_below_remaining: 0.0,
            postmortem_after_burning: default_postmortem_share(),
            on_no_data: NoData::Allow,
        }
    }
}

/// The gate's answer without data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// Let the release go.
    #[default]
    Allow,
    /// Block it.
    Block,
}

/// Lenient first look at a document to tell the formats apart.
#[derive(Debug, Deserialize)]
struct Probe {
    version: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
}

/// One YAML document of a multi-document file, padded with blank lines so that error lines
/// count from the top of the file.
pub(crate) struct Document {
    pub(crate) text: String,
    pub(crate) first_line: u64,
}

fn split_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut first_line = 1u64;
    for (index, line) in text.lines().enumerate() {
        let number = index as u64 + 1;
        if line.trim_end() == "---" {
            if !current.trim().is_empty() {
                docs.push(Document {
                    text: std::mem::take(&mut current),
                    first_line,
                });
            }
            current = "\n".repeat(index + 1);
            first_line = number + 1;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.trim().is_empty() {
        docs.push(Document {
            text: current,
            first_line,
        });
    }
    docs
}

pub(crate) fn spec_error(
    source_name: &str,
    line: Option<u64>,
    message: impl Into<String>,
) -> Error {
    Error::Spec {
        source_name: source_name.to_owned(),
        line,
        message: message.into(),
    }
}

/// Reads every SLO in `text` (Sloth `prometheus/v1`, OpenSLO `v1` or `v1alpha`; several
/// documents separated by `---`). `source_name` names the file in errors.
pub fn load_str(source_name: &str, text: &str) -> Result<Vec<Slo>> {
    let mut slos = Vec::new();
    let mut openslo_docs = Vec::new();
    for doc in split_documents(text) {
        let probe: Probe = tocsin_config::yaml::from_str(source_name, &doc.text)?;
        match (probe.version.as_deref(), probe.api_version.as_deref()) {
            (Some("prometheus/v1"), None) => {
                slos.extend(sloth::load(source_name, &doc)?);
            }
            (None, Some("openslo/v1" | "openslo/v1alpha")) => openslo_docs.push((probe, doc)),
            (Some(other), None) => {
                return Err(spec_error(
                    source_name,
                    Some(doc.first_line),
                    format!(
                        "unsupported Sloth spec version {other:?}; tocsin reads \"prometheus/v1\" (Kubernetes CRDs: use the spec inside the PrometheusServiceLevel)"
                    ),
                ));
            }
            (None, Some(other)) => {
                return Err(spec_error(
                    source_name,
                    Some(doc.first_line),
                    format!(
                        "unsupported apiVersion {other:?}; tocsin reads openslo/v1 and openslo/v1alpha"
                    ),
                ));
            }
            _ => {
                return Err(spec_error(
                    source_name,
                    Some(doc.first_line),
                    "not an SLO spec: expected `version: prometheus/v1` (Sloth) or `apiVersion: openslo/v1` with a `kind` (OpenSLO)",
                ));
            }
        }
    }
    if !openslo_docs.is_empty() {
        let docs = openslo_docs
            .into_iter()
            .map(|(probe, doc)| (probe.api_version.unwrap_or_default(), probe.kind, doc))
            .collect::<Vec<_>>();
        slos.extend(openslo::load(source_name, &docs)?);
    }
    Ok(slos)
}

/// Reads a spec file.
pub fn load_file(path: &std::path::Path) -> Result<Vec<Slo>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| Error::Spec {
        source_name: name.clone(),
        line: None,
        message: format!("cannot read file: {err}"),
    })?;
    load_str(&name, &text)
}

/// Checks what every format shares: objective range, names, tiers and guard, SLA.
pub(crate) fn validate(source_name: &str, line: Option<u64>, slo: &Slo) -> Result<()> {
    let fail = |message: String| Err(spec_error(source_name, line, message));
    if !(slo.objective > 0.0 && slo.objective < 100.0) {
        return fail(format!(
            "SLO {:?}: objective {} must be above 0 and below 100 (percent)",
            slo.name, slo.objective
        ));
    }
    if slo.name.is_empty() || slo.service.is_empty() {
        return fail("every SLO needs a service and a name".to_owned());
    }
    if let Some(sla) = slo.tocsin.sla
        && !(sla > 0.0 && sla < 100.0)
    {
        return fail(format!(
            "SLO {:?}: tocsin.sla {sla} must be above 0 and below 100 (percent)",
            slo.name
        ));
    }
    if slo.tocsin.min_events < 0.0 || !slo.tocsin.min_events.is_finite() {
        return fail(format!(
            "SLO {:?}: tocsin.min_events must be a non-negative number",
            slo.name
        ));
    }
    if slo.tocsin.min_events > 0.0 && total_query(&slo.sli).is_none() {
        return fail(format!(
            "SLO {:?}: tocsin.min_events needs an SLI with a total query (events or ratio), not a raw or threshold one",
            slo.name
        ));
    }
    for exclusion in &slo.tocsin.exclusions {
        if exclusion.end <= exclusion.start {
            return fail(format!(
                "SLO {:?}: exclusion {} .. {} ends before it starts",
                slo.name, exclusion.start, exclusion.end
            ));
        }
    }
    for query in sli_queries(&slo.sli) {
        let rendered = crate::render(query, "5m");
        if let Err(err) = tocsin_promql::parse_expr(&rendered) {
            return fail(format!(
                "SLO {:?}: query {query:?} is not valid PromQL once {{{{.window}}}} is replaced: {err}",
                slo.name
            ));
        }
    }
    // The queries must also combine into an instant-vector error ratio.
    let ratio = crate::error_ratio_expr(&slo.sli, "5m");
    match tocsin_promql::parse_expr(&ratio) {
        Ok(expr)
            if matches!(
                expr.value_type(),
                tocsin_promql::promql_parser::parser::value::ValueType::Vector
                    | tocsin_promql::promql_parser::parser::value::ValueType::Scalar
            ) =>
        {
            Ok(())
        }
        Ok(_) => fail(format!(
            "SLO {:?}: the SLI queries must give an instant vector (sum(rate(x[{{{{.window}}}}]))), not a range vector or string",
            slo.name
        )),
        Err(err) => fail(format!(
            "SLO {:?}: the SLI queries do not combine into valid PromQL: {err}",
            slo.name
        )),
    }
}

/// The total-events template, when the SLI has one.
pub fn total_query(sli: &Sli) -> Option<&str> {
    match sli {
        Sli::Events { total_query, .. } | Sli::GoodTotal { total_query, .. } => Some(total_query),
        Sli::Raw { .. } | Sli::Threshold { .. } => None,
    }
}

fn sli_queries(sli: &Sli) -> Vec<&str> {
    match sli {
        Sli::Events {
            error_query,
            total_query,
        } => vec![error_query, total_query],
        Sli::GoodTotal {
            good_query,
            total_query,
        } => vec![good_query, total_query],
        Sli::Raw { error_ratio_query } => vec![error_ratio_query],
        Sli::Threshold { query, .. } => vec![query],
    }
}

/// Parses the `tocsin.window` of a Sloth spec (default 30d).
pub(crate) fn sloth_window(
    source_name: &str,
    line: Option<u64>,
    ext: &Extensions,
) -> Result<TimeWindow> {
    match ext.window.as_deref() {
        None => Ok(TimeWindow::Rolling(Duration::from_secs(30 * 86_400))),
        Some("month") => Ok(TimeWindow::CalendarMonth {
            time_zone: "UTC".to_owned(),
        }),
        Some(text) => match text.parse::<Duration>() {
            Ok(d) if d.as_millis() >= 86_400_000 && d.as_millis().is_multiple_of(86_400_000) => {
                Ok(TimeWindow::Rolling(d))
            }
            _ => Err(spec_error(
                source_name,
                line,
                format!("tocsin.window {text:?} must be whole days (28d, 30d) or `month`"),
            )),
        },
    }
}
