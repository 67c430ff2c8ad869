use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_incident::IncidentMetrics;
use tocsin_incident::config::IncidentsFile;
use tocsin_incident::model::{Role, Status};
use tocsin_incident::pagerduty;
use tocsin_incident::{
    ActionItemRequest, AlertGroup, GroupAlert, Impact, Incidents, NoImpact, OpenRequest,
};
use tocsin_store::Store;

use crate::{FakeClock, FixedImpact, RecordingPaging, on_both};

/// 2026-11-23T00:00:00Z, a Monday.
const T0: i64 = 1_795_392_000_000;
const MIN: i64 = 60_000;
const KEY: &str = "0123456789abcdef0123456789abcdef";

fn file() -> IncidentsFile {
    IncidentsFile::parse(
        "incidents.yml",
        &format!(
            "services:\n  checkout:\n    team: payments\n    integration_keys: [{KEY}]\n    runbook_url: https://runbooks.example.com/checkout\n    escalation_policy: payments-primary\nallowed_commands: [/bin/echo]\nrunbook_actions:\n  echo-host:\n    command: [/bin/echo, \"restarting\", \"{{{{host}}}}\"]\n    params:\n      host: {{label: instance}}\n    services: [checkout]\n"
        ),
    )
    .unwrap()
}

async fn stage(
    store: Store,
    clock: Arc<FakeClock>,
    paging: Arc<RecordingPaging>,
    impact: Arc<dyn Impact>,
) -> Incidents {
    counting_stage(
        store,
        clock,
        paging,
        impact,
        IncidentMetrics::unregistered(),
    )
    .await
}

/// [`stage`] counting into `metrics`.
async fn counting_stage(
    store: Store,
    clock: Arc<FakeClock>,
    paging: Arc<RecordingPaging>,
    impact: Arc<dyn Impact>,
    metrics: IncidentMetrics,
) -> Incidents {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Incidents::start(
        store,
        clock,
        paging,
        impact,
        file(),
        reqwest::Client::new(),
        metrics,
    )
    .await
    .unwrap()
}

/// A SEV2 incident on checkout, opened by hand by alice.
async fn open_by_hand(incidents: &Incidents) -> tocsin_incident::model::Incident {
    incidents
        .open(OpenRequest {
            title: "Checkout down".to_owned(),
            service: "checkout".to_owned(),
            severity: Some("SEV2".to_owned()),
            by: Some("alice".to_owned()),
            ..OpenRequest::default()
        })
        .await
        .unwrap()
}

fn group(key: &str, firing: bool, starts_at: i64) -> AlertGroup {
    let labels = BTreeMap::from([
        ("alertname".to_owned(), "CheckoutErrors".to_owned()),
        ("service".to_owned(), "checkout".to_owned()),
        ("severity".to_owned(), "critical".to_owned()),
        ("instance".to_owned(), "web-1".to_owned()),
    ]);
    AlertGroup {
        group_key: key.to_owned(),
        common_labels: labels.clone(),
        common_annotations: BTreeMap::from([(
            "summary".to_owned(),
            "Checkout error ratio above SLO".to_owned(),
        )]),
        alerts: vec![GroupAlert {
            fingerprint: "a1b2c3d4e5f60718".to_owned(),
            firing,
            labels,
            annotations: BTreeMap::new(),
            starts_at,
            ends_at: (!firing).then_some(starts_at + 40 * MIN),
        }],
        service: None,
        escalation_policy: None,
    }
}

