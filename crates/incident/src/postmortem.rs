//! Post-mortems: the Markdown draft generated from an incident (summary, quantified impact,
//! timeline, sections for people to fill, action items), action item validation, and the
//! policy report (incidents that burned more than the threshold of a budget without a
//! post-mortem; overdue action items).

use std::fmt::Write as _;

use serde::Serialize;
use tocsin_store::incident::{ActionItemRow, BudgetRow, RunbookRunRow, TimelineRow};

use crate::model::{Incident, rfc3339};
use crate::stats::times;

/// Action item priorities.
pub const PRIORITIES: [&str; 4] = ["P1", "P2", "P3", "P4"];
/// Action item statuses; the last two are finished.
pub const ITEM_STATUSES: [&str; 4] = ["open", "in_progress", "done", "wont_do"];

/// Whether an action item still needs work.
pub fn item_is_open(status: &str) -> bool {
    matches!(status, "open" | "in_progress")
}

/// Everything the draft is made of.
#[derive(Debug)]
pub struct DraftInput<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// Its timeline.
    pub timeline: &'a [TimelineRow],
    /// Error budget burned per SLO.
    pub budgets: &'a [BudgetRow],
    /// Action items.
    pub action_items: &'a [ActionItemRow],
    /// Runbook actions that ran.
    pub runbook_runs: &'a [RunbookRunRow],
    /// Alerts covered: (fingerprint, alertname or summary, firing since, resolved at).
    pub alerts: usize,
}

/// `1h 2m 3s`.
pub fn human_duration(seconds: f64) -> String {
    let total = seconds.round() as i64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown draft.
pub fn draft(input: &DraftInput<'_>) -> String {
    let i = input.incident;
    let t = times(i);
    let mut md = String::new();
    let _ = writeln!(md, "# Post-mortem: {} {}\n", i.id, i.title);
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Service | {} |", cell(&i.service));
    if !i.team.is_empty() {
        let _ = writeln!(md, "| Team | {} |", cell(&i.team));
    }
    let _ = writeln!(md, "| Severity | {} |", i.severity);
    let _ = writeln!(md, "| Status | {} |", i.status);
    let _ = writeln!(
        md,
        "| Source | {}{} |",
        i.source.as_str(),
        i.source_key
            .as_deref()
            .map(|k| format!(" `{}`", cell(k)))
            .unwrap_or_default()
    );
    for (role, who) in [
        ("Incident commander", &i.roles.commander),
        ("Scribe", &i.roles.scribe),
        ("Communications", &i.roles.communications),
    ] {
        let _ = writeln!(
            md,
            "| {role} | {} |",
            who.as_deref()
                .map_or_else(|| "_unassigned_".to_owned(), cell)
        );
    }
    if let Some(url) = &i.runbook_url {
        let _ = writeln!(md, "| Runbook | {url} |");
    }

    md.push_str("\n## Summary\n\n");
    let _ = writeln!(
        md,
        "{} ({}) on {} was opened at {}{}.",
        i.id,
        i.severity,
        i.service,
        rfc3339(i.opened_at),
        i.resolved_at
            .map(|r| format!(" and resolved at {}", rfc3339(r)))
            .unwrap_or_else(|| " and is not resolved yet".to_owned())
    );
    md.push_str("\n_Describe what happened in two or three sentences._\n");

    md.push_str("\n## Impact\n\n");
    if let Some(detected) = i.detected_at {
        let end = i.resolved_at.unwrap_or(i.updated_at);
        let _ = writeln!(
            md,
            "- Duration of impact: {} (problem began {}, per the source)",
            human_duration((end - detected).max(0) as f64 / 1000.0),
            rfc3339(detected)
        );
    }
    if let Some(s) = t.time_to_detect_seconds {
        let _ = writeln!(md, "- Time to detect: {}", human_duration(s));
    }
    match t.time_to_acknowledge_seconds {
        Some(s) => {
            let _ = writeln!(md, "- Time to acknowledge: {}", human_duration(s));
        }
        None => md.push_str("- Time to acknowledge: not acknowledged\n"),
    }
    if let Some(m) = i.mitigated_at {
        let _ = writeln!(
            md,
            "- Time to mitigate: {}",
            human_duration((m - i.opened_at).max(0) as f64 / 1000.0)
        );
    }
    match t.time_to_resolve_seconds {
        Some(s) => {
            let _ = writeln!(md, "- Time to resolve: {}", human_duration(s));
        }
        None => md.push_str("- Time to resolve: not resolved\n"),
    }
    let _ = writeln!(md, "- Alerts: {}", input.alerts);
    if input.budgets.is_empty() {
        md.push_str("- Error budget: no SLO of this service recorded budget burned\n");
    } else {
        md.push_str("\n| SLO | Error budget consumed | Bad events | Total events |\n");
        md.push_str("|---|---:|---:|---:|\n");
        for b in input.budgets {
            let events = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"));
            let _ = writeln!(
                md,
                "| {} | {:.1}% | {} | {} |",
                cell(&b.slo),
                b.consumed * 100.0,
                events(b.bad_events),
                events(b.total_events)
            );
        }
    }

    md.push_str(
        "\n## Timeline\n\nAll times UTC.\n\n| Time | Event | Who | What |\n|---|---|---|---|\n",
    );
    for e in input.timeline {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            rfc3339(e.at),
            e.kind,
            e.actor.as_deref().map_or_else(String::new, cell),
            cell(&e.message)
        );
    }
    if !input.runbook_runs.is_empty() {
        md.push_str("\n## Automated runbook actions\n\n| Action | Started | Requested by | Outcome |\n|---|---|---|---|\n");
        for r in input.runbook_runs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {}{} |",
                cell(&r.action),
                rfc3339(r.started_at),
                cell(&r.requested_by),
                r.outcome,
                r.exit_status.map(|s| format!(" ({s})")).unwrap_or_default()
            );
        }
    }
    for section in [
        "Contributing factors",
        "What went well",
        "What went badly",
        "Where we got lucky",
    ] {
        let _ = write!(md, "\n## {section}\n\n_To be filled in._\n");
    }
    md.push_str("\n## Action items\n\n");
    if input.action_items.is_empty() {
        md.push_str("_None yet: add them with `tocsin postmortem actions add`._\n");
    } else {
        md.push_str("| # | Item | Owner | Due | Priority | Status | Link |\n|---|---|---|---|---|---|---|\n");
        for a in input.action_items {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                a.id,
                cell(&a.title),
                cell(&a.owner),
                a.due_at
                    .map(|d| rfc3339(d)[..10].to_owned())
                    .unwrap_or_default(),
                a.priority,
                a.status,
                a.link.as_deref().map_or_else(String::new, cell)
            );
        }
    }
    md
}

