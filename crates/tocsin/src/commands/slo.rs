//! `tocsin slo list|status|gate|generate`: budgets and the deploy gate of a running server
//! (`/api/tocsin/v1/slos…`), and rules generated offline from spec files.
//!
//! `gate` is meant for CI/CD pipelines, so its exit code is the answer: 0 when a release may
//! proceed, 1 when the policy blocks it, 2 when no answer could be had (server unreachable,
//! unknown SLO, bad answer) — a pipeline can tell "blocked" from "broken".

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{SloCommand, SloGenerateArgs, SloServerArgs};
use crate::output;

const EXIT_BLOCKED: u8 = 1;
const EXIT_NO_ANSWER: u8 = 2;

pub(crate) fn run(command: &SloCommand) -> ExitCode {
    let result = match command {
        SloCommand::List(args) => list(args),
        SloCommand::Status(args) => status(&args.name, &args.server),
        SloCommand::Gate(args) => gate(&args.name, &args.server),
        SloCommand::Generate(args) => {
            return generate(args).unwrap_or_else(|err| {
                output::error(&format!("{err:#}"));
                ExitCode::FAILURE
            });
        }
    };
    result.unwrap_or_else(|err| {
        output::error(&format!("{err:#}"));
        ExitCode::from(EXIT_NO_ANSWER)
    })
}

fn get(server: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let url = format!("{}{path}", server.trim_end_matches('/'));
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(120))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}; is the server running? Set --server"))?;
        let status = response.status();
        let text = response.text().await.context("cannot read the answer")?;
        let body: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{url} answered {status} without JSON: {}", text.trim()))?;
        if !status.is_success() {
            bail!(
                "{url} answered {status}: {}",
                body["error"].as_str().unwrap_or(text.trim())
            );
        }
        Ok(body)
    })
}

fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pct(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0))
}

fn num(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn seconds(v: &serde_json::Value) -> String {
    match v.as_f64() {
        None => "not burning".to_owned(),
        Some(s) if s <= 0.0 => "exhausted".to_owned(),
        Some(s) => {
            let s = s.round() as u64;
            tocsin_config::Duration::from_secs(s - s % 60).to_string()
        }
    }
}

fn list(args: &SloServerArgs) -> anyhow::Result<ExitCode> {
    let body = get(&args.server, "/api/tocsin/v1/slos")?;
    if args.json {
        output::line(&body.to_string());
        return Ok(ExitCode::SUCCESS);
    }
    output::line(&format!(
        "{:<32} {:<20} {:>9} {:<22} {:>10} {:>9}",
        "NAME", "SERVICE", "OBJECTIVE", "WINDOW", "REMAINING", "BURN(1h)"
    ));
    for slo in body["slos"].as_array().into_iter().flatten() {
        let budget = &slo["budget"];
        output::line(&format!(
            "{:<32} {:<20} {:>8}% {:<22} {:>10} {:>9}",
            slo["name"].as_str().unwrap_or("-"),
            slo["service"].as_str().unwrap_or("-"),
            slo["objective"],
            slo["window"].as_str().unwrap_or("-"),
            pct(&budget["remaining"]),
            num(&budget["current_burn_rate"]),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_budget(budget: &serde_json::Value) {
    output::line(&format!(
        "objective:          {}% over {} ({})",
        budget["objective"],
        budget["window"].as_str().unwrap_or("-"),
        budget["budgeting"].as_str().unwrap_or("-")
    ));
    output::line(&format!(
        "error ratio:        {}",
        pct(&budget["error_ratio"])
    ));
    output::line(&format!("budget consumed:    {}", pct(&budget["consumed"])));
    output::line(&format!(
        "budget remaining:   {}",
        pct(&budget["remaining"])
    ));
    output::line(&format!(
        "time to exhaustion: {}",
        seconds(&budget["time_to_exhaustion_seconds"])
    ));
    output::line(&format!(
        "burned in 24h:      {}",
        pct(&budget["burned_last_24h"])
    ));
    if let Some(events) = budget["events"].as_object() {
        output::line(&format!(
            "events:             {} good, {} bad, {} total",
            num(&events["good"]),
            num(&events["bad"]),
            num(&events["total"])
        ));
    }
    if let Some(sla) = budget["sla"].as_object() {
        output::line(&format!(
            "SLA:                {}% attained of {}% ({})",
            num(&sla["attained"]),
            sla["objective"],
            if sla["breached"].as_bool() == Some(true) {
                "BREACHED"
            } else {
                "met"
            }
        ));
    }
    if budget["excluded_seconds"].as_f64().unwrap_or(0.0) > 0.0 {
        output::line(&format!(
            "excluded:           {}",
            seconds(&budget["excluded_seconds"])
        ));
    }
    let rates: Vec<String> = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
        .iter()
        .map(|w| format!("{w}={}", num(&budget["burn_rates"][*w])))
        .collect();
    output::line(&format!("burn rates:         {}", rates.join(" ")));
}

fn status(name: &str, args: &SloServerArgs) -> anyhow::Result<ExitCode> {
    let body = get(
        &args.server,
        &format!("/api/tocsin/v1/slos/{}", encode(name)),
    )?;
    if args.json {
        output::line(&body.to_string());
        return Ok(ExitCode::SUCCESS);
    }
    output::line(&format!(
        "SLO {} (service {})",
        body["slo"]["name"].as_str().unwrap_or(name),
        body["slo"]["service"].as_str().unwrap_or("-")
    ));
    print_budget(&body["budget"]);
    Ok(ExitCode::SUCCESS)
}

fn gate(name: &str, args: &SloServerArgs) -> anyhow::Result<ExitCode> {
    let body = get(
        &args.server,
        &format!("/api/tocsin/v1/slos/{}/gate", encode(name)),
    )?;
    let Some(allowed) = body["allowed"].as_bool() else {
        bail!("the server's gate answer has no `allowed`: {body}");
    };
    if args.json {
        output::line(&body.to_string());
    } else {
        output::line(&format!(
            "{}: {}",
            if allowed { "ALLOW" } else { "BLOCK" },
            body["reason"].as_str().unwrap_or("-")
        ));
        print_budget(&body["budget"]);
    }
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BLOCKED)
    })
}

fn generate(args: &SloGenerateArgs) -> anyhow::Result<ExitCode> {
    let mut slos = Vec::new();
    for file in &args.files {
        slos.extend(tocsin_slo::load_file(file).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let options = tocsin_slo::GenerateOptions {
        style: if args.sloth_alerts {
            tocsin_slo::AlertStyle::Sloth
        } else {
            tocsin_slo::AlertStyle::Tiered
        },
        ..tocsin_slo::GenerateOptions::default()
    };
    output::line(tocsin_slo::rule_groups_yaml(&slos, &options).trim_end());
    Ok(ExitCode::SUCCESS)
}
