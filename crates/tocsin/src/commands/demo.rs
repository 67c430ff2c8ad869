//! `tocsin demo`: the whole reliability loop in one command. Writes the simulated fleet's
//! configuration bundle to `<data-dir>/config/`, starts the server on it in this process,
//! injects a bad deploy of a frontend after `--fault-after`, and narrates what happens:
//! the SLO page, the incident, the on-call's inbox. Unless `--interactive`, a scripted
//! responder then works the incident over the HTTP API, as a person would: acknowledge, look,
//! roll back, mark it mitigated, resolve once the errors are gone, draft the post-mortem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tocsin_sim::{FaultKind, Role};

use super::client::encode;
use crate::cli::{DemoArgs, ServerArgs};
use crate::fleet_bundle::{self, BundleOptions};
use crate::output;
use crate::server::sim::mitigation_request;

/// The marker that makes a data directory the demo's to wipe.
pub(crate) const MARKER: &str = ".tocsin-demo";

/// Who the scripted responder acts as when nobody is on call (never, with the generated
/// follow-the-sun schedule, but the API may be changed while the demo runs).
const FALLBACK_RESPONDER: &str = "demo-responder";

/// Slack over the service's usual error ratio within which the responder calls it
/// recovered (5xx over all requests, last 30 s): noise, not the fault.
const RECOVERY_SLACK: f64 = 0.001;

/// Time the responder takes between acknowledging, looking and acting.
const STEP_PAUSE: Duration = Duration::from_secs(3);

