//! Prometheus rule groups generated from SLOs: SLI recording rules per window, metadata
//! rules, and multi-window multi-burn-rate alerts, with the same names, labels and meaning as
//! Sloth's output.
//!
//! Two alert styles:
//! - [`AlertStyle::Tiered`] (tocsin's default): one alert rule per tier, each carrying
//!   `burnrate_tier` and `sloth_severity`; a tier's expression ends with
//!   `unless on(sloth_id, sloth_service, sloth_slo) (<faster tiers' conditions>)`, so a slower
//!   tier stays quiet while a faster one fires (no router inhibit rule needed), and with
//!   `and on() (<total events in the long window> >= min_events)` when the minimum-traffic
//!   guard is on.
//! - [`AlertStyle::Sloth`]: Sloth's two alerts (page = 1h5m or 6h30m, ticket = 1d2h or
//!   3d6h), byte-for-byte the same expressions; the golden tests use it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tocsin_config::Duration;

use crate::spec::{AlertMeta, Sli, Slo, total_query};
use crate::tiers::{Severity, Tier, TierName, sli_windows};

/// A Prometheus rule file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Groups in order.
    pub groups: Vec<RuleGroup>,
}

/// One rule group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// Unique name.
    pub name: String,
    /// Evaluation interval; the rule engine's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Rules, evaluated in order.
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Series recorded (recording rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Alert name (alerting rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// PromQL.
    pub expr: String,
    /// Pending period (alerting rules).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// Labels added.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (alerting rules).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// How burn-rate alerts are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlertStyle {
    /// One alert per tier with `burnrate_tier`, slower tiers inhibited, traffic guard.
    #[default]
    Tiered,
    /// Sloth's page and ticket alerts, unchanged.
    Sloth,
}

/// Generation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Alert style.
    pub style: AlertStyle,
    /// Labels added to every rule (Sloth's `--extra-labels`).
    pub extra_labels: BTreeMap<String, String>,
    /// `sloth_version` of `sloth_slo_info`.
    pub version: String,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            style: AlertStyle::Tiered,
            extra_labels: BTreeMap::new(),
            version: format!("tocsin-{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Label naming the window of an SLI recording.
pub const WINDOW_LABEL: &str = "sloth_window";
/// Label naming the tier of a tiered alert.
pub const TIER_LABEL: &str = "burnrate_tier";

/// `slo:sli_error:ratio_rate<window>`.
pub fn sli_metric(window: Duration) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

/// Replaces `{{.window}}` (with or without spaces) by `window`.
pub fn render(template: &str, window: &str) -> String {
    template
        .replace("{{.window}}", window)
        .replace("{{ .window }}", window)
}

/// The SLI error-ratio expression over `window` (a Prometheus duration string).
pub fn error_ratio_expr(sli: &Sli, window: &str) -> String {
    match sli {
        Sli::Events {
            error_query,
            total_query,
        } => format!(
            "({})\n/\n({})\n",
            render(error_query, window),
            render(total_query, window)
        ),
        Sli::GoodTotal {
            good_query,
            total_query,
        } => format!(
            "(\n  1 - (\n    (\n      {}\n    )\n    /\n    (\n      {}\n    )\n  )\n)",
            render(good_query, window),
            render(total_query, window)
        ),
        Sli::Raw { error_ratio_query } => format!("({})", render(error_ratio_query, window)),
        Sli::Threshold { query, op, value } => format!(
            "(1 - avg_over_time((({}) {op} bool {})[{window}:1m]))",
            render(query, window),
            tocsin_promql::format_float(*value)
        ),
    }
}

fn id_labels(slo: &Slo) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("sloth_id".to_owned(), slo.id.clone()),
        ("sloth_service".to_owned(), slo.service.clone()),
        ("sloth_slo".to_owned(), slo.name.clone()),
    ])
}