/// An incident the policy says needs a post-mortem it does not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingPostmortem {
    /// `INC-42`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Service.
    pub service: String,
    /// Why it needs one.
    pub reason: String,
}

/// An action item past its due date and not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueItem {
    /// Item id.
    pub id: i64,
    /// `INC-42`.
    pub incident: String,
    /// Title.
    pub title: String,
    /// Owner.
    pub owner: String,
    /// Due (RFC 3339).
    pub due: String,
    /// Days overdue (whole days).
    pub days_overdue: i64,
    /// Priority.
    pub priority: String,
}

/// What the policy report finds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyReport {
    /// Budget threshold applied (fraction).
    pub budget_threshold: f64,
    /// Incidents missing a post-mortem.
    pub missing_postmortems: Vec<MissingPostmortem>,
    /// Overdue action items, most overdue first.
    pub overdue_action_items: Vec<OverdueItem>,
}

/// Overdue items of `items` at `now`.
pub fn overdue(items: &[ActionItemRow], now: i64) -> Vec<OverdueItem> {
    let mut out: Vec<OverdueItem> = items
        .iter()
        .filter(|a| item_is_open(&a.status))
        .filter_map(|a| {
            let due = a.due_at?;
            (due < now).then(|| OverdueItem {
                id: a.id,
                incident: crate::model::display_id(a.incident_id),
                title: a.title.clone(),
                owner: a.owner.clone(),
                due: rfc3339(due),
                days_overdue: (now - due) / 86_400_000,
                priority: a.priority.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.days_overdue.cmp(&a.days_overdue).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Roles, Severity, SourceKind, Status, TimelineKind, entry};

    const T0: i64 = 1_764_388_800_000; // 2025-11-29T04:00:00Z

    #[test]
    fn draft_has_impact_timeline_and_sections() {
        let incident = Incident {
            id: "INC-7".to_owned(),
            number: 7,
            title: "Checkout errors above SLO".to_owned(),
            service: "checkout".to_owned(),
            team: "payments".to_owned(),
            severity: Severity::Sev2,
            status: Status::Resolved,
            source: SourceKind::AlertGroup,
            source_key: Some("{}:{alertname=\"CheckoutErrors\"}".to_owned()),
            detected_at: Some(T0 - 120_000),
            opened_at: T0,
            acknowledged_at: Some(T0 + 180_000),
            mitigated_at: Some(T0 + 900_000),
            resolved_at: Some(T0 + 2_700_000),
            closed_at: None,
            cancelled_at: None,
            roles: Roles {
                commander: Some("alice".to_owned()),
                scribe: None,
                communications: Some("bob".to_owned()),
            },
            runbook_url: Some("https://runbooks.example.com/checkout".to_owned()),
            labels: BTreeMap::new(),
            updated_at: T0 + 2_700_000,
        };
        let timeline: Vec<TimelineRow> = [
            entry(
                T0,
                TimelineKind::Opened,
                Some("tocsin"),
                "opened from alert group (1 alert)",
                serde_json::json!({}),
            ),
            entry(
                T0 + 60_000,
                TimelineKind::PageSent,
                Some("tocsin"),
                "paged alice (webhook)",
                serde_json::json!({}),
            ),
            entry(
                T0 + 180_000,
                TimelineKind::Status,
                Some("alice"),
                "triage → acknowledged",
                serde_json::json!({}),
            ),
            entry(
                T0 + 300_000,
                TimelineKind::Note,
                Some("alice"),
                "rolling back | v2.3",
                serde_json::json!({}),
            ),
            entry(
                T0 + 900_000,
                TimelineKind::Status,
                Some("alice"),
                "acknowledged → mitigated",
                serde_json::json!({}),
            ),
            entry(
                T0 + 2_700_000,
                TimelineKind::Status,
                Some("alice"),
                "mitigated → resolved",
                serde_json::json!({}),
            ),
        ]
        .into_iter()
        .collect();
        let budgets = [BudgetRow {
            incident_id: 7,
            slo: "checkout-availability".to_owned(),
            consumed: 0.234,
            bad_events: Some(5120.0),
            total_events: Some(410_000.0),
            at: T0 + 2_700_000,
        }];
        let items = [ActionItemRow {
            id: 1,
            incident_id: 7,
            title: "Alert on deploy error rate".to_owned(),
            owner: "carol".to_owned(),
            due_at: Some(T0 + 14 * 86_400_000),
            priority: "P2".to_owned(),
            link: Some("https://tracker.example.com/OPS-1".to_owned()),
            status: "open".to_owned(),
            created_at: T0,
            updated_at: T0,
        }];
        let runs = [RunbookRunRow {
            id: 1,
            incident_id: 7,
            action: "restart".to_owned(),
            requested_by: "alice".to_owned(),
            trigger: "request".to_owned(),
            started_at: T0 + 400_000,
            finished_at: T0 + 401_000,
            invocation: "{}".to_owned(),
            outcome: "success".to_owned(),
            exit_status: Some(0),
            output: String::new(),
            truncated: false,
        }];
        let md = draft(&DraftInput {
            incident: &incident,
            timeline: &timeline,
            budgets: &budgets,
            action_items: &items,
            runbook_runs: &runs,
            alerts: 1,
        });
        insta::assert_snapshot!(md);
    }

    #[test]
    fn overdue_items_are_open_and_past_due_most_overdue_first() {
        let item = |id: i64, due: Option<i64>, status: &str| ActionItemRow {
            id,
            incident_id: 3,
            title: format!("item {id}"),
            owner: "o".to_owned(),
            due_at: due,
            priority: "P3".to_owned(),
            link: None,
            status: status.to_owned(),
            created_at: 0,
            updated_at: 0,
        };
        let day = 86_400_000;
        let now = 100 * day;
        let items = [
            item(1, Some(now - 2 * day), "open"),
            item(2, Some(now - 9 * day), "in_progress"),
            item(3, Some(now - 9 * day), "done"),
            item(4, Some(now + day), "open"),
            item(5, None, "open"),
        ];
        let got: Vec<(i64, i64)> = overdue(&items, now)
            .into_iter()
            .map(|o| (o.id, o.days_overdue))
            .collect();
        assert_eq!(got, vec![(2, 9), (1, 2)]);
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(59.6), "1m 0s");
        assert_eq!(human_duration(3725.0), "1h 2m 5s");
        assert_eq!(human_duration(0.0), "0s");
    }
}
