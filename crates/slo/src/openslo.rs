//! OpenSLO `v1` (kinds SLO, SLI, AlertPolicy, AlertCondition) and the `v1alpha` subset Sloth
//! reads. Each objective of an SLO becomes one [`Slo`], named as Sloth names them.

use std::collections::BTreeMap;

use serde::Deserialize;
use tocsin_config::Duration;

use crate::error::Result;
use crate::spec::{
    AlertMeta, Alerting, Budgeting, Document, Extensions, Sli, Slo, SpecFormat, spec_error,
    validate,
};
use crate::window::TimeWindow;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: serde_saphyr::Spanned<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc<S> {
    #[allow(dead_code, reason = "checked by the probe")]
    api_version: String,
    #[allow(dead_code, reason = "checked by the probe")]
    kind: String,
    metadata: Metadata,
    spec: S,
}

// ---- v1 ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SloSpec {
    #[serde(default)]
    description: String,
    service: String,
    #[serde(default)]
    indicator: Option<InlineSli>,
    #[serde(default)]
    indicator_ref: Option<String>,
    #[serde(default)]
    time_window: Vec<TimeWindowV1>,
    budgeting_method: String,
    objectives: Vec<Objective>,
    #[serde(default)]
    alert_policies: Vec<AlertPolicyRef>,
    #[serde(default)]
    tocsin: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AlertPolicyRef {
    Inline {
        kind: String,
        metadata: Metadata,
        #[allow(dead_code, reason = "conditions are validated by shape only")]
        spec: serde_json::Value,
    },
    Ref {
        #[serde(rename = "alertPolicyRef")]
        alert_policy_ref: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineSli {
    metadata: Metadata,
    spec: SliSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SliSpec {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    threshold_metric: Option<MetricHolder>,
    #[serde(default)]
    ratio_metric: Option<RatioMetric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RatioMetric {
    #[serde(default)]
    counter: bool,
    #[serde(default)]
    good: Option<MetricHolder>,
    #[serde(default)]
    bad: Option<MetricHolder>,
    total: MetricHolder,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricHolder {
    metric_source: MetricSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricSource {
    #[serde(default)]
    metric_source_ref: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    spec: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindowV1 {
    duration: String,
    #[serde(default = "yes")]
    is_rolling: bool,
    #[serde(default)]
    calendar: Option<Calendar>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Calendar {
    #[allow(
        dead_code,
        reason = "months start on the 1st whatever the start time says"
    )]
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
    #[serde(default, alias = "timesliceTarget")]
    time_slice_target: Option<f64>,
    #[serde(default, alias = "timesliceWindow")]
    time_slice_window: Option<Duration>,
    #[serde(default)]
    indicator: Option<InlineSli>,
    #[serde(default)]
    indicator_ref: Option<String>,
    #[serde(default)]
    composite_weight: Option<f64>,
}

// ---- v1alpha (Sloth's examples) ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaSpec {
    service: String,
    #[serde(default)]
    description: String,
    budgeting_method: String,
    objectives: Vec<AlphaObjective>,
    #[serde(default)]
    time_windows: Vec<AlphaWindow>,
    #[serde(default)]
    tocsin: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaObjective {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    op: Option<String>,
    ratio_metrics: Option<AlphaRatio>,
    target: f64,
    #[serde(default)]
    time_slice_target: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaRatio {
    #[serde(default)]
    counter: bool,
    good: AlphaSource,
    total: AlphaSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaSource {
    source: String,
    query_type: String,
    query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaWindow {
    count: u64,
    unit: String,
    #[serde(default = "yes")]
    is_rolling: bool,
    #[serde(default)]
    calendar: Option<serde_json::Value>,
}

pub(crate) fn load(
    source_name: &str,
    docs: &[(String, Option<String>, Document)],
) -> Result<Vec<Slo>> {
    let mut slis: BTreeMap<String, SliSpec> = BTreeMap::new();
    let mut policies: Vec<String> = Vec::new();
    let mut slo_docs = Vec::new();
    for (api_version, kind, doc) in docs {
        let line = Some(doc.first_line);
        match (api_version.as_str(), kind.as_deref()) {
            ("openslo/v1alpha", Some("SLO")) => slo_docs.push((true, doc)),
            ("openslo/v1", Some("SLO")) => slo_docs.push((false, doc)),
            ("openslo/v1", Some("SLI")) => {
                let d: Doc<SliSpec> = tocsin_config::yaml::from_str(source_name, &doc.text)?;
                slis.insert(d.metadata.name.value, d.spec);
            }
            ("openslo/v1", Some("AlertPolicy")) => {
                let d: Doc<serde_json::Value> =
                    tocsin_config::yaml::from_str(source_name, &doc.text)?;
                policies.push(d.metadata.name.value);
            }
            (
                "openslo/v1",
                Some("AlertCondition" | "AlertNotificationTarget" | "Service" | "DataSource"),
            ) => {
                // Shape-checked only: tiers come from the tocsin block (docs/slo.md).
                let _: Doc<serde_json::Value> =
                    tocsin_config::yaml::from_str(source_name, &doc.text)?;
            }
            (_, other) => {
                return Err(spec_error(
                    source_name,
                    line,
                    format!(
                        "unsupported OpenSLO kind {:?} for {api_version}; tocsin reads SLO, SLI, AlertPolicy and AlertCondition",
                        other.unwrap_or("")
                    ),
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (alpha, doc) in slo_docs {
        if alpha {
            out.extend(load_alpha(source_name, doc)?);
        } else {
            out.extend(load_v1(source_name, doc, &slis, &policies)?);
        }
    }
    Ok(out)
}

fn labels_of(metadata: &Metadata) -> BTreeMap<String, String> {
    metadata
        .labels
        .iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            (k.clone(), value)
        })
        .collect()
}

fn alerts_disabled() -> Alerting {
    Alerting {
        page: AlertMeta {
            disable: true,
            ..AlertMeta::default()
        },
        ticket: AlertMeta {
            disable: true,
            ..AlertMeta::default()
        },
        ..Alerting::default()
    }
}

fn load_alpha(source_name: &str, doc: &Document) -> Result<Vec<Slo>> {
    let d: Doc<AlphaSpec> = tocsin_config::yaml::from_str(source_name, &doc.text)?;
    let line = Some(d.metadata.name.referenced.line())
        .filter(|&l| l > 0)
        .or(Some(doc.first_line));
    let fail = |m: String| Err(spec_error(source_name, line, m));
    if d.spec.budgeting_method != "Occurrences" {
        return fail(format!(
            "budgetingMethod {:?}: openslo/v1alpha SLOs support Occurrences only; use openslo/v1 for Timeslices",
            d.spec.budgeting_method
        ));
    }
    let window = match d.spec.time_windows.as_slice() {
        [] => TimeWindow::Rolling(Duration::from_secs(30 * 86_400)),
        [w] if w.unit.eq_ignore_ascii_case("day") && w.is_rolling && w.calendar.is_none() => {
            TimeWindow::Rolling(Duration::from_secs(w.count * 86_400))
        }
        [w] if w.unit.eq_ignore_ascii_case("month") && w.count == 1 && !w.is_rolling => {
            TimeWindow::CalendarMonth {
                time_zone: "UTC".to_owned(),
            }
        }
        _ => {
            return fail(
                "timeWindows: exactly one rolling window counted in days (or one calendar month) is supported".to_owned(),
            );
        }
    };
    let tocsin = d.spec.tocsin.unwrap_or_default();
    let mut out = Vec::new();
    for (idx, objective) in d.spec.objectives.into_iter().enumerate() {
        let _ = (
            objective.display_name,
            objective.value,
            objective.op,
            objective.time_slice_target,
        );
        let Some(ratio) = objective.ratio_metrics else {
            return fail(format!("objective {idx}: `ratioMetrics` is required"));
        };
        for (what, source) in [("good", &ratio.good), ("total", &ratio.total)] {
            if !matches!(source.source.as_str(), "prometheus" | "sloth")
                || source.query_type != "promql"
            {
                return fail(format!(
                    "objective {idx}: ratioMetrics.{what} must have source prometheus and queryType promql"
                ));
            }
        }
        let _ = ratio.counter;
        let slo = Slo {
            id: format!("{}-{}-{idx}", d.spec.service, d.metadata.name.value),
            service: d.spec.service.clone(),
            name: format!("{}-{idx}", d.metadata.name.value),
            description: d.spec.description.clone(),
            objective: objective.target * 100.0,
            labels: BTreeMap::new(),
            sli: Sli::GoodTotal {
                good_query: ratio.good.query,
                total_query: ratio.total.query,
            },
            window: window.clone(),
            budgeting: Budgeting::Occurrences,
            alerting: alerts_disabled(),
            format: SpecFormat::OpenSloV1Alpha,
            tocsin: tocsin.clone(),
        };
        validate(source_name, line, &slo)?;
        out.push(slo);
    }
    Ok(out)
}

fn query_of(
    source_name: &str,
    line: Option<u64>,
    what: &str,
    m: &MetricHolder,
    counter: bool,
) -> Result<String> {
    let fail = |msg: String| spec_error(source_name, line, msg);
    let src = &m.metric_source;
    let kind = src
        .kind
        .as_deref()
        .or(src.metric_source_ref.as_deref())
        .unwrap_or("Prometheus");
    if !kind.eq_ignore_ascii_case("prometheus") && src.kind.is_some() {
        return Err(fail(format!(
            "{what}: metric source type {kind:?} is not supported; tocsin evaluates Prometheus queries (type: Prometheus)"
        )));
    }
    let Some(query) = src.spec.get("query").and_then(|q| q.as_str()) else {
        return Err(fail(format!(
            "{what}: metricSource.spec.query (a PromQL string) is required"
        )));
    };
    if query.contains("{{") {
        return Ok(query.to_owned());
    }
    if counter {
        // A bare counter selector: tocsin adds the rate over each window itself.
        return match tocsin_promql::parse_expr(query) {
            Ok(tocsin_promql::promql_parser::parser::Expr::VectorSelector(_)) => {
                Ok(format!("sum(rate({query}[{{{{.window}}}}]))"))
            }
            _ => Err(fail(format!(
                "{what}: with counter: true the query must be a series selector (http_requests_total{{code=\"500\"}}) or contain {{{{.window}}}}"
            ))),
        };
    }
    Ok(query.to_owned())
}

fn load_v1(
    source_name: &str,
    doc: &Document,
    slis: &BTreeMap<String, SliSpec>,
    policies: &[String],
) -> Result<Vec<Slo>> {
    let d: Doc<SloSpec> = tocsin_config::yaml::from_str(source_name, &doc.text)?;
    let line = Some(d.metadata.name.referenced.line())
        .filter(|&l| l > 0)
        .or(Some(doc.first_line));
    let fail = |m: String| Err(spec_error(source_name, line, m));
    let window = match d.spec.time_window.as_slice() {
        [w] if w.is_rolling => match w.duration.parse::<Duration>() {
            Ok(dur)
                if dur.as_millis() >= 86_400_000 && dur.as_millis().is_multiple_of(86_400_000) =>
            {
                TimeWindow::Rolling(dur)
            }
            _ => {
                return fail(format!(
                    "timeWindow duration {:?}: rolling windows must be whole days (28d)",
                    w.duration
                ));
            }
        },
        [w] => {
            if w.duration != "1M" && w.duration != "1m" && !w.duration.eq_ignore_ascii_case("month")
            {
                return fail(format!(
                    "timeWindow duration {:?}: calendar windows must be one month (1M)",
                    w.duration
                ));
            }
            let time_zone = w
                .calendar
                .as_ref()
                .and_then(|c| c.time_zone.clone())
                .unwrap_or_else(|| "UTC".to_owned());
            if jiff::tz::TimeZone::get(&time_zone).is_err() {
                return fail(format!(
                    "calendar.timeZone {time_zone:?} is not a known time zone"
                ));
            }
            TimeWindow::CalendarMonth { time_zone }
        }
        _ => return fail("timeWindow: exactly one window is required".to_owned()),
    };
    let timeslices = match d.spec.budgeting_method.as_str() {
        "Occurrences" => false,
        "Timeslices" => true,
        other => {
            return fail(format!(
                "budgetingMethod {other:?} is not supported; use Occurrences or Timeslices"
            ));
        }
    };
    let mut tocsin = d.spec.tocsin.unwrap_or_default();
    let policy_names: Vec<String> = d
        .spec
        .alert_policies
        .iter()
        .map(|p| match p {
            AlertPolicyRef::Inline { metadata, kind, .. } => {
                let _ = kind;
                metadata.name.value.clone()
            }
            AlertPolicyRef::Ref { alert_policy_ref } => alert_policy_ref.clone(),
        })
        .collect();
    for name in &policy_names {
        let inline = d.spec.alert_policies.iter().any(|p| matches!(p, AlertPolicyRef::Inline { metadata, .. } if &metadata.name.value == name));
        if !inline && !policies.contains(name) {
            return fail(format!(
                "alertPolicyRef {name:?} names no AlertPolicy in this file"
            ));
        }
    }
    let alerting = match policy_names.first().or(tocsin.alert_name.as_ref()) {
        Some(name) => Alerting {
            name: name.clone(),
            ..Alerting::default()
        },
        None => alerts_disabled(),
    };
    tocsin.alert_name = None;
    let count = d.spec.objectives.len();
    if count == 0 {
        return fail("`objectives` is empty".to_owned());
    }
    let mut labels = labels_of(&d.metadata);
    let _ = (&d.metadata.display_name, &d.metadata.annotations);
    labels.retain(|k, _| !k.starts_with("sloth_"));
    let mut out = Vec::new();
    for (idx, objective) in d.spec.objectives.into_iter().enumerate() {
        let _ = (&objective.display_name, objective.composite_weight);
        let sli_spec = if let Some(inline) = objective.indicator.as_ref() {
            let _ = &inline.metadata;
            inline.spec.clone()
        } else if let Some(name) = objective
            .indicator_ref
            .as_ref()
            .or(d.spec.indicator_ref.as_ref())
        {
            match slis.get(name) {
                Some(s) => s.clone(),
                None => return fail(format!("indicatorRef {name:?} names no SLI in this file")),
            }
        } else if let Some(inline) = d.spec.indicator.as_ref() {
            inline.spec.clone()
        } else {
            return fail("an SLO needs an `indicator` or an `indicatorRef`".to_owned());
        };
        let _ = &sli_spec.description;
        let target = match (objective.target, objective.target_percent) {
            (Some(t), None) => t * 100.0,
            (None, Some(p)) => p,
            _ => {
                return fail(format!(
                    "objective {idx}: give exactly one of `target` (0.999) or `targetPercent` (99.9)"
                ));
            }
        };
        let sli = match (sli_spec.ratio_metric, sli_spec.threshold_metric) {
            (Some(ratio), None) => {
                let total = query_of(
                    source_name,
                    line,
                    "ratioMetric.total",
                    &ratio.total,
                    ratio.counter,
                )?;
                match (ratio.good, ratio.bad) {
                    (Some(good), None) => Sli::GoodTotal {
                        good_query: query_of(
                            source_name,
                            line,
                            "ratioMetric.good",
                            &good,
                            ratio.counter,
                        )?,
                        total_query: total,
                    },
                    (None, Some(bad)) => Sli::Events {
                        error_query: query_of(
                            source_name,
                            line,
                            "ratioMetric.bad",
                            &bad,
                            ratio.counter,
                        )?,
                        total_query: total,
                    },
                    _ => {
                        return fail(
                            "ratioMetric needs exactly one of `good` or `bad`, and `total`"
                                .to_owned(),
                        );
                    }
                }
            }
            (None, Some(threshold)) => {
                let op = match objective.op.as_deref() {
                    Some("lt") => "<",
                    Some("lte") => "<=",
                    Some("gt") => ">",
                    Some("gte") => ">=",
                    other => {
                        return fail(format!(
                            "objective {idx}: a thresholdMetric needs `op` (lt, lte, gt, gte), got {other:?}"
                        ));
                    }
                };
                let Some(value) = objective.value else {
                    return fail(format!("objective {idx}: a thresholdMetric needs `value`"));
                };
                Sli::Threshold {
                    query: query_of(source_name, line, "thresholdMetric", &threshold, false)?,
                    op: op.to_owned(),
                    value,
                }
            }
            _ => {
                return fail(
                    "an SLI needs exactly one of `ratioMetric` or `thresholdMetric`".to_owned(),
                );
            }
        };
        let budgeting = if timeslices {
            match (objective.time_slice_target, objective.time_slice_window) {
                (Some(target), Some(slice))
                    if target > 0.0 && target <= 1.0 && !slice.is_zero() =>
                {
                    Budgeting::Timeslices { target, slice }
                }
                _ => {
                    return fail(format!(
                        "objective {idx}: Timeslices budgeting needs timeSliceTarget (0..1] and timeSliceWindow (1m)"
                    ));
                }
            }
        } else {
            Budgeting::Occurrences
        };
        let name = if count == 1 {
            d.metadata.name.value.clone()
        } else {
            format!("{}-{idx}", d.metadata.name.value)
        };
        let slo = Slo {
            id: format!("{}-{name}", d.spec.service),
            service: d.spec.service.clone(),
            name,
            description: d.spec.description.clone(),
            objective: target,
            labels: labels.clone(),
            sli,
            window: window.clone(),
            budgeting,
            alerting: alerting.clone(),
            format: SpecFormat::OpenSloV1,
            tocsin: tocsin.clone(),
        };
        validate(source_name, line, &slo)?;
        out.push(slo);
    }
    Ok(out)
}
