use std::collections::BTreeMap;

use tocsin_store::incident::{
    ActionItemRow, BudgetRow, FEATURE, IncidentAlertRow, IncidentFilter, IncidentRow, Inserted,
    PostmortemRow, RunbookRunRow, TimelineRow,
};

use crate::on_both;

fn incident(key: &str, opened: i64) -> IncidentRow {
    IncidentRow {
        title: format!("incident {key}"),
        service: "checkout".to_owned(),
        team: "payments".to_owned(),
        severity: "SEV2".to_owned(),
        status: "triage".to_owned(),
        source_kind: "pagerduty".to_owned(),
        source_key: Some(key.to_owned()),
        open_key: Some(format!("pagerduty:{key}")),
        opened_at: opened,
        labels: BTreeMap::from([("component".to_owned(), "postgres".to_owned())]),
        updated_at: opened,
        ..IncidentRow::default()
    }
}

fn note(at: i64, message: &str) -> TimelineRow {
    TimelineRow {
        id: 0,
        incident_id: 0,
        at,
        kind: "note".to_owned(),
        actor: Some("alice".to_owned()),
        message: message.to_owned(),
        detail: "{}".to_owned(),
    }
}

#[tokio::test]
async fn incidents_are_numbered_deduplicated_while_open_and_updated_compare_and_set() {
    on_both("incident_rows", |store| async move {
        store.migrate(&FEATURE).await.unwrap();
        store.migrate(&FEATURE).await.unwrap();
        let repo = store.incident();
        let first = repo
            .insert_incident(&incident("a", 1_000), &[note(1_000, "opened")])
            .await
            .unwrap();
        assert_eq!(first, Inserted::New(1));
        let second = repo
            .insert_incident(&incident("b", 2_000), &[])
            .await
            .unwrap();
        assert_eq!(second, Inserted::New(2));
        // The same open key again: the open incident is returned, nothing is inserted.
        let Inserted::Existing(existing) = repo
            .insert_incident(&incident("a", 3_000), &[])
            .await
            .unwrap()
        else {
            panic!("a second insert with an open key must find the first");
        };
        assert_eq!(existing.id, 1);
        assert_eq!(existing.labels["component"], "postgres");

        let mut row = repo.get(1).await.unwrap().unwrap();
        let token = row.updated_at;
        row.status = "resolved".to_owned();
        row.resolved_at = Some(5_000);
        row.open_key = None;
        row.updated_at = 5_000;
        assert!(
            repo.update_incident(&row, token, &[note(5_000, "fixed")])
                .await
                .unwrap()
        );
        // A writer holding the old token loses.
        row.title = "stale".to_owned();
        assert!(
            !repo
                .update_incident(&row, token, &[note(5_001, "lost")])
                .await
                .unwrap()
        );
        let stored = repo.get(1).await.unwrap().unwrap();
        assert_eq!(stored.title, "incident a");
        assert_eq!(stored.resolved_at, Some(5_000));
        let messages: Vec<String> = repo
            .timeline(1)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(messages, ["opened", "fixed"]);
        // Resolved freed the key: the same source opens incident 3.
        assert_eq!(
            repo.insert_incident(&incident("a", 6_000), &[])
                .await
                .unwrap(),
            Inserted::New(3)
        );
        assert_eq!(repo.find_open("pagerduty:a").await.unwrap().unwrap().id, 3);
        assert_eq!(
            repo.find_latest_by_source("pagerduty", "a")
                .await
                .unwrap()
                .unwrap()
                .id,
            3
        );

        let open = repo
            .list(&IncidentFilter {
                statuses: vec!["triage".to_owned()],
                opened_since: Some(1_500),
                ..IncidentFilter::default()
            })
            .await
            .unwrap();
        let ids: Vec<i64> = open.iter().map(|i| i.id).collect();
        assert_eq!(ids, [3, 2]);
        let team = repo
            .list(&IncidentFilter {
                team: Some("payments".to_owned()),
                opened_until: Some(2_000),
                limit: Some(5),
                ..IncidentFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(team.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn alerts_budgets_postmortems_action_items_and_runs_round_trip() {
    on_both("incident_children", |store| async move {
        store.migrate(&FEATURE).await.unwrap();
        let repo = store.incident();
        repo.insert_incident(&incident("x", 1_000), &[])
            .await
            .unwrap();
        let mut alert = IncidentAlertRow {
            incident_id: 1,
            fingerprint: "00ff".to_owned(),
            labels: BTreeMap::from([("alertname".to_owned(), "Down".to_owned())]),
            starts_at: 900,
            resolved_at: None,
        };
        repo.upsert_alert(&alert).await.unwrap();
        alert.resolved_at = Some(2_000);
        repo.upsert_alert(&alert).await.unwrap();
        assert_eq!(repo.alerts(1).await.unwrap(), vec![alert]);

        let budget = BudgetRow {
            incident_id: 1,
            slo: "availability".to_owned(),
            consumed: 0.25,
            bad_events: Some(120.0),
            total_events: None,
            at: 2_000,
        };
        repo.upsert_budget(&budget).await.unwrap();
        assert_eq!(repo.budgets(1).await.unwrap(), vec![budget.clone()]);
        assert_eq!(repo.budgets_above(0.2).await.unwrap(), vec![budget]);
        assert!(repo.budgets_above(0.3).await.unwrap().is_empty());

        let pm = PostmortemRow {
            incident_id: 1,
            status: "draft".to_owned(),
            markdown: "# PM".to_owned(),
            created_by: "alice".to_owned(),
            created_at: 3_000,
            updated_at: 3_000,
        };
        repo.upsert_postmortem(&pm).await.unwrap();
        repo.upsert_postmortem(&PostmortemRow {
            status: "published".to_owned(),
            created_at: 9,
            updated_at: 4_000,
            ..pm.clone()
        })
        .await
        .unwrap();
        let stored = repo.postmortem(1).await.unwrap().unwrap();
        assert_eq!(
            (stored.status.as_str(), stored.created_at, stored.updated_at),
            ("published", 3_000, 4_000)
        );
        assert_eq!(repo.postmortem_ids().await.unwrap(), vec![1]);

        let mut item = ActionItemRow {
            id: 0,
            incident_id: 1,
            title: "canary".to_owned(),
            owner: "bob".to_owned(),
            due_at: Some(10_000),
            priority: "P2".to_owned(),
            link: None,
            status: "open".to_owned(),
            created_at: 3_000,
            updated_at: 3_000,
        };
        item.id = repo.insert_action_item(&item).await.unwrap();
        item.status = "done".to_owned();
        assert!(repo.update_action_item(&item).await.unwrap());
        assert_eq!(repo.action_item(item.id).await.unwrap(), Some(item.clone()));
        assert_eq!(
            repo.action_items(Some(1)).await.unwrap(),
            vec![item.clone()]
        );
        assert_eq!(repo.action_items(None).await.unwrap().len(), 1);
        assert!(repo.delete_action_item(item.id).await.unwrap());
        assert!(!repo.delete_action_item(item.id).await.unwrap());

        let mut run = RunbookRunRow {
            id: 0,
            incident_id: 1,
            action: "restart".to_owned(),
            requested_by: "alice".to_owned(),
            trigger: "request".to_owned(),
            started_at: 5_000,
            finished_at: 5_100,
            invocation: r#"{"kind":"command","argv":["/bin/echo"]}"#.to_owned(),
            outcome: "success".to_owned(),
            exit_status: Some(0),
            output: "ok\n".to_owned(),
            truncated: true,
        };
        run.id = repo.insert_runbook_run(&run).await.unwrap();
        assert_eq!(repo.runbook_runs(1).await.unwrap(), vec![run]);
    })
    .await;
}
