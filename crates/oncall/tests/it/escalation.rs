use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use parking_lot::Mutex;
use tocsin_oncall::escalation::PageEvent;
use tocsin_oncall::{
    Channels, Clock, Directory, EscalationObserver, Escalator, ManualClock, OncallMetrics, Page,
    StartOutcome,
};
use tocsin_store::Store;
use tocsin_store::oncall::{Advance, NewPage};

use crate::{Opener, on_both};

const DIRECTORY: &str = r#"
users:
  - {id: alice, time_zone: Europe/London}
  - {id: bob, time_zone: America/New_York}
  - {id: chen, time_zone: Asia/Tokyo}
  - id: dana
    time_zone: Europe/London
    contacts:
      - slack: http://127.0.0.1:9/unreachable
      - webhook: http://127.0.0.1:9/unreachable
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {name: main, rotation: daily, start: 2026-06-01, participants: [chen, bob]}
escalation_policies:
  - id: two-steps
    repeat: 1
    steps:
      - {delay: 5m, targets: [{user: alice}]}
      - {delay: 10m, targets: [{user: bob}]}
  - id: rotating
    steps:
      - {delay: 5m, targets: [{schedule: primary}, {round_robin: [alice, bob]}]}
"#;

const T0: &str = "2026-06-01T10:00:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Everything the observer heard, in order.
#[derive(Debug, Default)]
struct Heard(Mutex<Vec<String>>);

impl EscalationObserver for Heard {
    fn page_sent(&self, e: &PageEvent) {
        self.0.lock().push(format!(
            "page {} {} s{} r{} {}",
            e.user, e.contact, e.step, e.repeat, e.status
        ));
    }
    fn escalated(&self, key: &str, step: i64, repeat: i64) {
        self.0
            .lock()
            .push(format!("escalated {key} s{step} r{repeat}"));
    }
    fn acked(&self, key: &str, by: &str) {
        self.0.lock().push(format!("acked {key} by {by}"));
    }
    fn ack_expired(&self, key: &str) {
        self.0.lock().push(format!("ack expired {key}"));
    }
    fn exhausted(&self, key: &str) {
        self.0.lock().push(format!("exhausted {key}"));
    }
}

impl Heard {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }
}

struct Rig {
    metrics: OncallMetrics,
    store: Store,
    clock: Arc<ManualClock>,
    escalator: Escalator,
    heard: Arc<Heard>,
}

async fn open_rig(opener: &Opener, at: Timestamp) -> Rig {
    // The binary installs the process's TLS provider; tests do it themselves.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = opener.open().await;
    let clock = Arc::new(ManualClock::new(at));
    let directory = Arc::new(Directory::from_files(&[("d.yml".into(), DIRECTORY.into())]).unwrap());
    let channels = Channels::new(
        store.clone(),
        None,
        std::path::Path::new("."),
        Arc::<ManualClock>::clone(&clock),
    )
    .unwrap();
    let metrics = OncallMetrics::unregistered();
    let escalator = Escalator::open(
        store.clone(),
        directory,
        Arc::<ManualClock>::clone(&clock),
        Arc::new(channels),
    )
    .await
    .unwrap()
    .with_metrics(metrics.clone());
    let heard = Arc::new(Heard::default());
    escalator.set_observer(Arc::clone(&heard) as Arc<dyn EscalationObserver>);
    Rig {
        metrics,
        store,
        clock,
        escalator,
        heard,
    }
}

impl Rig {
    async fn at(&self, at: &str) {
        self.clock.set(ts(at));
        self.escalator.tick(self.clock.now()).await.unwrap();
    }

    /// (user, step, repeat, generation) of every page, in order.
    async fn pages(&self) -> Vec<(String, i64, i64, i64)> {
        self.store
            .oncall()
            .pages(0, i64::MAX, None)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.user_id, p.step, p.repeat_no, p.generation))
            .collect()
    }
}

