//! Grouping, repeat, resolve, inhibition, silences, time intervals and restarts, on a fake
//! clock (modelled on Alertmanager's `test/with_api_v2/acceptance`).

use std::sync::Arc;

use tocsin_alerting::time::FakeClock;

use crate::dsl::{T0, Timeline, alert, ms};

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

#[tokio::test]
async fn grouping_repeat_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let a1 = alert(&[("alertname", "Down"), ("instance", "a")]).active(1.0);
    let a2 = alert(&[("alertname", "Down"), ("instance", "b")]).active(2.2);
    let other = alert(&[("alertname", "Other")]).active(1.5);
    t.push(1.0, vec![a1.clone()]);
    t.push(1.5, vec![other.clone()]);
    t.push(2.2, vec![a2.clone()]);
    // First flush after group_wait; a new alert in the group is sent at the next interval.
    t.want(2.0, 2.0, &[(&a1, "firing")]);
    t.want(2.5, 2.5, &[(&other, "firing")]);
    t.want(3.0, 3.0, &[(&a1, "firing"), (&a2, "firing")]);
    // Unchanged: repeated once repeat_interval has passed (strictly), at the next flush.
    t.want(7.0, 7.0, &[(&a1, "firing"), (&a2, "firing")]);
    t.want(6.5, 6.5, &[(&other, "firing")]);
    // a1 resolves: with send_resolved (the webhook default) the change goes out.
    let a1_resolved = a1.clone().ended(1.0, 7.5);
    t.push(7.5, vec![a1_resolved]);
    t.want(8.0, 8.0, &[(&a1, "resolved"), (&a2, "firing")]);
    t.run(9.9).await;
    t.check();
}

#[tokio::test]
async fn resolved_only_groups_are_sent_once_and_not_when_send_resolved_is_off() {
    let config = BASIC.replace(
        "webhook_configs: [{url: \"http://collector.test/hook\"}]",
        "webhook_configs: [{url: \"http://collector.test/hook\"}]\n  - name: quiet\n    webhook_configs: [{url: \"http://collector.test/quiet\", send_resolved: false}]",
    ).replace("  repeat_interval: 3s\n", "  repeat_interval: 3s\n  routes:\n    - matchers: [team=quiet]\n      receiver: quiet\n");
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(&config, dir.path()).await;
    let loud = alert(&[("alertname", "Loud")]).active(1.0);
    let quiet = alert(&[("alertname", "Quiet"), ("team", "quiet")]).active(1.0);
    t.push(1.0, vec![loud.clone(), quiet.clone()]);
    t.want(2.0, 2.0, &[(&loud, "firing")]);
    t.want(2.0, 2.0, &[(&quiet, "firing")]);
    t.push(
        3.5,
        vec![loud.clone().ended(1.0, 3.5), quiet.clone().ended(1.0, 3.5)],
    );
    t.want(4.0, 4.0, &[(&loud, "resolved")]);
    t.run(9.0).await;
    t.check();
}

#[tokio::test]
async fn inhibition_mutes_targets_with_equal_labels() {
    let config = format!(
        "{BASIC}inhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n    equal: [zone]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(&config, dir.path()).await;
    let warn_a = alert(&[
        ("alertname", "Warn"),
        ("severity", "warning"),
        ("zone", "a"),
    ])
    .active(1.0);
    let warn_b = alert(&[
        ("alertname", "Warn"),
        ("severity", "warning"),
        ("zone", "b"),
    ])
    .active(1.0);
    let crit_a = alert(&[
        ("alertname", "Crit"),
        ("severity", "critical"),
        ("zone", "a"),
    ])
    .active(1.0);
    t.push(1.0, vec![warn_a.clone(), warn_b.clone(), crit_a.clone()]);
    t.want(2.0, 2.0, &[(&warn_b, "firing")]);
    t.want(2.0, 2.0, &[(&crit_a, "firing")]);
    // The source resolves: the target is no longer inhibited and joins its group.
    t.push(3.5, vec![crit_a.clone().ended(1.0, 3.5)]);
    t.want(4.0, 4.0, &[(&crit_a, "resolved")]);
    t.want(4.0, 4.0, &[(&warn_a, "firing"), (&warn_b, "firing")]);
    t.run(5.5).await;
    t.check();
}

#[tokio::test]
async fn silences_mute_until_expired() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    let a = alert(&[("alertname", "Noisy"), ("job", "x")]).active(1.0);
    let b = alert(&[("alertname", "Other")]).active(1.0);
    let silence = t.silence(0.5, "alertname=Noisy", 0.5, 100.0);
    t.push(1.0, vec![a.clone(), b.clone()]);
    t.want(2.0, 2.0, &[(&b, "firing")]);
    t.expire(4.2, &silence);
    t.want(5.0, 5.0, &[(&a, "firing")]);
    t.run(5.9).await;
    t.check();
    let silences = t.alerting.silences();
    assert_eq!(silences.len(), 1);
    assert_eq!(silences[0].state(t.alerting.now()).as_str(), "expired");
}

