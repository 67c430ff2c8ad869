//! The command line. Runtime knobs are flags (with `TOCSIN_*` environment equivalents);
//! what the pipeline does is configuration (`tocsin.yml`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tocsin_telemetry::LogFormat;

/// tocsin: metrics, SLOs, alerting, on-call and incidents in one binary.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version, about, propagate_version = true)]
pub struct Cli {
    /// Log line format: text or json.
    #[arg(long, global = true, default_value = "text", env = "TOCSIN_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// Log level filter: error, warn, info, debug, trace, or per module
    /// (`info,tocsin_api=debug`).
    #[arg(long, global = true, default_value = "info", env = "TOCSIN_LOG_LEVEL")]
    pub log_level: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: HTTP API and self-monitoring on the embedded default or tocsin.yml.
    Server(ServerArgs),
    /// The whole reliability loop in two minutes, no configuration: a simulated 50-service
    /// fleet, SLOs, alerts, on-call and incidents, a fault, and a scripted responder.
    Demo(DemoArgs),
    /// Incident drills on the simulated fleet: list the scenarios, run one, and the
    /// trainee's moves against a running drill (identify, mitigate, post-mortem, finish).
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Validate files without starting anything.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run unit tests.
    #[command(subcommand)]
    Test(TestCommand),
    /// Print version and build information.
    Version,
    /// Alerts of a running server.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Load generators and benchmarks against running servers.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Inspect and dump the embedded time-series store.
    #[command(subcommand)]
    Tsdb(TsdbCommand),
    /// Import historical data into blocks of a data directory.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Evaluate a PromQL expression at one time against a server.
    Query(QueryArgs),
    /// Evaluate a PromQL expression over a time range against a server.
    QueryRange(QueryRangeArgs),
    /// Collect this host's metrics and push them with remote_write, queueing on disk
    /// while the receiver is unreachable.
    Agent(AgentArgs),
    /// SLOs: error budgets and the deploy gate of a running server, rules from spec files.
    #[command(subcommand)]
    Slo(SloCommand),
    /// On-call of a running server: who is on call, schedule reports, inboxes.
    #[command(subcommand)]
    Oncall(OncallCommand),
    /// Incidents of a running server: list, show, acknowledge, resolve, notes, roles, metrics.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Post-mortems: drafts from the incident, action items, the post-mortem policy.
    #[command(subcommand)]
    Postmortem(PostmortemCommand),
}

/// `tocsin test` subcommands.
#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run rule unit tests in promtool's format (`promtool test rules`); exit 1 on failure.
    Rules {
        /// Test files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `tocsin query` flags.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The PromQL expression.
    pub expr: String,
    /// Evaluation time: Unix seconds or RFC 3339 (default: now).
    #[arg(long)]
    pub time: Option<String>,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub server: String,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tocsin query-range` flags.
#[derive(Debug, Args)]
pub struct QueryRangeArgs {
    /// The PromQL expression.
    pub expr: String,
    /// Start: Unix seconds or RFC 3339.
    #[arg(long)]
    pub start: String,
    /// End: Unix seconds or RFC 3339.
    #[arg(long)]
    pub end: String,
    /// Resolution: a duration (`15s`, `1m`) or seconds.
    #[arg(long)]
    pub step: String,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub server: String,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tocsin server` flags.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on (host:port). Keep it on loopback unless `web` auth is configured.
    #[arg(long, default_value = "127.0.0.1:9095", env = "TOCSIN_LISTEN")]
    pub listen: String,

    /// Directory for all state; created if missing.
    #[arg(long, default_value = "data", env = "TOCSIN_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Configuration file. Without it, ./tocsin.yml is used if present, else the embedded
    /// default.
    #[arg(long, env = "TOCSIN_CONFIG")]
    pub config: Option<PathBuf>,

    /// How long requests in flight may take to finish on shutdown.
    #[arg(long, default_value = "30s", env = "TOCSIN_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: tocsin_config::Duration,
}

