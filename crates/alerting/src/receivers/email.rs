//! Email over SMTP (lettre): implicit TLS on port 465, STARTTLS when `require_tls` (the
//! default), PLAIN/LOGIN authentication, templated headers, and a `multipart/alternative`
//! body with the text and HTML parts Alertmanager 0.25 sends.

use std::collections::BTreeMap;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::{canonical_header, split_host_port};
use super::{BuildContext, Renderer, Templates, TextTemplate, read_secret_file};
use crate::config::{EmailConfig, GlobalConfig};
use crate::notify::{BoxFuture, Integration, Notification, NotifyFailure};
use crate::{Error, Result};

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An `email_configs` entry.
pub struct Email {
    index: usize,
    send_resolved: bool,
    external_url: String,
    templates: Templates,
    headers: BTreeMap<String, TextTemplate>,
    html: TextTemplate,
    text: TextTemplate,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Email {
    /// Builds the integration, registering its templates. No connection is made until the
    /// first notification.
    pub fn new(
        receiver: &str,
        index: usize,
        c: &EmailConfig,
        global: &GlobalConfig,
        templates: &mut Templates,
        cx: &BuildContext<'_>,
    ) -> Result<Self> {
        let what = |field: &str| format!("receiver {receiver:?}: email_configs[{index}].{field}");
        let invalid = |m: String| Error::Invalid(format!("receiver {receiver:?}: {m}"));
        let smarthost = c
            .smarthost
            .as_ref()
            .or(global.smtp_smarthost.as_ref())
            .ok_or_else(|| invalid("no global SMTP smarthost set".into()))?;
        let (host, port) = split_host_port(smarthost)
            .ok_or_else(|| invalid(format!("smarthost {smarthost:?} must be host:port")))?;
        let from = c
            .from
            .clone()
            .or_else(|| global.smtp_from.clone())
            .ok_or_else(|| invalid("no global SMTP from set".into()))?;
        let hello = c
            .hello
            .clone()
            .or_else(|| global.smtp_hello.clone())
            .unwrap_or_else(|| "localhost".to_owned());
        let require_tls = c.require_tls.or(global.smtp_require_tls).unwrap_or(true);
        let tls_parameters = || -> Result<TlsParameters> {
            let name = c
                .tls_config
                .server_name
                .clone()
                .unwrap_or_else(|| host.clone());
            let mut builder = TlsParameters::builder(name)
                .dangerous_accept_invalid_certs(c.tls_config.insecure_skip_verify);
            if let Some(ca) = &c.tls_config.ca_file {
                let pem = std::fs::read(cx.base_dir.join(ca)).map_err(|err| {
                    invalid(format!("cannot read tls_config.ca_file {ca}: {err}"))
                })?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|err| invalid(format!("tls_config.ca_file {ca}: {err}")))?;
                builder = builder.add_root_certificate(cert);
            }
            builder
                .build_rustls()
                .map_err(|err| invalid(format!("email TLS settings: {err}")))
        };
        // Alertmanager: port 465 speaks TLS from the start; otherwise STARTTLS is demanded
        // when require_tls, and not attempted when not.
        let tls = if port == 465 {
            Tls::Wrapper(tls_parameters()?)
        } else if require_tls {
            Tls::Required(tls_parameters()?)
        } else {
            Tls::None
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .hello_name(ClientId::Domain(hello))
            .timeout(Some(SMTP_TIMEOUT));
        let username = c
            .auth_username
            .clone()
            .or_else(|| global.smtp_auth_username.clone());
        if let Some(username) = username.filter(|u| !u.is_empty()) {
            let password = match (&c.auth_password, &c.auth_password_file) {
                (Some(p), _) => p.expose().to_owned(),
                (None, Some(file)) => read_secret_file(cx.base_dir, file, "auth_password_file")?,
                (None, None) => match (&global.smtp_auth_password, &global.smtp_auth_password_file)
                {
                    (Some(p), _) => p.expose().to_owned(),
                    (None, Some(file)) => {
                        read_secret_file(cx.base_dir, file, "global smtp_auth_password_file")?
                    }
                    (None, None) => String::new(),
                },
            };
            builder = builder
                .credentials(Credentials::new(username, password))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        let mut headers = BTreeMap::new();
        for (name, value) in &c.headers {
            let name = canonical_header(name);
            let field = templates.register(&what(&format!("headers.{name}")), value)?;
            headers.insert(name, field);
        }
        let defaults = [
            (
                "Subject",
                r#"{{ template "email.default.subject" . }}"#.to_owned(),
            ),
            ("To", c.to.clone().unwrap_or_default()),
            ("From", from),
        ];
        for (name, text) in defaults {
            if !headers.contains_key(name) {
                let field = templates.register(&what(&format!("headers.{name}")), &text)?;
                headers.insert(name.to_owned(), field);
            }
        }
        let html = templates.register(
            &what("html"),
            c.html
                .as_deref()
                .unwrap_or(r#"{{ template "email.default.html" . }}"#),
        )?;
        let text = templates.register(&what("text"), c.text.as_deref().unwrap_or(""))?;
        Ok(Self {
            index,
            send_resolved: c.send_resolved,
            external_url: cx.external_url.to_owned(),
            templates: templates.clone(),
            headers,
            html,
            text,
            transport: builder.build(),
        })
    }

    /// The message for `n` (rendered headers and body).
    pub fn message(&self, n: &Notification<'_>) -> Result<Message, NotifyFailure> {
        let data = super::template_data(n, &self.external_url);
        let mut r = Renderer {
            templates: &self.templates,
            data: &data,
            error: None,
        };
        let headers: BTreeMap<&str, String> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), r.text(v)))
            .collect();
        let html = r.text(&self.html);
        let text = r.text(&self.text);
        r.finish()?;
        let fail = |reason: String| NotifyFailure {
            retry: false,
            reason,
        };
        let header = |name: &str| headers.get(name).map_or("", String::as_str);
        let from: Mailbox = header("From")
            .parse()
            .map_err(|err| fail(format!("parse 'from' addresses: {err}")))?;
        let to: Mailboxes = header("To")
            .parse()
            .map_err(|err| fail(format!("parse 'to' addresses: {err}")))?;
        let mut builder = Message::builder().from(from).date_now().message_id(None);
        for mailbox in to {
            builder = builder.to(mailbox);
        }
        builder = builder.subject(header("Subject"));
        let mut body = MultiPart::alternative().build();
        if !text.is_empty() {
            body = body.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text),
            );
        }
        if !html.is_empty() {
            body = body.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html),
            );
        }
        let mut message = builder
            .multipart(body)
            .map_err(|err| fail(format!("cannot build the message: {err}")))?;
        for (name, value) in &headers {
            if matches!(*name, "From" | "To" | "Subject") {
                continue;
            }
            let name = HeaderName::new_from_ascii((*name).to_owned())
                .map_err(|err| fail(format!("header {name:?}: {err}")))?;
            message
                .headers_mut()
                .insert_raw(HeaderValue::new(name, value.clone()));
        }
        Ok(message)
    }
}

impl Integration for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    fn index(&self) -> usize {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification<'a>) -> BoxFuture<'a, Result<(), NotifyFailure>> {
        Box::pin(async move {
            let message = self.message(n)?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|err| NotifyFailure {
                    // Permanent SMTP rejections (5xx) will not change by retrying.
                    retry: !err.is_permanent(),
                    reason: format!("send email: {err}"),
                })
        })
    }
}
