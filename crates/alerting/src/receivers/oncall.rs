//! The `oncall` receiver: hands an alert group to tocsin's own on-call stage (a service or an
//! escalation policy), which pages people. The router does not know how paging works; the
//! composition root gives it an [`OncallHandoff`] (the incident stage), and a configuration
//! that names `oncall_configs` without one is refused at start-up rather than dropped.
//!
//! The page carries the same message a webhook receiver would post (payload version 4), so
//! the on-call side sees groups, statuses and fingerprints exactly as webhooks do.

use std::sync::Arc;

use serde::Deserialize;

use crate::notify::{BoxFuture, Integration, Notification, NotifyFailure};
use crate::webhook::{WebhookMessage, message};

/// Where a group goes in the on-call stage.
pub trait OncallHandoff: Send + Sync {
    /// Hands one notification over; `Err` (what went wrong) is retried with the pipeline's
    /// backoff until the flush's deadline.
    fn handoff<'a>(&'a self, page: &'a OncallPage) -> BoxFuture<'a, Result<(), String>>;
}

/// One notification for the on-call stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OncallPage {
    /// The receiver of `alertmanager.yml` that routed here.
    pub receiver: String,
    /// The service to page (its escalation policy decides who), or
    pub service: Option<String>,
    /// the escalation policy to run directly.
    pub escalation_policy: Option<String>,
    /// What a webhook would have posted (groupKey, status, alerts, labels, tocsin's
    /// notification id and feedback link).
    pub message: WebhookMessage,
}

/// `oncall_configs:` entry (tocsin's own; Alertmanager has no such receiver).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OncallConfig {
    /// Notify about resolved alerts (default true: the on-call stage closes what it opened).
    #[serde(default = "crate::config::default_true")]
    pub send_resolved: bool,
    /// A service of `oncall:` (exclusive with `escalation_policy`).
    pub service: Option<String>,
    /// An escalation policy of `oncall:` (exclusive with `service`).
    pub escalation_policy: Option<String>,
}

/// An `oncall_configs` entry bound to the handoff.
pub struct Oncall {
    receiver: String,
    index: usize,
    config: OncallConfig,
    external_url: String,
    handoff: Arc<dyn OncallHandoff>,
}

impl std::fmt::Debug for Oncall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oncall")
            .field("receiver", &self.receiver)
            .field("index", &self.index)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Oncall {
    /// Binds an entry of `receiver` to the handoff.
    pub fn new(
        receiver: &str,
        index: usize,
        config: &OncallConfig,
        external_url: &str,
        handoff: Arc<dyn OncallHandoff>,
    ) -> Self {
        Self {
            receiver: receiver.to_owned(),
            index,
            config: config.clone(),
            external_url: external_url.to_owned(),
            handoff,
        }
    }

    /// The page for a notification.
    pub fn page(&self, n: &Notification<'_>) -> OncallPage {
        OncallPage {
            receiver: self.receiver.clone(),
            service: self.config.service.clone(),
            escalation_policy: self.config.escalation_policy.clone(),
            message: message(n, 0, &self.external_url),
        }
    }
}

impl Integration for Oncall {
    fn name(&self) -> &'static str {
        "oncall"
    }

    fn index(&self) -> usize {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.config.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification<'a>) -> BoxFuture<'a, Result<(), NotifyFailure>> {
        Box::pin(async move {
            let page = self.page(n);
            self.handoff
                .handoff(&page)
                .await
                .map_err(|reason| NotifyFailure {
                    // The on-call stage is in this process: a failure is its store or a
                    // transient state, which a retry can outlast.
                    retry: true,
                    reason: format!("on-call handoff failed: {reason}"),
                })
        })
    }
}