/// `tocsin demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on (host:port).
    #[arg(long, default_value = "127.0.0.1:9095")]
    pub listen: String,

    /// Directory for the generated configuration (`config/`) and the demo's state. Wiped at
    /// start if it holds an earlier demo (a `.tocsin-demo` marker); refused if it holds
    /// anything else.
    #[arg(long, default_value = "data/demo")]
    pub data_dir: PathBuf,

    /// Seeds the fleet's shape and every sample's noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// No scripted responder: acknowledge, mitigate and resolve yourself.
    #[arg(long)]
    pub interactive: bool,

    /// When the fault starts, after the server starts.
    #[arg(long, default_value = "30s")]
    pub fault_after: tocsin_config::Duration,
}

/// `tocsin drill` subcommands.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// The scenario catalogue (name and title); needs no server.
    List,
    /// Run a scenario: starts the server on the simulated fleet with the scenario's fault,
    /// prints the briefing, records what you do, and scores it at `tocsin drill finish` or
    /// the time limit.
    Run(DrillRunArgs),
    /// The running drill: briefing, page time and what was recorded so far.
    Status(DrillServerArgs),
    /// Name the faulty service (or region) and the cause.
    Identify {
        /// The faulty service (a region for a regional outage).
        #[arg(long)]
        service: String,
        /// The cause, in your words.
        #[arg(long)]
        cause: String,
        /// The drill's server.
        #[command(flatten)]
        server: DrillServerArgs,
    },
    /// Apply a mitigation to the simulated fleet (rollback, restart_instance, scale_out,
    /// raise_pool_size, restore_dns_config, free_disk, fail_over_region).
    Mitigate {
        /// The action.
        action: String,
        /// The service it acts on.
        #[arg(long)]
        service: Option<String>,
        /// The region (restart_instance, free_disk, fail_over_region).
        #[arg(long)]
        region: Option<String>,
        /// The instance index (restart_instance, free_disk).
        #[arg(long)]
        instance: Option<usize>,
        /// Capacity multiple (scale_out) or pool size (raise_pool_size; 0 = the default).
        #[arg(long)]
        size: Option<f64>,
        /// The drill's server.
        #[command(flatten)]
        server: DrillServerArgs,
    },
    /// Submit the post-mortem (a Markdown file).
    Postmortem {
        /// The Markdown file.
        file: PathBuf,
        /// The drill's server.
        #[command(flatten)]
        server: DrillServerArgs,
    },
    /// End the drill and print the score report.
    Finish(DrillServerArgs),
}

/// `tocsin drill run` flags.
#[derive(Debug, Args)]
pub struct DrillRunArgs {
    /// The scenario (see `tocsin drill list`).
    pub scenario: String,
    /// Seeds the fleet's shape (so which service is at fault) and every sample's noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to listen on (host:port).
    #[arg(long, default_value = "127.0.0.1:9095")]
    pub listen: String,
    /// Directory for the generated configuration, the server's state, the drill log
    /// (`drill/`) and the report. Wiped at start if it holds an earlier demo or drill (a
    /// `.tocsin-demo` marker); refused if it holds anything else.
    #[arg(long, default_value = "data/drill")]
    pub data_dir: PathBuf,
    /// The drill ends and is scored after this.
    #[arg(long, default_value = "30m")]
    pub time_limit: tocsin_config::Duration,
}

/// The server of a running drill.
#[derive(Debug, Args)]
pub struct DrillServerArgs {
    /// The drill's server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub server: String,
}

/// `tocsin alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Every alert state change and notification (with its outcome), newest first.
    History(AlertsHistoryArgs),
    /// Acknowledge an alert group: no repeat notifications until it expires, resolves or a
    /// new alert joins it.
    Ack(AlertsAckArgs),
    /// Remove an alert group's acknowledgement.
    Unack(AlertsUnackArgs),
    /// Alert groups with their keys and acknowledgements.
    Groups(AlertsGroupsArgs),
    /// Say whether a notification was actionable or noise (feeds `tocsin alerts report`).
    Feedback(AlertsFeedbackArgs),
    /// Alert volume and noise per alertname, service or route, with the noisiest ranked.
    Report(AlertsReportArgs),
}

/// `tocsin alerts feedback` flags.
#[derive(Debug, Args)]
pub struct AlertsFeedbackArgs {
    /// The notification's id (16 hex digits, as its payload carries it) or its group key.
    pub group_or_id: String,
    /// `actionable` (someone had to act) or `noise`.
    #[arg(long)]
    pub verdict: String,
    /// The receiver, when a group key is given and the group went to several.
    #[arg(long)]
    pub receiver: Option<String>,
    /// Who judged (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
    /// Why.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub url: String,
}