/// Runs the demo until Ctrl-C.
pub(crate) fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    prepare_data_dir(&args.data_dir)?;
    let mut opts = BundleOptions::new(args.seed, &args.listen);
    let fleet = opts.fleet()?;
    let frontend = fleet
        .services()
        .iter()
        .find(|s| s.role == Role::Frontend)
        .context("the simulated fleet has no frontend")?;
    let fault = FaultKind::BadDeploy {
        service: frontend.name.clone(),
        version: format!("{}-hotfix", frontend.version),
        // Three in four requests fail: the 1h window of the page tier crosses 14.4× the
        // budget about 35 s after the deploy, with 30 minutes of history behind it.
        error_ratio: 0.75,
    };
    opts.faults
        .push(fleet_bundle::fault_config(&fault, args.fault_after, None));
    let config_dir = args.data_dir.join("config");
    let config_path = fleet_bundle::write_bundle(&config_dir, &opts)?;

    let server_args = ServerArgs {
        listen: args.listen.clone(),
        data_dir: args.data_dir.clone(),
        config: Some(config_path.clone()),
        shutdown_timeout: tocsin_config::Duration::from_secs(5),
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tocsin-worker")
        .build()
        .context("cannot start the async runtime")?;
    let story = Story {
        base: format!("http://{}", args.listen),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?,
        fault,
        fault_after: args.fault_after,
        data_dir: args.data_dir.clone(),
        config_path,
        interactive: args.interactive,
        began: Instant::now(),
    };
    output::line(&format!(
        "tocsin demo: configuration written to {} (reuse it with `tocsin server --config {}`)",
        config_dir.display(),
        story.config_path.display()
    ));
    runtime.block_on(async move {
        let narrator = tokio::spawn(async move {
            if let Err(error) = story.tell().await {
                output::error(&format!("demo responder stopped: {error:#}"));
            }
        });
        let served = crate::server::serve(server_args).await;
        narrator.abort();
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Makes `dir` the demo's: created if missing, wiped if an earlier demo's (it has the
/// marker), refused if it holds anything else.
pub(crate) fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    let refuse = || {
        anyhow::anyhow!(
            "{} is not empty and was not made by `tocsin demo` (it has no {MARKER} file); \
             choose a new or empty directory with --data-dir",
            dir.display()
        )
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                if !dir.join(MARKER).is_file() {
                    return Err(refuse());
                }
                std::fs::remove_dir_all(dir).with_context(|| {
                    format!("cannot clear the earlier demo in {}", dir.display())
                })?;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Err(refuse()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", dir.display()));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "Made by `tocsin demo`; the next demo run wipes this directory.\n",
    )
    .with_context(|| format!("cannot write {}", dir.join(MARKER).display()))?;
    Ok(())
}

/// The narrator and scripted responder.
struct Story {
    base: String,
    http: reqwest::Client,
    fault: FaultKind,
    fault_after: tocsin_config::Duration,
    data_dir: PathBuf,
    config_path: PathBuf,
    interactive: bool,
    began: Instant,
}

impl Story {
    fn say(&self, text: &str) {
        output::line(&format!("[{:>4}s] {text}", self.began.elapsed().as_secs()));
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        super::client::send_json(&self.http, method, &url, body, "is the demo's server up?").await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// An instant query's first value, if the result has one.
    async fn query_scalar(&self, expr: &str) -> anyhow::Result<Option<f64>> {
        let path = format!("/api/v1/query?query={}", encode(expr));
        let answer = self.get(&path).await?;
        Ok(answer["data"]["result"]
            .get(0)
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok()))
    }

    /// Polls `check` every `every` until it gives a value or `limit` passes (then fails
    /// saying what it was waiting for).
    async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        every: Duration,
        limit: Duration,
        mut check: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(value) = check().await {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                bail!("gave up waiting for {what} after {}s", limit.as_secs());
            }
            tokio::time::sleep(every).await;
        }
    }

    async fn tell(&self) -> anyhow::Result<()> {
        self.wait_for(
            "the server to be ready",
            Duration::from_millis(200),
            Duration::from_secs(120),
            || async {
                self.http
                    .get(format!("{}/-/ready", self.base))
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
            },
        )
        .await?;
        let ready = Instant::now();
        let service = self.fault.service().unwrap_or_default().to_owned();
        self.say(&format!("tocsin is ready at {}/ui/", self.base));
        self.guide(&service);

        let sim = self
            .wait_for(
                "the simulated history",
                Duration::from_millis(500),
                Duration::from_secs(600),
                || async {
                    self.get("/api/tocsin/v1/sim")
                        .await
                        .ok()
                        .filter(|s| s["data"]["backfilled"] == true)
                },
            )
            .await?;
        self.say(&format!(
            "fleet running: {} services in {} regions, {} series, history since {}",
            sim["data"]["services"],
            sim["data"]["regions"].as_array().map_or(0, Vec::len),
            sim["data"]["series"],
            sim["data"]["history_start"].as_str().unwrap_or("-"),
        ));
        // The service's usual error ratio (its dependencies' failures show as 503s), so
        // "recovered" means back to normal rather than an absolute number.
        let usual = self.error_ratio_over(&service, "5m").await?.unwrap_or(0.0);
        self.say(&format!(
            "fault scheduled {} after start: {} deploys {} failing {}% of requests",
            self.fault_after,
            service,
            self.fault.deployed_version().unwrap_or("-"),
            match &self.fault {
                FaultKind::BadDeploy { error_ratio, .. } => (error_ratio * 100.0).round(),
                _ => 0.0,
            }
        ));

        // The page: an incident opened from an SLO alert group.
        let incident = self
            .wait_for(
                "the SLO page",
                Duration::from_secs(1),
                Duration::from_secs(900),
                || async {
                    let list = self.get("/api/tocsin/v1/incidents?limit=20").await.ok()?;
                    list["incidents"]
                        .as_array()?
                        .iter()
                        .rev()
                        .find(|i| i["source"] == "alert_group")
                        .cloned()
                },
            )
            .await?;
        let id = incident["id"].as_str().unwrap_or_default().to_owned();
        self.say(&format!(
            "PAGE after {}s: {id} {} on {}: {}",
            ready.elapsed().as_secs(),
            incident["severity"].as_str().unwrap_or("-"),
            incident["service"].as_str().unwrap_or("-"),
            incident["title"].as_str().unwrap_or("-"),
        ));
        let paged = self.paged_user(&id).await?;
        if let Some((user, title)) = &paged {
            self.say(&format!(
                "on-call {user} paged: inbox item \"{title}\" (tocsin oncall inbox --user {user})"
            ));
        }
        if self.interactive {
            self.say(&format!(
                "your turn: `tocsin incident ack {id}`, find the cause (UI, `tocsin query`), \
                 roll back with `curl -XPOST {}/api/tocsin/v1/sim/mitigations -d '{{\"action\":\"rollback\",\"service\":\"…\"}}'`, \
                 then `tocsin incident mitigate {id}` and `tocsin incident resolve {id}`",
                self.base
            ));
            return Ok(());
        }
        let me = paged
            .map(|(user, _)| user)
            .unwrap_or_else(|| FALLBACK_RESPONDER.to_owned());

        self.post(
            &format!("/api/tocsin/v1/incidents/{id}/ack"),
            json!({"by": me, "note": "On it (scripted responder of tocsin demo)."}),
        )
        .await?;
        self.say(&format!("{me} acknowledged {id}; paging stops"));
        // A few seconds per step, as a person takes, so each shows apart on the timeline.
        tokio::time::sleep(STEP_PAUSE).await;

        let versions = self
            .get(&format!(
                "/api/v1/query?query={}",
                encode(&format!(
                    "count by (version) (build_info{{service=\"{service}\"}})"
                ))
            ))
            .await?;
        let seen: Vec<&str> = versions["data"]["result"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|s| s["metric"]["version"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let ratio = self.error_ratio(&service).await?;
        self.say(&format!(
            "looked: {service} fails {:.1}% of requests; build_info shows version(s) {} — a deploy just went out",
            ratio.unwrap_or(0.0) * 100.0,
            seen.join(", ")
        ));

        tokio::time::sleep(STEP_PAUSE).await;
        let mitigation = self.fault.right_mitigation();
        let applied = self
            .post(
                "/api/tocsin/v1/sim/mitigations",
                mitigation_request(&mitigation),
            )
            .await?;
        self.say(&format!(
            "mitigation: {} (faults ended: {})",
            mitigation.describe(),
            applied["data"]["ended_faults"]
        ));
        self.post(
            &format!("/api/tocsin/v1/incidents/{id}/mitigate"),
            json!({"by": me, "note": format!("{}; watching the error ratio.", mitigation.describe())}),
        )
        .await?;
        self.say(&format!("{id} marked mitigated"));

        let recovered = self
            .wait_for(
                "the errors to stop",
                Duration::from_secs(2),
                Duration::from_secs(900),
                || async {
                    match self.error_ratio(&service).await {
                        Ok(Some(r)) if r <= usual * 1.5 + RECOVERY_SLACK => Some(r),
                        _ => None,
                    }
                },
            )
            .await?;
        self.post(
            &format!("/api/tocsin/v1/incidents/{id}/resolve"),
            json!({"by": me, "note": format!(
                "{service} is back to {:.2}% errors over the last 30s (usually {:.2}%); its page alert clears once the 5m burn-rate window has passed.",
                recovered * 100.0,
                usual * 100.0
            )}),
        )
        .await?;
        self.say(&format!(
            "{id} resolved: {service} errors back to {:.2}% (usually {:.2}%; the page alert clears when its 5m window passes)",
            recovered * 100.0,
            usual * 100.0
        ));

        let draft = self
            .post(
                &format!("/api/tocsin/v1/incidents/{id}/postmortem"),
                json!({"by": me}),
            )
            .await?;
        let markdown = match draft["markdown"].as_str() {
            Some(m) => m.to_owned(),
            None => self
                .get(&format!("/api/tocsin/v1/incidents/{id}/postmortem"))
                .await?["markdown"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        let path = self.data_dir.join(format!("postmortem-{id}.md"));
        std::fs::write(&path, &markdown)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.say(&format!(
            "post-mortem drafted and stored ({} lines): {} — or `tocsin postmortem draft {id}`",
            markdown.lines().count(),
            path.display()
        ));
        self.say(&format!(
            "the loop is complete in {}s; the fleet keeps running — explore {}/ui/, Ctrl-C stops",
            ready.elapsed().as_secs(),
            self.base
        ));
        Ok(())
    }

    /// The share of `service`'s requests that failed over the last 30 s.
    async fn error_ratio(&self, service: &str) -> anyhow::Result<Option<f64>> {
        self.error_ratio_over(service, "30s").await
    }

    /// The share of `service`'s requests that failed over `range`.
    async fn error_ratio_over(&self, service: &str, range: &str) -> anyhow::Result<Option<f64>> {
        self.query_scalar(&format!(
            "sum(rate(http_requests_total{{service=\"{service}\",code=~\"5..\"}}[{range}])) / sum(rate(http_requests_total{{service=\"{service}\"}}[{range}]))"
        ))
        .await
    }

    /// The first person the incident's escalation paged, with the inbox item's title, once
    /// the page is in an inbox (bounded wait).
    async fn paged_user(&self, id: &str) -> anyhow::Result<Option<(String, String)>> {
        let who = self
            .get("/api/tocsin/v1/oncall/who?schedule=follow-the-sun")
            .await?;
        let Some(user) = who["schedules"][0]["on_call"][0]["user"]
            .as_str()
            .map(str::to_owned)
        else {
            return Ok(None);
        };
        let found = self
            .wait_for(
                "the page in the inbox",
                Duration::from_millis(500),
                Duration::from_secs(60),
                || async {
                    let inbox = self
                        .get(&format!("/api/tocsin/v1/oncall/users/{user}/inbox"))
                        .await
                        .ok()?;
                    inbox["items"]
                        .as_array()?
                        .iter()
                        .find(|i| i["escalation_key"] == id)
                        .and_then(|i| i["title"].as_str().map(str::to_owned))
                },
            )
            .await;
        Ok(found.ok().map(|title| (user, title)))
    }

    /// Where to look while it runs.
    fn guide(&self, service: &str) {
        let b = &self.base;
        for line in [
            format!("  UI overview ........ {b}/ui/  (services, SLO status, budgets)"),
            format!("  the SLO that pages . {b}/ui/#/slo/{service}-requests-availability"),
            format!("  alerts ............. {b}/ui/#/alerts"),
            format!("  query explorer ..... {b}/ui/#/query"),
            "  from a shell ....... tocsin incident list | tocsin incident show INC-1 | tocsin oncall who".to_owned(),
            "                       tocsin slo status ... | tocsin alerts groups | tocsin oncall inbox --user ID".to_owned(),
            format!("  the configuration .. {}", self.config_path.display()),
        ] {
            output::line(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_dir_is_created_reused_when_marked_and_refused_otherwise() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("demo");
        prepare_data_dir(&dir).unwrap();
        assert!(dir.join(MARKER).is_file());
        std::fs::write(dir.join("old.txt"), "x").unwrap();
        prepare_data_dir(&dir).unwrap();
        assert!(!dir.join("old.txt").exists(), "an earlier demo is wiped");
        // An empty directory is fine.
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        prepare_data_dir(&empty).unwrap();
        // Someone's data is not.
        let theirs = root.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("precious.db"), "x").unwrap();
        let err = prepare_data_dir(&theirs).unwrap_err().to_string();
        assert!(
            err.contains("--data-dir") && err.contains("theirs"),
            "{err}"
        );
        assert!(theirs.join("precious.db").is_file());
    }
}
