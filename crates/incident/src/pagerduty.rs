//! PagerDuty Events API v2 intake (`POST /v2/enqueue`, `POST /v2/change/enqueue`): the
//! decoder and PagerDuty's response bodies. The decoder never panics and reports every
//! problem at once, as PagerDuty's `errors` list does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::Severity;

/// Largest body accepted (PagerDuty's documented event size limit is 512 KB).
pub const MAX_BODY_BYTES: usize = 512 * 1024;
const MAX_DEDUP_KEY: usize = 255;
const MAX_SUMMARY: usize = 1024;

/// `event_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open or add to the open incident with this dedup key.
    Trigger,
    /// Acknowledge the open incident with this dedup key.
    Acknowledge,
    /// Resolve the open incident with this dedup key.
    Resolve,
}

impl Action {
    /// PagerDuty's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trigger => "trigger",
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
        }
    }
}

/// A link (`links[]`) or an image (`images[]`, where `href` is `src`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    /// URL.
    pub href: String,
    /// Text, or the image's alt text.
    pub text: Option<String>,
}

/// `payload` of a trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// Summary (the incident title).
    pub summary: String,
    /// The affected system.
    pub source: String,
    /// PagerDuty's severity mapped onto SEV1..SEV4.
    pub severity: Severity,
    /// When the emitting tool detected the problem (Unix ms).
    pub timestamp: Option<i64>,
    /// Component.
    pub component: Option<String>,
    /// Group.
    pub group: Option<String>,
    /// Class.
    pub class: Option<String>,
    /// Anything else.
    pub custom_details: Option<Value>,
}

impl Payload {
    /// The payload's fields as incident labels.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        labels.insert("source".to_owned(), self.source.clone());
        for (name, value) in [
            ("component", &self.component),
            ("group", &self.group),
            ("class", &self.class),
        ] {
            if let Some(v) = value {
                labels.insert(name.to_owned(), v.clone());
            }
        }
        labels
    }
}

/// An alert event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Integration key, mapped to a service.
    pub routing_key: String,
    /// What to do.
    pub action: Action,
    /// Dedup key (required for acknowledge and resolve).
    pub dedup_key: Option<String>,
    /// Present (and required) for triggers.
    pub payload: Option<Payload>,
    /// The sending tool.
    pub client: Option<String>,
    /// Its URL.
    pub client_url: Option<String>,
    /// Links.
    pub links: Vec<Link>,
    /// Images.
    pub images: Vec<Link>,
}

/// A change event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Integration key, mapped to a service.
    pub routing_key: String,
    /// Summary.
    pub summary: String,
    /// Where the change came from.
    pub source: Option<String>,
    /// When (Unix ms).
    pub timestamp: Option<i64>,
    /// Details.
    pub custom_details: Option<Value>,
    /// Links.
    pub links: Vec<Link>,
}

struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: &'static str,
    errors: &'a mut Vec<String>,
}

impl Fields<'_> {
    fn string(&mut self, name: &str, required: bool, max: Option<usize>) -> Option<String> {
        match self.map.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.errors
                        .push(format!("'{}{name}' is missing or blank", self.prefix));
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                if required {
                    self.errors
                        .push(format!("'{}{name}' is missing or blank", self.prefix));
                }
                None
            }
            Some(Value::String(s)) => {
                if let Some(max) = max
                    && s.chars().count() > max
                {
                    self.errors.push(format!(
                        "'{}{name}' is longer than {max} characters",
                        self.prefix
                    ));
                    return None;
                }
                Some(s.clone())
            }
            Some(_) => {
                self.errors
                    .push(format!("'{}{name}' must be a string", self.prefix));
                None
            }
        }
    }

    fn timestamp(&mut self, name: &str) -> Option<i64> {
        let text = self.string(name, false, None)?;
        match parse_timestamp(&text) {
            Some(ms) => Some(ms),
            None => {
                self.errors.push(format!(
                    "'{}{name}' {text:?} is not an ISO 8601 time such as 2015-07-17T08:42:58.315+0000",
                    self.prefix
                ));
                None
            }
        }
    }

    fn links(&mut self, name: &str, url_field: &str, text_field: &str) -> Vec<Link> {
        let mut out = Vec::new();
        match self.map.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(obj) = item.as_object() else {
                        self.errors.push(format!("'{name}[{i}]' must be an object"));
                        continue;
                    };
                    match obj.get(url_field).and_then(Value::as_str) {
                        Some(href) if !href.trim().is_empty() => out.push(Link {
                            href: href.to_owned(),
                            text: obj
                                .get(text_field)
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        }),
                        _ => self
                            .errors
                            .push(format!("'{name}[{i}].{url_field}' is missing or blank")),
                    }
                }
            }
            Some(_) => self.errors.push(format!("'{name}' must be an array")),
        }
        out
    }

    fn object(&mut self, name: &str) -> Option<Value> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            // PagerDuty accepts any JSON here (objects usually; strings from old tools).
            Some(v) => Some(v.clone()),
        }
    }
}

