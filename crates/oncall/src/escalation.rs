//! The escalation engine.
//!
//! [`Escalator::start`] opens an escalation for a key (idempotent while it is open) and
//! notifies step 0 at once. Each step waits its `delay` for an acknowledgement; then the next
//! step fires; after the last step the policy runs again `repeat` more times, then the
//! escalation is exhausted (still open: it can be acknowledged or resolved). An
//! acknowledgement stops it; one with an expiry that passes without a resolve starts again
//! from step 0 (a new generation). [`Escalator::tick`] does what is due; the server calls it
//! every second with the system clock, tests with a manual one.
//!
//! Every state change is in the store first (see `tocsin_store::oncall`): a step moves the
//! escalation on and records its pages in one transaction, then the pages are sent. A
//! restart therefore neither skips nor repeats a step; an interrupted send is retried or not
//! depending on the contact (see [`crate::notify`]). After downtime an escalation resumes at
//! the step it was at, one step per tick, each next step a full delay later: missed steps are
//! not fired all at once.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tocsin_store::Store;
use tocsin_store::oncall::{Advance, EscalationRow, NewPage, PageRow};

use crate::clock::Clock;
use crate::directory::{Directory, Target};
use crate::metrics::{OncallMetrics, contact_kind};
use crate::notify::{Delivery, INBOX, Notifier, at_least_once};
use crate::{Error, Result};

/// What a page says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// One line.
    pub title: String,
    /// Details.
    #[serde(default)]
    pub body: String,
    /// The service it is about.
    #[serde(default)]
    pub service: Option<String>,
    /// `critical`, `warning`, ...
    #[serde(default)]
    pub severity: Option<String>,
    /// Where to look (incident, runbook, dashboard).
    #[serde(default)]
    pub link: Option<String>,
    /// Labels of the alert or incident.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// What [`Escalator::start`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StartOutcome {
    /// A new escalation.
    Started {
        /// Its id.
        escalation_id: String,
    },
    /// The key is held by an open escalation; nothing was done.
    AlreadyActive {
        /// That escalation's id.
        escalation_id: String,
    },
}

/// A page that was sent (or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageEvent {
    /// The escalation's key.
    pub key: String,
    /// The recipient.
    pub user: String,
    /// `inbox`, `webhook:…`, ...
    pub contact: String,
    /// 0-based step.
    pub step: i64,
    /// 0-based round.
    pub repeat: i64,
    /// `sent` or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// Hears what escalations do (the binary writes it into incident timelines). Called after
/// the store has recorded the change; must not block.
pub trait EscalationObserver: Send + Sync {
    /// A page was sent or failed.
    fn page_sent(&self, event: &PageEvent) {
        let _ = event;
    }
    /// A step after the first fired (the escalation moved on, or repeated).
    fn escalated(&self, key: &str, step: i64, repeat: i64) {
        let _ = (key, step, repeat);
    }
    /// Someone acknowledged.
    fn acked(&self, key: &str, by: &str) {
        let _ = (key, by);
    }
    /// An acknowledgement expired without a resolve; notifying again from step 0.
    fn ack_expired(&self, key: &str) {
        let _ = key;
    }
    /// Every step of every round fired without an acknowledgement.
    fn exhausted(&self, key: &str) {
        let _ = key;
    }
}

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Steps taken.
    pub steps: usize,
    /// Pages sent successfully.
    pub sent: usize,
    /// Pages that failed.
    pub failed: usize,
    /// Interrupted pages found pending and sent again.
    pub resent: usize,
    /// Interrupted pages left unsent (at-most-once contacts).
    pub abandoned: usize,
}

/// The escalation engine. Share it in an `Arc`.
pub struct Escalator {
    store: Store,
    directory: RwLock<Arc<Directory>>,
    clock: Arc<dyn Clock>,
    notifier: Arc<dyn Notifier>,
    observer: RwLock<Option<Arc<dyn EscalationObserver>>>,
    metrics: OncallMetrics,
    // Serialises the state changes of start and tick; ack and resolve need not wait, the
    // store's compare-and-set on the escalation's state and position guards them. Pages are
    // sent after it is released: a slow webhook must not hold up every other escalation.
    serial: tokio::sync::Mutex<()>,
    // Pages this process is sending: recorded pending, so a tick meanwhile must not take
    // them for pages a crash interrupted and send them again.
    in_flight: parking_lot::Mutex<HashSet<i64>>,
}

