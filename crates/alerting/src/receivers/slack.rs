//! Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): one attachment per
//! notification, with Alertmanager 0.25's fields, defaults and JSON shape.

use std::sync::Arc;

use serde::Serialize;

use super::{
    BuildContext, Renderer, Templates, TextTemplate, check_status, post, read_secret_file,
};
use crate::Result;
use crate::config::{GlobalConfig, SlackAction, SlackConfig, SlackConfirmationField, SlackField};
use crate::notify::{BoxFuture, Integration, Notification, NotifyFailure};
use crate::webhook::HttpPost;

const MAX_TITLE_RUNES: usize = 1024;

struct FieldTemplates {
    title: TextTemplate,
    value: TextTemplate,
    short: bool,
}

struct ActionTemplates {
    r#type: TextTemplate,
    text: TextTemplate,
    url: TextTemplate,
    style: TextTemplate,
    name: TextTemplate,
    value: TextTemplate,
    confirm: Option<[TextTemplate; 4]>,
}

/// A `slack_configs` entry.
pub struct Slack {
    index: usize,
    send_resolved: bool,
    url: String,
    external_url: String,
    http: Arc<dyn HttpPost>,
    templates: Templates,
    channel: TextTemplate,
    username: TextTemplate,
    icon_emoji: TextTemplate,
    icon_url: TextTemplate,
    link_names: bool,
    title: TextTemplate,
    title_link: TextTemplate,
    pretext: TextTemplate,
    text: TextTemplate,
    fallback: TextTemplate,
    callback_id: TextTemplate,
    image_url: TextTemplate,
    thumb_url: TextTemplate,
    footer: TextTemplate,
    color: TextTemplate,
    mrkdwn_in: Vec<String>,
    fields: Vec<FieldTemplates>,
    actions: Vec<ActionTemplates>,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

fn or_default(value: Option<&String>, default: &str) -> String {
    value.map_or_else(|| default.to_owned(), Clone::clone)
}

impl Slack {
    /// Builds the integration, registering its templates.
    pub fn new(
        receiver: &str,
        index: usize,
        c: &SlackConfig,
        global: &GlobalConfig,
        templates: &mut Templates,
        cx: &BuildContext<'_>,
    ) -> Result<Self> {
        let url = match (&c.api_url, &c.api_url_file) {
            (Some(url), _) => url.expose().to_owned(),
            (None, Some(file)) => read_secret_file(cx.base_dir, file, "slack api_url_file")?,
            (None, None) => match (&global.slack_api_url, &global.slack_api_url_file) {
                (Some(url), _) => url.expose().to_owned(),
                (None, Some(file)) => {
                    read_secret_file(cx.base_dir, file, "global slack_api_url_file")?
                }
                (None, None) => {
                    return Err(crate::Error::Invalid(format!(
                        "receiver {receiver:?}: no global Slack API URL set either inline or in a file"
                    )));
                }
            },
        };
        let what = |field: &str| format!("receiver {receiver:?}: slack_configs[{index}].{field}");
        let mut reg = |field: &str, value: Option<&String>, default: &str| {
            templates.register(&what(field), &or_default(value, default))
        };
        let channel = reg("channel", c.channel.as_ref(), "")?;
        let username = reg(
            "username",
            c.username.as_ref(),
            r#"{{ template "slack.default.username" . }}"#,
        )?;
        let icon_emoji = reg(
            "icon_emoji",
            c.icon_emoji.as_ref(),
            r#"{{ template "slack.default.iconemoji" . }}"#,
        )?;
        let icon_url = reg(
            "icon_url",
            c.icon_url.as_ref(),
            r#"{{ template "slack.default.iconurl" . }}"#,
        )?;
        let title = reg(
            "title",
            c.title.as_ref(),
            r#"{{ template "slack.default.title" . }}"#,
        )?;
        let title_link = reg(
            "title_link",
            c.title_link.as_ref(),
            r#"{{ template "slack.default.titlelink" . }}"#,
        )?;
        let pretext = reg(
            "pretext",
            c.pretext.as_ref(),
            r#"{{ template "slack.default.pretext" . }}"#,
        )?;
        let text = reg(
            "text",
            c.text.as_ref(),
            r#"{{ template "slack.default.text" . }}"#,
        )?;
        let fallback = reg(
            "fallback",
            c.fallback.as_ref(),
            r#"{{ template "slack.default.fallback" . }}"#,
        )?;
        let callback_id = reg(
            "callback_id",
            c.callback_id.as_ref(),
            r#"{{ template "slack.default.callbackid" . }}"#,
        )?;
        let image_url = reg("image_url", c.image_url.as_ref(), "")?;
        let thumb_url = reg("thumb_url", c.thumb_url.as_ref(), "")?;
        let footer = reg(
            "footer",
            c.footer.as_ref(),
            r#"{{ template "slack.default.footer" . }}"#,
        )?;
        let color = reg(
            "color",
            c.color.as_ref(),
            r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#,
        )?;
        let mut fields = Vec::new();
        for f in &c.fields {
            fields.push(FieldTemplates {
                title: templates.register(&what("fields.title"), &f.title)?,
                value: templates.register(&what("fields.value"), &f.value)?,
                short: f.short.unwrap_or(c.short_fields),
            });
        }
        let mut actions = Vec::new();
        for a in &c.actions {
            let mut r = |field: &str, text: &str| templates.register(&what(field), text);
            actions.push(ActionTemplates {
                r#type: r("actions.type", &a.r#type)?,
                text: r("actions.text", &a.text)?,
                url: r("actions.url", &a.url)?,
                style: r("actions.style", &a.style)?,
                name: r("actions.name", &a.name)?,
                value: r("actions.value", &a.value)?,
                confirm: match &a.confirm {
                    None => None,
                    Some(cf) => Some([
                        r("actions.confirm.text", &cf.text)?,
                        r("actions.confirm.title", &cf.title)?,
                        r("actions.confirm.ok_text", &cf.ok_text)?,
                        r("actions.confirm.dismiss_text", &cf.dismiss_text)?,
                    ]),
                },
            });
        }
        Ok(Self {
            index,
            send_resolved: c.send_resolved,
            url,
            external_url: cx.external_url.to_owned(),
            http: Arc::clone(cx.http),
            templates: templates.clone(),
            channel,
            username,
            icon_emoji,
            icon_url,
            link_names: c.link_names,
            title,
            title_link,
            pretext,
            text,
            fallback,
            callback_id,
            image_url,
            thumb_url,
            footer,
            color,
            mrkdwn_in: if c.mrkdwn_in.is_empty() {
                vec!["fallback".into(), "pretext".into(), "text".into()]
            } else {
                c.mrkdwn_in.clone()
            },
            fields,
            actions,
        })
    }

