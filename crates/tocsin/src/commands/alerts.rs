//! `tocsin alerts history`: the stored history of alert state changes and notifications of
//! a running server (`GET /api/tocsin/v1/alerts/history`); `tocsin alerts groups`, `ack` and
//! `unack`: alert groups and their acknowledgements (`/api/tocsin/v1/alerts/groups`).

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{AlertsAckArgs, AlertsGroupsArgs, AlertsHistoryArgs, AlertsUnackArgs};
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