#[tokio::test]
async fn mute_time_intervals_hold_notifications_back() {
    // Muted during the first 10 seconds after midnight on Mondays (T0 is a Monday, 00:00 UTC).
    let config = BASIC.replace(
        "  repeat_interval: 3s\n",
        "  repeat_interval: 3s\n  routes:\n    - matchers: [alertname=Night]\n      mute_time_intervals: [midnight]\ntime_intervals:\n  - name: midnight\n    time_intervals:\n      - weekdays: [monday]\n        times: [{start_time: '00:00', end_time: '00:01'}]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(&config, dir.path()).await;
    let night = alert(&[("alertname", "Night")]).active(1.0);
    t.push(1.0, vec![night.clone()]);
    // Every flush inside 00:00-00:01 is muted; the first one after 60s goes out.
    t.want(60.0, 61.0, &[(&night, "firing")]);
    t.run(62.0).await;
    t.check();
}

#[tokio::test]
async fn failed_sends_are_retried_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::new(BASIC, dir.path()).await;
    *t.collector.fail_next.lock() = 2;
    let a = alert(&[("alertname", "Flaky")]).active(1.0);
    t.push(1.0, vec![a.clone()]);
    // 503, retry after 0.5s, 503, retry after 0.75s more: delivered at 3.25.
    t.want(3.25, 3.25, &[(&a, "firing")]);
    t.run(4.0).await;
    t.check();
}

#[tokio::test]
async fn restart_neither_repeats_early_nor_forgets_silences_or_inhibitions() {
    let config = format!(
        "{}inhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n",
        BASIC.replace("repeat_interval: 3s", "repeat_interval: 1h")
    );
    let dir = tempfile::tempdir().unwrap();
    let a = alert(&[("alertname", "Sent")]).active(1.0);
    let silenced = alert(&[("alertname", "Silenced")]).active(1.0);
    let crit = alert(&[("alertname", "Crit"), ("severity", "critical")]).active(1.0);
    let warn = alert(&[("alertname", "Warn"), ("severity", "warning")]).active(1.0);
    {
        let mut t = Timeline::new(&config, dir.path()).await;
        t.silence(0.5, "alertname=Silenced", 0.5, 3600.0);
        // Far-future ends, as Prometheus sends them, so nothing resolves across the restart.
        let far = |x: &crate::dsl::TestAlert| x.clone().ended(1.0, 1800.0);
        t.push(1.0, vec![far(&a), far(&silenced), far(&crit)]);
        t.want(2.0, 2.0, &[(&a, "firing")]);
        t.want(2.0, 2.0, &[(&crit, "firing")]);
        t.run(3.0).await;
        t.check();
        t.alerting.stop().await;
        // No clean shutdown beyond this: the store holds what was acknowledged.
    }
    // Restart 10 minutes later with a fresh process-like state; the inhibiting alert was
    // restored, and the warning arrives right after the restart.
    let clock = Arc::new(FakeClock::new(T0 + 600_000));
    let mut t = Timeline::with_clock(&config, dir.path(), clock).await;
    let far_warn = warn.clone().ended(601.0, 1800.0);
    t.push(601.0, vec![far_warn]);
    // Nothing: `Sent` and `Crit` were notified 10 minutes ago (repeat is 1h), `Silenced` is
    // still silenced, `Warn` is inhibited by the restored `Crit`.
    t.run(700.0).await;
    t.check();
    let views = t.alerting.alerts(&tocsin_alerting::AlertFilter::default());
    assert_eq!(views.len(), 4, "{views:?}");
    let warn_view = views.iter().find(|v| v.alert.name() == "Warn").unwrap();
    assert_eq!(warn_view.state, "suppressed");
    assert_eq!(warn_view.inhibited_by.len(), 1);
    assert_eq!(ms(0.0), T0);
}
