//! Delivering pages: the built-in inbox (a store table), webhooks (JSON), Slack incoming
//! webhooks and email (SMTP through lettre).
//!
//! Delivery guarantees differ per contact, because a page is recorded before it is sent and
//! a crash can come between the two (see [`at_least_once`]):
//! - inbox and webhook are **at least once**: an interrupted page is sent again after a
//!   restart. The inbox insert is idempotent on the page id, and the webhook JSON carries
//!   `page_id` so a receiver can drop the duplicate.
//! - Slack and email are **at most once**: they cannot be deduplicated on the other side, so
//!   an interrupted page is marked `unknown` instead of sent twice; the escalation's next
//!   step still covers a page that was lost.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use tocsin_store::Store;

use crate::directory::{SmtpSpec, User};
use crate::escalation::Page;

/// The contact key of the built-in inbox.
pub const INBOX: &str = "inbox";

/// A boxed future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One page to one contact of one user.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The recorded page's id (an idempotency key for receivers).
    pub page_id: i64,
    /// The escalation.
    pub escalation_id: &'a str,
    /// The caller's key of the escalation.
    pub key: &'a str,
    /// The recipient.
    pub user: &'a User,
    /// `inbox`, or `webhook:URL`, `slack:URL`, `email:ADDRESS`.
    pub contact: &'a str,
    /// What to say.
    pub page: &'a Page,
    /// Which step of the policy (0-based).
    pub step: i64,
    /// Which round of the policy (0-based).
    pub repeat: i64,
}

/// Sends pages. Errors are messages for the pages table and the logs.
pub trait Notifier: Send + Sync {
    /// Sends one delivery.
    fn send<'a>(&'a self, delivery: Delivery<'a>) -> BoxFuture<'a, Result<(), String>>;
}

/// Whether an interrupted page to this contact is sent again after a restart.
pub fn at_least_once(contact: &str) -> bool {
    contact == INBOX || contact.starts_with("webhook:")
}

/// The real channels: inbox, webhook, Slack, email.
pub struct Channels {
    store: Store,
    http: reqwest::Client,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    now: std::sync::Arc<dyn crate::Clock>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("smtp", &self.smtp.is_some())
            .finish_non_exhaustive()
    }
}

const SEND_TIMEOUT: Duration = Duration::from_secs(15);

impl Channels {
    /// Channels writing the inbox to `store` and reaching email through `smtp` (when set;
    /// email contacts fail with a clear message otherwise).
    pub fn new(
        store: Store,
        smtp: Option<&SmtpSpec>,
        base_dir: &std::path::Path,
        clock: std::sync::Arc<dyn crate::Clock>,
    ) -> crate::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::Error::BadRequest(format!("cannot build the HTTP client: {e}")))?;
        let smtp = smtp.map(|s| smtp_transport(s, base_dir)).transpose()?;
        Ok(Self {
            store,
            http,
            smtp,
            now: clock,
        })
    }

    async fn post_json(&self, url: &str, body: serde_json::Value) -> Result<(), String> {
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            Err(format!("POST {url} answered {status}: {}", text.trim()))
        }
    }
}

fn smtp_transport(
    s: &SmtpSpec,
    base_dir: &std::path::Path,
) -> crate::Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)> {
    let bad = |m: String| crate::Error::BadRequest(format!("smtp: {m}"));
    let (host, port) = s
        .smarthost
        .rsplit_once(':')
        .ok_or_else(|| bad(format!("smarthost {:?} needs a port", s.smarthost)))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad(format!("smarthost {:?}: bad port", s.smarthost)))?;
    let mut builder = if port == 465 {
        AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| bad(format!("smarthost {host}: {e}")))?
    } else if s.require_tls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| bad(format!("smarthost {host}: {e}")))?
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
    }
    .port(port)
    .timeout(Some(SEND_TIMEOUT));
    let password = match (&s.password, &s.password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => {
            let path = base_dir.join(file);
            Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| bad(format!("password_file {}: {e}", path.display())))?
                    .trim_end()
                    .to_owned(),
            )
        }
        (None, None) => None,
    };
    if let (Some(user), Some(password)) = (&s.username, password) {
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let from: Mailbox = s
        .from
        .parse()
        .map_err(|e| bad(format!("from {:?}: {e}", s.from)))?;
    Ok((builder.build(), from))
}

/// The text of a page, for Slack and email.
fn text(d: &Delivery<'_>) -> String {
    let mut out = format!("{}\n", d.page.title);
    if !d.page.body.is_empty() {
        out.push_str(&d.page.body);
        out.push('\n');
    }
    if let Some(service) = &d.page.service {
        out.push_str(&format!("service: {service}\n"));
    }
    if let Some(severity) = &d.page.severity {
        out.push_str(&format!("severity: {severity}\n"));
    }
    if let Some(link) = &d.page.link {
        out.push_str(&format!("{link}\n"));
    }
    out.push_str(&format!(
        "escalation {} step {} (round {}); acknowledge in the tocsin inbox or with the API",
        d.key,
        d.step + 1,
        d.repeat + 1
    ));
    out
}

impl Notifier for Channels {
    fn send<'a>(&'a self, d: Delivery<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if d.contact == INBOX {
                return self
                    .store
                    .oncall()
                    .insert_inbox(
                        &d.user.spec.id,
                        d.page_id,
                        d.escalation_id,
                        &d.page.title,
                        &d.page.body,
                        d.page.link.as_deref(),
                        self.now.now().as_millisecond(),
                    )
                    .await
                    .map_err(|e| e.to_string());
            }
            let (kind, address) = d
                .contact
                .split_once(':')
                .ok_or_else(|| format!("unknown contact {:?}", d.contact))?;
            match kind {
                "webhook" => {
                    let body = json!({
                        "version": "1",
                        "page_id": d.page_id,
                        "escalation_id": d.escalation_id,
                        "key": d.key,
                        "user": d.user.spec.id,
                        "step": d.step,
                        "repeat": d.repeat,
                        "page": d.page,
                    });
                    self.post_json(address, body).await
                }
                "slack" => self.post_json(address, json!({ "text": text(&d) })).await,
                "email" => {
                    let Some((transport, from)) = &self.smtp else {
                        return Err(
                            "no smtp settings in the on-call directory; add an smtp: section"
                                .to_owned(),
                        );
                    };
                    let to: Mailbox = address
                        .parse()
                        .map_err(|e| format!("email address {address:?}: {e}"))?;
                    let message = Message::builder()
                        .from(from.clone())
                        .to(to)
                        .subject(format!("[tocsin page] {}", d.page.title))
                        .body(text(&d))
                        .map_err(|e| format!("cannot build the email: {e}"))?;
                    transport
                        .send(message)
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("SMTP: {e}"))
                }
                other => Err(format!("unknown contact kind {other:?}")),
            }
        })
    }
}
