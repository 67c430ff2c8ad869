//! The drill stage: records what the trainee does during `tocsin drill run` (queries through
//! the API, UI page views, identifications, mitigations the sim stage applies, the
//! post-mortem, and the page and acknowledgement from the incident stage), persists every
//! event as a JSON line under `<data-dir>/drill/` as it happens (a crash keeps the log), and
//! at `finish` or the time limit scores the log with `tocsin_sim::drill`, writes
//! `<data-dir>/drill-report.md` and `.json`, prints the report and stops the server.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tocsin_api::{ApiFuture, DrillApi, IncidentApi};
use tocsin_sim::Fleet;
use tocsin_sim::drill::{DrillAction, DrillLog, ScoreReport, score};
use tocsin_sim::scenario::{self, BASELINE_MS, Scenario};
use tokio_util::sync::CancellationToken;

use super::sim::SimStage;
use crate::output;

/// How often the stage looks for the drill's page and acknowledgement.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Events kept at most; a runaway client must not grow the log without bound.
const MAX_EVENTS: usize = 10_000;

/// Longest query, page or cause recorded (longer ones are cut).
const MAX_TEXT: usize = 4_096;

/// Longest post-mortem accepted.
const MAX_POSTMORTEM: usize = 256 * 1024;

/// What `tocsin drill run` asks the server for.
pub(crate) struct DrillSetup {
    /// Catalogue name.
    pub(crate) scenario: String,
    /// The simulated fleet (the same settings as the bundle's `simulator:` section).
    pub(crate) fleet: Fleet,
    /// The drill ends by itself after this.
    pub(crate) time_limit: Duration,
    /// Cancelled when the drill finishes, to stop the server.
    pub(crate) done: CancellationToken,
}

struct Inner {
    log: DrillLog,
    events_file: Option<std::fs::File>,
    report: Option<ScoreReport>,
    dropped: usize,
}

/// The running drill.
pub(crate) struct DrillStage {
    scenario: Scenario,
    time_limit: Duration,
    data_dir: PathBuf,
    inner: Mutex<Inner>,
    done: CancellationToken,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn rfc3339(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// An event as JSON (the events file and the status answer).
fn event_json(at: i64, action: &DrillAction) -> Value {
    let mut v = json!({ "at": at, "time": rfc3339(at), "event": action.name() });
    match action {
        DrillAction::Acknowledged => {}
        DrillAction::Query { expr } => v["expr"] = json!(expr),
        DrillAction::PageView { page } => v["page"] = json!(page),
        DrillAction::Identified { service, cause } => {
            v["service"] = json!(service);
            v["cause"] = json!(cause);
        }
        DrillAction::Mitigation {
            mitigation,
            ended_fault,
        } => {
            v["mitigation"] = json!(mitigation);
            v["ended_fault"] = json!(ended_fault);
        }
        DrillAction::PostMortem { markdown } => v["markdown"] = json!(markdown),
    }
    v
}

/// A string field of a JSON body, present and not blank; errors name the field.
fn field(body: &Value, name: &str, example: &str) -> Result<String, (u16, String)> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(cut(s.trim(), MAX_TEXT)),
        Some(_) => Err((
            400,
            format!("{name}: must be a non-empty string, e.g. {example}"),
        )),
        None => Err((400, format!("{name}: missing; send e.g. {example}"))),
    }
}

fn json_body(bytes: &[u8], example: &str) -> Result<Value, (u16, String)> {
    serde_json::from_slice(bytes).map_err(|e| {
        (
            400,
            format!("the body is not JSON ({e}); send e.g. {example}"),
        )
    })
}

impl DrillStage {
    /// Starts recording. The scenario is rebuilt for the simulation's actual start, so the
    /// answer key's times match the faults the sim stage runs.
    pub(crate) fn start(
        setup: DrillSetup,
        data_dir: &Path,
        sim: &Arc<SimStage>,
        incidents: Arc<dyn IncidentApi>,
    ) -> anyhow::Result<Arc<Self>> {
        let start = sim.started_ms() - BASELINE_MS;
        let scenario = scenario::build(&setup.scenario, &setup.fleet, start)
            .map_err(|e| anyhow::anyhow!("drill: {e}"))?;
        let dir = data_dir.join("drill");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the drill log directory {}", dir.display()))?;
        let header = json!({
            "scenario": scenario.name,
            "start": sim.started_ms(),
            "time_limit_s": setup.time_limit.as_secs(),
        });
        std::fs::write(dir.join("drill.json"), format!("{header}\n"))
            .with_context(|| format!("cannot write {}", dir.join("drill.json").display()))?;
        let events_path = dir.join("events.jsonl");
        let events_file = std::fs::File::create(&events_path)
            .with_context(|| format!("cannot create {}", events_path.display()))?;
        let stage = Arc::new(Self {
            scenario,
            time_limit: setup.time_limit,
            data_dir: data_dir.to_owned(),
            inner: Mutex::new(Inner {
                // Times count from when the trainee could start, the simulation's start.
                log: DrillLog::new(&setup.scenario, sim.started_ms()),
                events_file: Some(events_file),
                report: None,
                dropped: 0,
            }),
            done: setup.done,
        });
        {
            let recorder = Arc::clone(&stage);
            sim.observe_mitigations(Box::new(move |mitigation, at, ended| {
                recorder.record(
                    at,
                    DrillAction::Mitigation {
                        mitigation: mitigation.describe(),
                        ended_fault: !ended.is_empty(),
                    },
                );
            }));
        }
        tracing::info!(
            scenario = stage.scenario.name,
            time_limit_s = setup.time_limit.as_secs(),
            "drill started"
        );
        let watcher = Arc::clone(&stage);
        tokio::spawn(async move { watcher.watch(incidents).await });
        Ok(stage)
    }