fn page(title: &str) -> Page {
    Page {
        title: title.into(),
        body: "error rate 5%".into(),
        service: Some("checkout".into()),
        severity: Some("critical".into()),
        link: Some("https://runbooks.example.org/checkout".into()),
        ..Page::default()
    }
}

fn p(user: &str, step: i64, repeat: i64, generation: i64) -> (String, i64, i64, i64) {
    (user.to_owned(), step, repeat, generation)
}

#[tokio::test]
async fn an_unacknowledged_page_escalates_on_time_repeats_and_is_exhausted() {
    on_both("escalates", |opener| async move {
        let rig = open_rig(&opener, ts(T0)).await;
        let started = rig
            .escalator
            .start("k1", "two-steps", page("checkout down"))
            .await
            .unwrap();
        assert!(matches!(started, StartOutcome::Started { .. }));
        assert_eq!(rig.pages().await, [p("alice", 0, 0, 0)]);
        assert_eq!(rig.heard.take(), ["page alice inbox s0 r0 sent"]);

        rig.at("2026-06-01T10:04:59Z").await;
        assert_eq!(rig.pages().await.len(), 1, "step 1 is not due before 5m");
        rig.at("2026-06-01T10:05:00Z").await;
        assert_eq!(rig.pages().await.last(), Some(&p("bob", 1, 0, 0)));
        assert_eq!(
            rig.heard.take(),
            ["escalated k1 s1 r0", "page bob inbox s1 r0 sent"]
        );
        // Step 1 waits 10m, then the policy repeats once from step 0.
        rig.at("2026-06-01T10:14:59Z").await;
        assert_eq!(rig.pages().await.len(), 2);
        rig.at("2026-06-01T10:15:00Z").await;
        rig.at("2026-06-01T10:20:00Z").await;
        assert_eq!(
            rig.pages().await,
            [
                p("alice", 0, 0, 0),
                p("bob", 1, 0, 0),
                p("alice", 0, 1, 0),
                p("bob", 1, 1, 0)
            ]
        );
        rig.at("2026-06-01T10:30:00Z").await;
        rig.at("2026-06-01T11:30:00Z").await;
        assert_eq!(rig.pages().await.len(), 4, "nothing after the last round");
        let heard = rig.heard.take();
        assert_eq!(heard.last().map(String::as_str), Some("exhausted k1"));
        assert_eq!(
            heard.iter().filter(|h| h.starts_with("exhausted")).count(),
            1
        );
        let status = rig.escalator.status("k1").await.unwrap().unwrap();
        assert_eq!(status.state, "exhausted");
        // Each page reached the inbox once.
        assert_eq!(
            rig.store
                .oncall()
                .inbox("alice", false, 10)
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            rig.store
                .oncall()
                .inbox("bob", true, 10)
                .await
                .unwrap()
                .len(),
            2
        );
        let m = &rig.metrics;
        assert_eq!(m.steps.get(), 4);
        assert_eq!(m.pages.with_label_values(&["inbox", "sent"]).get(), 4);
        assert_eq!((m.escalations_started.get(), m.exhausted.get()), (1, 1));
        rig.store.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_ack_stops_escalation_and_an_expired_ack_notifies_again_from_step_0() {
    on_both("ack", |opener| async move {
        let rig = open_rig(&opener, ts(T0)).await;
        rig.escalator
            .start("k2", "two-steps", page("checkout down"))
            .await
            .unwrap();
        rig.clock.set(ts("2026-06-01T10:01:00Z"));
        rig.escalator
            .ack("k2", "alice", Some(ts("2026-06-01T10:31:00Z")))
            .await
            .unwrap();
        let inbox = rig.store.oncall().inbox("alice", false, 10).await.unwrap();
        assert!(
            inbox[0].acked_at.is_some(),
            "the inbox shows the acknowledgement"
        );
        for at in [
            "2026-06-01T10:05:00Z",
            "2026-06-01T10:15:00Z",
            "2026-06-01T10:30:59Z",
        ] {
            rig.at(at).await;
        }
        assert_eq!(
            rig.pages().await,
            [p("alice", 0, 0, 0)],
            "no steps while acknowledged"
        );
        rig.at("2026-06-01T10:31:00Z").await;
        assert_eq!(
            rig.pages().await,
            [p("alice", 0, 0, 0), p("alice", 0, 0, 1)]
        );
        assert_eq!(
            rig.heard.take(),
            [
                "page alice inbox s0 r0 sent",
                "acked k2 by alice",
                "ack expired k2",
                "page alice inbox s0 r0 sent"
            ]
        );
        // The new generation escalates again; an ack without expiry stops it for good.
        rig.at("2026-06-01T10:36:00Z").await;
        assert_eq!(rig.pages().await.last(), Some(&p("bob", 1, 0, 1)));
        rig.escalator.ack("k2", "bob", None).await.unwrap();
        rig.at("2026-06-02T10:00:00Z").await;
        assert_eq!(rig.pages().await.len(), 3);
        // An expiry in the past is refused; unknown keys are NotFound.
        let err = rig
            .escalator
            .ack("k2", "bob", Some(ts("2026-06-01T00:00:00Z")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not in the future"), "{err}");
        assert!(rig.escalator.ack("nope", "bob", None).await.is_err());
        rig.store.close().await;
    })
    .await;
}

#[tokio::test]
async fn start_is_idempotent_on_the_key_until_resolved() {
    on_both("idempotent", |opener| async move {
        let rig = open_rig(&opener, ts(T0)).await;
        let first = rig
            .escalator
            .start("k3", "two-steps", page("a"))
            .await
            .unwrap();
        let StartOutcome::Started { escalation_id } = first else {
            panic!("not started: {first:?}")
        };
        let again = rig
            .escalator
            .start("k3", "two-steps", page("a"))
            .await
            .unwrap();
        assert_eq!(
            again,
            StartOutcome::AlreadyActive {
                escalation_id: escalation_id.clone()
            }
        );
        assert_eq!(rig.pages().await.len(), 1, "the second start paged nobody");
        rig.escalator.resolve("k3").await.unwrap();
        rig.at("2026-06-01T10:30:00Z").await;
        assert_eq!(rig.pages().await.len(), 1, "a resolved escalation stops");
        let third = rig
            .escalator
            .start("k3", "two-steps", page("a"))
            .await
            .unwrap();
        assert!(
            matches!(third, StartOutcome::Started { escalation_id: ref id } if *id != escalation_id)
        );
        assert!(rig.escalator.resolve("unknown").await.is_err());
        let err = rig
            .escalator
            .start("k4", "no-such-policy", page("a"))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no escalation_policy named \"no-such-policy\""),
            "{err}"
        );
        rig.store.close().await;
    })
    .await;
}

#[tokio::test]
async fn schedules_and_round_robin_pick_who_is_notified() {
    on_both("targets", |opener| async move {
        let rig = open_rig(&opener, ts(T0)).await;
        // 2026-06-01 is chen's day on `primary`; round robin starts at alice.
        rig.escalator
            .start("r1", "rotating", page("a"))
            .await
            .unwrap();
        rig.clock.set(ts("2026-06-02T10:00:00Z"));
        rig.escalator
            .start("r2", "rotating", page("b"))
            .await
            .unwrap();
        let users: Vec<String> = rig.pages().await.into_iter().map(|p| p.0).collect();
        assert_eq!(
            users,
            ["chen", "alice", "bob"],
            "bob is on call on 06-02 and next in the round robin"
        );
        rig.store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_restart_mid_escalation_neither_skips_nor_repeats_a_step() {
    on_both("restart", |opener| async move {
        let rig = open_rig(&opener, ts(T0)).await;
        rig.escalator
            .start("k5", "two-steps", page("checkout down"))
            .await
            .unwrap();
        rig.at("2026-06-01T10:05:00Z").await;
        assert_eq!(rig.pages().await, [p("alice", 0, 0, 0), p("bob", 1, 0, 0)]);
        rig.store.close().await;
        drop(rig);

        // The process was down from 10:06 to 10:40; the next step (due 10:15) fires once, on
        // the first tick after the restart, and the one after waits its full delay.
        let rig = open_rig(&opener, ts("2026-06-01T10:40:00Z")).await;
        rig.at("2026-06-01T10:40:00Z").await;
        rig.at("2026-06-01T10:40:01Z").await;
        assert_eq!(
            rig.pages().await,
            [p("alice", 0, 0, 0), p("bob", 1, 0, 0), p("alice", 0, 1, 0)]
        );
        rig.at("2026-06-01T10:44:59Z").await;
        assert_eq!(rig.pages().await.len(), 3);
        rig.at("2026-06-01T10:45:00Z").await;
        assert_eq!(rig.pages().await.last(), Some(&p("bob", 1, 1, 0)));
        // A second engine on the same store (or a replay of the same tick) finds nothing due.
        let other = open_rig(&opener, ts("2026-06-01T10:45:00Z")).await;
        other.at("2026-06-01T10:45:00Z").await;
        assert_eq!(other.pages().await.len(), 4);
        other.store.close().await;
        rig.store.close().await;
    })
    .await;
}

#[tokio::test]
async fn pages_interrupted_by_a_crash_are_resent_or_not_per_contact() {
    on_both("crash", |opener| async move {
        let rig = open_rig(&opener, ts(T0)).await;
        let StartOutcome::Started { escalation_id } = rig
            .escalator
            .start("k6", "two-steps", page("a"))
            .await
            .unwrap()
        else {
            panic!("not started")
        };
        // A process took step 1 for dana (inbox, slack, webhook) and died before sending.
        let taken = rig
            .store
            .oncall()
            .take_step(
                &escalation_id,
                &Advance {
                    from: (0, 1, 0),
                    step: 0,
                    repeat_no: 1,
                    next_at: Some(ts("2026-06-01T11:00:00Z").as_millisecond()),
                    state: "active".into(),
                },
                &[
                    NewPage {
                        user_id: "dana".into(),
                        contact: "inbox".into(),
                    },
                    NewPage {
                        user_id: "dana".into(),
                        contact: "slack:http://127.0.0.1:9/unreachable".into(),
                    },
                    NewPage {
                        user_id: "dana".into(),
                        contact: "webhook:http://127.0.0.1:9/unreachable".into(),
                    },
                ],
                &[],
                ts(T0).as_millisecond(),
            )
            .await
            .unwrap();
        assert_eq!(taken.unwrap().len(), 3);
        rig.store.close().await;
        drop(rig);

        let rig = open_rig(&opener, ts("2026-06-01T10:00:30Z")).await;
        rig.at("2026-06-01T10:00:30Z").await;
        let pages = rig.store.oncall().pages(0, i64::MAX, None).await.unwrap();
        let status: Vec<(&str, &str)> = pages
            .iter()
            .map(|p| (p.contact.split(':').next().unwrap_or(""), p.status.as_str()))
            .collect();
        // Inbox and webhook are at least once (the webhook fails here: nothing listens on
        // port 9); Slack is at most once and is not sent again.
        assert_eq!(
            status,
            [
                ("inbox", "sent"),
                ("inbox", "sent"),
                ("slack", "unknown"),
                ("webhook", "failed")
            ]
        );
        assert_eq!(
            rig.store
                .oncall()
                .inbox("dana", false, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        // Nothing is pending any more, so another tick sends nothing again.
        rig.at("2026-06-01T10:00:31Z").await;
        assert_eq!(
            rig.store
                .oncall()
                .pages(0, i64::MAX, None)
                .await
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            rig.store
                .oncall()
                .inbox("dana", false, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        rig.store.close().await;
    })
    .await;
}

#[test]
fn manual_clock_moves_only_when_told() {
    let clock = ManualClock::new(ts(T0));
    assert_eq!(clock.now(), ts(T0));
    clock.advance(Duration::from_secs(90));
    assert_eq!(clock.now(), ts("2026-06-01T10:01:30Z"));
}

/// Holds every page to `slow_user` until released; pages to others go through at once.
struct GatedNotifier {
    slow_user: &'static str,
    started: tokio::sync::Notify,
    release: tokio::sync::Notify,
    sent: Mutex<Vec<String>>,
}

impl tocsin_oncall::Notifier for GatedNotifier {
    fn send<'a>(
        &'a self,
        delivery: tocsin_oncall::Delivery<'a>,
    ) -> tocsin_oncall::notify::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if delivery.user.spec.id == self.slow_user {
                self.started.notify_one();
                self.release.notified().await;
            }
            self.sent
                .lock()
                .push(format!("{} {}", delivery.user.spec.id, delivery.contact));
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_slow_contact_holds_up_no_other_escalation_and_is_not_sent_twice() {
    on_both("slow_contact", |opener| async move {
        let store = opener.open().await;
        let clock = Arc::new(ManualClock::new(ts(T0)));
        let directory = Arc::new(
            Directory::from_files(&[(
                "d.yml".into(),
                "users:\n  - {id: alice, time_zone: UTC}\n  - {id: bob, time_zone: UTC}\n\
                 escalation_policies:\n  - id: slow\n    steps: [{delay: 5m, targets: [{user: alice}]}]\n  \
                 - id: fast\n    steps: [{delay: 5m, targets: [{user: bob}]}]\n"
                    .into(),
            )])
            .unwrap(),
        );
        let notifier = Arc::new(GatedNotifier {
            slow_user: "alice",
            started: tokio::sync::Notify::new(),
            release: tokio::sync::Notify::new(),
            sent: Mutex::default(),
        });
        let escalator = Arc::new(
            Escalator::open(
                store.clone(),
                directory,
                Arc::<ManualClock>::clone(&clock),
                Arc::clone(&notifier) as Arc<dyn tocsin_oncall::Notifier>,
            )
            .await
            .unwrap(),
        );
        let slow = tokio::spawn({
            let escalator = Arc::clone(&escalator);
            async move { escalator.start("a", "slow", page("slow")).await }
        });
        notifier.started.notified().await;
        // Alice's page is stuck in its send; Bob's escalation starts and pages at once, and
        // a tick meanwhile does not take Alice's pending page for an interrupted one.
        let fast = tokio::time::timeout(
            Duration::from_secs(10),
            escalator.start("b", "fast", page("fast")),
        )
        .await
        .expect("a slow contact held up another escalation")
        .unwrap();
        assert!(matches!(fast, StartOutcome::Started { .. }), "{fast:?}");
        assert_eq!(*notifier.sent.lock(), vec!["bob inbox".to_owned()]);
        let report = tokio::time::timeout(Duration::from_secs(10), escalator.tick(clock.now()))
            .await
            .expect("a tick waited for a slow contact")
            .unwrap();
        assert_eq!((report.resent, report.sent), (0, 0), "{report:?}");
        notifier.release.notify_one();
        slow.await.unwrap().unwrap();
        let mut sent = notifier.sent.lock().clone();
        sent.sort();
        assert_eq!(sent, vec!["alice inbox".to_owned(), "bob inbox".to_owned()]);
        let pages = store.oncall().pages(0, i64::MAX, None).await.unwrap();
        assert_eq!(pages.len(), 2);
        assert!(pages.iter().all(|p| p.status == "sent"), "{pages:?}");
    })
    .await;
}
