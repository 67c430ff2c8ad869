//! A token bucket on samples. Time is passed in (milliseconds), so tests drive it.

/// Refills at `rate` tokens per second up to `burst`. A request larger than the burst is
/// let through when the bucket is full and puts it into debt, so a single large request is
/// never refused forever while the average rate still holds.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: Option<i64>,
}

impl Default for TokenBucket {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenBucket {
    /// A full bucket (filled to the burst on first use).
    pub fn new() -> Self {
        Self {
            tokens: f64::INFINITY,
            last_ms: None,
        }
    }

    /// Takes `n` tokens at `now_ms` under `rate` per second and `burst` (0 = one second of
    /// rate). `rate` 0 means unlimited. On refusal returns how many seconds to wait.
    pub fn try_take(&mut self, n: u64, now_ms: i64, rate: u64, burst: u64) -> Result<(), u64> {
        if rate == 0 {
            return Ok(());
        }
        let rate = rate as f64;
        let burst = if burst == 0 { rate } else { burst as f64 };
        let elapsed = match self.last_ms {
            Some(last) => (now_ms.saturating_sub(last)).max(0) as f64 / 1000.0,
            None => f64::INFINITY,
        };
        self.last_ms = Some(now_ms);
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        let n = n as f64;
        if self.tokens >= n || self.tokens >= burst {
            self.tokens -= n;
            return Ok(());
        }
        let needed = n.min(burst) - self.tokens;
        Err((needed / rate).ceil().max(1.0) as u64)
    }
}