/// A page to send: its escalation and its row.
type PageSend = (EscalationRow, PageRow);

/// At most this many pages of one tick are sent at once.
const SEND_CONCURRENCY: usize = 16;

impl std::fmt::Debug for Escalator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Escalator").finish_non_exhaustive()
    }
}

fn ms(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

fn later(ts: Timestamp, by: std::time::Duration) -> i64 {
    let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
    ms(ts.checked_add(by).unwrap_or(Timestamp::MAX))
}

impl Escalator {
    /// Opens the engine on `store` (migrating on-call's tables).
    pub async fn open(
        store: Store,
        directory: Arc<Directory>,
        clock: Arc<dyn Clock>,
        notifier: Arc<dyn Notifier>,
    ) -> Result<Self> {
        store.migrate(&tocsin_store::oncall::FEATURE).await?;
        Ok(Self {
            store,
            directory: RwLock::new(directory),
            clock,
            notifier,
            observer: RwLock::new(None),
            metrics: OncallMetrics::unregistered(),
            serial: tokio::sync::Mutex::new(()),
            in_flight: parking_lot::Mutex::new(HashSet::new()),
        })
    }

    /// Counts into `metrics` (registered by the caller) instead of unregistered ones.
    #[must_use]
    pub fn with_metrics(mut self, metrics: OncallMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Replaces the directory (reload, API edits, overrides).
    pub fn set_directory(&self, directory: Arc<Directory>) {
        *self.directory.write() = directory;
    }

    /// The directory in use.
    pub fn directory(&self) -> Arc<Directory> {
        Arc::clone(&self.directory.read())
    }

    /// Sets who hears about escalations.
    pub fn set_observer(&self, observer: Arc<dyn EscalationObserver>) {
        *self.observer.write() = Some(observer);
    }

    fn observer(&self) -> Option<Arc<dyn EscalationObserver>> {
        self.observer.read().clone()
    }

    /// Starts escalating `page` along `policy` unless an open escalation holds `key`; the
    /// first step is notified before this returns.
    pub async fn start(&self, key: &str, policy: &str, page: Page) -> Result<StartOutcome> {
        if key.is_empty() {
            return Err(Error::BadRequest(
                "an escalation needs a non-empty key".into(),
            ));
        }
        self.directory().policy(policy)?;
        let now = self.clock.now();
        let row = EscalationRow {
            id: uuid::Uuid::new_v4().to_string(),
            key: key.to_owned(),
            policy: policy.to_owned(),
            page: serde_json::to_string(&page)
                .map_err(|e| Error::BadRequest(format!("page: {e}")))?,
            state: "active".into(),
            generation: 0,
            step: 0,
            repeat_no: 0,
            next_at: Some(ms(now)),
            started_at: ms(now),
            acked_by: None,
            acked_at: None,
            ack_expires_at: None,
            resolved_at: None,
        };
        let mut report = TickReport::default();
        let mut sends = Vec::new();
        {
            let _serial = self.serial.lock().await;
            let (held, created) = self.store.oncall().start_escalation(&row).await?;
            if !created {
                return Ok(StartOutcome::AlreadyActive {
                    escalation_id: held.id,
                });
            }
            tracing::info!(key, policy, escalation = %held.id, "escalation started");
            self.metrics.escalations_started.inc();
            self.step(held, now, &mut report, &mut sends).await?;
            self.claim(&sends);
        }
        self.send_all(sends, &mut report).await?;
        Ok(StartOutcome::Started {
            escalation_id: row.id,
        })
    }

    /// Acknowledges: no more steps. With `expires_at`, notifying starts again from step 0 at
    /// that time unless the escalation was resolved. `NotFound` when no open escalation
    /// holds `key`.
    pub async fn ack(&self, key: &str, by: &str, expires_at: Option<Timestamp>) -> Result<()> {
        let now = self.clock.now();
        if let Some(at) = expires_at
            && at <= now
        {
            return Err(Error::BadRequest(format!(
                "the acknowledgement would expire at {at}, which is not in the future"
            )));
        }
        // No need to wait for a tick that is sending: taking a step requires the escalation
        // to be active (a compare-and-set in the store), so nothing fires after this commits.
        let row = self
            .store
            .oncall()
            .ack(key, by, ms(now), expires_at.map(ms))
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "escalation",
                id: key.to_owned(),
            })?;
        tracing::info!(key, by, escalation = %row.id, expires = ?expires_at, "escalation acknowledged");
        self.metrics.acks.inc();
        if let Some(o) = self.observer() {
            o.acked(key, by);
        }
        Ok(())
    }

    /// Resolves: the escalation ends and the key is free for a new one.
    pub async fn resolve(&self, key: &str) -> Result<()> {
        let now = self.clock.now();
        // Like ack: the store's compare-and-set keeps a running tick from stepping past it.
        let row = self
            .store
            .oncall()
            .resolve(key, ms(now))
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "escalation",
                id: key.to_owned(),
            })?;
        tracing::info!(key, escalation = %row.id, "escalation resolved");
        Ok(())
    }

    /// The open escalation holding `key`.
    pub async fn status(&self, key: &str) -> Result<Option<EscalationRow>> {
        Ok(self.store.oncall().active_escalation(key).await?)
    }

    /// Does everything due at `now`: pages interrupted by a crash, expired
    /// acknowledgements, and the next step of each escalation whose delay passed.
    pub async fn tick(&self, now: Timestamp) -> Result<TickReport> {
        let mut report = TickReport::default();
        let mut sends = Vec::new();
        let changed = self.tick_locked(now, &mut report, &mut sends).await;
        // Whatever was recorded before an error is still sent.
        let sent = self.send_all(sends, &mut report).await;
        changed.and(sent)?;
        Ok(report)
    }

    async fn tick_locked(
        &self,
        now: Timestamp,
        report: &mut TickReport,
        sends: &mut Vec<PageSend>,
    ) -> Result<()> {
        let _serial = self.serial.lock().await;
        let result = self.take_due(now, report, sends).await;
        self.claim(sends);
        result
    }

    /// Marks pages as being sent by this process (under the serial lock).
    fn claim(&self, sends: &[PageSend]) {
        self.in_flight
            .lock()
            .extend(sends.iter().map(|(_, page)| page.id));
    }

    /// Sends pages, a few at a time, outside the serial lock; the first store error is
    /// returned after every page was tried.
    async fn send_all(&self, sends: Vec<PageSend>, report: &mut TickReport) -> Result<()> {
        let mut first_error = None;
        for batch in sends.chunks(SEND_CONCURRENCY) {
            let outcomes = futures_util::future::join_all(
                batch.iter().map(|(row, page)| self.deliver(row, page)),
            )
            .await;
            for ((_, page), outcome) in batch.iter().zip(outcomes) {
                self.in_flight.lock().remove(&page.id);
                match outcome {
                    Ok(true) => report.sent += 1,
                    Ok(false) => report.failed += 1,
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn take_due(
        &self,
        now: Timestamp,
        report: &mut TickReport,
        sends: &mut Vec<PageSend>,
    ) -> Result<()> {
        self.recover_pending(report, sends).await?;
        let due = self.store.oncall().due_escalations(ms(now)).await?;
        for mut row in due {
            if row.state == "acked" {
                let Some(expiry) = row.ack_expires_at else {
                    continue;
                };
                if !self
                    .store
                    .oncall()
                    .expire_ack(&row.id, expiry, ms(now))
                    .await?
                {
                    continue;
                }
                tracing::info!(key = %row.key, escalation = %row.id, "acknowledgement expired; notifying again from the first step");
                self.metrics.ack_expiries.inc();
                if let Some(o) = self.observer() {
                    o.ack_expired(&row.key);
                }
                match self.store.oncall().escalation(&row.id).await? {
                    Some(fresh) => row = fresh,
                    None => continue,
                }
            }
            self.step(row, now, report, sends).await?;
        }
        Ok(())
    }

    /// Resends or abandons pages left pending by an interrupted send.
    async fn recover_pending(
        &self,
        report: &mut TickReport,
        sends: &mut Vec<PageSend>,
    ) -> Result<()> {
        let mut pending = self.store.oncall().pending_pages().await?;
        {
            let in_flight = self.in_flight.lock();
            pending.retain(|page| !in_flight.contains(&page.id));
        }
        if pending.is_empty() {
            return Ok(());
        }
        let mut escalations: BTreeMap<String, Option<EscalationRow>> = BTreeMap::new();
        for page in pending {
            if !at_least_once(&page.contact) {
                tracing::warn!(page = page.id, contact = %page.contact, user = %page.user_id, "page was interrupted before its outcome was known; not sending it again (at most once for this contact)");
                self.store
                    .oncall()
                    .finish_page(
                        page.id,
                        "unknown",
                        ms(self.clock.now()),
                        Some("interrupted before the outcome was known; not resent"),
                    )
                    .await?;
                self.metrics
                    .pages
                    .with_label_values(&[contact_kind(&page.contact), "unknown"])
                    .inc();
                report.abandoned += 1;
                continue;
            }
            if !escalations.contains_key(&page.escalation_id) {
                let row = self.store.oncall().escalation(&page.escalation_id).await?;
                escalations.insert(page.escalation_id.clone(), row);
            }
            let esc = match escalations.get(&page.escalation_id) {
                Some(Some(esc)) if esc.state != "resolved" => esc.clone(),
                _ => {
                    // Resolved (or gone) while the page was in flight: nobody needs it now.
                    self.store
                        .oncall()
                        .finish_page(
                            page.id,
                            "unknown",
                            ms(self.clock.now()),
                            Some("interrupted; the escalation was resolved since, so not resent"),
                        )
                        .await?;
                    report.abandoned += 1;
                    continue;
                }
            };
            sends.push((esc, page));
            report.resent += 1;
        }
        Ok(())
    }

    /// Takes the step `row` is at; its pages go into `sends`.
    async fn step(
        &self,
        row: EscalationRow,
        now: Timestamp,
        report: &mut TickReport,
        sends: &mut Vec<PageSend>,
    ) -> Result<()> {
        let directory = self.directory();
        let from = (row.generation, row.step, row.repeat_no);
        let Ok(policy) = directory.policy(&row.policy) else {
            tracing::error!(key = %row.key, policy = %row.policy, "escalation policy no longer exists; the escalation stops here");
            return self.exhaust(&row, from).await;
        };
        let step_index = usize::try_from(row.step).unwrap_or(usize::MAX);
        let Some(step) = policy.steps.get(step_index) else {
            return self.exhaust(&row, from).await;
        };
        let mut users: Vec<String> = Vec::new();
        let mut round_robin = Vec::new();
        for target in &step.targets {
            match target {
                Target::User(u) => users.push(u.clone()),
                Target::Schedule(s) => match directory.schedule(s).and_then(|s| s.who(now)) {
                    Ok(shifts) if !shifts.is_empty() => {
                        users.extend(shifts.into_iter().map(|s| s.user));
                    }
                    Ok(_) => {
                        tracing::warn!(key = %row.key, schedule = %s, "nobody is on call in the schedule this step targets");
                    }
                    Err(error) => {
                        tracing::warn!(key = %row.key, schedule = %s, %error, "cannot resolve the schedule this step targets");
                    }
                },
                Target::RoundRobin(list) => {
                    let next = self
                        .store
                        .oncall()
                        .round_robin_next(&row.policy, row.step)
                        .await?;
                    let n = i64::try_from(list.len()).unwrap_or(1).max(1);
                    let i = usize::try_from(next.rem_euclid(n)).unwrap_or(0);
                    if let Some(user) = list.get(i) {
                        users.push(user.clone());
                    }
                    round_robin.push((row.policy.clone(), row.step, (next + 1).rem_euclid(n)));
                }
            }
        }
        let mut seen = BTreeSet::new();
        users.retain(|u| seen.insert(u.clone()));
        let mut pages = Vec::new();
        for user in &users {
            let Some(u) = directory.users.get(user) else {
                continue;
            };
            pages.push(NewPage {
                user_id: user.clone(),
                contact: INBOX.to_owned(),
            });
            for contact in &u.spec.contacts {
                pages.push(NewPage {
                    user_id: user.clone(),
                    contact: contact.key(),
                });
            }
        }
        let steps = i64::try_from(policy.steps.len()).unwrap_or(i64::MAX);
        let (next_step, next_repeat) = if row.step + 1 < steps {
            (row.step + 1, row.repeat_no)
        } else if row.repeat_no < i64::from(policy.repeat) {
            (0, row.repeat_no + 1)
        } else {
            // Past the last step: when this delay passes unacknowledged, it is exhausted.
            (steps, row.repeat_no)
        };
        let advance = Advance {
            from,
            step: next_step,
            repeat_no: next_repeat,
            next_at: Some(later(now, step.delay)),
            state: "active".into(),
        };
        let Some(recorded) = self
            .store
            .oncall()
            .take_step(&row.id, &advance, &pages, &round_robin, ms(now))
            .await?
        else {
            return Ok(());
        };
        report.steps += 1;
        self.metrics.steps.inc();
        tracing::info!(key = %row.key, step = row.step, repeat = row.repeat_no, users = ?users, "escalation step");
        if (row.step > 0 || row.repeat_no > 0)
            && let Some(o) = self.observer()
        {
            o.escalated(&row.key, row.step, row.repeat_no);
        }
        for page in recorded.into_iter().filter(|p| p.status == "pending") {
            sends.push((row.clone(), page));
        }
        Ok(())
    }

    async fn exhaust(&self, row: &EscalationRow, from: (i64, i64, i64)) -> Result<()> {
        let advance = Advance {
            from,
            step: row.step,
            repeat_no: row.repeat_no,
            next_at: None,
            state: "exhausted".into(),
        };
        let taken = self
            .store
            .oncall()
            .take_step(&row.id, &advance, &[], &[], ms(self.clock.now()))
            .await?;
        if taken.is_some() {
            tracing::warn!(key = %row.key, escalation = %row.id, "escalation exhausted: every step notified and nobody acknowledged");
            self.metrics.exhausted.inc();
            if let Some(o) = self.observer() {
                o.exhausted(&row.key);
            }
        }
        Ok(())
    }

    /// Sends one page and records its outcome; whether it was sent.
    async fn deliver(&self, row: &EscalationRow, page: &PageRow) -> Result<bool> {
        let directory = self.directory();
        let content: Page = serde_json::from_str(&row.page).unwrap_or_else(|_| Page {
            title: format!("escalation {}", row.key),
            ..Page::default()
        });
        let outcome = match directory.users.get(&page.user_id) {
            Some(user) => {
                self.notifier
                    .send(Delivery {
                        page_id: page.id,
                        escalation_id: &row.id,
                        key: &row.key,
                        user,
                        contact: &page.contact,
                        page: &content,
                        step: page.step,
                        repeat: page.repeat_no,
                    })
                    .await
            }
            None => Err(format!(
                "user {:?} is no longer in the directory",
                page.user_id
            )),
        };
        let now = ms(self.clock.now());
        let (status, error) = match &outcome {
            Ok(()) => ("sent", None),
            Err(e) => {
                tracing::warn!(key = %row.key, user = %page.user_id, contact = %page.contact, error = %e, "page failed");
                ("failed", Some(e.as_str()))
            }
        };
        self.store
            .oncall()
            .finish_page(page.id, status, now, error)
            .await?;
        self.metrics
            .pages
            .with_label_values(&[contact_kind(&page.contact), status])
            .inc();
        if let Some(o) = self.observer() {
            o.page_sent(&PageEvent {
                key: row.key.clone(),
                user: page.user_id.clone(),
                contact: page.contact.clone(),
                step: page.step,
                repeat: page.repeat_no,
                status: status.to_owned(),
                error: error.map(str::to_owned),
            });
        }
        Ok(outcome.is_ok())
    }
}