/// Reads ISO 8601 / RFC 3339 times, including PagerDuty's `+0000` offsets without a colon.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    if n > 5
        && (bytes[n - 5] == b'+' || bytes[n - 5] == b'-')
        && bytes[n - 4..].iter().all(u8::is_ascii_digit)
    {
        let fixed = format!("{}:{}", &text[..n - 2], &text[n - 2..]);
        return fixed
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond());
    }
    None
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Vec<String>> {
    if body.len() > MAX_BODY_BYTES {
        return Err(vec![format!(
            "event is {} bytes, more than the {MAX_BODY_BYTES} bytes accepted",
            body.len()
        )]);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(vec!["event must be a JSON object".to_owned()]),
        Err(e) => Err(vec![format!("event is not valid JSON: {e}")]),
    }
}

/// Decodes an alert event; on failure, every problem found.
pub fn decode(body: &[u8]) -> Result<Event, Vec<String>> {
    let map = parse_object(body)?;
    let mut errors = Vec::new();
    let mut top = Fields {
        map: &map,
        prefix: "",
        errors: &mut errors,
    };
    let routing_key = top.string("routing_key", true, None);
    let action = match top.string("event_action", true, None).as_deref() {
        Some("trigger") => Some(Action::Trigger),
        Some("acknowledge") => Some(Action::Acknowledge),
        Some("resolve") => Some(Action::Resolve),
        Some(other) => {
            top.errors.push(format!(
                "'event_action' {other:?} must be one of trigger, acknowledge, resolve"
            ));
            None
        }
        None => None,
    };
    let dedup_key = top.string("dedup_key", false, Some(MAX_DEDUP_KEY));
    let client = top.string("client", false, None);
    let client_url = top.string("client_url", false, None);
    let links = top.links("links", "href", "text");
    let images = top.links("images", "src", "alt");
    if matches!(action, Some(Action::Acknowledge | Action::Resolve)) && dedup_key.is_none() {
        errors.push("'dedup_key' is required for acknowledge and resolve events".to_owned());
    }
    let payload = if action == Some(Action::Trigger) {
        match map.get("payload") {
            Some(Value::Object(p)) => decode_payload(p, &mut errors),
            _ => {
                errors.push("'payload' is missing or not an object".to_owned());
                None
            }
        }
    } else {
        None
    };
    match (routing_key, action) {
        (Some(routing_key), Some(action)) if errors.is_empty() => Ok(Event {
            routing_key,
            action,
            dedup_key,
            payload,
            client,
            client_url,
            links,
            images,
        }),
        _ => Err(errors),
    }
}

fn decode_payload(p: &Map<String, Value>, errors: &mut Vec<String>) -> Option<Payload> {
    let mut f = Fields {
        map: p,
        prefix: "payload.",
        errors,
    };
    let summary = f.string("summary", true, Some(MAX_SUMMARY));
    let source = f.string("source", true, None);
    let severity = match f.string("severity", true, None).as_deref() {
        Some(s @ ("critical" | "error" | "warning" | "info")) => Severity::parse(s),
        Some(other) => {
            f.errors.push(format!(
                "'payload.severity' {other:?} must be one of critical, error, warning, info"
            ));
            None
        }
        None => None,
    };
    let timestamp = f.timestamp("timestamp");
    let component = f.string("component", false, None);
    let group = f.string("group", false, None);
    let class = f.string("class", false, None);
    let custom_details = f.object("custom_details");
    Some(Payload {
        summary: summary?,
        source: source?,
        severity: severity?,
        timestamp,
        component,
        group,
        class,
        custom_details,
    })
}

