//! Runbook actions: argv templates filled from an incident's labels (every value checked
//! against the parameter's pattern, never an option), run as a child process without a
//! shell and with an empty environment, or POSTed to a webhook; bounded in time and output.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::Duration as StdDuration;

use regex::Regex;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::config::RunbookAction;
use crate::{Error, Result};

/// Values a parameter may take without a `pattern`: no leading `-` (option injection), no
/// whitespace, quotes or shell metacharacters (harmless without a shell, but never needed).
static DEFAULT_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9_.:/@=][A-Za-z0-9_.:/@=+,-]{0,252}$").expect("invariant: valid regex")
});

/// What will run, after parameters were filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Invocation {
    /// A program with its arguments.
    Command {
        /// argv.
        argv: Vec<String>,
    },
    /// A webhook POST.
    Webhook {
        /// URL.
        url: String,
        /// JSON body.
        body: serde_json::Value,
    },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunOutcome {
    /// `success`, `failed` (non-zero exit or HTTP error), `timeout` or `error` (could not
    /// start).
    pub outcome: &'static str,
    /// Exit code, or HTTP status.
    pub exit_status: Option<i64>,
    /// Output, at most the action's `max_output` bytes (cut at a character boundary).
    pub output: String,
    /// Whether output was cut.
    pub truncated: bool,
}

fn check_value(
    action: &str,
    param: &str,
    value: &str,
    pattern: Option<&tocsin_config::AnchoredRegex>,
) -> Result<()> {
    let err = |reason: String| Error::Action {
        action: action.to_owned(),
        reason,
    };
    if value.starts_with('-') {
        return Err(err(format!(
            "parameter {param} = {value:?} starts with '-', which could be read as an option; refused"
        )));
    }
    if value.contains('\0') {
        return Err(err(format!(
            "parameter {param} contains a NUL byte; refused"
        )));
    }
    let ok = match pattern {
        Some(p) => p.is_match(value),
        None => DEFAULT_PARAM.is_match(value),
    };
    if !ok {
        let shown = pattern.map_or_else(|| DEFAULT_PARAM.as_str(), |p| p.as_str());
        return Err(err(format!(
            "parameter {param} = {value:?} does not match {shown}; refused"
        )));
    }
    Ok(())
}

/// Resolves each declared parameter: an explicit value from the request wins, then the
/// label, then the default. A missing or unsafe value is an error naming it.
pub fn resolve_params(
    name: &str,
    action: &RunbookAction,
    labels: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    for key in overrides.keys() {
        if !action.params.contains_key(key) {
            return Err(Error::Action {
                action: name.to_owned(),
                reason: format!("it has no parameter {key:?}"),
            });
        }
    }
    let mut values = BTreeMap::new();
    for (param, config) in &action.params {
        let label = config.label.as_deref().unwrap_or(param);
        let value = overrides
            .get(param)
            .or_else(|| labels.get(label))
            .or(config.default.as_ref())
            .ok_or_else(|| Error::Action {
                action: name.to_owned(),
                reason: format!(
                    "parameter {param} has no value: the incident has no label {label:?} and no default is set"
                ),
            })?;
        check_value(name, param, value, config.pattern.as_ref())?;
        values.insert(param.clone(), value.clone());
    }
    Ok(values)
}

fn fill(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                out.push_str(values.get(name).map_or("", String::as_str));
                rest = &after[end + 2..];
            }
            None => {
                // Unreachable for validated configs; kept literal rather than guessed.
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What `action` will run with `values`; `context` is the incident JSON for webhooks.
pub fn invocation(
    action: &RunbookAction,
    values: &BTreeMap<String, String>,
    context: serde_json::Value,
) -> Invocation {
    match &action.webhook {
        Some(url) => Invocation::Webhook {
            url: fill(url, values),
            body: serde_json::json!({ "incident": context, "params": values }),
        },
        None => Invocation::Command {
            argv: action.command.iter().map(|a| fill(a, values)).collect(),
        },
    }
}

fn cut(bytes: &[u8], max: usize) -> (String, bool) {
    let truncated = bytes.len() > max;
    let kept = &bytes[..bytes.len().min(max)];
    // Cut at a character boundary; invalid bytes become U+FFFD.
    let text = String::from_utf8_lossy(kept).into_owned();
    (text, truncated)
}

async fn read_bounded<R: AsyncRead + Unpin>(mut reader: R, max: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    // On the heap: two of these live in the run's future.
    let mut buf = vec![0u8; 8192];
    let mut dropped = false;
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                // Keep draining so the child never blocks on a full pipe.
                dropped |= n > room;
            }
        }
    }
    (kept, dropped)
}

