//! Feedback on notifications (by the id the payload carries, or by group and receiver) and
//! the noise report built from it, on a fake clock with the real store (SQLite here; the
//! store's own tests run the queries on PostgreSQL too).

use tocsin_alerting::Error;
use tocsin_alerting::feedback::{FeedbackInput, FeedbackTarget, ReportQuery, Verdict};
use tocsin_store::alerting::ReportBy;

use crate::dsl::{T0, Timeline, alert};

const TWO_RECEIVERS: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: [team=db]
      receiver: db
      continue: true
    - matchers: [team=~db]
      receiver: hook
receivers:
  - name: hook
    webhook_configs: [{url: "http://collector.test/hook"}]
  - name: db
    webhook_configs: [{url: "http://collector.test/db"}]
"#;

fn input(target: FeedbackTarget, verdict: Verdict) -> FeedbackInput {
    FeedbackInput {
        target,
        verdict,
        by: "bob".to_owned(),
        comment: "flaps on deploys".to_owned(),
    }
}

#[tokio::test]
async fn feedback_names_a_notification_and_feeds_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(TWO_RECEIVERS, dir.path()).await;
    let disk = alert(&[("alertname", "DiskFull"), ("service", "pg"), ("team", "db")]).active(1.0);
    let cpu = alert(&[("alertname", "Cpu"), ("service", "api")]).active(1.0);
    t.push(1.0, vec![disk, cpu]);
    t.run(3.0).await;

    // Every webhook message carries its id and the feedback page.
    let bodies: Vec<serde_json::Value> = t
        .collector
        .received
        .lock()
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(bodies.len(), 3, "{bodies:#?}");
    let cpu_body = bodies
        .iter()
        .find(|b| b["groupLabels"]["alertname"] == "Cpu")
        .unwrap();
    let id = cpu_body["tocsin"]["notificationID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        cpu_body["tocsin"]["feedbackURL"],
        format!("http://tocsin.test/api/tocsin/v1/alerts/feedback?notification={id}")
    );

    // By id.
    let got = t
        .alerting
        .feedback(input(
            FeedbackTarget::Notification(id.clone()),
            Verdict::Noise,
        ))
        .await
        .unwrap();
    assert_eq!(
        (
            got.alertname.as_str(),
            got.service.as_str(),
            got.receiver.as_str(),
            got.by.as_str(),
            got.notification_id.as_deref()
        ),
        ("Cpu", "api", "hook", "bob", Some(id.as_str()))
    );

    // By group (the group of the first route, to receiver db); naming another receiver
    // finds nothing.
    let disk_key = t.group_key("DiskFull");
    let other = t
        .alerting
        .feedback(input(
            FeedbackTarget::Group {
                group_key: disk_key.clone(),
                receiver: Some("hook".to_owned()),
            },
            Verdict::Noise,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        other.to_string(),
        format!("no notification of alert group {disk_key} to receiver \"hook\" is in the history")
    );
    for (verdict, receiver) in [
        (Verdict::Noise, None),
        (Verdict::Noise, Some("db".to_owned())),
        (Verdict::Actionable, Some("db".to_owned())),
    ] {
        let got = t
            .alerting
            .feedback(input(
                FeedbackTarget::Group {
                    group_key: disk_key.clone(),
                    receiver,
                },
                verdict,
            ))
            .await
            .unwrap();
        assert_eq!(
            (got.receiver.as_str(), got.alertname.as_str()),
            ("db", "DiskFull")
        );
    }

    // What cannot be found or is not said is refused.
    let missing = t
        .alerting
        .feedback(input(
            FeedbackTarget::Notification("00000000000000aa".to_owned()),
            Verdict::Noise,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::NotificationNotFound(_)),
        "{missing}"
    );
    let malformed = t
        .alerting
        .feedback(input(
            FeedbackTarget::Notification("zz".to_owned()),
            Verdict::Noise,
        ))
        .await
        .unwrap_err();
    assert!(
        malformed.to_string().contains("16 hex digits"),
        "{malformed}"
    );
    let mut anonymous = input(FeedbackTarget::Notification(id), Verdict::Noise);
    anonymous.by = " ".to_owned();
    let err = t.alerting.feedback(anonymous).await.unwrap_err();
    assert!(err.to_string().contains("who judged"), "{err}");
    assert!("maybe".parse::<Verdict>().is_err());

    // The report over the first hour in 10-minute buckets.
    let report = t
        .alerting
        .report(ReportQuery {
            by: ReportBy::Alertname,
            from: T0,
            to: T0 + 3_600_000,
            step: 600_000,
        })
        .await
        .unwrap();
    let disk = report.series.iter().find(|s| s.key == "DiskFull").unwrap();
    assert_eq!(disk.buckets.len(), 6);
    assert_eq!(
        (
            disk.total.alerts_fired,
            disk.total.notifications,
            disk.total.noise,
            disk.total.actionable
        ),
        (1, 2, 2, 1)
    );
    assert_eq!(disk.buckets[0].counts.notifications, 2);
    assert_eq!(disk.buckets[1].counts.notifications, 0);
    let cpu = report.series.iter().find(|s| s.key == "Cpu").unwrap();
    assert_eq!((cpu.total.noise, cpu.total.noise_ratio), (1, Some(1.0)));
    assert_eq!(report.total.notifications, 3);
    let ranked: Vec<&str> = report.top_noisy.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(ranked, ["DiskFull", "Cpu"]);
    assert!(
        report.top_noisy[0]
            .suggestion
            .starts_with("fires 24.0 times/day, 67% marked noise"),
        "{}",
        report.top_noisy[0].suggestion
    );

    // By route: alerts count under the first route they match.
    let by_route = t
        .alerting
        .report(ReportQuery {
            by: ReportBy::Route,
            from: T0,
            to: T0 + 3_600_000,
            step: 3_600_000,
        })
        .await
        .unwrap();
    let keys: Vec<(&str, i64, i64)> = by_route
        .series
        .iter()
        .map(|s| (s.key.as_str(), s.total.alerts_fired, s.total.notifications))
        .collect();
    assert_eq!(
        keys,
        [
            ("{}", 1, 1),
            ("{}/{team=\"db\"}", 1, 1),
            ("{}/{team=~\"db\"}", 0, 1)
        ]
    );
}
