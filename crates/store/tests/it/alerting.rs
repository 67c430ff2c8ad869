use std::collections::BTreeMap;

use tocsin_store::alerting::{
    AckRow, AlertRow, FEATURE, FeedbackRow, HistoryFilter, HistoryRow, MatcherRow, NflogRow,
    ReportBy, ReportRow, SilenceRow,
};
use tocsin_store::{Backend, Store};

use crate::on_both;

fn alert(fp: &str, updated: i64) -> AlertRow {
    AlertRow {
        fingerprint: fp.to_owned(),
        labels: BTreeMap::from([("alertname".to_owned(), format!("A{fp}"))]),
        annotations: BTreeMap::from([("summary".to_owned(), "ünïcode \"quoted\"".to_owned())]),
        starts_at: 1_000,
        ends_at: 2_000,
        updated_at: updated,
        generator_url: "http://prom/graph".to_owned(),
        timeout: updated % 2 == 0,
    }
}

async fn migrated(store: &Store) {
    store.migrate(&FEATURE).await.unwrap();
    // Idempotent: a second run (another replica, a restart) changes nothing.
    store.migrate(&FEATURE).await.unwrap();
}

#[tokio::test]
async fn alerts_upsert_list_delete() {
    on_both("alerts", |store| async move {
        migrated(&store).await;
        let repo = store.alerting();
        let many: Vec<AlertRow> = (0..600).map(|i| alert(&format!("{i:016x}"), 5)).collect();
        repo.upsert_alerts(&many).await.unwrap();
        // Same fingerprint twice in one batch, and an update of an existing one.
        repo.upsert_alerts(&[alert("0000000000000001", 6), alert("0000000000000001", 7)])
            .await
            .unwrap();
        let mut listed = repo.list_alerts().await.unwrap();
        listed.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        assert_eq!(listed.len(), 600);
        assert_eq!(listed[1], alert("0000000000000001", 7));
        assert_eq!(listed[0], many[0]);
        repo.delete_alerts(&["0000000000000000".to_owned(), "nope".to_owned()])
            .await
            .unwrap();
        assert_eq!(repo.list_alerts().await.unwrap().len(), 599);
    })
    .await;
}