/// `tocsin alerts report` flags.
#[derive(Debug, Args)]
pub struct AlertsReportArgs {
    /// Group by `alertname`, `service` or `route`.
    #[arg(long, default_value = "alertname")]
    pub by: String,
    /// From (RFC 3339 or Unix seconds; default: 7 days before `to`).
    #[arg(long)]
    pub from: Option<String>,
    /// To (RFC 3339 or Unix seconds; default: now).
    #[arg(long)]
    pub to: Option<String>,
    /// Bucket width (`1d`, `1h`).
    #[arg(long, default_value = "1d")]
    pub step: String,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub url: String,
    /// Output: text, or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `tocsin alerts ack` flags.
#[derive(Debug, Args)]
pub struct AlertsAckArgs {
    /// The group key (as `tocsin alerts groups` prints it).
    pub group_key: String,
    /// Who is taking care of it.
    #[arg(long)]
    pub by: String,
    /// Why, or what is being done.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// For how long (`2h`); without it, until the group resolves.
    #[arg(long = "for")]
    pub duration: Option<String>,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub url: String,
}

/// `tocsin alerts unack` flags.
#[derive(Debug, Args)]
pub struct AlertsUnackArgs {
    /// The group key.
    pub group_key: String,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub url: String,
}

/// `tocsin alerts groups` flags.
#[derive(Debug, Args)]
pub struct AlertsGroupsArgs {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub url: String,
    /// Output: text, or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `tocsin alerts history` flags.
#[derive(Debug, Args)]
pub struct AlertsHistoryArgs {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub url: String,
    /// Only `alert`, `notification`, `silence` or `ack` records.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this alertname.
    #[arg(long)]
    pub alertname: Option<String>,
    /// Only this receiver (`name` or `name/integration/index`).
    #[arg(long)]
    pub receiver: Option<String>,
    /// From this instant (RFC 3339 or Unix seconds).
    #[arg(long)]
    pub since: Option<String>,
    /// Most records.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Output: text, or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `tocsin check` subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check Alertmanager configuration files (the file `alerting.config_file` names), like
    /// `amtool check-config`; errors say file:line:column.
    Alertmanager {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check Prometheus rule files like `promtool check rules`; errors say file:line:column.
    Rules {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check tocsin.yml files: syntax, every field, and the files they name (TLS, tokens).
    Config {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `tocsin bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Send node_exporter-like series to any remote_write receiver as fast as it accepts
    /// them; report accepted samples/s, errors by status and latency percentiles.
    RemoteWrite(RemoteWriteBenchArgs),
    /// Append to an embedded time-series store the way `promtool tsdb bench write` does
    /// (batches of 1000 series, 100 scrapes per round, WAL on, compaction off) and print
    /// the same figures.
    Tsdb(TsdbBenchArgs),
}

/// `tocsin bench tsdb` flags (named like `promtool tsdb bench write`'s).
#[derive(Debug, Args)]
pub struct TsdbBenchArgs {
    /// Series to write (promtool: --metrics).
    #[arg(long, alias = "metrics", default_value_t = 10_000)]
    pub series: usize,

    /// Scrapes to simulate.
    #[arg(long, default_value_t = 3000)]
    pub scrapes: usize,

    /// Where the store is written (removed first).
    #[arg(long, default_value = "benchout")]
    pub out: PathBuf,

    /// Label sets, one JSON object per line (promtool's 20kseries.json format); without
    /// it, node_exporter-like label sets are generated.
    pub file: Option<PathBuf>,
}

/// `tocsin tsdb` subcommands.
#[derive(Debug, Subcommand)]
pub enum TsdbCommand {
    /// Blocks, head, WAL, series, samples, bytes per sample and the highest label
    /// cardinalities of a store (the server must not be running, or use a copy).
    Inspect {
        /// The server's data directory (or its tsdb/ directory).
        #[arg(long, default_value = "data", env = "TOCSIN_DATA_DIR")]
        data_dir: PathBuf,
        /// How many entries each top-cardinality list shows.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Print samples as `{labels} value timestamp_ms`, one per line, like
    /// `promtool tsdb dump`.
    Dump {
        /// The server's data directory (or its tsdb/ directory).
        #[arg(long, default_value = "data", env = "TOCSIN_DATA_DIR")]
        data_dir: PathBuf,
        /// Series selector, e.g. `up{job="node"}` (default: every series).
        #[arg(long = "match")]
        selector: Option<String>,
        /// Earliest timestamp in milliseconds.
        #[arg(long, allow_hyphen_values = true)]
        min_time: Option<i64>,
        /// Latest timestamp in milliseconds.
        #[arg(long, allow_hyphen_values = true)]
        max_time: Option<i64>,
    },
}

/// `tocsin bench remote-write` flags.
#[derive(Debug, Args)]
pub struct RemoteWriteBenchArgs {
    /// The receiver's remote_write URL.
    #[arg(long, default_value = "http://127.0.0.1:9095/api/v1/write")]
    pub url: String,

    /// Active series (about 100 per simulated host).
    #[arg(long, default_value_t = 100_000)]
    pub series: usize,

    /// How long to measure, after a first round that creates every series.
    #[arg(long, default_value = "30s")]
    pub duration: tocsin_config::Duration,

    /// Requests in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,

    /// Samples per request.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,

    /// X-Scope-OrgID to send.
    #[arg(long)]
    pub tenant: Option<String>,

    /// The receiver's process id, when it runs on this machine: its CPU time over the
    /// steady phase is reported beside the generator's.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Output: text, or json for scripts.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `tocsin import` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Write an OpenMetrics file (every sample with a timestamp, ending in `# EOF`) into
    /// blocks, like `promtool tsdb create-blocks-from openmetrics`. The server serves them
    /// after its next start.
    Openmetrics {
        /// The OpenMetrics file.
        file: PathBuf,
        /// The server's data directory.
        #[arg(long, default_value = "data", env = "TOCSIN_DATA_DIR")]
        data_dir: PathBuf,
        /// Span of each block.
        #[arg(long, default_value = "2h")]
        block_duration: tocsin_config::Duration,
    },
}

/// `tocsin agent` flags.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The receiver's remote_write URL (tocsin, Prometheus, VictoriaMetrics, Mimir, ...).
    #[arg(long, env = "TOCSIN_AGENT_URL")]
    pub url: String,

    /// X-Scope-OrgID to send.
    #[arg(long, env = "TOCSIN_AGENT_TENANT")]
    pub tenant: Option<String>,

    /// How often to collect.
    #[arg(long, default_value = "15s")]
    pub interval: tocsin_config::Duration,

    /// Where requests wait until the receiver acknowledges them.
    #[arg(long, default_value = "agent-queue")]
    pub queue_dir: PathBuf,

    /// Largest queue on disk; the oldest requests are dropped (and logged) beyond it.
    #[arg(long, default_value = "512MB")]
    pub max_queue_size: tocsin_config::ByteSize,

    /// A label for every series, `name=value` (repeatable). Default: instance=<hostname>,
    /// job=node.
    #[arg(long = "label")]
    pub labels: Vec<String>,

    /// procfs to read.
    #[arg(long, default_value = "/proc")]
    pub procfs: PathBuf,

    /// How many processes to report by memory and by CPU (0 = none).
    #[arg(long, default_value_t = 5)]
    pub top_processes: usize,

    /// Count log lines: `FILE::RULE::REGEX` (repeatable); named groups of the regex become
    /// labels of `tocsin_agent_log_matches_total{file,rule,...}`.
    #[arg(long = "log-rule")]
    pub log_rules: Vec<String>,

    /// Probe `http(s)://...`, `tcp://host:port` or `dns://name` (repeatable).
    #[arg(long = "probe")]
    pub probes: Vec<String>,

    /// Attempts fired at once per probe round.
    #[arg(long, default_value_t = 10)]
    pub probe_concurrency: usize,

    /// How often probes run.
    #[arg(long, default_value = "30s")]
    pub probe_interval: tocsin_config::Duration,

    /// Time allowed for one probe attempt.
    #[arg(long, default_value = "5s")]
    pub probe_timeout: tocsin_config::Duration,
}

/// `tocsin slo` subcommands.
#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Every SLO of the server with its remaining error budget.
    List(SloServerArgs),
    /// One SLO's budget: remaining, burn rate per window, time to exhaustion, events, SLA.
    Status(SloNameArgs),
    /// The deploy gate: exit 0 when a release may proceed, 1 when blocked, 2 when the
    /// server cannot answer.
    Gate(SloNameArgs),
    /// Print the Prometheus rules for SLO spec files (Sloth prometheus/v1 or OpenSLO), offline.
    Generate(SloGenerateArgs),
}

/// Flags of `tocsin slo` commands that ask a server.
#[derive(Debug, Args)]
pub struct SloServerArgs {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub server: String,
    /// Print the server's JSON.
    #[arg(long)]
    pub json: bool,
}

/// `tocsin slo status|gate NAME`.
#[derive(Debug, Args)]
pub struct SloNameArgs {
    /// The SLO's name.
    pub name: String,
    /// Server and output.
    #[command(flatten)]
    pub server: SloServerArgs,
}

/// `tocsin slo generate FILE...`.
#[derive(Debug, Args)]
pub struct SloGenerateArgs {
    /// Spec files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Sloth's alert style (page and ticket alerts) instead of one alert per burn-rate tier.
    #[arg(long)]
    pub sloth_alerts: bool,
}

/// `tocsin oncall` subcommands.
#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Who is on call, now or at a time, in every schedule or one.
    Who(OncallWhoArgs),
    /// A schedule's coverage and fairness over a range: gaps, hours, nights, weekends, pages
    /// out of hours per person.
    Report(OncallReportArgs),
    /// A user's inbox of pages (newest first).
    Inbox(OncallInboxArgs),
}

/// Flags of `tocsin oncall` commands that ask a server.
#[derive(Debug, Args)]
pub struct OncallServerArgs {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub server: String,
    /// Print the server's JSON.
    #[arg(long)]
    pub json: bool,
}

/// `tocsin oncall who`.
#[derive(Debug, Args)]
pub struct OncallWhoArgs {
    /// Only this schedule.
    #[arg(long)]
    pub schedule: Option<String>,
    /// When: RFC 3339 or Unix seconds (default: now).
    #[arg(long)]
    pub at: Option<String>,
    /// Server and output.
    #[command(flatten)]
    pub server: OncallServerArgs,
}

/// `tocsin oncall report`.
#[derive(Debug, Args)]
pub struct OncallReportArgs {
    /// The schedule.
    #[arg(long)]
    pub schedule: String,
    /// Start: RFC 3339 or Unix seconds.
    #[arg(long)]
    pub from: String,
    /// End: RFC 3339 or Unix seconds.
    #[arg(long)]
    pub to: String,
    /// Server and output.
    #[command(flatten)]
    pub server: OncallServerArgs,
}

/// `tocsin oncall inbox`.
#[derive(Debug, Args)]
pub struct OncallInboxArgs {
    /// The user.
    #[arg(long)]
    pub user: String,
    /// Only unread items.
    #[arg(long)]
    pub unread: bool,
    /// Server and output.
    #[command(flatten)]
    pub server: OncallServerArgs,
}

/// Server and output flags of `tocsin incident` and `tocsin postmortem`.
#[derive(Debug, Args)]
pub struct IncidentServerArgs {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:9095", env = "TOCSIN_URL")]
    pub server: String,
    /// Print the server's JSON.
    #[arg(long)]
    pub json: bool,
}

/// Who is acting (recorded on the timeline); defaults to $USER.
#[derive(Debug, Args)]
pub struct ByArgs {
    /// Who is acting.
    #[arg(long, env = "USER", default_value = "cli")]
    pub by: String,
}

/// `tocsin incident` subcommands.
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// List incidents, newest first.
    List {
        /// Only these statuses (comma-separated; `open` = triage, acknowledged, mitigated).
        #[arg(long)]
        status: Option<String>,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
        /// Opened since (RFC 3339, or a duration ago such as 7d).
        #[arg(long)]
        since: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Show an incident with its timeline.
    Show {
        /// INC-42 or 42.
        id: String,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Open an incident by hand.
    Open {
        /// One line.
        #[arg(long)]
        title: String,
        /// The affected service.
        #[arg(long)]
        service: String,
        /// SEV1..SEV4.
        #[arg(long, default_value = "SEV3")]
        severity: String,
        /// Who.
        #[command(flatten)]
        by: ByArgs,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Acknowledge: someone is working on it (stops paging).
    Ack(IncidentTransitionArgs),
    /// Mitigated: the impact has stopped.
    Mitigate(IncidentTransitionArgs),
    /// Resolved: fixed.
    Resolve(IncidentTransitionArgs),
    /// Closed: reviewed and done.
    Close(IncidentTransitionArgs),
    /// Cancelled: not an incident after all.
    Cancel(IncidentTransitionArgs),
    /// Add a note to the timeline.
    Note {
        /// INC-42 or 42.
        id: String,
        /// The note.
        text: String,
        /// Who.
        #[command(flatten)]
        by: ByArgs,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Assign a role (commander, scribe, communications); an empty person clears it.
    Assign {
        /// INC-42 or 42.
        id: String,
        /// commander (ic), scribe or communications (comms).
        role: String,
        /// Who takes it.
        person: String,
        /// Who assigns.
        #[command(flatten)]
        by: ByArgs,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// MTTA, MTTD and MTTR over a range, per service and team, with weekly trend.
    Metrics {
        /// Range start (RFC 3339 or a duration ago; default 28d).
        #[arg(long, default_value = "28d")]
        from: String,
        /// Range end (RFC 3339; default now).
        #[arg(long)]
        to: Option<String>,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Run a runbook action of the incidents file for an incident.
    Run {
        /// INC-42 or 42.
        id: String,
        /// The action's name.
        action: String,
        /// Parameter values (name=value), overriding the incident's labels.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Who.
        #[command(flatten)]
        by: ByArgs,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
}

/// `tocsin incident ack|mitigate|resolve|close|cancel ID`.
#[derive(Debug, Args)]
pub struct IncidentTransitionArgs {
    /// INC-42 or 42.
    pub id: String,
    /// A note recorded with the change.
    #[arg(long)]
    pub note: Option<String>,
    /// Who.
    #[command(flatten)]
    pub by: ByArgs,
    /// Server and output.
    #[command(flatten)]
    pub server: IncidentServerArgs,
}

/// `tocsin postmortem` subcommands.
#[derive(Debug, Subcommand)]
pub enum PostmortemCommand {
    /// Print the Markdown post-mortem drafted from the incident.
    Draft {
        /// INC-42 or 42.
        id: String,
        /// Also store it on the server (the policy then counts it as written).
        #[arg(long)]
        save: bool,
        /// Who.
        #[command(flatten)]
        by: ByArgs,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Action items: list (of one incident, or all), add, update, delete.
    #[command(subcommand)]
    Actions(ActionItemsCommand),
    /// Incidents that need a post-mortem and lack one; overdue action items. Exits 1 when
    /// there are any.
    Policy {
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
}

/// `tocsin postmortem actions` subcommands.
#[derive(Debug, Subcommand)]
pub enum ActionItemsCommand {
    /// List action items (all, or of one incident).
    List {
        /// INC-42 or 42.
        id: Option<String>,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Add an action item to an incident.
    Add {
        /// INC-42 or 42.
        id: String,
        /// What to do.
        #[arg(long)]
        title: String,
        /// Who.
        #[arg(long)]
        owner: String,
        /// Due date (2026-12-31 or RFC 3339).
        #[arg(long)]
        due: Option<String>,
        /// P1..P4.
        #[arg(long, default_value = "P3")]
        priority: String,
        /// Tracker link.
        #[arg(long)]
        link: Option<String>,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Change an action item.
    Update {
        /// The item number.
        item: i64,
        /// open, in_progress, done, wont_do.
        #[arg(long)]
        status: Option<String>,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New owner.
        #[arg(long)]
        owner: Option<String>,
        /// New due date ("" clears).
        #[arg(long)]
        due: Option<String>,
        /// New priority.
        #[arg(long)]
        priority: Option<String>,
        /// New link ("" clears).
        #[arg(long)]
        link: Option<String>,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
    /// Delete an action item.
    Delete {
        /// The item number.
        item: i64,
        /// Server and output.
        #[command(flatten)]
        server: IncidentServerArgs,
    },
}
