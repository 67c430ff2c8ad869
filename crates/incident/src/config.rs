//! The incidents file (`incidents.config_file` in `tocsin.yml`): services (owning team,
//! PagerDuty integration keys, runbook link, escalation policy), the post-mortem policy,
//! and runbook actions with the allow-list of programs they may run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tocsin_config::{AnchoredRegex, ByteSize, Duration};

use crate::{Error, Result};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(try_from = "RawIncidentsFile")]
pub struct IncidentsFile {
    /// Services by name.
    pub services: BTreeMap<String, ServiceConfig>,
    /// Post-mortem policy.
    pub postmortem: PostmortemPolicy,
    /// Absolute paths of the programs runbook actions may run.
    pub allowed_commands: BTreeSet<String>,
    /// Runbook actions by name.
    pub runbook_actions: BTreeMap<String, RunbookAction>,
}

/// One service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// The owning team (for per-team metrics).
    pub team: String,
    /// PagerDuty Events v2 routing keys that open incidents on this service.
    pub integration_keys: Vec<String>,
    /// Runbook link recorded on its incidents.
    pub runbook_url: Option<String>,
    /// Escalation policy paged when an incident opens (the on-call stage's name).
    pub escalation_policy: Option<String>,
}

/// When a post-mortem is required.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostmortemPolicy {
    /// An incident that burned more than this fraction of an SLO's error budget must have
    /// a post-mortem.
    pub budget_threshold: f64,
    /// SEV levels that always need one (e.g. `[SEV1]`).
    pub always_for: Vec<String>,
}

impl Default for PostmortemPolicy {
    fn default() -> Self {
        Self {
            budget_threshold: 0.2,
            always_for: Vec::new(),
        }
    }
}

/// A parameter of a runbook action, filled from the incident's labels (or the request).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamConfig {
    /// The label that supplies the value (default: the parameter's name).
    #[serde(default)]
    pub label: Option<String>,
    /// The value must match this (anchored); the default allows letters, digits and
    /// `._:/@=-` and never a leading `-`.
    #[serde(default)]
    pub pattern: Option<AnchoredRegex>,
    /// Used when the label is absent.
    #[serde(default)]
    pub default: Option<String>,
}

/// A runbook action: exactly one of `command` and `webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookAction {
    /// What it does, for people.
    #[serde(default)]
    pub description: String,
    /// argv: the program (an absolute path in `allowed_commands`) and its arguments, with
    /// `{{param}}` placeholders. Never run through a shell.
    #[serde(default)]
    pub command: Vec<String>,
    /// Environment of the command (nothing is inherited).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A URL to POST the incident and parameters to, as JSON.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Parameters by name.
    #[serde(default)]
    pub params: BTreeMap<String, ParamConfig>,
    /// Run when an incident opens on one of `services` (all services when empty).
    #[serde(default)]
    pub on_trigger: bool,
    /// Services the action applies to (empty: every service).
    #[serde(default)]
    pub services: Vec<String>,
    /// Longest run; the command is killed after it.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Most output kept (stdout then stderr, or the response body).
    #[serde(default = "default_max_output")]
    pub max_output: ByteSize,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_max_output() -> ByteSize {
    ByteSize(64 * 1024)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIncidentsFile {
    services: BTreeMap<String, ServiceConfig>,
    postmortem: PostmortemPolicy,
    allowed_commands: Vec<String>,
    runbook_actions: BTreeMap<String, RunbookAction>,
}

/// Longest runbook timeout accepted.
const MAX_TIMEOUT_MS: u64 = 10 * 60 * 1000;
/// Most output kept per run.
const MAX_OUTPUT: u64 = 4 * 1024 * 1024;

fn placeholders(text: &str) -> std::result::Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{text:?} has `{{{{` without a closing `}}}}`"))?;
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(out)
}

impl TryFrom<RawIncidentsFile> for IncidentsFile {
    type Error = String;

