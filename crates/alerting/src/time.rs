//! Time as the alerting stage sees it: instants are Unix milliseconds, and every timer
//! (group waits and intervals, retry backoff) runs on an injectable [`Clock`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;

/// Unix milliseconds.
pub type Millis = i64;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which Alertmanager uses for "not set".
pub const ZERO_TIME: Millis = -62_135_596_800_000;

/// The wall clock and timers on it. Production uses [`SystemClock`]; tests and benchmarks
/// use [`FakeClock`], which moves only when told to.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in Unix milliseconds.
    fn now(&self) -> Millis;
    /// Completes once the clock reads `at` or later.
    fn sleep_until(&self, at: Millis) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// The system clock; timers are tokio's.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn sleep_until(&self, at: Millis) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let wait = u64::try_from(at.saturating_sub(self.now())).unwrap_or(0);
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(wait)))
    }
}

/// A clock that stands still until [`FakeClock::advance_to`]; sleepers wake in deadline
/// order as it passes their deadline.
#[derive(Debug)]
pub struct FakeClock {
    state: Mutex<FakeState>,
}

#[derive(Debug)]
struct FakeState {
    now: Millis,
    sleepers: Vec<(Millis, tokio::sync::oneshot::Sender<()>)>,
}

impl FakeClock {
    /// Starts at `now`.
    pub fn new(now: Millis) -> Self {
        Self {
            state: Mutex::new(FakeState {
                now,
                sleepers: Vec::new(),
            }),
        }
    }

    /// Moves to `at` (never backwards) and wakes every sleeper due by then.
    pub fn advance_to(&self, at: Millis) {
        let mut state = self.state.lock();
        state.now = state.now.max(at);
        let now = state.now;
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut state.sleepers)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        state.sleepers = waiting;
        drop(state);
        for (_, wake) in due {
            let _ = wake.send(());
        }
    }

    /// How many sleepers wait.
    pub fn sleepers(&self) -> usize {
        self.state.lock().sleepers.len()
    }

    /// The earliest deadline of a sleeper, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.state.lock().sleepers.iter().map(|(t, _)| *t).min()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Millis {
        self.state.lock().now
    }

    fn sleep_until(&self, at: Millis) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let mut state = self.state.lock();
        if at <= state.now {
            return Box::pin(std::future::ready(()));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        state.sleepers.push((at, tx));
        Box::pin(async move {
            // A dropped clock never wakes its sleepers; neither do we.
            if rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// RFC 3339 with milliseconds, as Alertmanager's API writes instants.
pub fn format_api(ms: Millis) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => "0001-01-01T00:00:00.000Z".to_owned(),
    }
}

/// RFC 3339 as Go's `time.Time` JSON (fraction only when non-zero), as in webhook payloads.
pub fn format_go(ms: Millis) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_string(),
        Err(_) => "0001-01-01T00:00:00Z".to_owned(),
    }
}

/// Parses an RFC 3339 instant.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|ts| ts.as_millisecond())
}

/// A config duration in milliseconds.
pub fn millis(d: tocsin_config::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
