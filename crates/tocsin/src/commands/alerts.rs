//! `tocsin alerts history`: the stored history of alert state changes and notifications of
//! a running server (`GET /api/tocsin/v1/alerts/history`); `tocsin alerts groups`, `ack` and
//! `unack`: alert groups and their acknowledgements (`/api/tocsin/v1/alerts/groups`);
//! `tocsin alerts feedback` and `report`: alert quality (`/api/tocsin/v1/alerts/feedback`,
//! `/api/tocsin/v1/alerts/report`).

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{
    AlertsAckArgs, AlertsFeedbackArgs, AlertsGroupsArgs, AlertsHistoryArgs, AlertsReportArgs,
    AlertsUnackArgs,
};
use crate::output;

pub(crate) fn history(args: &AlertsHistoryArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut query: Vec<(&str, String)> = vec![("limit", args.limit.to_string())];
        for (name, value) in [
            ("kind", &args.kind),
            ("alertname", &args.alertname),
            ("receiver", &args.receiver),
            ("since", &args.since),
        ] {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        let url = format!("{}/api/tocsin/v1/alerts/history", args.url.trim_end_matches('/'));
        let full = reqwest::Url::parse_with_params(&url, &query)
            .with_context(|| format!("invalid server URL {url}"))?;
        let response = reqwest::Client::new()
            .get(full)
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}; is the server running? Set --url"))?;
        let status = response.status();
        let text = response.text().await.context("cannot read the answer")?;
        if !status.is_success() {
            bail!("{url} answered {status}: {}", text.trim());
        }
        if args.format == "json" {
            output::line(&text);
            return Ok(ExitCode::SUCCESS);
        }
        let body: serde_json::Value =
            serde_json::from_str(&text).context("the server's answer is not JSON")?;
        let empty = Vec::new();
        let rows = body["data"].as_array().unwrap_or(&empty);
        output::line("AT                        KIND          STATE     ALERTNAME            RECEIVER / GROUP");
        for row in rows {
            let s = |k: &str| row[k].as_str().unwrap_or("-").to_owned();
            let target = if row["receiver"].is_string() {
                format!("{} {}", s("receiver"), s("groupKey"))
            } else {
                s("fingerprint")
            };
            output::line(&format!(
                "{:<25} {:<13} {:<9} {:<20} {}",
                s("at"),
                s("kind"),
                s("state"),
                s("alertname"),
                target
            ));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `{base}/api/tocsin/v1/alerts/groups[/{group_key}/ack]`, the key percent-encoded.
fn groups_url(base: &str, ack_of: Option<&str>) -> anyhow::Result<reqwest::Url> {
    let mut url =
        reqwest::Url::parse(base).with_context(|| format!("invalid server URL {base}"))?;
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| anyhow::anyhow!("invalid server URL {base}"))?;
        path.pop_if_empty()
            .extend(["api", "tocsin", "v1", "alerts", "groups"]);
        if let Some(key) = ack_of {
            path.push(key).push("ack");
        }
    }
    Ok(url)
}

/// An HTTP client (the TLS provider must be installed before one is built).
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Sends a request and returns the answer's body; non-2xx answers are errors.
fn call(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let response = request
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .with_context(|| format!("cannot reach {what}; is the server running? Set --url"))?;
        let status = response.status();
        let text = response.text().await.context("cannot read the answer")?;
        if !status.is_success() {
            bail!("{what} answered {status}: {}", text.trim());
        }
        Ok(text)
    })
}

fn print_ack(ack: &serde_json::Value) {
    let s = |k: &str| ack[k].as_str().unwrap_or("-").to_owned();
    output::line(&format!(
        "group {} acknowledged by {} at {} until {} ({} alerts covered)",
        s("group_key"),
        s("by"),
        s("acked_at"),
        ack["expires_at"].as_str().unwrap_or("it resolves"),
        ack["alerts"].as_u64().unwrap_or(0)
    ));
}

