//! Sending queued requests with retries: 2xx removes the request from the queue; 429, 5xx
//! and connection errors keep it and back off exponentially; other 4xx can never succeed,
//! so the request is dropped with an error log and counted.

use std::time::Duration;

use super::queue::DiskQueue;
use crate::Result;

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Stored by the receiver.
    Acknowledged,
    /// Refused for good (4xx other than 429); dropped.
    Refused(String),
    /// Try again later.
    Retry(String),
}

/// The remote_write client of the agent.
#[derive(Debug, Clone)]
pub struct Pusher {
    client: reqwest::Client,
    url: String,
    tenant: Option<String>,
    min_backoff: Duration,
    max_backoff: Duration,
    backoff: Duration,
    /// Requests dropped because the receiver refused them for good.
    pub refused: u64,
}

impl Pusher {
    /// A client for `url`.
    pub fn new(
        url: &str,
        tenant: Option<String>,
        min_backoff: Duration,
        max_backoff: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tocsin-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Self {
            client,
            url: url.to_owned(),
            tenant,
            min_backoff,
            max_backoff,
            backoff: min_backoff,
            refused: 0,
        })
    }

    /// The wait before the next attempt after a failure.
    pub fn backoff(&self) -> Duration {
        self.backoff
    }

    /// Sends one compressed request body.
    pub async fn send(&self, body: Vec<u8>) -> SendOutcome {
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body);
        if let Some(tenant) = &self.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if status.is_success() {
                    SendOutcome::Acknowledged
                } else if status.as_u16() == 429 || status.is_server_error() {
                    SendOutcome::Retry(format!("{status}: {}", text.trim()))
                } else {
                    SendOutcome::Refused(format!("{status}: {}", text.trim()))
                }
            }
            Err(err) => SendOutcome::Retry(err.to_string()),
        }
    }

    /// Sends queued requests oldest first. Returns `true` when the queue is empty, `false`
    /// when a send must be retried later (the backoff doubles up to its maximum).
    pub async fn drain(&mut self, queue: &DiskQueue) -> Result<bool> {
        for (_, path) in queue.entries()? {
            let body = match std::fs::read(&path) {
                Ok(body) => body,
                Err(source) => {
                    return Err(crate::Error::Io {
                        path: path.display().to_string(),
                        source,
                    });
                }
            };
            match self.send(body).await {
                SendOutcome::Acknowledged => {
                    queue.ack(&path)?;
                    self.backoff = self.min_backoff;
                }
                SendOutcome::Refused(reason) => {
                    tracing::error!(url = %self.url, %reason, file = %path.display(), "receiver refused a request for good; dropping it");
                    self.refused += 1;
                    queue.ack(&path)?;
                }
                SendOutcome::Retry(reason) => {
                    tracing::warn!(url = %self.url, %reason, retry_in = ?self.backoff, "cannot push; keeping the request queued");
                    self.backoff = (self.backoff * 2).min(self.max_backoff);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
