//! Sloth's `prometheus/v1` spec.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::Result;
use crate::spec::{
    AlertMeta, Alerting, Budgeting, Document, Extensions, Sli, Slo, SpecFormat, sloth_window,
    spec_error, validate,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code, reason = "checked by the probe; kept so the field is known")]
    version: String,
    service: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    slos: Vec<SpecSlo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecSlo {
    name: serde_saphyr::Spanned<String>,
    objective: f64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    sli: SpecSli,
    #[serde(default)]
    alerting: SpecAlerting,
    #[serde(default)]
    tocsin: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecSli {
    #[serde(default)]
    events: Option<Events>,
    #[serde(default)]
    raw: Option<Raw>,
    #[serde(default)]
    plugin: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Events {
    error_query: String,
    total_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    error_ratio_query: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecAlerting {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    page_alert: SpecAlertMeta,
    #[serde(default)]
    ticket_alert: SpecAlertMeta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecAlertMeta {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn merged(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = a.clone();
    out.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

pub(crate) fn load(source_name: &str, doc: &Document) -> Result<Vec<Slo>> {
    let spec: Spec = tocsin_config::yaml::from_str(source_name, &doc.text)?;
    let line = Some(doc.first_line);
    if spec.slos.is_empty() {
        return Err(spec_error(
            source_name,
            line,
            "`slos` is empty; add at least one SLO",
        ));
    }
    let mut out = Vec::with_capacity(spec.slos.len());
    for s in spec.slos {
        // Errors about one SLO point at its `name`.
        let line = Some(s.name.referenced.line()).filter(|&l| l > 0).or(line);
        let name = s.name.value;
        let sli = match (s.sli.events, s.sli.raw, s.sli.plugin) {
            (Some(e), None, None) => Sli::Events {
                error_query: e.error_query,
                total_query: e.total_query,
            },
            (None, Some(r), None) => Sli::Raw {
                error_ratio_query: r.error_ratio_query,
            },
            (None, None, Some(_)) => {
                return Err(spec_error(
                    source_name,
                    line,
                    format!(
                        "SLO {:?}: SLI plugins are not supported by tocsin (they are Go code run by Sloth); write the SLI as `events` or `raw`",
                        name
                    ),
                ));
            }
            _ => {
                return Err(spec_error(
                    source_name,
                    line,
                    format!(
                        "SLO {:?}: `sli` needs exactly one of `events` (error_query, total_query) or `raw` (error_ratio_query)",
                        name
                    ),
                ));
            }
        };
        let tocsin = s.tocsin.unwrap_or_default();
        let alerting = Alerting {
            page: AlertMeta {
                disable: s.alerting.page_alert.disable,
                labels: merged(&s.alerting.labels, &s.alerting.page_alert.labels),
                annotations: merged(&s.alerting.annotations, &s.alerting.page_alert.annotations),
            },
            ticket: AlertMeta {
                disable: s.alerting.ticket_alert.disable,
                labels: merged(&s.alerting.labels, &s.alerting.ticket_alert.labels),
                annotations: merged(
                    &s.alerting.annotations,
                    &s.alerting.ticket_alert.annotations,
                ),
            },
            name: s.alerting.name,
            labels: s.alerting.labels,
            annotations: s.alerting.annotations,
        };
        if alerting.name.is_empty() && !(alerting.page.disable && alerting.ticket.disable) {
            return Err(spec_error(
                source_name,
                line,
                format!(
                    "SLO {:?}: `alerting.name` is required unless both page_alert and ticket_alert are disabled",
                    name
                ),
            ));
        }
        let slo = Slo {
            id: format!("{}-{name}", spec.service),
            service: spec.service.clone(),
            name,
            description: s.description,
            objective: s.objective,
            labels: merged(&spec.labels, &s.labels),
            sli,
            window: sloth_window(source_name, line, &tocsin)?,
            budgeting: Budgeting::Occurrences,
            alerting,
            format: SpecFormat::SlothV1,
            tocsin,
        };
        validate(source_name, line, &slo)?;
        out.push(slo);
    }
    Ok(out)
}