    /// The briefing `drill run` prints.
    pub(crate) fn briefing(&self) -> String {
        format!(
            "DRILL {} — {}\n\n{}\n\nYou are on call. Alerts of this drill carry drill=\"{}\" and reach only the built-in inbox.\n\
             Investigate in the UI or with `tocsin query`; when you know, run:\n  \
             tocsin drill identify --service S --cause TEXT\n  tocsin drill mitigate ACTION --service S [...]\n  \
             tocsin drill postmortem FILE.md\n  tocsin drill finish\n\
             The drill ends by itself after {} minutes.",
            self.scenario.name,
            self.scenario.title,
            self.scenario.briefing,
            self.scenario.name,
            self.time_limit.as_secs() / 60
        )
    }

    /// Appends an event to the log and its file (unless finished or full).
    fn record(&self, at: i64, action: DrillAction) {
        let mut inner = self.inner.lock();
        if inner.report.is_some() {
            return;
        }
        if inner.log.events.len() >= MAX_EVENTS {
            inner.dropped += 1;
            if inner.dropped == 1 {
                tracing::warn!(
                    max = MAX_EVENTS,
                    "drill log is full; later events are not recorded"
                );
            }
            return;
        }
        let line = event_json(at, &action).to_string();
        if let Some(file) = inner.events_file.as_mut()
            && let Err(error) = writeln!(file, "{line}")
        {
            // Keep scoring in memory; the file is the crash copy.
            tracing::warn!(%error, "cannot append to the drill log; recording in memory only");
            inner.events_file = None;
        }
        tracing::debug!(event = action.name(), "drill event");
        inner.log.record(at, action);
        // The acknowledgement is learnt a poll late: keep the log in time order.
        if inner.log.events.len() > 1 && inner.log.events[inner.log.events.len() - 2].at > at {
            inner.log.events.sort_by_key(|e| e.at);
        }
    }

    /// Watches the incident stage for the drill's first page and its acknowledgement, and
    /// ends the drill at the time limit.
    async fn watch(self: Arc<Self>, incidents: Arc<dyn IncidentApi>) {
        let started = self.inner.lock().log.start;
        let deadline = tokio::time::Instant::now() + self.time_limit;
        let mut acknowledged = false;
        loop {
            tokio::select! {
                () = self.done.cancelled() => return,
                () = tokio::time::sleep_until(deadline) => {
                    tracing::info!("drill time limit reached");
                    self.finish_now();
                    return;
                }
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
            let Ok(answer) = incidents.list(Vec::new()).await else {
                continue;
            };
            let list = answer["incidents"].as_array().cloned().unwrap_or_default();
            let opened = list
                .iter()
                .filter_map(|i| i["opened_at"].as_i64())
                .filter(|t| *t >= started)
                .min();
            let acked = list
                .iter()
                .filter(|i| i["opened_at"].as_i64().is_some_and(|t| t >= started))
                .filter_map(|i| i["acknowledged_at"].as_i64())
                .min();
            if let Some(opened) = opened {
                let mut inner = self.inner.lock();
                if inner.log.page.is_none() {
                    tracing::info!(at = opened, "drill page went out");
                    inner.log.page = Some(opened);
                }
            }
            if !acknowledged && let Some(at) = acked {
                acknowledged = true;
                self.record(at, DrillAction::Acknowledged);
            }
        }
    }

    /// Scores what was done when the server stops before the drill finished (Ctrl-C, a
    /// termination signal): the trainee gets a report of the work so far.
    pub(crate) fn finish_on_shutdown(&self) {
        if self.inner.lock().report.is_none() {
            tracing::info!("drill interrupted; scoring what was done so far");
            self.finish_now();
        }
    }

    /// Scores the log once, writes and prints the report, and stops the server.
    fn finish_now(&self) -> ScoreReport {
        let mut inner = self.inner.lock();
        if let Some(report) = &inner.report {
            return report.clone();
        }
        let report = score(&inner.log, &self.scenario);
        inner.report = Some(report.clone());
        inner.events_file = None;
        drop(inner);
        let md = report.to_markdown();
        for (path, text) in [
            (self.data_dir.join("drill-report.md"), md.clone()),
            (self.data_dir.join("drill-report.json"), report.to_json()),
        ] {
            if let Err(error) = std::fs::write(&path, text) {
                output::error(&format!("cannot write {}: {error}", path.display()));
            }
        }
        output::line(&md);
        output::line(&format!(
            "Report written to {} and {}",
            self.data_dir.join("drill-report.md").display(),
            self.data_dir.join("drill-report.json").display()
        ));
        tracing::info!(
            scenario = self.scenario.name,
            total = report.total,
            max = report.max,
            verdict = report.verdict,
            "drill finished"
        );
        self.done.cancel();
        report
    }
}

impl DrillApi for DrillStage {
    fn status(&self) -> ApiFuture<'_> {
        Box::pin(async move {
            let inner = self.inner.lock();
            let events: Vec<Value> = inner
                .log
                .events
                .iter()
                .map(|e| event_json(e.at, &e.action))
                .collect();
            Ok(json!({
                "scenario": self.scenario.name,
                "title": self.scenario.title,
                "briefing": self.scenario.briefing,
                "started": rfc3339(inner.log.start),
                "page": inner.log.page.map(rfc3339),
                "time_limit_s": self.time_limit.as_secs(),
                "events": events,
                "finished": inner.report.is_some(),
                "report": inner.report.as_ref().and_then(|r| serde_json::from_str::<Value>(&r.to_json()).ok()),
            }))
        })
    }