#[tokio::test]
async fn an_alert_group_opens_an_incident_and_mtta_mttd_mttr_follow_the_clock() {
    on_both("incident_lifecycle", |store| async move {
        let clock = FakeClock::at(T0);
        let paging = Arc::new(RecordingPaging::default());
        let incidents = stage(
            store,
            Arc::clone(&clock),
            Arc::clone(&paging),
            Arc::new(FixedImpact(0.3)),
        )
        .await;
        let opened = incidents
            .alert_group(&group("{}:{alertname=\"CheckoutErrors\"}", true, T0 - 3 * MIN))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened.id, "INC-1");
        assert_eq!(opened.status, Status::Triage);
        assert_eq!(opened.severity.as_str(), "SEV1");
        assert_eq!(opened.team, "payments");
        assert_eq!(opened.detected_at, Some(T0 - 3 * MIN));
        // The same group again adds nothing and opens nothing.
        clock.advance(MIN);
        let again = incidents
            .alert_group(&group("{}:{alertname=\"CheckoutErrors\"}", true, T0 - 3 * MIN))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, "INC-1");

        clock.advance(MIN);
        let err = incidents
            .transition(1, Status::Closed, "alice", None)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "INC-1 is triage; it cannot become closed (from triage it can become acknowledged, mitigated, resolved, cancelled)"
        );
        incidents
            .transition(1, Status::Acknowledged, "alice", None)
            .await
            .unwrap();
        incidents
            .assign(1, Role::Commander, Some("alice"), "alice")
            .await
            .unwrap();
        clock.advance(8 * MIN);
        incidents
            .transition(1, Status::Mitigated, "alice", Some("rolled back"))
            .await
            .unwrap();
        incidents.note(1, "error rate back to normal", "bob").await.unwrap();
        clock.advance(20 * MIN);
        incidents
            .alert_group(&group("{}:{alertname=\"CheckoutErrors\"}", false, T0 - 3 * MIN))
            .await
            .unwrap();
        let resolved = incidents
            .transition(1, Status::Resolved, "alice", None)
            .await
            .unwrap();
        assert_eq!(resolved.acknowledged_at, Some(T0 + 2 * MIN));
        assert_eq!(resolved.resolved_at, Some(T0 + 30 * MIN));
        assert_eq!(resolved.roles.commander.as_deref(), Some("alice"));
        let err = incidents
            .transition(1, Status::Acknowledged, "alice", None)
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 409);

        let times = tocsin_incident::stats::times(&resolved);
        assert_eq!(times.time_to_acknowledge_seconds, Some(120.0));
        assert_eq!(times.time_to_detect_seconds, Some(180.0));
        assert_eq!(times.time_to_resolve_seconds, Some(1800.0));
        let report = incidents
            .metrics(T0 - 7 * 86_400_000, T0 + 7 * 86_400_000, None, None)
            .await
            .unwrap();
        assert_eq!(report.overall.mtta_seconds, Some(120.0));
        assert_eq!(report.overall.mttr_seconds, Some(1800.0));
        assert_eq!(report.by_team["payments"].incidents, 1);
        assert_eq!(report.weeks.len(), 2);
        assert_eq!(report.weeks[1].start, T0);
        assert_eq!(report.weeks[1].summary.incidents, 1);

        assert_eq!(
            paging.0.lock().clone(),
            vec![
                "start INC-1 checkout Some(\"payments-primary\") SEV1".to_owned(),
                "ack INC-1 alice".to_owned(),
                "ack INC-1 alice".to_owned(),
                "resolve INC-1".to_owned(),
            ]
        );
        let kinds: Vec<String> = incidents
            .timeline(1)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "opened",
                "runbook_link",
                "alert_firing",
                "status",
                "role",
                "status",
                "note",
                "alert_resolved",
                "alert_resolved",
                "status",
                "slo_budget",
            ]
        );
        let budgets = incidents.budgets(1).await.unwrap();
        assert_eq!(budgets.len(), 1);
        assert_eq!(budgets[0].slo, "checkout-availability");
        assert_eq!(budgets[0].bad_events, Some(3300.0));

        // Resolved frees the group: the next firing opens a new incident.
        clock.advance(MIN);
        let next = incidents
            .alert_group(&group("{}:{alertname=\"CheckoutErrors\"}", true, T0 + 31 * MIN))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.id, "INC-2");
    })
    .await;
}

