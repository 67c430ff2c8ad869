//! tocsin's silence extensions on a fake clock: recurring silences (Alertmanager time
//! intervals) and warnings before a silence ends.

use serde_json::json;
use tocsin_store::alerting::HistoryFilter;

use crate::dsl::{Timeline, alert, ms};

const BASIC: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: "http://collector.test/hook"}]
"#;

#[tokio::test]
async fn recurring_silence_mutes_only_inside_its_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    // Timeline second 0 is Monday 00:00 UTC.
    let first_minute = json!([{"times": [{"start_time": "00:00", "end_time": "00:01"}]}]);
    let tuesdays = json!([{"weekdays": ["tuesday"], "location": "UTC"}]);
    t.silence_with(
        0.5,
        "alertname=Night",
        (0.5, 3600.0),
        Some(first_minute),
        None,
    );
    t.silence_with(0.5, "alertname=Weekly", (0.5, 3600.0), Some(tuesdays), None);
    let night = alert(&[("alertname", "Night")]).active(1.0);
    let weekly = alert(&[("alertname", "Weekly")]).active(1.0);
    t.push(1.0, vec![night.clone(), weekly.clone()]);
    // Weekly's silence recurs on Tuesdays only: not muted now.
    t.want(2.0, 2.0, &[(&weekly, "firing")]);
    // Night is muted during 00:00-00:01 and notified at the first flush after.
    t.want(60.0, 60.0, &[(&night, "firing")]);
    t.run(59.9).await;
    let night_view = t
        .alerting
        .alerts(&tocsin_alerting::AlertFilter::default())
        .into_iter()
        .find(|v| v.alert.name() == "Night")
        .unwrap();
    assert_eq!(night_view.state, "suppressed");
    t.run(61.0).await;
    t.check();
    let silences = t.alerting.silences();
    assert!(silences.iter().all(|s| s.recurrence.is_some()));
}

#[tokio::test]
async fn invalid_recurrence_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let t = Timeline::new(BASIC, dir.path()).await;
    let input = |recurrence| tocsin_alerting::SilenceInput {
        id: String::new(),
        matchers: tocsin_alerting::matcher::parse_matchers("a=b").unwrap(),
        starts_at: ms(0.0),
        ends_at: ms(60.0),
        created_by: "t".to_owned(),
        comment: String::new(),
        recurrence: Some(recurrence),
        warn_before: None,
    };
    let err = t
        .alerting
        .set_silence(input(json!([{"weekdays": ["funday"]}])))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid recurrence"), "{err}");
    let err = t
        .alerting
        .set_silence(input(json!([])))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least one time interval"), "{err}");
}

async fn expiring(t: &Timeline) -> Vec<(i64, String)> {
    t.alerting.flush_history().await;
    let mut rows: Vec<(i64, String)> = t
        .store
        .alerting()
        .query_history(&HistoryFilter {
            kind: Some("silence".to_owned()),
            ..HistoryFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.state == "expiring")
        .map(|r| (r.at, r.fingerprint.unwrap_or_default()))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn silence_warns_before_it_ends_once_and_not_after_early_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let warned = t.silence_with(0.5, "alertname=Maint", (0.5, 120.0), None, Some(30.0));
    let ended_early = t.silence_with(0.5, "alertname=Other", (0.5, 120.0), None, Some(30.0));
    t.expire(50.0, &ended_early);
    t.run(89.9).await;
    assert!(expiring(&t).await.is_empty());
    t.run(200.0).await;
    let id = warned.lock().clone().unwrap();
    assert_eq!(expiring(&t).await, vec![(ms(90.0), id.clone())]);
    assert_eq!(t.alerting.silence(&id).unwrap().warned_at, Some(ms(90.0)));
}