    /// The JSON body Alertmanager 0.25 posts for `n`.
    pub fn payload(&self, n: &Notification<'_>) -> Result<serde_json::Value, NotifyFailure> {
        let data = super::template_data(n, &self.external_url);
        let mut r = Renderer {
            templates: &self.templates,
            data: &data,
            error: None,
        };
        let (title, _) = super::truncate(r.text(&self.title), MAX_TITLE_RUNES);
        let fields: Vec<SlackField> = self
            .fields
            .iter()
            .map(|f| SlackField {
                title: r.text(&f.title),
                value: r.text(&f.value),
                short: Some(f.short),
            })
            .collect();
        let actions: Vec<SlackAction> = self
            .actions
            .iter()
            .map(|a| SlackAction {
                r#type: r.text(&a.r#type),
                text: r.text(&a.text),
                url: r.text(&a.url),
                style: r.text(&a.style),
                name: r.text(&a.name),
                value: r.text(&a.value),
                confirm: a.confirm.as_ref().map(|[text, title, ok, dismiss]| {
                    SlackConfirmationField {
                        text: r.text(text),
                        title: r.text(title),
                        ok_text: r.text(ok),
                        dismiss_text: r.text(dismiss),
                    }
                }),
            })
            .collect();
        let attachment = Attachment {
            title,
            title_link: r.text(&self.title_link),
            pretext: r.text(&self.pretext),
            text: r.text(&self.text),
            fallback: r.text(&self.fallback),
            callback_id: r.text(&self.callback_id),
            fields,
            actions,
            image_url: r.text(&self.image_url),
            thumb_url: r.text(&self.thumb_url),
            footer: r.text(&self.footer),
            color: r.text(&self.color),
            mrkdwn_in: self.mrkdwn_in.clone(),
        };
        let request = Request {
            channel: r.text(&self.channel),
            username: r.text(&self.username),
            icon_emoji: r.text(&self.icon_emoji),
            icon_url: r.text(&self.icon_url),
            link_names: self.link_names,
            attachments: vec![attachment],
        };
        r.finish()?;
        serde_json::to_value(&request).map_err(|err| NotifyFailure {
            retry: false,
            reason: err.to_string(),
        })
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Field order and `omitempty`s as Alertmanager's `request` struct, so bodies compare equal.
#[derive(Serialize)]
struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "is_false")]
    link_names: bool,
    attachments: Vec<Attachment>,
}

#[derive(Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<SlackField>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<SlackAction>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

impl Integration for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn index(&self) -> usize {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification<'a>) -> BoxFuture<'a, Result<(), NotifyFailure>> {
        Box::pin(async move {
            let body = self.payload(n)?.to_string().into_bytes();
            let status = post(self.http.as_ref(), &self.url, body).await?;
            check_status(status, &[])
        })
    }
}