fn pd(action: &str, dedup: Option<&str>, routing_key: &str) -> pagerduty::Event {
    let mut body = serde_json::json!({
        "routing_key": routing_key,
        "event_action": action,
        "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "error",
                    "timestamp": "2026-11-22T23:58:00.000+0000", "component": "postgres"},
        "links": [{"href": "https://grafana.example.com/d/db", "text": "dashboard"}],
    });
    if let Some(d) = dedup {
        body["dedup_key"] = d.into();
    }
    pagerduty::decode(body.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn pagerduty_events_open_dedup_acknowledge_and_resolve() {
    on_both("incident_pagerduty", |store| async move {
        let clock = FakeClock::at(T0);
        let paging = Arc::new(RecordingPaging::default());
        let incidents = stage(store, Arc::clone(&clock), paging, Arc::new(NoImpact)).await;
        let first = incidents
            .pagerduty(pd("trigger", Some("disk-db-1"), KEY))
            .await
            .unwrap();
        assert_eq!(first.dedup_key, "disk-db-1");
        assert_eq!(first.incident.as_deref(), Some("INC-1"));
        clock.advance(MIN);
        let second = incidents
            .pagerduty(pd("trigger", Some("disk-db-1"), KEY))
            .await
            .unwrap();
        assert_eq!(
            second.incident.as_deref(),
            Some("INC-1"),
            "same dedup key, same incident"
        );
        let listed = incidents.list(&Default::default()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].severity.as_str(), "SEV2");
        assert_eq!(listed[0].detected_at, Some(T0 - 2 * MIN));
        assert_eq!(listed[0].labels["component"], "postgres");

        clock.advance(MIN);
        incidents
            .pagerduty(pd("acknowledge", Some("disk-db-1"), KEY))
            .await
            .unwrap();
        clock.advance(MIN);
        incidents
            .pagerduty(pd("resolve", Some("disk-db-1"), KEY))
            .await
            .unwrap();
        let resolved = incidents.get(1).await.unwrap();
        assert_eq!(resolved.status, Status::Resolved);
        assert_eq!(resolved.acknowledged_at, Some(T0 + 2 * MIN));
        assert_eq!(resolved.resolved_at, Some(T0 + 3 * MIN));
        let kinds: Vec<String> = incidents
            .timeline(1)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            // The service's runbook, the event's link; the repeat with its link; ack; resolve.
            [
                "opened",
                "runbook_link",
                "runbook_link",
                "pagerduty",
                "runbook_link",
                "status",
                "status"
            ]
        );

        // After resolution the key is free: acknowledge is dropped, trigger opens anew.
        let dropped = incidents
            .pagerduty(pd("acknowledge", Some("disk-db-1"), KEY))
            .await
            .unwrap();
        assert_eq!(dropped.incident, None);
        let reopened = incidents
            .pagerduty(pd("trigger", Some("disk-db-1"), KEY))
            .await
            .unwrap();
        assert_eq!(reopened.incident.as_deref(), Some("INC-2"));
        // No dedup key: one is generated, and each such trigger is its own incident.
        let generated = incidents.pagerduty(pd("trigger", None, KEY)).await.unwrap();
        assert_eq!(generated.dedup_key.len(), 32);
        assert_eq!(generated.incident.as_deref(), Some("INC-3"));

        let err = incidents
            .pagerduty(pd("trigger", Some("x"), "unknown-key"))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert_eq!(
            err.to_string(),
            "'routing_key' is not the integration key of any service in the incidents file"
        );
    })
    .await;
}