#[tokio::test]
async fn silences_round_trip_and_retention() {
    on_both("silences", |store| async move {
        migrated(&store).await;
        let repo = store.alerting();
        let mut s = SilenceRow {
            id: "a-b-c".to_owned(),
            matchers: vec![MatcherRow {
                name: "job".to_owned(),
                value: "api|web".to_owned(),
                is_regex: true,
                is_equal: true,
            }],
            starts_at: 10,
            ends_at: 20,
            updated_at: 10,
            created_by: "me".to_owned(),
            comment: "deploy".to_owned(),
            recurrence: None,
            warn_before: Some(5),
            warned_at: None,
        };
        repo.upsert_silence(&s).await.unwrap();
        s.ends_at = 30;
        s.warned_at = Some(25);
        repo.upsert_silence(&s).await.unwrap();
        assert_eq!(repo.list_silences().await.unwrap(), vec![s.clone()]);
        assert_eq!(repo.delete_silences_ended_before(30).await.unwrap(), 0);
        assert_eq!(repo.delete_silences_ended_before(31).await.unwrap(), 1);
        assert!(repo.list_silences().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn nflog_keeps_one_entry_per_receiver_and_group() {
    on_both("nflog", |store| async move {
        migrated(&store).await;
        let repo = store.alerting();
        let mut e = NflogRow {
            receiver: "team/webhook/0".to_owned(),
            group_key: "{}:{alertname=\"x\"}".to_owned(),
            firing: vec![u64::MAX, 1],
            resolved: vec![],
            sent_at: 100,
            expires_at: 200,
        };
        repo.upsert_nflog(&e).await.unwrap();
        e.firing = vec![];
        e.resolved = vec![u64::MAX];
        e.sent_at = 150;
        repo.upsert_nflog(&e).await.unwrap();
        assert_eq!(repo.list_nflog().await.unwrap(), vec![e.clone()]);
        assert_eq!(repo.delete_nflog_expired(201).await.unwrap(), 1);
        assert!(repo.list_nflog().await.unwrap().is_empty());
    })
    .await;
}

fn record(at: i64, kind: &str, alertname: &str, state: &str) -> HistoryRow {
    HistoryRow {
        id: 0,
        at,
        kind: kind.to_owned(),
        fingerprint: Some(format!("fp-{alertname}")),
        alertname: Some(alertname.to_owned()),
        service: Some("api".to_owned()),
        group_key: Some("g".to_owned()),
        receiver: Some("team".to_owned()),
        route: Some("{}".to_owned()),
        state: state.to_owned(),
        outcome: None,
        notification_id: None,
        detail: "{}".to_owned(),
    }
}

#[tokio::test]
async fn history_is_filtered_newest_first_and_pruned() {
    on_both("history", |store| async move {
        migrated(&store).await;
        let repo = store.alerting();
        let records: Vec<HistoryRow> = (0..300)
            .map(|i| {
                record(
                    i,
                    if i % 3 == 0 { "notification" } else { "alert" },
                    "A",
                    "sent",
                )
            })
            .chain([record(1000, "alert", "B", "firing")])
            .collect();
        repo.insert_history(&records).await.unwrap();
        let b = repo
            .query_history(&HistoryFilter {
                alertname: Some("B".to_owned()),
                ..HistoryFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].state, "firing");
        assert!(b[0].id > 0);
        let window = repo
            .query_history(&HistoryFilter {
                kind: Some("notification".to_owned()),
                since: Some(10),
                until: Some(100),
                limit: Some(5),
                ..HistoryFilter::default()
            })
            .await
            .unwrap();
        let ats: Vec<i64> = window.iter().map(|r| r.at).collect();
        assert_eq!(ats, vec![99, 96, 93, 90, 87]);
        assert_eq!(repo.prune_history(150).await.unwrap(), 150);
        assert_eq!(
            repo.query_history(&HistoryFilter::default())
                .await
                .unwrap()
                .len(),
            151
        );
    })
    .await;
}

#[tokio::test]
async fn acks_and_feedback_feed_the_noise_report() {
    on_both("acks", |store| async move {
        migrated(&store).await;
        let repo = store.alerting();
        let ack = AckRow {
            group_key: "g".to_owned(),
            acked_by: "alice".to_owned(),
            comment: "looking".to_owned(),
            acked_at: 5,
            expires_at: Some(50),
            alerts: vec!["00000000000000ab".to_owned()],
        };
        repo.upsert_ack(&ack).await.unwrap();
        assert_eq!(repo.list_acks().await.unwrap(), vec![ack]);
        assert!(repo.delete_ack("g").await.unwrap());
        assert!(!repo.delete_ack("g").await.unwrap());

        // Notifications (one failed: not counted), alerts firing and resolving (only firing
        // counts), feedback; over two buckets of 100 ms starting at 0.
        let mut history = vec![record(10, "notification", "Disk", "sent"); 3];
        history.push(record(11, "notification", "Cpu", "sent"));
        history.push(record(12, "notification", "Cpu", "failed"));
        history.push(record(150, "notification", "Cpu", "recorded"));
        history.push(record(5, "alert", "Disk", "firing"));
        history.push(record(120, "alert", "Disk", "firing"));
        history.push(record(130, "alert", "Disk", "resolved"));
        history.push(record(250, "alert", "Disk", "firing"));
        history[0].notification_id = Some("00000000000000ab".to_owned());
        repo.insert_history(&history).await.unwrap();
        let by_id = repo
            .query_history(&HistoryFilter {
                notification_id: Some("00000000000000ab".to_owned()),
                state: Some("sent".to_owned()),
                ..HistoryFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(by_id.len(), 1);
        assert_eq!(
            by_id[0].notification_id.as_deref(),
            Some("00000000000000ab")
        );
        for (at, verdict) in [(20, "noise"), (20, "noise"), (110, "actionable")] {
            repo.insert_feedback(&FeedbackRow {
                id: 0,
                at,
                group_key: "g".to_owned(),
                receiver: "team".to_owned(),
                route: "{}".to_owned(),
                alertname: "Disk".to_owned(),
                service: "api".to_owned(),
                verdict: verdict.to_owned(),
                author: "bob".to_owned(),
                comment: String::new(),
                notification_id: Some("00000000000000ab".to_owned()),
            })
            .await
            .unwrap();
        }
        let listed = repo.list_feedback(0, 100, 10).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed[0].notification_id.as_deref(),
            Some("00000000000000ab")
        );
        assert!(listed[0].id > 0);

        let cell = |key: &str, bucket_start, n, fired, actionable, noise| ReportRow {
            key: key.to_owned(),
            bucket_start,
            notifications: n,
            alerts_fired: fired,
            actionable,
            noise,
        };
        let report = repo
            .noise_report(ReportBy::Alertname, 0, 200, 100)
            .await
            .unwrap();
        assert_eq!(
            report,
            vec![
                cell("Cpu", 0, 1, 0, 0, 0),
                cell("Cpu", 100, 1, 0, 0, 0),
                cell("Disk", 0, 3, 1, 0, 2),
                cell("Disk", 100, 0, 1, 1, 0),
            ]
        );
        let by_service = repo
            .noise_report(ReportBy::Service, 0, 300, 300)
            .await
            .unwrap();
        assert_eq!(by_service, vec![cell("api", 0, 5, 3, 1, 2)]);
        let by_route = repo
            .noise_report(ReportBy::Route, 100, 200, 50)
            .await
            .unwrap();
        assert_eq!(
            by_route,
            vec![cell("{}", 100, 0, 1, 1, 0), cell("{}", 150, 1, 0, 0, 0)]
        );
    })
    .await;
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    on_both("newer", |store| async move {
        migrated(&store).await;
        let future = tocsin_store::Feature {
            name: "alerting",
            migrations: &[],
        };
        let err = store.migrate(&future).await.unwrap_err();
        assert!(err.to_string().contains("newer than"), "{err}");
        assert!(matches!(
            store.backend(),
            Backend::Sqlite | Backend::Postgres
        ));
    })
    .await;
}