/// Decodes a change event.
pub fn decode_change(body: &[u8]) -> Result<ChangeEvent, Vec<String>> {
    let map = parse_object(body)?;
    let mut errors = Vec::new();
    let mut top = Fields {
        map: &map,
        prefix: "",
        errors: &mut errors,
    };
    let routing_key = top.string("routing_key", true, None);
    let links = top.links("links", "href", "text");
    let (summary, source, timestamp, custom_details) = match map.get("payload") {
        Some(Value::Object(p)) => {
            let mut f = Fields {
                map: p,
                prefix: "payload.",
                errors: &mut errors,
            };
            (
                f.string("summary", true, Some(MAX_SUMMARY)),
                f.string("source", false, None),
                f.timestamp("timestamp"),
                f.object("custom_details"),
            )
        }
        _ => {
            errors.push("'payload' is missing or not an object".to_owned());
            (None, None, None, None)
        }
    };
    match (routing_key, summary) {
        (Some(routing_key), Some(summary)) if errors.is_empty() => Ok(ChangeEvent {
            routing_key,
            summary,
            source,
            timestamp,
            custom_details,
            links,
        }),
        _ => Err(errors),
    }
}

/// PagerDuty's 202 body.
pub fn accepted(dedup_key: &str) -> Value {
    serde_json::json!({
        "status": "success",
        "message": "Event processed",
        "dedup_key": dedup_key,
    })
}

/// PagerDuty's 202 body for change events (no dedup key).
pub fn change_accepted() -> Value {
    serde_json::json!({ "status": "success", "message": "Change event processed" })
}

/// PagerDuty's 400 body.
pub fn invalid(errors: &[String]) -> Value {
    serde_json::json!({
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pagerdutys_documented_trigger() {
        let body = br#"{
          "payload": {
            "summary": "Example alert on host1.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
            "severity": "info",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "deploy",
            "custom_details": {"ping time": "1500ms", "load avg": 0.75}
          },
          "routing_key": "samplekeyhere",
          "dedup_key": "samplekeyhere",
          "images": [{"src": "https://example.com/logo.png", "href": "https://example.com/", "alt": "Example text"}],
          "links": [{"href": "https://example.com/", "text": "Link text"}],
          "event_action": "trigger",
          "client": "Sample Monitoring Service",
          "client_url": "https://monitoring.example.com"
        }"#;
        let event = decode(body).expect("valid event");
        assert_eq!(event.action, Action::Trigger);
        assert_eq!(event.dedup_key.as_deref(), Some("samplekeyhere"));
        let payload = event.payload.expect("trigger has a payload");
        assert_eq!(payload.severity, Severity::Sev4);
        assert_eq!(payload.timestamp, Some(1_437_122_578_315));
        assert_eq!(payload.labels()["component"], "postgres");
        assert_eq!(event.links[0].text.as_deref(), Some("Link text"));
        assert_eq!(event.images[0].href, "https://example.com/logo.png");
    }

    #[test]
    fn reports_every_problem_of_an_invalid_event() {
        let errors = decode(
            br#"{"event_action": "explode", "payload": {"summary": "", "severity": "bad"}}"#,
        )
        .expect_err("invalid");
        assert_eq!(
            errors,
            vec![
                "'routing_key' is missing or blank".to_owned(),
                "'event_action' \"explode\" must be one of trigger, acknowledge, resolve"
                    .to_owned(),
            ]
        );
        let errors = decode(
            br#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "", "severity": "bad", "timestamp": "yesterday"}}"#,
        )
        .expect_err("invalid");
        assert_eq!(
            errors,
            vec![
                "'payload.summary' is missing or blank".to_owned(),
                "'payload.source' is missing or blank".to_owned(),
                "'payload.severity' \"bad\" must be one of critical, error, warning, info"
                    .to_owned(),
                "'payload.timestamp' \"yesterday\" is not an ISO 8601 time such as 2015-07-17T08:42:58.315+0000"
                    .to_owned(),
            ]
        );
        let errors = decode(br#"{"routing_key": "k", "event_action": "resolve"}"#)
            .expect_err("resolve needs a key");
        assert_eq!(
            errors,
            vec!["'dedup_key' is required for acknowledge and resolve events".to_owned()]
        );
        let long = "x".repeat(256);
        let body = format!(
            r#"{{"routing_key": "k", "event_action": "acknowledge", "dedup_key": "{long}"}}"#
        );
        assert!(decode(body.as_bytes()).is_err());
        assert_eq!(
            decode(b"[1]").expect_err("not an object"),
            vec!["event must be a JSON object".to_owned()]
        );
    }

    #[test]
    fn decodes_change_events() {
        let change = decode_change(
            br#"{"routing_key": "k", "payload": {"summary": "deployed v2", "timestamp": "2026-11-29T04:00:00Z", "source": "ci"}, "links": [{"href": "https://ci/1"}]}"#,
        )
        .expect("valid change");
        assert_eq!(change.summary, "deployed v2");
        assert_eq!(change.links.len(), 1);
        assert!(decode_change(br#"{"routing_key": "k"}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode(&body);
            let _ = decode_change(&body);
        }
    }
}