#[tokio::test]
async fn postmortem_policy_reports_missing_postmortems_and_overdue_items() {
    on_both("incident_policy", |store| async move {
        let clock = FakeClock::at(T0);
        let paging = Arc::new(RecordingPaging::default());
        let incidents = stage(
            store,
            Arc::clone(&clock),
            paging,
            Arc::new(FixedImpact(0.25)),
        )
        .await;
        let burned = open_by_hand(&incidents).await;
        clock.advance(10 * MIN);
        incidents
            .transition(burned.number, Status::Resolved, "alice", None)
            .await
            .unwrap();
        let cancelled = incidents
            .open(OpenRequest {
                title: "False alarm".to_owned(),
                service: "checkout".to_owned(),
                ..OpenRequest::default()
            })
            .await
            .unwrap();
        incidents
            .transition(cancelled.number, Status::Cancelled, "bob", None)
            .await
            .unwrap();

        let report = incidents.policy().await.unwrap();
        assert_eq!(report.missing_postmortems.len(), 1, "{report:?}");
        assert_eq!(report.missing_postmortems[0].id, "INC-1");
        assert_eq!(
            report.missing_postmortems[0].reason,
            "burned 25.0% of SLO checkout-availability's error budget (policy: more than 20%)"
        );

        let item = incidents
            .add_action_item(
                1,
                ActionItemRequest {
                    title: Some("Add a canary".to_owned()),
                    owner: Some("carol".to_owned()),
                    due: Some("2026-11-25".to_owned()),
                    priority: Some("p2".to_owned()),
                    ..ActionItemRequest::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(item.priority, "P2");
        let bad = incidents
            .add_action_item(
                1,
                ActionItemRequest {
                    title: Some("x".into()),
                    owner: Some("y".into()),
                    priority: Some("P9".into()),
                    ..ActionItemRequest::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            bad.to_string(),
            "priority \"P9\" is not one of P1, P2, P3, P4"
        );

        let markdown = incidents.postmortem_draft(1, "alice", true).await.unwrap();
        assert!(
            markdown.contains("| checkout-availability | 25.0% |"),
            "{markdown}"
        );
        assert!(markdown.contains("Add a canary"));
        clock.advance(3 * 86_400_000);
        let report = incidents.policy().await.unwrap();
        assert!(report.missing_postmortems.is_empty());
        assert_eq!(report.overdue_action_items.len(), 1);
        assert_eq!(report.overdue_action_items[0].days_overdue, 1);

        incidents
            .update_action_item(
                item.id,
                ActionItemRequest {
                    status: Some("done".into()),
                    ..ActionItemRequest::default()
                },
            )
            .await
            .unwrap();
        assert!(
            incidents
                .policy()
                .await
                .unwrap()
                .overdue_action_items
                .is_empty()
        );
        incidents.delete_action_item(item.id).await.unwrap();
        assert!(incidents.delete_action_item(item.id).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn runbook_actions_run_with_label_parameters_and_are_audited() {
    on_both("incident_runbook", |store| async move {
        let clock = FakeClock::at(T0);
        let paging = Arc::new(RecordingPaging::default());
        let incidents = stage(store, Arc::clone(&clock), paging, Arc::new(NoImpact)).await;
        let incident = incidents
            .open(OpenRequest {
                title: "Web node unhealthy".to_owned(),
                service: "checkout".to_owned(),
                labels: BTreeMap::from([("instance".to_owned(), "web-1:8080".to_owned())]),
                ..OpenRequest::default()
            })
            .await
            .unwrap();
        let run = incidents
            .run_action(
                incident.number,
                "echo-host",
                "alice",
                &BTreeMap::new(),
                "request",
            )
            .await
            .unwrap();
        assert_eq!(run.outcome, "success");
        assert_eq!(run.output, "restarting web-1:8080\n");
        assert_eq!(run.requested_by, "alice");
        let audit = incidents.runbook_runs(incident.number).await.unwrap();
        assert_eq!(audit, vec![run]);
        let timeline = incidents.timeline(incident.number).await.unwrap();
        let last = timeline.last().unwrap();
        assert_eq!(last.kind, "runbook_action");
        assert_eq!(
            last.message,
            "runbook action echo-host: success (exit status 0)"
        );

        let injected = incidents
            .run_action(
                incident.number,
                "echo-host",
                "mallory",
                &BTreeMap::from([("host".to_owned(), "--help".to_owned())]),
                "request",
            )
            .await
            .unwrap_err();
        assert!(
            injected.to_string().contains("starts with '-'"),
            "{injected}"
        );
        let unknown = incidents
            .run_action(
                incident.number,
                "rm-rf",
                "mallory",
                &BTreeMap::new(),
                "request",
            )
            .await
            .unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "runbook action \"rm-rf\": no such action; the incidents file defines: echo-host"
        );
        assert_eq!(
            incidents.runbook_runs(incident.number).await.unwrap().len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn acknowledging_the_page_acknowledges_the_incident_without_telling_paging_again() {
    on_both("incident_page_ack", |store| async move {
        let clock = FakeClock::at(T0);
        let paging = Arc::new(RecordingPaging::default());
        let incidents = stage(
            store,
            Arc::clone(&clock),
            Arc::clone(&paging),
            Arc::new(NoImpact),
        )
        .await;
        incidents
            .open(OpenRequest {
                title: "Checkout slow".to_owned(),
                service: "checkout".to_owned(),
                ..OpenRequest::default()
            })
            .await
            .unwrap();
        clock.advance(4 * MIN);
        incidents
            .record_paging_event(
                "INC-1",
                "page_sent",
                "tocsin",
                "paged bob via inbox",
                serde_json::json!({}),
            )
            .await
            .unwrap();
        clock.advance(MIN);
        incidents
            .record_paging_event(
                "INC-1",
                "acked",
                "bob",
                "page acknowledged by bob",
                serde_json::json!({}),
            )
            .await
            .unwrap();
        let incident = incidents.get(1).await.unwrap();
        assert_eq!(incident.status, Status::Acknowledged);
        assert_eq!(incident.acknowledged_at, Some(T0 + 5 * MIN));
        assert_eq!(
            paging.0.lock().clone(),
            vec!["start INC-1 checkout Some(\"payments-primary\") SEV3".to_owned()]
        );
        let err = incidents
            .record_paging_event("INC-1", "exploded", "x", "y", serde_json::json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(
            incidents
                .record_paging_event("INC-9", "page_sent", "x", "y", serde_json::json!({}))
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn self_metrics_count_openings_status_changes_mtta_and_mttr() {
    on_both("incident_metrics", |store| async move {
        let clock = FakeClock::at(T0);
        let metrics = IncidentMetrics::unregistered();
        let incidents = counting_stage(
            store,
            Arc::clone(&clock),
            Arc::new(RecordingPaging::default()),
            Arc::new(NoImpact),
            metrics.clone(),
        )
        .await;
        let incident = open_by_hand(&incidents).await;
        clock.advance(3 * MIN);
        incidents
            .transition(incident.number, Status::Acknowledged, "alice", None)
            .await
            .unwrap();
        clock.advance(17 * MIN);
        incidents
            .transition(incident.number, Status::Resolved, "alice", None)
            .await
            .unwrap();
        assert_eq!(
            metrics.opened.with_label_values(&["manual", "SEV2"]).get(),
            1
        );
        for to in ["acknowledged", "resolved"] {
            assert_eq!(metrics.status_changes.with_label_values(&[to]).get(), 1);
        }
        assert_eq!(
            metrics
                .status_changes
                .with_label_values(&["mitigated"])
                .get(),
            0
        );
        assert_eq!(metrics.time_to_acknowledge.get_sample_count(), 1);
        assert_eq!(metrics.time_to_acknowledge.get_sample_sum(), 180.0);
        assert_eq!(metrics.time_to_resolve.get_sample_count(), 1);
        assert_eq!(metrics.time_to_resolve.get_sample_sum(), 1200.0);
    })
    .await;
}
