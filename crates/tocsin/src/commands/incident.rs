//! `tocsin incident …` and `tocsin postmortem …`: incidents, post-mortems and action items of
//! a running server (`/api/tocsin/v1/incidents…`), as tables or, with `--json`, the server's
//! JSON.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::{Value, json};

use super::client::encode;
use crate::cli::{
    ActionItemsCommand, IncidentCommand, IncidentServerArgs, IncidentTransitionArgs,
    PostmortemCommand,
};
use crate::output;

/// Sends one request; a non-2xx answer is an error carrying the server's message.
fn call(
    server: &IncidentServerArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    super::client::call_json(
        &server.server,
        method,
        path,
        body,
        std::time::Duration::from_secs(120),
        "is the server running? Set --server or TOCSIN_URL",
    )
}

fn get(server: &IncidentServerArgs, path: &str) -> anyhow::Result<Value> {
    call(server, reqwest::Method::GET, path, None)
}

fn post(server: &IncidentServerArgs, path: &str, body: Value) -> anyhow::Result<Value> {
    call(server, reqwest::Method::POST, path, Some(body))
}

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn secs(v: &Value) -> String {
    v.as_f64().map_or_else(
        || "-".to_owned(),
        tocsin_incident::postmortem::human_duration,
    )
}

fn print_json(value: &Value) {
    output::line(&serde_json::to_string_pretty(value).unwrap_or_default());
}

fn print_incident_line(i: &Value) {
    output::line(&format!(
        "{:<8} {:<5} {:<13} {:<16} {:<20} {}",
        s(&i["id"]),
        s(&i["severity"]),
        s(&i["status"]),
        s(&i["service"]),
        s(&i["opened_time"]),
        s(&i["title"])
    ));
}

