//! The `oncall` receiver on a fake clock, with a recording handoff standing in for the
//! on-call stage: first page, repeat, resolution, retries when the handoff fails; and the
//! configuration rules (one of service or escalation policy; no handoff, no start).

use std::sync::Arc;

use parking_lot::Mutex;
use tocsin_alerting::config::AlertmanagerConfig;
use tocsin_alerting::notify::BoxFuture;
use tocsin_alerting::receivers::oncall::{OncallHandoff, OncallPage};
use tocsin_alerting::time::{FakeClock, Millis, SharedClock};
use tocsin_alerting::webhook::HttpPost;
use tocsin_alerting::{Alerting, AlertingMetrics, AlertingOptions};
use tocsin_store::Store;

use crate::dsl::{Collector, T0, Timeline, alert};

/// Records every page with the clock's time; fails the next `fail_next` handoffs.
#[derive(Debug)]
struct Recorder {
    clock: SharedClock,
    pages: Mutex<Vec<(Millis, OncallPage)>>,
    fail_next: Mutex<u32>,
    attempts: Mutex<u32>,
}

impl Recorder {
    fn new(clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            clock,
            pages: Mutex::new(Vec::new()),
            fail_next: Mutex::new(0),
            attempts: Mutex::new(0),
        })
    }

    /// (seconds, status, alert count) of every page.
    fn summary(&self) -> Vec<(f64, String, usize)> {
        self.pages
            .lock()
            .iter()
            .map(|(at, p)| {
                (
                    (at - T0) as f64 / 1000.0,
                    p.message.status.clone(),
                    p.message.alerts.len(),
                )
            })
            .collect()
    }
}

impl OncallHandoff for Recorder {
    fn handoff<'a>(&'a self, page: &'a OncallPage) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            *self.attempts.lock() += 1;
            {
                let mut fail = self.fail_next.lock();
                if *fail > 0 {
                    *fail -= 1;
                    return Err("incident store is busy".to_owned());
                }
            }
            self.pages.lock().push((self.clock.now(), page.clone()));
            Ok(())
        })
    }
}

const PAGER: &str = r#"
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 3s
receivers:
  - name: pager
    oncall_configs: [{service: checkout}]
"#;

async fn timeline(config: &str, dir: &std::path::Path) -> (Timeline, Arc<Recorder>) {
    let clock = Arc::new(FakeClock::new(T0));
    let recorder = Recorder::new(Arc::clone(&clock) as SharedClock);
    let t = Timeline::with_oncall(
        config,
        dir,
        clock,
        Some(Arc::clone(&recorder) as Arc<dyn OncallHandoff>),
    )
    .await;
    (t, recorder)
}

#[tokio::test]
async fn pages_on_firing_repeats_and_closes_on_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let (mut t, recorder) = timeline(PAGER, dir.path()).await;
    let down = alert(&[("alertname", "Down"), ("instance", "a")]).active(1.0);
    t.push(1.0, vec![down.clone()]);
    t.push(7.5, vec![down.clone().ended(1.0, 7.5)]);
    t.run(12.0).await;
    // First page after group_wait; the repeat once repeat_interval has passed; the
    // resolution at the next flush (send_resolved defaults to true for oncall).
    assert_eq!(
        recorder.summary(),
        vec![
            (2.0, "firing".to_owned(), 1),
            (6.0, "firing".to_owned(), 1),
            (8.0, "resolved".to_owned(), 1),
        ]
    );
    let pages = recorder.pages.lock();
    let first = &pages[0].1;
    assert_eq!(first.receiver, "pager");
    assert_eq!(first.service.as_deref(), Some("checkout"));
    assert_eq!(first.escalation_policy, None);
    assert_eq!(first.message.group_key, "{}:{alertname=\"Down\"}");
    assert_eq!(first.message.version, "4");
    assert_eq!(first.message.alerts[0].labels["instance"], "a");
    assert_eq!(first.message.external_url, "http://tocsin.test");
    let extras = first.message.tocsin.as_ref().unwrap();
    assert_eq!(extras.notification_id.len(), 16);
    assert_eq!(
        extras.feedback_url,
        format!(
            "http://tocsin.test/api/tocsin/v1/alerts/feedback?notification={}",
            extras.notification_id
        )
    );
    // Each notification has its own id.
    assert_ne!(
        pages[1].1.message.tocsin.as_ref().unwrap().notification_id,
        extras.notification_id
    );
    assert_eq!(pages[2].1.message.alerts[0].status, "resolved");
}

