//! `tocsin alerts history`: the stored history of alert state changes and notifications of
//! a running server (`GET /api/tocsin/v1/alerts/history`).

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::AlertsHistoryArgs;
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