    fn try_from(raw: RawIncidentsFile) -> std::result::Result<Self, String> {
        let threshold = raw.postmortem.budget_threshold;
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(format!(
                "postmortem.budget_threshold {threshold} must be a fraction in (0, 1], e.g. 0.2 for 20%"
            ));
        }
        for sev in &raw.postmortem.always_for {
            if crate::model::Severity::parse(sev).is_none() {
                return Err(format!(
                    "postmortem.always_for: {sev:?} is not a severity; use SEV1..SEV4"
                ));
            }
        }
        let mut keys: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, service) in &raw.services {
            for key in &service.integration_keys {
                if key.trim().is_empty() {
                    return Err(format!("services.{name}.integration_keys has an empty key"));
                }
                if let Some(other) = keys.insert(key, name) {
                    return Err(format!(
                        "integration key {key:?} is listed by services {other} and {name}; each key routes to one service"
                    ));
                }
            }
        }
        let mut allowed = BTreeSet::new();
        for program in raw.allowed_commands {
            if !program.starts_with('/') {
                return Err(format!(
                    "allowed_commands: {program:?} must be an absolute path (no PATH lookup)"
                ));
            }
            allowed.insert(program);
        }
        for (name, action) in &raw.runbook_actions {
            let at = format!("runbook_actions.{name}");
            match (action.command.is_empty(), &action.webhook) {
                (true, None) => return Err(format!("{at}: set `command` or `webhook`")),
                (false, Some(_)) => {
                    return Err(format!("{at}: set `command` or `webhook`, not both"));
                }
                (false, None) => {
                    let program = &action.command[0];
                    if !allowed.contains(program) {
                        return Err(format!(
                            "{at}: program {program:?} is not in allowed_commands; add its absolute path there"
                        ));
                    }
                    if program.contains("{{") {
                        return Err(format!("{at}: the program cannot be a placeholder"));
                    }
                }
                (true, Some(url)) => {
                    let Some(rest) = url
                        .strip_prefix("http://")
                        .or_else(|| url.strip_prefix("https://"))
                    else {
                        return Err(format!("{at}: webhook {url:?} must be an http(s) URL"));
                    };
                    // Parameters come from alert labels, which senders control: they may fill
                    // the path or query, never pick the host the POST goes to.
                    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
                    if authority.contains("{{") {
                        return Err(format!(
                            "{at}: webhook {url:?} has a placeholder in its host; the host must be fixed (placeholders may fill the path or query)"
                        ));
                    }
                }
            }
            for text in action.command.iter().chain(action.webhook.iter()) {
                for p in placeholders(text).map_err(|e| format!("{at}: {e}"))? {
                    if !action.params.contains_key(p) {
                        return Err(format!(
                            "{at}: placeholder {{{{{p}}}}} is not declared under params"
                        ));
                    }
                }
            }
            if action.timeout.is_zero() || action.timeout.as_millis() > MAX_TIMEOUT_MS {
                return Err(format!("{at}: timeout must be between 1ms and 10m"));
            }
            if action.max_output.bytes() == 0 || action.max_output.bytes() > MAX_OUTPUT {
                return Err(format!("{at}: max_output must be between 1B and 4MiB"));
            }
            for service in &action.services {
                if !raw.services.is_empty() && !raw.services.contains_key(service) {
                    return Err(format!(
                        "{at}: service {service:?} is not defined under services"
                    ));
                }
            }
        }
        Ok(Self {
            services: raw.services,
            postmortem: raw.postmortem,
            allowed_commands: allowed,
            runbook_actions: raw.runbook_actions,
        })
    }
}

impl IncidentsFile {
    /// Parses the file's text; errors carry `file:line:column`.
    pub fn parse(source_name: &str, text: &str) -> Result<Self> {
        tocsin_config::yaml::from_str(source_name, text).map_err(|e| Error::Config(e.to_string()))
    }

    /// Reads and parses the file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        tocsin_config::yaml::from_file(path).map_err(|e| Error::Config(e.to_string()))
    }

    /// The service a PagerDuty routing key belongs to.
    pub fn service_for_key(&self, routing_key: &str) -> Option<&str> {
        self.services
            .iter()
            .find(|(_, s)| s.integration_keys.iter().any(|k| k == routing_key))
            .map(|(name, _)| name.as_str())
    }

    /// The team owning `service` (empty when unknown).
    pub fn team_of(&self, service: &str) -> String {
        self.services
            .get(service)
            .map(|s| s.team.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../testdata/incidents.good.yml");

    #[test]
    fn good_file_loads() {
        let file = IncidentsFile::parse("incidents.good.yml", GOOD).expect("good file");
        assert_eq!(
            file.service_for_key("0123456789abcdef0123456789abcdef"),
            Some("checkout")
        );
        assert_eq!(file.team_of("checkout"), "payments");
        assert_eq!(file.team_of("nope"), "");
        assert_eq!(file.postmortem.budget_threshold, 0.2);
        let action = &file.runbook_actions["restart"];
        assert_eq!(action.timeout, Duration::from_secs(20));
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let cases = [
            (
                "services:\n  a:\n    teem: x\n",
                "bad.yml:3:5: unknown field `teem`",
            ),
            (
                "postmortem:\n  budget_threshold: 2\n",
                "postmortem.budget_threshold 2 must be a fraction in (0, 1], e.g. 0.2 for 20%",
            ),
            (
                "services:\n  a:\n    integration_keys: [k]\n  b:\n    integration_keys: [k]\n",
                "integration key \"k\" is listed by services a and b; each key routes to one service",
            ),
            (
                "allowed_commands: [kubectl]\n",
                "allowed_commands: \"kubectl\" must be an absolute path (no PATH lookup)",
            ),
            (
                "runbook_actions:\n  r:\n    command: [/bin/rm, x]\n",
                "runbook_actions.r: program \"/bin/rm\" is not in allowed_commands; add its absolute path there",
            ),
            (
                "allowed_commands: [/bin/echo]\nrunbook_actions:\n  r:\n    command: [/bin/echo, \"{{host}}\"]\n",
                "runbook_actions.r: placeholder {{host}} is not declared under params",
            ),
            (
                "runbook_actions:\n  r:\n    description: nothing\n",
                "runbook_actions.r: set `command` or `webhook`",
            ),
            (
                "runbook_actions:\n  r:\n    webhook: ftp://x\n",
                "runbook_actions.r: webhook \"ftp://x\" must be an http(s) URL",
            ),
            (
                "runbook_actions:\n  r:\n    webhook: \"http://{{host}}/restart\"\n    params: {host: {}}\n",
                "runbook_actions.r: webhook \"http://{{host}}/restart\" has a placeholder in its host; the host must be fixed (placeholders may fill the path or query)",
            ),
            (
                "runbook_actions:\n  r:\n    webhook: \"https://ops.example.com{{path}}\"\n    params: {path: {}}\n",
                "runbook_actions.r: webhook \"https://ops.example.com{{path}}\" has a placeholder in its host; the host must be fixed (placeholders may fill the path or query)",
            ),
        ];
        for (text, want) in cases {
            let err = IncidentsFile::parse("bad.yml", text)
                .expect_err(text)
                .to_string();
            assert!(err.contains(want), "{text:?}: got {err:?}, want {want:?}");
            assert!(err.starts_with("bad.yml:"), "{err}");
        }
    }
}
