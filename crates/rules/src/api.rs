//! `/api/v1/rules` and `/api/v1/alerts` bodies (the `data` object) in Prometheus's JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tocsin_model::Labels;

use crate::alert::{Alert, AlertState};
use crate::file::RuleKind;
use crate::group::{Group, RuleState};

/// Filters of `/api/v1/rules`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesFilter {
    /// `type=alert` or `type=record`.
    pub kind: Option<String>,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `exclude_alerts=true`: rules without their alerts.
    pub exclude_alerts: bool,
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, as Prometheus prints alert values.
pub fn format_value(v: f64) -> String {
    crate::unittest::format_float_e(v).replace('E', "e")
}

fn labels_json(labels: &Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|l| (l.name.clone(), Value::String(l.value.clone())))
            .collect(),
    )
}

fn map_json(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// One alert as Prometheus lists it.
pub fn alert_json(alert: &Alert) -> Value {
    let mut o = Map::new();
    o.insert("labels".into(), labels_json(&alert.labels));
    o.insert("annotations".into(), map_json(&alert.annotations));
    o.insert("state".into(), json!(alert.state.as_str()));
    o.insert(
        "activeAt".into(),
        json!(tocsin_model::time::rfc3339_go(alert.active_at)),
    );
    if let Some(since) = alert.keep_firing_since {
        o.insert(
            "keepFiringSince".into(),
            json!(tocsin_model::time::rfc3339_go(since)),
        );
    }
    o.insert("value".into(), json!(format_value(alert.value)));
    Value::Object(o)
}

fn active(rule: &RuleState) -> impl Iterator<Item = &Alert> {
    rule.active
        .values()
        .filter(|a| a.state != AlertState::Inactive)
}

/// Seconds as Go encodes a float64: whole numbers without a fraction.
fn seconds(ms: i64) -> Value {
    if ms % 1000 == 0 {
        return json!(ms / 1000);
    }
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    json!(s)
}

fn rule_json(rule: &RuleState, exclude_alerts: bool) -> Value {
    let mut o = Map::new();
    let last_eval = rule.last_eval.map_or_else(
        || "0001-01-01T00:00:00Z".to_owned(),
        tocsin_model::time::rfc3339_go,
    );
    match &rule.def.kind {
        RuleKind::Alerting {
            alert,
            hold,
            keep_firing_for,
            annotations,
            resolve_expr,
        } => {
            let state = active(rule)
                .map(|a| a.state)
                .max()
                .unwrap_or(AlertState::Inactive);
            o.insert("state".into(), json!(state.as_str()));
            o.insert("name".into(), json!(alert));
            o.insert("query".into(), json!(rule.def.expr));
            if let Some(resolve) = resolve_expr {
                o.insert("resolveQuery".into(), json!(resolve));
            }
            o.insert(
                "duration".into(),
                seconds(i64::try_from(hold.as_millis()).unwrap_or(i64::MAX)),
            );
            o.insert(
                "keepFiringFor".into(),
                seconds(i64::try_from(keep_firing_for.as_millis()).unwrap_or(i64::MAX)),
            );
            o.insert("labels".into(), map_json(&rule.labels));
            o.insert("annotations".into(), map_json(annotations));
            if !exclude_alerts {
                o.insert(
                    "alerts".into(),
                    Value::Array(active(rule).map(alert_json).collect()),
                );
            }
        }
        RuleKind::Recording { record } => {
            o.insert("name".into(), json!(record));
            o.insert("query".into(), json!(rule.def.expr));
            if !rule.labels.is_empty() {
                o.insert("labels".into(), map_json(&rule.labels));
            }
        }
    }
    o.insert("health".into(), json!(rule.health.as_str()));
    if let Some(err) = &rule.last_error {
        o.insert("lastError".into(), json!(err));
    }
    o.insert(
        "evaluationTime".into(),
        json!(rule.eval_duration.as_secs_f64()),
    );
    o.insert("lastEvaluation".into(), json!(last_eval));
    let kind = match rule.def.kind {
        RuleKind::Alerting { .. } => "alerting",
        RuleKind::Recording { .. } => "recording",
    };
    o.insert("type".into(), json!(kind));
    Value::Object(o)
}

/// The `data` object of `/api/v1/rules`. An unknown `type` is refused with Prometheus's message.
pub fn rules_json(groups: &[Group], filter: &RulesFilter) -> Result<Value, String> {
    let want_alerts = match filter.kind.as_deref() {
        None | Some("") => None,
        Some("alert") => Some(true),
        Some("record") => Some(false),
        Some(other) => {
            return Err(format!(
                "invalid query parameter type='{other}', must be either 'alert' or 'record'"
            ));
        }
    };
    let rule_filtered = want_alerts.is_some() || !filter.rule_names.is_empty();
    let mut out = Vec::new();
    for g in groups {
        if !filter.rule_groups.is_empty() && !filter.rule_groups.contains(&g.def.name) {
            continue;
        }
        if !filter.files.is_empty() && !filter.files.contains(&g.def.file) {
            continue;
        }
        let rules: Vec<Value> = g
            .rules
            .iter()
            .filter(|r| {
                want_alerts.is_none_or(|a| a == matches!(r.def.kind, RuleKind::Alerting { .. }))
            })
            .filter(|r| {
                filter.rule_names.is_empty() || filter.rule_names.iter().any(|n| n == r.def.name())
            })
            .map(|r| rule_json(r, filter.exclude_alerts))
            .collect();
        if rule_filtered && rules.is_empty() {
            continue;
        }
        out.push(json!({
            "name": g.def.name,
            "file": g.def.file,
            "rules": rules,
            "interval": seconds(g.interval_ms),
            "limit": g.def.limit,
            "evaluationTime": g.eval_duration.as_secs_f64(),
            "lastEvaluation": g.last_eval.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), tocsin_model::time::rfc3339_go),
        }));
    }
    Ok(json!({ "groups": out }))
}

/// The `data` object of `/api/v1/alerts`: every pending and firing alert.
pub fn alerts_json(groups: &[Group]) -> Value {
    let alerts: Vec<Value> = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .flat_map(active)
        .map(alert_json)
        .collect();
    json!({ "alerts": alerts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_values_print_like_go() {
        assert_eq!(tocsin_model::time::rfc3339_go(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            tocsin_model::time::rfc3339_go(1_764_379_845_120),
            "2025-11-29T01:30:45.12Z"
        );
        assert_eq!(
            tocsin_model::time::rfc3339_go(951_782_400_000),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(format_value(1.0), "1e+00");
        assert_eq!(format_value(0.25), "2.5e-01");
    }
}
