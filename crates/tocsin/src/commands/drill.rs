//! `tocsin drill`: the scenario catalogue, running a drill (the demo's generated bundle with
//! the scenario's fault, drill labelling and inbox-only routing, and the server's drill
//! stage recording and scoring), and the trainee's moves against a running drill over the
//! HTTP API.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tocsin_sim::scenario::{self, BASELINE_MS, CATALOGUE};
use tokio_util::sync::CancellationToken;

use crate::cli::{DrillCommand, DrillRunArgs, DrillServerArgs, ServerArgs};
use crate::fleet_bundle::{self, BundleOptions};
use crate::output;
use crate::server::drill::DrillSetup;
use crate::server::{ServeExtras, serve_with};

/// Runs a `tocsin drill` subcommand.
pub(crate) fn run(command: DrillCommand) -> anyhow::Result<ExitCode> {
    match command {
        DrillCommand::List => {
            let width = CATALOGUE.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for s in CATALOGUE {
                output::line(&format!("{:width$}  {}", s.name, s.title));
            }
            Ok(ExitCode::SUCCESS)
        }
        DrillCommand::Run(args) => run_drill(args),
        DrillCommand::Status(server) => status(&server),
        DrillCommand::Identify {
            service,
            cause,
            server,
        } => {
            post(
                &server,
                "/api/tocsin/v1/drill/identify",
                json!({ "service": service, "cause": cause }),
            )?;
            output::line(&format!(
                "recorded: {service} — {cause} (the report says whether it was right)"
            ));
            Ok(ExitCode::SUCCESS)
        }
        DrillCommand::Mitigate {
            action,
            service,
            region,
            instance,
            size,
            server,
        } => {
            let mut body = json!({ "action": action });
            if let Some(s) = service {
                body["service"] = json!(s);
            }
            if let Some(r) = region {
                body["region"] = json!(r);
            }
            if let Some(i) = instance {
                body["instance"] = json!(i);
            }
            if let Some(n) = size {
                body["size"] = json!(n);
            }
            let answer = post(&server, "/api/tocsin/v1/sim/mitigations", body)?;
            let ended = answer["data"]["ended_faults"]
                .as_array()
                .map_or(0, Vec::len);
            output::line(&format!(
                "applied {action}; {ended} fault(s) ended{}",
                if ended == 0 {
                    " (it did not fix what is wrong; keep looking)"
                } else {
                    ""
                }
            ));
            Ok(ExitCode::SUCCESS)
        }
        DrillCommand::Postmortem { file, server } => {
            let markdown = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read the post-mortem {}", file.display()))?;
            post(
                &server,
                "/api/tocsin/v1/drill/postmortem",
                json!({ "markdown": markdown }),
            )?;
            output::line(&format!("post-mortem {} submitted", file.display()));
            Ok(ExitCode::SUCCESS)
        }
        DrillCommand::Finish(server) => {
            let answer = post(&server, "/api/tocsin/v1/drill/finish", json!({}))?;
            output::line(&render_report(&answer["data"]));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_drill(args: DrillRunArgs) -> anyhow::Result<ExitCode> {
    if !CATALOGUE.iter().any(|s| s.name == args.scenario) {
        bail!(
            "unknown scenario {:?}; `tocsin drill list` shows the catalogue: {}",
            args.scenario,
            CATALOGUE
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    super::demo::prepare_data_dir(&args.data_dir)?;
    let mut opts = BundleOptions::new(args.seed, &args.listen);
    opts.drill = Some(args.scenario.clone());
    let fleet = opts.fleet()?;
    // Built so the fault starts as the server does (after the baseline the scenario assumes);
    // the history backfilled at start plays the baseline.
    let now = jiff::Timestamp::now().as_millisecond();
    let drill = scenario::build(&args.scenario, &fleet, now - BASELINE_MS)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for fault in &drill.faults {
        // A fault the scenario dates before the start (a slow burn) starts with the server:
        // the simulator schedules from its start.
        let after = u64::try_from(fault.start.saturating_sub(now)).unwrap_or(0);
        let duration = fault
            .duration_ms
            .map(|d| tocsin_config::Duration::from_millis(u64::try_from(d).unwrap_or(0)));
        opts.faults.push(fleet_bundle::fault_config(
            &fault.kind,
            tocsin_config::Duration::from_millis(after),
            duration,
        ));
    }
    let config_dir = args.data_dir.join("config");
    let config_path = fleet_bundle::write_bundle(&config_dir, &opts)?;
    output::line(&format!(
        "tocsin drill: configuration written to {}; serving on http://{}/ui/",
        config_dir.display(),
        args.listen
    ));
    let server_args = ServerArgs {
        listen: args.listen.clone(),
        data_dir: args.data_dir.clone(),
        config: Some(config_path),
        shutdown_timeout: tocsin_config::Duration::from_secs(5),
    };
    let done = CancellationToken::new();
    let extras = ServeExtras {
        drill: Some(DrillSetup {
            scenario: args.scenario.clone(),
            fleet,
            time_limit: args.time_limit.as_std(),
            done: done.clone(),
        }),
        shutdown: Some(done),
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tocsin-worker")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve_with(server_args, extras))?;
    Ok(ExitCode::SUCCESS)
}

fn status(server: &DrillServerArgs) -> anyhow::Result<ExitCode> {
    let answer = call(server, reqwest::Method::GET, "/api/tocsin/v1/drill", None)?;
    let d = &answer["data"];
    output::line(&format!(
        "DRILL {} — {}\n{}\nstarted {}; page {}; {}",
        d["scenario"].as_str().unwrap_or("?"),
        d["title"].as_str().unwrap_or(""),
        d["briefing"].as_str().unwrap_or(""),
        d["started"].as_str().unwrap_or("?"),
        d["page"].as_str().unwrap_or("not yet"),
        if d["finished"].as_bool() == Some(true) {
            "finished"
        } else {
            "running"
        }
    ));
    for e in d["events"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let what = match e["event"].as_str().unwrap_or("") {
            "query" => format!("query {}", e["expr"].as_str().unwrap_or("")),
            "page_view" => format!("viewed {}", e["page"].as_str().unwrap_or("")),
            "identified" => format!(
                "identified {}: {}",
                e["service"].as_str().unwrap_or(""),
                e["cause"].as_str().unwrap_or("")
            ),
            "mitigation" => format!(
                "mitigation {} ({})",
                e["mitigation"].as_str().unwrap_or(""),
                if e["ended_fault"].as_bool() == Some(true) {
                    "ended the fault"
                } else {
                    "ended nothing"
                }
            ),
            "postmortem" => "post-mortem submitted".to_owned(),
            other => other.to_owned(),
        };
        output::line(&format!("  {}  {what}", e["time"].as_str().unwrap_or("?")));
    }
    Ok(ExitCode::SUCCESS)
}

/// The score report (the server's JSON) for the terminal.
fn render_report(r: &Value) -> String {
    let mut out = format!(
        "Drill {}: {} / {} — {}\n",
        r["scenario"].as_str().unwrap_or("?"),
        r["total"],
        r["max"],
        r["verdict"].as_str().unwrap_or("?")
    );
    for c in r["criteria"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        out.push_str(&format!(
            "  {:<12} {:>5} / {:<3} {}\n",
            c["name"].as_str().unwrap_or("?"),
            c["points"].to_string(),
            c["max"].to_string(),
            c["detail"].as_str().unwrap_or("")
        ));
    }
    out.push_str(&format!(
        "Answer: {}\nMitigation: {}\n",
        r["answer"].as_str().unwrap_or("?"),
        r["right_mitigation"].as_str().unwrap_or("?")
    ));
    let missed = r["missed"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if !missed.is_empty() {
        out.push_str("Missed:\n");
        for m in missed {
            out.push_str(&format!("  - {}\n", m.as_str().unwrap_or("")));
        }
    }
    out
}

/// Sends one request; a non-2xx answer is an error carrying the server's message.
fn call(
    server: &DrillServerArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    super::client::call_json(
        &server.server,
        method,
        path,
        body,
        std::time::Duration::from_secs(60),
        "is `tocsin drill run` running? Set --server or TOCSIN_URL",
    )
}

fn post(server: &DrillServerArgs, path: &str, body: Value) -> anyhow::Result<Value> {
    call(server, reqwest::Method::POST, path, Some(body))
}