/// Runs a command: no shell, empty environment plus `env`, stdin closed, killed at
/// `timeout`, output capped at `max_output` bytes (stdout, then stderr).
pub async fn run_command(
    argv: &[String],
    env: &BTreeMap<String, String>,
    timeout: StdDuration,
    max_output: usize,
) -> RunOutcome {
    let Some((program, args)) = argv.split_first() else {
        return RunOutcome {
            outcome: "error",
            exit_status: None,
            output: "empty command".to_owned(),
            truncated: false,
        };
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return RunOutcome {
                outcome: "error",
                exit_status: None,
                output: format!("cannot start {program}: {e}"),
                truncated: false,
            };
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let collect = async {
        let out = async {
            match stdout {
                Some(s) => read_bounded(s, max_output).await,
                None => (Vec::new(), false),
            }
        };
        let err = async {
            match stderr {
                Some(s) => read_bounded(s, max_output).await,
                None => (Vec::new(), false),
            }
        };
        let ((out, out_cut), (err, err_cut)) = tokio::join!(out, err);
        let status = child.wait().await;
        (out, out_cut, err, err_cut, status)
    };
    match tokio::time::timeout(timeout, collect).await {
        Ok((mut out, out_cut, err, err_cut, status)) => {
            out.extend_from_slice(&err);
            let (output, cut_here) = cut(&out, max_output);
            let exit = status.ok().and_then(|s| s.code());
            RunOutcome {
                outcome: if exit == Some(0) { "success" } else { "failed" },
                exit_status: exit.map(i64::from),
                output,
                truncated: out_cut || err_cut || cut_here,
            }
        }
        Err(_) => RunOutcome {
            // Dropping the future dropped the child, which kill_on_drop kills.
            outcome: "timeout",
            exit_status: None,
            output: format!("killed after {}ms", timeout.as_millis()),
            truncated: false,
        },
    }
}

/// POSTs `body` to `url`; the response body is the output.
pub async fn run_webhook(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    timeout: StdDuration,
    max_output: usize,
) -> RunOutcome {
    let request = async {
        let response = client.post(url).json(body).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, bytes))
    };
    match tokio::time::timeout(timeout, request).await {
        Ok(Ok((status, bytes))) => {
            let (output, truncated) = cut(&bytes, max_output);
            RunOutcome {
                outcome: if status.is_success() {
                    "success"
                } else {
                    "failed"
                },
                exit_status: Some(i64::from(status.as_u16())),
                output,
                truncated,
            }
        }
        Ok(Err(e)) => RunOutcome {
            outcome: "error",
            exit_status: None,
            output: format!("POST {url} failed: {e}"),
            truncated: false,
        },
        Err(_) => RunOutcome {
            outcome: "timeout",
            exit_status: None,
            output: format!("no answer within {}ms", timeout.as_millis()),
            truncated: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IncidentsFile;

    fn file() -> IncidentsFile {
        IncidentsFile::parse(
            "t.yml",
            "allowed_commands: [/bin/echo]\nrunbook_actions:\n  echo:\n    command: [/bin/echo, \"host={{host}}\", \"{{zone}}\"]\n    params:\n      host: {label: instance}\n      zone: {pattern: \"[a-z]+-[0-9]\", default: eu-1}\n",
        )
        .expect("valid")
    }

    #[test]
    fn parameters_come_from_labels_and_defaults_and_are_checked() {
        let file = file();
        let action = &file.runbook_actions["echo"];
        let labels = BTreeMap::from([("instance".to_owned(), "db-1:9100".to_owned())]);
        let values = resolve_params("echo", action, &labels, &BTreeMap::new()).expect("ok");
        assert_eq!(
            invocation(action, &values, serde_json::Value::Null),
            Invocation::Command {
                argv: vec!["/bin/echo".into(), "host=db-1:9100".into(), "eu-1".into()]
            }
        );
        let refused = [
            ("instance", "--kubeconfig=/tmp/evil", "starts with '-'"),
            ("instance", "a b", "does not match"),
            ("instance", "$(reboot)", "does not match"),
            ("instance", "x;rm", "does not match"),
        ];
        for (label, value, want) in refused {
            let labels = BTreeMap::from([(label.to_owned(), value.to_owned())]);
            let err = resolve_params("echo", action, &labels, &BTreeMap::new())
                .expect_err(value)
                .to_string();
            assert!(err.contains(want), "{value}: {err}");
        }
        let overrides = BTreeMap::from([("zone".to_owned(), "US".to_owned())]);
        let err = resolve_params("echo", action, &labels, &overrides)
            .expect_err("pattern")
            .to_string();
        assert!(err.contains("does not match [a-z]+-[0-9]"), "{err}");
        let err = resolve_params("echo", action, &BTreeMap::new(), &BTreeMap::new())
            .expect_err("missing")
            .to_string();
        assert_eq!(
            err,
            "runbook action \"echo\": parameter host has no value: the incident has no label \"instance\" and no default is set"
        );
        let unknown = BTreeMap::from([("cmd".to_owned(), "x".to_owned())]);
        assert!(resolve_params("echo", action, &labels, &unknown).is_err());
    }

    #[tokio::test]
    async fn commands_run_without_a_shell_and_are_bounded() {
        let echo = run_command(
            &["/bin/echo".into(), "$HOME;".into(), "`id`".into()],
            &BTreeMap::new(),
            StdDuration::from_secs(10),
            1024,
        )
        .await;
        assert_eq!(echo.outcome, "success");
        assert_eq!(echo.output, "$HOME; `id`\n");

        let long = run_command(
            &["/bin/sh".into(), "-c".into(), "yes | head -c 100000".into()],
            &BTreeMap::new(),
            StdDuration::from_secs(10),
            100,
        )
        .await;
        assert_eq!(long.output.len(), 100);
        assert!(long.truncated);

        let failed = run_command(
            &[
                "/bin/sh".into(),
                "-c".into(),
                "echo oops >&2; exit 3".into(),
            ],
            &BTreeMap::new(),
            StdDuration::from_secs(10),
            100,
        )
        .await;
        assert_eq!((failed.outcome, failed.exit_status), ("failed", Some(3)));
        assert_eq!(failed.output, "oops\n");

        let missing = run_command(
            &["/nonexistent/tool".into()],
            &BTreeMap::new(),
            StdDuration::from_secs(1),
            100,
        )
        .await;
        assert_eq!(missing.outcome, "error");
    }

    /// On tokio's paused clock the timer fires as soon as the runtime is idle, long before
    /// the child's 30 s; the child is killed.
    #[tokio::test(start_paused = true)]
    async fn a_slow_command_is_killed_at_its_timeout() {
        let slow = run_command(
            &["/bin/sleep".into(), "30".into()],
            &BTreeMap::new(),
            StdDuration::from_secs(5),
            100,
        )
        .await;
        assert_eq!(slow.outcome, "timeout");
        assert_eq!(slow.output, "killed after 5000ms");
    }

    /// A one-shot HTTP server on loopback answering `status` with `body`; returns its URL
    /// and the request it received.
    async fn one_shot(
        status: &'static str,
        body: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let handle = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = vec![0u8; 4096];
            // Headers and a small JSON body arrive in a few reads; bounded at 64 KiB.
            while request.len() < 65_536 {
                let n = socket.read(&mut buf).await.expect("read");
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if n == 0 || (text.contains("\r\n\r\n") && text.ends_with('}')) {
                    break;
                }
            }
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn webhooks_post_the_incident_and_keep_the_bounded_answer() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let (url, request) = one_shot("200 OK", "restarted web-1 and web-2").await;
        let body = serde_json::json!({"incident": {"id": "INC-1"}, "params": {"host": "web-1"}});
        let out = run_webhook(&client, &url, &body, StdDuration::from_secs(10), 9).await;
        assert_eq!(out.outcome, "success");
        assert_eq!(out.exit_status, Some(200));
        assert_eq!((out.output.as_str(), out.truncated), ("restarted", true));
        let request = request.await.expect("server task");
        assert!(request.starts_with("POST /hook HTTP/1.1"), "{request}");
        assert!(request.ends_with(&body.to_string()), "{request}");

        let (url, _) = one_shot("503 Service Unavailable", "down").await;
        let out = run_webhook(&client, &url, &body, StdDuration::from_secs(10), 100).await;
        assert_eq!((out.outcome, out.exit_status), ("failed", Some(503)));
    }

    #[tokio::test]
    async fn the_environment_is_not_inherited() {
        let env = BTreeMap::from([("ONLY".to_owned(), "this".to_owned())]);
        let out = run_command(
            &["/usr/bin/env".into()],
            &env,
            StdDuration::from_secs(10),
            1024,
        )
        .await;
        assert_eq!(out.output, "ONLY=this\n");
    }
}