/// `{sloth_id="…", sloth_service="…", sloth_slo="…"}`, as Sloth writes it.
fn id_filter(slo: &Slo) -> String {
    let parts: Vec<String> = id_labels(slo)
        .iter()
        .map(|(k, v)| format!("{k}={}", tocsin_model::go_quote(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Rule groups for `slos`.
pub fn rule_groups(slos: &[Slo], options: &GenerateOptions) -> RuleFile {
    let mut groups = Vec::new();
    for slo in slos {
        groups.push(sli_group(slo, options));
        groups.push(meta_group(slo, options));
        let alerts = match options.style {
            AlertStyle::Sloth => sloth_alerts(slo),
            AlertStyle::Tiered => tiered_alerts(slo),
        };
        if !alerts.is_empty() {
            groups.push(RuleGroup {
                name: format!("sloth-slo-alerts-{}", slo.id),
                interval: None,
                rules: alerts,
            });
        }
    }
    RuleFile { groups }
}

/// The rule file as YAML, ready for the rule engine, Prometheus or `promtool check rules`.
pub fn rule_groups_yaml(slos: &[Slo], options: &GenerateOptions) -> String {
    let file = rule_groups(slos, options);
    let mut out =
        String::from("# Generated by tocsin from SLO specs; edit the specs, not this file.\n");
    match serde_saphyr::to_string(&file) {
        Ok(yaml) => out.push_str(&yaml),
        Err(err) => {
            // Serialising plain strings and maps cannot fail; say so if it ever does.
            let _ = writeln!(out, "# serialisation failed: {err}");
        }
    }
    out
}

fn with_common(
    slo: &Slo,
    options: &GenerateOptions,
    mut labels: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    labels.extend(slo.labels.clone());
    labels.extend(options.extra_labels.clone());
    labels
}

fn sli_group(slo: &Slo, options: &GenerateOptions) -> RuleGroup {
    let mut rules = Vec::new();
    let windows = sli_windows();
    for window in &windows {
        let w = window.to_string();
        let mut labels = id_labels(slo);
        labels.insert(WINDOW_LABEL.to_owned(), w.clone());
        rules.push(Rule {
            record: Some(sli_metric(*window)),
            alert: None,
            expr: error_ratio_expr(&slo.sli, &w),
            for_: None,
            labels: with_common(slo, options, labels),
            annotations: BTreeMap::new(),
        });
    }
    // The whole window, averaged from the 5m recording (Sloth's "optimised" rule).
    let period = slo.window.nominal();
    let short = sli_metric(windows[0]);
    let filter = id_filter(slo);
    let mut labels = id_labels(slo);
    labels.insert(WINDOW_LABEL.to_owned(), period.to_string());
    rules.push(Rule {
        record: Some(sli_metric(period)),
        alert: None,
        expr: format!(
            "sum_over_time({short}{filter}[{period}])\n/ ignoring ({WINDOW_LABEL})\ncount_over_time({short}{filter}[{period}])\n"
        ),
        for_: None,
        labels: with_common(slo, options, labels),
        annotations: BTreeMap::new(),
    });
    RuleGroup {
        name: format!("sloth-slo-sli-recordings-{}", slo.id),
        interval: None,
        rules,
    }
}

fn meta_group(slo: &Slo, options: &GenerateOptions) -> RuleGroup {
    let filter = id_filter(slo);
    let period = slo.window.nominal();
    let objective = slo.objective_ratio();
    let days = period.as_millis() / 86_400_000;
    let record = |name: &str, expr: String, labels: BTreeMap<String, String>| Rule {
        record: Some(name.to_owned()),
        alert: None,
        expr,
        for_: None,
        labels,
        annotations: BTreeMap::new(),
    };
    let common = with_common(slo, options, id_labels(slo));
    let mut info = id_labels(slo);
    info.insert("sloth_mode".to_owned(), slo.format.mode_label().to_owned());
    info.insert("sloth_objective".to_owned(), format!("{}", slo.objective));
    info.insert("sloth_spec".to_owned(), slo.format.spec_label().to_owned());
    info.insert("sloth_version".to_owned(), options.version.clone());
    let on = "on(sloth_id, sloth_slo, sloth_service) group_left";
    RuleGroup {
        name: format!("sloth-slo-meta-recordings-{}", slo.id),
        interval: None,
        rules: vec![
            record(
                "slo:objective:ratio",
                format!("vector({objective})"),
                common.clone(),
            ),
            record(
                "slo:error_budget:ratio",
                format!("vector(1-{objective})"),
                common.clone(),
            ),
            record(
                "slo:time_period:days",
                format!("vector({days})"),
                common.clone(),
            ),
            record(
                "slo:current_burn_rate:ratio",
                format!(
                    "{}{filter}\n/ {on}\nslo:error_budget:ratio{filter}\n",
                    sli_metric(sli_windows()[0])
                ),
                common.clone(),
            ),
            record(
                "slo:period_burn_rate:ratio",
                format!(
                    "{}{filter}\n/ {on}\nslo:error_budget:ratio{filter}\n",
                    sli_metric(period)
                ),
                common.clone(),
            ),
            record(
                "slo:period_error_budget_remaining:ratio",
                format!("1 - slo:period_burn_rate:ratio{filter}"),
                common,
            ),
            record(
                "sloth_slo_info",
                "vector(1)".to_owned(),
                with_common(slo, options, info),
            ),
        ],
    }
}

/// The condition of one tier: both windows above the tier's burn threshold.
fn tier_condition(slo: &Slo, tier: &Tier) -> String {
    let filter = id_filter(slo);
    let factor = tier.factor(slo.window.nominal());
    let budget = slo.error_budget_ratio();
    format!(
        "(\n    max({short}{filter} > ({factor} * {budget})) without ({WINDOW_LABEL})\n    and\n    max({long}{filter} > ({factor} * {budget})) without ({WINDOW_LABEL})\n)",
        short = sli_metric(tier.short),
        long = sli_metric(tier.long),
    )
}

fn meta_for(slo: &Slo, severity: Severity) -> &AlertMeta {
    match severity {
        Severity::Page => &slo.alerting.page,
        Severity::Ticket => &slo.alerting.ticket,
    }
}

fn alert_rule(slo: &Slo, severity: Severity, expr: String, tier: Option<TierName>) -> Rule {
    let meta = meta_for(slo, severity);
    let sev = severity.as_str();
    let mut annotations = BTreeMap::from([
        (
            "title".to_owned(),
            format!("({sev}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast."),
        ),
        (
            "summary".to_owned(),
            "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.".to_owned(),
        ),
    ]);
    annotations.extend(meta.annotations.clone());
    let mut labels = BTreeMap::from([("sloth_severity".to_owned(), sev.to_owned())]);
    if let Some(tier) = tier {
        labels.insert(TIER_LABEL.to_owned(), tier.as_str().to_owned());
    }
    labels.extend(meta.labels.clone());
    Rule {
        record: None,
        alert: Some(slo.alerting.name.clone()),
        expr,
        for_: None,
        labels,
        annotations,
    }
}

fn sloth_alerts(slo: &Slo) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (severity, quick, slow) in [
        (Severity::Page, TierName::Page1h, TierName::Page6h),
        (Severity::Ticket, TierName::Ticket1d, TierName::Ticket3d),
    ] {
        if meta_for(slo, severity).disable {
            continue;
        }
        let expr = format!(
            "{}\nor\n{}\n",
            tier_condition(slo, &quick.tier()),
            tier_condition(slo, &slow.tier())
        );
        rules.push(alert_rule(slo, severity, expr, None));
    }
    rules
}

/// Tiered alert expressions, by tier (fastest first): `(tier, expr)`.
pub fn tier_exprs(slo: &Slo) -> Vec<(Tier, String)> {
    let mut tiers: Vec<Tier> = slo.tocsin.tiers.iter().map(|t| t.tier()).collect();
    tiers.sort_by_key(|t| t.long);
    tiers.dedup_by_key(|t| t.name);
    let mut out = Vec::new();
    for (i, tier) in tiers.iter().enumerate() {
        let mut expr = tier_condition(slo, tier);
        if slo.tocsin.min_events > 0.0
            && let Some(total) = total_query(&slo.sli)
        {
            let secs = tier.long.as_millis() / 1000;
            let _ = write!(
                expr,
                "\nand on()\n(({}) * {secs} >= {})",
                render(total, &tier.long.to_string()),
                tocsin_promql::format_float(slo.tocsin.min_events)
            );
        }
        let faster: Vec<String> = tiers[..i].iter().map(|t| tier_condition(slo, t)).collect();
        if !faster.is_empty() {
            let _ = write!(
                expr,
                "\nunless on(sloth_id, sloth_service, sloth_slo)\n(\n{}\n)",
                faster.join("\nor\n")
            );
        }
        out.push((*tier, expr));
    }
    out
}

fn tiered_alerts(slo: &Slo) -> Vec<Rule> {
    tier_exprs(slo)
        .into_iter()
        .filter(|(tier, _)| !meta_for(slo, tier.severity).disable)
        .map(|(tier, expr)| alert_rule(slo, tier.severity, expr, Some(tier.name)))
        .collect()
}