#[tokio::test]
async fn a_failed_handoff_is_retried_with_backoff_and_paged_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = PAGER.replace(
        "[{service: checkout}]",
        "[{escalation_policy: platform, send_resolved: false}]",
    );
    let (mut t, recorder) = timeline(&config, dir.path()).await;
    *recorder.fail_next.lock() = 2;
    let down = alert(&[("alertname", "Down")]).active(1.0);
    t.push(1.0, vec![down.clone()]);
    t.push(3.5, vec![down.clone().ended(1.0, 3.5)]);
    t.run(5.0).await;
    // Attempts at 2.0, 2.5 (after 500ms) and 3.25 (after 750ms more); the resolution is not
    // handed over (send_resolved: false).
    assert_eq!(recorder.summary(), vec![(3.25, "firing".to_owned(), 1)]);
    assert_eq!(*recorder.attempts.lock(), 3);
    let page = recorder.pages.lock()[0].1.clone();
    assert_eq!(page.escalation_policy.as_deref(), Some("platform"));
    assert_eq!(page.service, None);
    t.alerting.flush_history().await;
    let sent = t
        .store
        .alerting()
        .query_history(&tocsin_store::alerting::HistoryFilter {
            kind: Some("notification".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].state, "sent");
    assert_eq!(sent[0].receiver.as_deref(), Some("pager/oncall/0"));
    let detail: serde_json::Value = serde_json::from_str(&sent[0].detail).unwrap();
    assert_eq!(detail["attempts"], 3);
}

#[tokio::test]
async fn oncall_receivers_without_the_oncall_stage_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("state.db"))
        .await
        .unwrap();
    let config = AlertmanagerConfig::parse("alertmanager.yml", PAGER).unwrap();
    let err = Alerting::start(
        config,
        store,
        Arc::new(FakeClock::new(T0)) as SharedClock,
        AlertingMetrics::unregistered(),
        AlertingOptions {
            external_url: "http://tocsin.test".to_owned(),
            http: Arc::new(Collector::default()) as Arc<dyn HttpPost>,
            base_dir: dir.path().to_path_buf(),
            gc_interval: std::time::Duration::from_secs(3600),
            maintenance_interval: std::time::Duration::from_secs(3600),
            retention: std::time::Duration::from_secs(3600),
            oncall: None,
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "receiver \"pager\" (line 10): oncall_configs hand alerts to tocsin's on-call stage, \
         which is not running in this process; configure `oncall:` in tocsin.yml, or route \
         these alerts to a webhook, Slack, email or PagerDuty receiver"
    );
}

#[test]
fn oncall_configs_name_exactly_one_target() {
    let bad = |entry: &str| {
        AlertmanagerConfig::parse("am.yml", &PAGER.replace("{service: checkout}", entry))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        bad("{service: a, escalation_policy: b}"),
        "am.yml:10:22: receiver \"pager\": oncall config names both a service and an \
         escalation_policy; give one (a service pages through its own escalation policy)"
    );
    assert_eq!(
        bad("{send_resolved: true}"),
        "am.yml:10:22: receiver \"pager\": oncall config needs a service or an \
         escalation_policy to hand alerts to"
    );
    assert_eq!(
        bad("{service: \" \"}"),
        "am.yml:10:22: receiver \"pager\": oncall service and escalation_policy must not be empty"
    );
    assert!(bad("{service: a, team: b}").contains("unknown field `team`"));
}

#[test]
fn tocsin_check_accepts_oncall_receivers() {
    // `tocsin check alertmanager` loads the file without the on-call stage running.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, PAGER).unwrap();
    let config = AlertmanagerConfig::load(&path).unwrap();
    assert_eq!(config.receivers[0].value.oncall_configs.len(), 1);
}