    fn identify(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let example = r#"{"service":"checkout-api","cause":"bad deploy of 2.0.0"}"#;
            let value = json_body(&body, example)?;
            let service = field(&value, "service", example)?;
            let cause = field(&value, "cause", example)?;
            self.record(now_ms(), DrillAction::Identified { service, cause });
            // Whether it is right stays secret until the report.
            Ok(json!({ "recorded": true }))
        })
    }

    fn postmortem(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            if body.len() > MAX_POSTMORTEM {
                return Err((
                    413,
                    format!(
                        "the post-mortem is {} bytes; keep it under {MAX_POSTMORTEM}",
                        body.len()
                    ),
                ));
            }
            // JSON `{"markdown": …}`, or the Markdown itself.
            let markdown = match serde_json::from_slice::<Value>(&body) {
                Ok(value) if value.is_object() => {
                    field(&value, "markdown", r##"{"markdown":"# Post-mortem …"}"##)?
                }
                _ => String::from_utf8(body.to_vec())
                    .map_err(|_| (400, "the post-mortem is not UTF-8 text".to_owned()))?,
            };
            if markdown.trim().is_empty() {
                return Err((400, "markdown: the post-mortem is empty".to_owned()));
            }
            self.record(now_ms(), DrillAction::PostMortem { markdown });
            Ok(json!({ "recorded": true }))
        })
    }

    fn finish(&self) -> ApiFuture<'_> {
        Box::pin(async move {
            let report = self.finish_now();
            serde_json::from_str::<Value>(&report.to_json())
                .map_err(|e| (500, format!("cannot encode the report: {e}")))
        })
    }

    fn view(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let example = r##"{"page":"/ui/#/slo/checkout-api"}"##;
            let value = json_body(&body, example)?;
            let page = field(&value, "page", example)?;
            self.record(now_ms(), DrillAction::PageView { page });
            Ok(json!({ "recorded": true }))
        })
    }

    fn record_query(&self, expr: &str) {
        if !expr.trim().is_empty() {
            self.record(
                now_ms(),
                DrillAction::Query {
                    expr: cut(expr, MAX_TEXT),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(cut("abc", 10), "abc");
        // "é" is two bytes: cutting at 3 would split the second one.
        assert_eq!(cut("éé", 3), "é");
    }

    #[test]
    fn body_fields_must_be_non_empty_strings_and_errors_name_them() {
        let body = json!({"service": "  ", "cause": 3});
        assert_eq!(
            field(&body, "service", "X").unwrap_err(),
            (
                400,
                "service: must be a non-empty string, e.g. X".to_owned()
            )
        );
        assert!(
            field(&body, "cause", "X")
                .unwrap_err()
                .1
                .starts_with("cause:")
        );
        assert!(
            field(&body, "page", "X")
                .unwrap_err()
                .1
                .starts_with("page: missing")
        );
        assert_eq!(
            field(&json!({"page": " /ui/ "}), "page", "X").unwrap(),
            "/ui/"
        );
        assert!(
            json_body(b"not json", "X")
                .unwrap_err()
                .1
                .contains("not JSON")
        );
    }

    #[test]
    fn events_serialise_with_their_fields() {
        let v = event_json(
            1_700_000_000_000,
            &DrillAction::Mitigation {
                mitigation: "roll back web".to_owned(),
                ended_fault: true,
            },
        );
        assert_eq!(v["event"], "mitigation");
        assert_eq!(v["ended_fault"], true);
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
        let v = event_json(
            0,
            &DrillAction::Query {
                expr: "up".to_owned(),
            },
        );
        assert_eq!(
            (v["event"].as_str(), v["expr"].as_str()),
            (Some("query"), Some("up"))
        );
    }
}