/// `tocsin incident …`.
pub(crate) fn run(command: &IncidentCommand) -> anyhow::Result<ExitCode> {
    match command {
        IncidentCommand::List {
            status,
            service,
            team,
            since,
            limit,
            server,
        } => {
            let limit = limit.to_string();
            let path = format!(
                "/api/tocsin/v1/incidents{}",
                query(&[
                    ("status", status.as_deref()),
                    ("service", service.as_deref()),
                    ("team", team.as_deref()),
                    ("since", since.as_deref()),
                    ("limit", Some(&limit)),
                ])
            );
            let value = get(server, &path)?;
            if server.json {
                print_json(&value);
            } else {
                output::line(&format!(
                    "{:<8} {:<5} {:<13} {:<16} {:<20} TITLE",
                    "ID", "SEV", "STATUS", "SERVICE", "OPENED"
                ));
                for i in value["incidents"].as_array().into_iter().flatten() {
                    print_incident_line(i);
                }
            }
        }
        IncidentCommand::Show { id, server } => {
            let value = get(server, &format!("/api/tocsin/v1/incidents/{}", encode(id)))?;
            if server.json {
                print_json(&value);
            } else {
                show(&value);
            }
        }
        IncidentCommand::Open {
            title,
            service,
            severity,
            by,
            server,
        } => {
            let value = post(
                server,
                "/api/tocsin/v1/incidents",
                json!({"title": title, "service": service, "severity": severity, "by": by.by}),
            )?;
            report_incident(server, &value, "opened");
        }
        IncidentCommand::Ack(args) => transition(args, "ack")?,
        IncidentCommand::Mitigate(args) => transition(args, "mitigate")?,
        IncidentCommand::Resolve(args) => transition(args, "resolve")?,
        IncidentCommand::Close(args) => transition(args, "close")?,
        IncidentCommand::Cancel(args) => transition(args, "cancel")?,
        IncidentCommand::Note {
            id,
            text,
            by,
            server,
        } => {
            let value = post(
                server,
                &format!("/api/tocsin/v1/incidents/{}/notes", encode(id)),
                json!({"note": text, "by": by.by}),
            )?;
            if server.json {
                print_json(&value);
            } else {
                output::line(&format!("note added to {id}"));
            }
        }
        IncidentCommand::Assign {
            id,
            role,
            person,
            by,
            server,
        } => {
            let value = post(
                server,
                &format!("/api/tocsin/v1/incidents/{}/roles", encode(id)),
                json!({"role": role, "person": person, "by": by.by}),
            )?;
            report_incident(server, &value, "updated");
        }
        IncidentCommand::Metrics {
            from,
            to,
            service,
            team,
            server,
        } => {
            let path = format!(
                "/api/tocsin/v1/incidents/metrics{}",
                query(&[
                    ("from", Some(from)),
                    ("to", to.as_deref()),
                    ("service", service.as_deref()),
                    ("team", team.as_deref()),
                ])
            );
            let value = get(server, &path)?;
            if server.json {
                print_json(&value);
            } else {
                metrics(&value);
            }
        }
        IncidentCommand::Run {
            id,
            action,
            params,
            by,
            server,
        } => {
            let mut map = serde_json::Map::new();
            for p in params {
                let Some((k, v)) = p.split_once('=') else {
                    bail!("--param {p:?} must be name=value");
                };
                map.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            let value = post(
                server,
                &format!(
                    "/api/tocsin/v1/incidents/{}/actions/{}",
                    encode(id),
                    encode(action)
                ),
                json!({"by": by.by, "params": map}),
            )?;
            if server.json {
                print_json(&value);
            } else {
                output::line(&format!(
                    "{action}: {}{}",
                    s(&value["outcome"]),
                    value["exit_status"]
                        .as_i64()
                        .map(|c| format!(" (exit status {c})"))
                        .unwrap_or_default()
                ));
                output::line(s(&value["output"]));
            }
            if value["outcome"] != "success" {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn transition(args: &IncidentTransitionArgs, verb: &str) -> anyhow::Result<()> {
    let value = post(
        &args.server,
        &format!("/api/tocsin/v1/incidents/{}/{verb}", encode(&args.id)),
        json!({"by": args.by.by, "note": args.note}),
    )?;
    report_incident(&args.server, &value, "now");
    Ok(())
}

fn report_incident(server: &IncidentServerArgs, value: &Value, what: &str) {
    if server.json {
        print_json(value);
        return;
    }
    let i = &value["incident"];
    output::line(&format!(
        "{} {what} {} ({} {}, {})",
        s(&i["id"]),
        s(&i["status"]),
        s(&i["severity"]),
        s(&i["service"]),
        s(&i["title"])
    ));
    let t = &value["times"];
    if t.is_object() {
        output::line(&format!(
            "time to acknowledge {}, to resolve {}",
            secs(&t["time_to_acknowledge_seconds"]),
            secs(&t["time_to_resolve_seconds"])
        ));
    }
}

fn show(value: &Value) {
    let i = &value["incident"];
    output::line(&format!("{} {}", s(&i["id"]), s(&i["title"])));
    output::line(&format!(
        "  severity {}  status {}  service {}  team {}",
        s(&i["severity"]),
        s(&i["status"]),
        s(&i["service"]),
        i["team"].as_str().filter(|t| !t.is_empty()).unwrap_or("-")
    ));
    output::line(&format!(
        "  source {} {}",
        s(&i["source"]),
        i["source_key"].as_str().unwrap_or("")
    ));
    for role in ["commander", "scribe", "communications"] {
        output::line(&format!(
            "  {role}: {}",
            i["roles"][role].as_str().unwrap_or("unassigned")
        ));
    }
    if let Some(url) = i["runbook_url"].as_str() {
        output::line(&format!("  runbook: {url}"));
    }
    let t = &value["times"];
    output::line(&format!(
        "  time to detect {}, acknowledge {}, resolve {}",
        secs(&t["time_to_detect_seconds"]),
        secs(&t["time_to_acknowledge_seconds"]),
        secs(&t["time_to_resolve_seconds"])
    ));
    for b in value["slo_budget"].as_array().into_iter().flatten() {
        output::line(&format!(
            "  SLO {}: {:.1}% of the error budget",
            s(&b["slo"]),
            b["consumed"].as_f64().unwrap_or(0.0) * 100.0
        ));
    }
    if let Some(actions) = value["runbook_actions"].as_array()
        && !actions.is_empty()
    {
        let names: Vec<&str> = actions.iter().filter_map(Value::as_str).collect();
        output::line(&format!("  runbook actions: {}", names.join(", ")));
    }
    output::line("timeline:");
    for e in value["timeline"].as_array().into_iter().flatten() {
        output::line(&format!(
            "  {}  {:<15} {:<10} {}",
            s(&e["time"]),
            s(&e["kind"]),
            e["actor"].as_str().unwrap_or(""),
            s(&e["message"])
        ));
    }
}

fn summary_line(name: &str, v: &Value) -> String {
    format!(
        "{:<24} {:>9} {:>9} {:>10} {:>10} {:>10}",
        name,
        v["incidents"].as_u64().unwrap_or(0),
        v["resolved"].as_u64().unwrap_or(0),
        secs(&v["mtta_seconds"]),
        secs(&v["mttd_seconds"]),
        secs(&v["mttr_seconds"])
    )
}

fn metrics(value: &Value) {
    let header = format!(
        "{:<24} {:>9} {:>9} {:>10} {:>10} {:>10}",
        "", "INCIDENTS", "RESOLVED", "MTTA", "MTTD", "MTTR"
    );
    output::line(&header);
    output::line(&summary_line("all", &value["overall"]));
    for (title, key) in [("service", "by_service"), ("team", "by_team")] {
        if let Some(map) = value[key].as_object() {
            for (name, v) in map {
                let name = if name.is_empty() { "(none)" } else { name };
                output::line(&summary_line(&format!("{title} {name}"), v));
            }
        }
    }
    output::line("weekly trend:");
    for w in value["weeks"].as_array().into_iter().flatten() {
        let start = s(&w["start_time"]);
        output::line(&summary_line(
            &format!("week of {}", start.get(..10).unwrap_or(start)),
            w,
        ));
    }
}

fn print_items(value: &Value) {
    output::line(&format!(
        "{:<5} {:<8} {:<4} {:<12} {:<14} {:<11} TITLE",
        "#", "INCIDENT", "PRI", "STATUS", "OWNER", "DUE"
    ));
    for a in value["action_items"].as_array().into_iter().flatten() {
        let due = a["due"].as_str().map_or("-", |d| d.get(..10).unwrap_or(d));
        output::line(&format!(
            "{:<5} {:<8} {:<4} {:<12} {:<14} {:<11} {}",
            a["id"].as_i64().unwrap_or(0),
            s(&a["incident"]),
            s(&a["priority"]),
            s(&a["status"]),
            s(&a["owner"]),
            due,
            s(&a["title"])
        ));
    }
}

/// `tocsin postmortem …`.
pub(crate) fn postmortem(command: &PostmortemCommand) -> anyhow::Result<ExitCode> {
    match command {
        PostmortemCommand::Draft {
            id,
            save,
            by,
            server,
        } => {
            let path = format!("/api/tocsin/v1/incidents/{}/postmortem", encode(id));
            let value = if *save {
                post(server, &path, json!({"by": by.by}))?
            } else {
                get(server, &path)?
            };
            if server.json {
                print_json(&value);
            } else {
                output::line(s(&value["markdown"]).trim_end());
            }
        }
        PostmortemCommand::Actions(ActionItemsCommand::List { id, server }) => {
            let path = match id {
                Some(id) => format!("/api/tocsin/v1/incidents/{}/action-items", encode(id)),
                None => "/api/tocsin/v1/action-items".to_owned(),
            };
            let value = get(server, &path)?;
            if server.json {
                print_json(&value);
            } else {
                print_items(&value);
            }
        }
        PostmortemCommand::Actions(ActionItemsCommand::Add {
            id,
            title,
            owner,
            due,
            priority,
            link,
            server,
        }) => {
            let value = post(
                server,
                &format!("/api/tocsin/v1/incidents/{}/action-items", encode(id)),
                json!({"title": title, "owner": owner, "due": due, "priority": priority, "link": link}),
            )?;
            if server.json {
                print_json(&value);
            } else {
                output::line(&format!(
                    "action item #{} added to {id}",
                    value["action_item"]["id"].as_i64().unwrap_or(0)
                ));
            }
        }
        PostmortemCommand::Actions(ActionItemsCommand::Update {
            item,
            status,
            title,
            owner,
            due,
            priority,
            link,
            server,
        }) => {
            let value = call(
                server,
                reqwest::Method::PATCH,
                &format!("/api/tocsin/v1/action-items/{item}"),
                Some(
                    json!({"status": status, "title": title, "owner": owner, "due": due,
                            "priority": priority, "link": link}),
                ),
            )?;
            if server.json {
                print_json(&value);
            } else {
                output::line(&format!(
                    "action item #{item} is {}",
                    s(&value["action_item"]["status"])
                ));
            }
        }
        PostmortemCommand::Actions(ActionItemsCommand::Delete { item, server }) => {
            call(
                server,
                reqwest::Method::DELETE,
                &format!("/api/tocsin/v1/action-items/{item}"),
                None,
            )?;
            if !server.json {
                output::line(&format!("action item #{item} deleted"));
            }
        }
        PostmortemCommand::Policy { server } => {
            let value = get(server, "/api/tocsin/v1/postmortems/policy")?;
            let missing = value["missing_postmortems"].as_array().map_or(0, Vec::len);
            let overdue = value["overdue_action_items"].as_array().map_or(0, Vec::len);
            if server.json {
                print_json(&value);
            } else {
                output::line(&format!("incidents missing a post-mortem: {missing}"));
                for m in value["missing_postmortems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    output::line(&format!(
                        "  {} {} ({}): {}",
                        s(&m["id"]),
                        s(&m["title"]),
                        s(&m["service"]),
                        s(&m["reason"])
                    ));
                }
                output::line(&format!("overdue action items: {overdue}"));
                for o in value["overdue_action_items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    output::line(&format!(
                        "  #{} {} {} ({}, {} days overdue): {}",
                        o["id"].as_i64().unwrap_or(0),
                        s(&o["incident"]),
                        s(&o["priority"]),
                        s(&o["owner"]),
                        o["days_overdue"].as_i64().unwrap_or(0),
                        s(&o["title"])
                    ));
                }
            }
            if missing + overdue > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