pub(crate) fn ack(args: &AlertsAckArgs) -> anyhow::Result<ExitCode> {
    let url = groups_url(&args.url, Some(&args.group_key))?;
    let mut body = serde_json::json!({"by": args.by, "comment": args.comment});
    if let (Some(duration), Some(map)) = (&args.duration, body.as_object_mut()) {
        map.insert("duration".to_owned(), duration.clone().into());
    }
    let what = url.to_string();
    let text = call(client().post(url).json(&body), &what)?;
    let ack: serde_json::Value =
        serde_json::from_str(&text).context("the server's answer is not JSON")?;
    print_ack(&ack);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn unack(args: &AlertsUnackArgs) -> anyhow::Result<ExitCode> {
    let url = groups_url(&args.url, Some(&args.group_key))?;
    let what = url.to_string();
    call(client().delete(url), &what)?;
    output::line(&format!(
        "group {} is no longer acknowledged",
        args.group_key
    ));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn groups(args: &AlertsGroupsArgs) -> anyhow::Result<ExitCode> {
    let url = groups_url(&args.url, None)?;
    let what = url.to_string();
    let text = call(client().get(url), &what)?;
    if args.format == "json" {
        output::line(&text);
        return Ok(ExitCode::SUCCESS);
    }
    let body: serde_json::Value =
        serde_json::from_str(&text).context("the server's answer is not JSON")?;
    let empty = Vec::new();
    output::line("ALERTS  RECEIVER             ACKED BY        GROUP KEY");
    for group in body.as_array().unwrap_or(&empty) {
        output::line(&format!(
            "{:<7} {:<20} {:<15} {}",
            group["alerts"].as_array().map_or(0, Vec::len),
            group["receiver"].as_str().unwrap_or("-"),
            group["ack"]["by"].as_str().unwrap_or("-"),
            group["key"].as_str().unwrap_or("-"),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `{base}/api/tocsin/v1/alerts/{leaf}`.
fn alerts_url(base: &str, leaf: &str) -> anyhow::Result<reqwest::Url> {
    let mut url =
        reqwest::Url::parse(base).with_context(|| format!("invalid server URL {base}"))?;
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("invalid server URL {base}"))?
        .pop_if_empty()
        .extend(["api", "tocsin", "v1", "alerts", leaf]);
    Ok(url)
}

/// Whether `text` is a notification id (16 hex digits) rather than a group key.
fn is_notification_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn feedback(args: &AlertsFeedbackArgs) -> anyhow::Result<ExitCode> {
    if args.verdict != "noise" && args.verdict != "actionable" {
        bail!(
            "--verdict {:?} is neither noise nor actionable",
            args.verdict
        );
    }
    let by = match &args.by {
        Some(by) => by.clone(),
        None => std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .context("say who judged with --by (USER is not set)")?,
    };
    let mut body = serde_json::json!({
        "verdict": args.verdict,
        "by": by,
        "comment": args.comment,
    });
    if let Some(map) = body.as_object_mut() {
        if is_notification_id(&args.group_or_id) && args.receiver.is_none() {
            map.insert("notification".to_owned(), args.group_or_id.clone().into());
        } else {
            map.insert("group_key".to_owned(), args.group_or_id.clone().into());
            if let Some(receiver) = &args.receiver {
                map.insert("receiver".to_owned(), receiver.clone().into());
            }
        }
    }
    let url = alerts_url(&args.url, "feedback")?;
    let what = url.to_string();
    let text = call(client().post(url).json(&body), &what)?;
    let got: serde_json::Value =
        serde_json::from_str(&text).context("the server's answer is not JSON")?;
    let s = |k: &str| got[k].as_str().unwrap_or("-").to_owned();
    output::line(&format!(
        "recorded {} by {} for {} (group {}, receiver {})",
        s("verdict"),
        s("by"),
        if s("alertname").is_empty() {
            "-".to_owned()
        } else {
            s("alertname")
        },
        s("group_key"),
        s("receiver"),
    ));
    Ok(ExitCode::SUCCESS)
}

fn ratio(value: &serde_json::Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

pub(crate) fn report(args: &AlertsReportArgs) -> anyhow::Result<ExitCode> {
    let mut url = alerts_url(&args.url, "report")?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("by", &args.by)
            .append_pair("step", &args.step);
        if let Some(from) = &args.from {
            query.append_pair("from", from);
        }
        if let Some(to) = &args.to {
            query.append_pair("to", to);
        }
    }
    let what = url.to_string();
    let text = call(client().get(url), &what)?;
    if args.format == "json" {
        output::line(&text);
        return Ok(ExitCode::SUCCESS);
    }
    let report: serde_json::Value =
        serde_json::from_str(&text).context("the server's answer is not JSON")?;
    let empty = Vec::new();
    output::line(&format!(
        "alert volume and noise by {} from {} to {}",
        report["by"].as_str().unwrap_or("-"),
        report["from"].as_str().unwrap_or("-"),
        report["to"].as_str().unwrap_or("-"),
    ));
    output::line(&format!(
        "{:<32} {:>8} {:>13} {:>10} {:>6} {:>6}",
        "KEY", "FIRED", "NOTIFICATIONS", "ACTIONABLE", "NOISE", "RATIO"
    ));
    let row = |key: &str, c: &serde_json::Value| {
        format!(
            "{:<32} {:>8} {:>13} {:>10} {:>6} {:>6}",
            key,
            c["alerts_fired"].as_i64().unwrap_or(0),
            c["notifications"].as_i64().unwrap_or(0),
            c["actionable"].as_i64().unwrap_or(0),
            c["noise"].as_i64().unwrap_or(0),
            ratio(&c["noise_ratio"]),
        )
    };
    for series in report["series"].as_array().unwrap_or(&empty) {
        let key = series["key"].as_str().unwrap_or_default();
        output::line(&row(
            if key.is_empty() { "(none)" } else { key },
            &series["total"],
        ));
    }
    output::line(&row("TOTAL", &report["total"]));
    let noisy = report["top_noisy"].as_array().unwrap_or(&empty);
    if !noisy.is_empty() {
        output::line("");
        output::line("top noisy:");
        for (rank, n) in noisy.iter().enumerate() {
            output::line(&format!(
                "{:>2}. {}: {}",
                rank + 1,
                n["key"].as_str().unwrap_or("-"),
                n["suggestion"].as_str().unwrap_or("-"),
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
