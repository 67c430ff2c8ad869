//! Acknowledged groups on a fake clock: no repeats, resolved still sent, expiry, a new alert
//! undoing the acknowledgement, removal, and survival across a restart.

use std::sync::Arc;

use tocsin_alerting::time::FakeClock;
use tocsin_store::alerting::HistoryFilter;

use crate::dsl::{T0, Timeline, alert};

// Flushes at 2, 3, 4, ... once an alert arrives at 1; an unchanged group repeats at 6.
const BASIC: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 3s
receivers:
  - name: hook
    webhook_configs: [{url: "http://collector.test/hook"}]
"#;

async fn ack_history(t: &Timeline) -> Vec<(String, String)> {
    t.alerting.flush_history().await;
    let mut rows = t
        .store
        .alerting()
        .query_history(&HistoryFilter::default())
        .await
        .unwrap();
    rows.retain(|r| r.kind == "ack");
    rows.sort_by_key(|r| r.at);
    rows.into_iter()
        .map(|r| {
            let detail: serde_json::Value = serde_json::from_str(&r.detail).unwrap();
            let reason = detail["reason"].as_str().unwrap_or("").to_owned();
            (r.state, reason)
        })
        .collect()
}

#[tokio::test]
async fn acked_group_does_not_repeat_but_still_sends_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let a1 = alert(&[("alertname", "Down"), ("instance", "a")]).active(1.0);
    let a2 = alert(&[("alertname", "Down"), ("instance", "b")]).active(1.0);
    t.push(1.0, vec![a1.clone(), a2.clone()]);
    t.want(2.0, 2.0, &[(&a1, "firing"), (&a2, "firing")]);
    t.ack(2.5, "Down", None);
    // No repeat at 6; a2 resolving at 7.5 goes out at 8.
    t.push(7.5, vec![a2.clone().ended(1.0, 7.5)]);
    t.want(8.0, 8.0, &[(&a1, "firing"), (&a2, "resolved")]);
    t.run(8.5).await;
    let groups = t.alerting.groups(&tocsin_alerting::AlertFilter::default());
    let ack = groups[0].ack.as_ref().unwrap();
    assert_eq!((ack.by.as_str(), ack.alerts.len()), ("alice", 2));
    // Still acked: no repeat at 11 or 12; a1 resolving at 12.5 ends it and goes out at 13.
    t.push(12.5, vec![a1.clone().ended(1.0, 12.5)]);
    // (a2 left the group once its resolution was sent, as in Alertmanager.)
    t.want(13.0, 13.0, &[(&a1, "resolved")]);
    t.run(14.0).await;
    t.check();
    assert!(t.alerting.acks().is_empty());
    assert_eq!(
        ack_history(&t).await,
        vec![
            ("acked".to_owned(), String::new()),
            ("unacked".to_owned(), "resolved".to_owned())
        ]
    );
}

#[tokio::test]
async fn expired_ack_renotifies_at_the_next_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let a1 = alert(&[("alertname", "Down")]).active(1.0);
    t.push(1.0, vec![a1.clone()]);
    t.want(2.0, 2.0, &[(&a1, "firing")]);
    // Acked until 7.5: the repeat due at 6 waits for the flush at 8; then every 4s again.
    t.ack(2.5, "Down", Some(5.0));
    t.want(8.0, 8.0, &[(&a1, "firing")]);
    t.want(12.0, 12.0, &[(&a1, "firing")]);
    t.run(12.5).await;
    t.check();
    assert_eq!(
        ack_history(&t).await,
        vec![
            ("acked".to_owned(), String::new()),
            ("unacked".to_owned(), "expired".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_new_alert_in_the_group_undoes_the_ack() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let a1 = alert(&[("alertname", "Down"), ("instance", "a")]).active(1.0);
    let a2 = alert(&[("alertname", "Down"), ("instance", "b")]).active(4.2);
    t.push(1.0, vec![a1.clone()]);
    t.want(2.0, 2.0, &[(&a1, "firing")]);
    t.ack(2.5, "Down", None);
    t.push(4.2, vec![a2.clone()]);
    // The flush at 5 notifies both; repeats resume (5 + 3s, at the flush after: 9).
    t.want(5.0, 5.0, &[(&a1, "firing"), (&a2, "firing")]);
    t.want(9.0, 9.0, &[(&a1, "firing"), (&a2, "firing")]);
    t.run(9.5).await;
    t.check();
    assert_eq!(
        ack_history(&t).await,
        vec![
            ("acked".to_owned(), String::new()),
            ("unacked".to_owned(), "new alert".to_owned())
        ]
    );
}

#[tokio::test]
async fn removing_the_ack_lets_the_overdue_repeat_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let a1 = alert(&[("alertname", "Down")]).active(1.0);
    t.push(1.0, vec![a1.clone()]);
    t.want(2.0, 2.0, &[(&a1, "firing")]);
    t.ack(2.5, "Down", None);
    t.unack(6.5, "Down");
    t.want(7.0, 7.0, &[(&a1, "firing")]);
    t.run(7.5).await;
    t.check();
    assert_eq!(
        ack_history(&t).await,
        vec![
            ("acked".to_owned(), String::new()),
            ("unacked".to_owned(), "removed".to_owned())
        ]
    );
}

#[tokio::test]
async fn ack_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a1 = alert(&[("alertname", "Down")]).ended(1.0, 1800.0);
    {
        let mut t = Timeline::new(BASIC, dir.path()).await;
        t.push(1.0, vec![a1.clone()]);
        t.want(2.0, 2.0, &[(&a1, "firing")]);
        t.ack(2.5, "Down", Some(100.0));
        t.run(3.0).await;
        t.check();
        t.alerting.stop().await;
    }
    let clock = Arc::new(FakeClock::new(T0 + 10_000));
    let mut t = Timeline::with_clock(BASIC, dir.path(), clock).await;
    // Restored alert and ack: nothing until the ack expires at 102.5, then a repeat at 103.
    t.want(103.0, 103.0, &[(&a1, "firing")]);
    t.run(60.0).await;
    assert_eq!(t.alerting.acks().len(), 1);
    t.run(103.5).await;
    t.check();
}

#[tokio::test]
async fn acking_needs_a_known_group_a_name_and_a_future_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    t.push(1.0, vec![alert(&[("alertname", "Down")]).active(1.0)]);
    t.run(1.5).await;
    let input = |key: &str, by: &str, expires_at| tocsin_alerting::AckInput {
        group_key: key.to_owned(),
        by: by.to_owned(),
        comment: String::new(),
        expires_at,
    };
    let key = t.group_key("Down");
    let now = t.alerting.now();
    let err = |r: tocsin_alerting::Result<_>| r.unwrap_err().to_string();
    assert_eq!(
        err(t.alerting.ack_group(input("nope", "alice", None)).await),
        "alert group nope not found"
    );
    assert!(err(t.alerting.ack_group(input(&key, " ", None)).await).contains("`by`"));
    assert!(
        err(t.alerting.ack_group(input(&key, "alice", Some(now))).await)
            .contains("already have expired")
    );
    assert!(err(t.alerting.unack_group(&key).await).contains("not found"));
    t.alerting
        .ack_group(input(&key, "alice", Some(now + 1)))
        .await
        .unwrap();
    assert_eq!(t.alerting.unack_group(&key).await.unwrap().by, "alice");
}
