//! `tocsin oncall who|report|inbox`: on-call of a running server
//! (`/api/tocsin/v1/oncall/…`), as tables or the server's JSON.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::cli::{OncallCommand, OncallServerArgs};
use crate::output;

pub(crate) fn run(command: &OncallCommand) -> anyhow::Result<ExitCode> {
    match command {
        OncallCommand::Who(args) => {
            let mut query = Vec::new();
            if let Some(s) = &args.schedule {
                query.push(("schedule", s.clone()));
            }
            if let Some(at) = &args.at {
                query.push(("at", at.clone()));
            }
            let body = get(&args.server, "/api/tocsin/v1/oncall/who", &query)?;
            if !args.server.json {
                print_who(&body);
            }
        }
        OncallCommand::Report(args) => {
            let path = format!(
                "/api/tocsin/v1/oncall/schedules/{}/report",
                encode(&args.schedule)
            );
            let query = [("from", args.from.clone()), ("to", args.to.clone())];
            let body = get(&args.server, &path, &query)?;
            if !args.server.json {
                print_report(&body);
            }
        }
        OncallCommand::Inbox(args) => {
            let path = format!("/api/tocsin/v1/oncall/users/{}/inbox", encode(&args.user));
            let query: Vec<(&str, String)> = if args.unread {
                vec![("unread", "true".to_owned())]
            } else {
                Vec::new()
            };
            let body = get(&args.server, &path, &query)?;
            if !args.server.json {
                print_inbox(&body);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// GETs `path` with `query`; prints the JSON itself when `--json`.
fn get(server: &OncallServerArgs, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut url = format!("{}{path}", server.server.trim_end_matches('/'));
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        url.push('?');
        url.push_str(&q.join("&"));
    }
    let body = runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}; is the server running? Set --server"))?;
        let status = response.status();
        let text = response.text().await.context("cannot read the answer")?;
        let body: Value = serde_json::from_str(&text)
            .with_context(|| format!("{url} answered {status} without JSON: {}", text.trim()))?;
        if !status.is_success() {
            bail!(
                "{url} answered {status}: {}",
                body["error"].as_str().unwrap_or(text.trim())
            );
        }
        Ok(body)
    })?;
    if server.json {
        output::line(&body.to_string());
    }
    Ok(body)
}

/// Percent-encoding of everything but RFC 3986 unreserved characters.
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn print_who(body: &Value) {
    output::line(&format!(
        "{:<20}  {:<20}  {:<22}  {:<22}  FROM",
        "SCHEDULE", "ON CALL", "SINCE", "UNTIL"
    ));
    for s in body["schedules"].as_array().into_iter().flatten() {
        let on_call = s["on_call"].as_array().cloned().unwrap_or_default();
        if on_call.is_empty() {
            output::line(&format!("{:<20}  {:<20}", text(&s["schedule"]), "(nobody)"));
        }
        for o in on_call {
            output::line(&format!(
                "{:<20}  {:<20}  {:<22}  {:<22}  {}",
                text(&s["schedule"]),
                text(&o["user"]),
                text(&o["start"]),
                text(&o["end"]),
                text(&o["source"])
            ));
        }
    }
}

fn print_report(body: &Value) {
    let coverage = body["coverage"].as_f64().unwrap_or(0.0) * 100.0;
    output::line(&format!(
        "schedule {} from {} to {}: {coverage:.1}% covered",
        text(&body["schedule"]),
        text(&body["from"]),
        text(&body["to"])
    ));
    for g in body["gaps"].as_array().into_iter().flatten() {
        output::line(&format!(
            "  gap {} .. {}",
            text(&g["start"]),
            text(&g["end"])
        ));
    }
    output::line(&format!(
        "{:<20}  {:>8}  {:>8}  {:>8}  {:>6}  {:>6}  {:>12}",
        "USER", "HOURS", "NIGHT", "WEEKEND", "SHIFTS", "PAGES", "OUT OF HOURS"
    ));
    for p in body["people"].as_array().into_iter().flatten() {
        output::line(&format!(
            "{:<20}  {:>8.1}  {:>8.1}  {:>8.1}  {:>6}  {:>6}  {:>12}",
            text(&p["user"]),
            p["hours"].as_f64().unwrap_or(0.0),
            p["night_hours"].as_f64().unwrap_or(0.0),
            p["weekend_hours"].as_f64().unwrap_or(0.0),
            p["shifts"].as_u64().unwrap_or(0),
            p["pages"].as_u64().unwrap_or(0),
            p["pages_out_of_hours"].as_u64().unwrap_or(0)
        ));
    }
}

fn print_inbox(body: &Value) {
    output::line(&format!(
        "{:>6}  {:<22}  {:<6}  {:<10}  TITLE",
        "ID", "RECEIVED", "READ", "ESCALATION"
    ));
    for i in body["items"].as_array().into_iter().flatten() {
        let read = if i["read_at"].is_null() { "no" } else { "yes" };
        let state = if i["acked_at"].is_null() {
            text(&i["escalation_state"])
        } else {
            "acked"
        };
        output::line(&format!(
            "{:>6}  {:<22}  {:<6}  {:<10}  {}",
            i["id"].as_i64().unwrap_or(0),
            text(&i["created_at"]),
            read,
            state,
            text(&i["title"])
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_and_values_are_encoded() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(encode("2026-03-29T09:00:00Z"), "2026-03-29T09%3A00%3A00Z");
    }
}
