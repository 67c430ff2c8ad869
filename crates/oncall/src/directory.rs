//! The on-call directory: users, teams, services, schedules and escalation policies.
//!
//! Objects come from YAML files (`oncall.files` in tocsin.yml) and from the API (kept in the
//! state store). Files win: an id defined in a file cannot be changed through the API, and an
//! API object whose id a file later defines is shadowed (and reported by
//! [`Directory::shadowed`]). Everything is checked once the sources are merged: time zones,
//! times, durations, and every cross-reference (a team member, a schedule participant, a
//! policy target, a service's team and policy), each error pointing at `file:line:column`
//! of the object that refers, or at `api:<kind>/<id>` for API objects.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use tocsin_config::Duration;
use tocsin_config::yaml::{self, YamlError};

use crate::schedule::{Layer, LocalTime, Override, Restriction, Rotation, Schedule};

/// A way to reach a user besides the built-in inbox, which every user has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Contact {
    /// An HTTP endpoint that receives the page as JSON.
    Webhook(String),
    /// An email address (sent through the directory's `smtp` settings).
    Email(String),
    /// A Slack incoming-webhook URL.
    Slack(String),
}

impl Contact {
    /// `webhook`, `email` or `slack`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook(_) => "webhook",
            Self::Email(_) => "email",
            Self::Slack(_) => "slack",
        }
    }

    /// The contact as stored in the pages table: `kind:address`.
    pub fn key(&self) -> String {
        match self {
            Self::Webhook(a) | Self::Email(a) | Self::Slack(a) => format!("{}:{a}", self.kind()),
        }
    }
}

/// A person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Unique id (referenced everywhere else).
    pub id: String,
    /// Display name (default: the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IANA time zone (`Europe/London`); nights and weekends in reports are in this zone.
    pub time_zone: String,
    /// Ways to reach them besides the inbox.
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User ids.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Something that pages people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Unique id (the `service` label of its alerts).
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Owning team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Who gets paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<String>,
    /// Shown on every page and incident of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_url: Option<String>,
    /// SLO names (as in the SLO specs).
    #[serde(default)]
    pub slos: Vec<String>,
}

/// How often a layer hands off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationKind {
    /// Every hour (absolute time).
    Hourly,
    /// Every day at the handoff time (local, DST-correct).
    Daily,
    /// Every week at the handoff time.
    Weekly,
    /// Every `shift_length`: whole days are civil days; other lengths are absolute.
    Custom,
}

/// When a layer is on duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionSpec {
    /// `mon`..`sun`; empty: every day. The day the window starts.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Local start, `HH:MM`.
    pub from: String,
    /// Local end, `HH:MM` (`24:00` for midnight); at or before `from` it ends the next day.
    pub to: String,
}

/// One layer of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Name, shown on shifts.
    pub name: String,
    /// How often it hands off.
    pub rotation: RotationKind,
    /// Length of a shift; only (and required) for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_length: Option<Duration>,
    /// Local handoff time `HH:MM` (default `00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<String>,
    /// Zone of the handoff and restrictions (default: the schedule's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// First day of the first shift, `YYYY-MM-DD`.
    pub start: String,
    /// The layer stops at this instant (RFC 3339); default: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// User ids in rotation order.
    pub participants: Vec<String>,
    /// Windows the layer is on duty in; empty: always.
    #[serde(default)]
    pub restrictions: Vec<RestrictionSpec>,
}

/// Someone covers for someone else (or fills a gap) for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    /// Who is on call instead.
    pub user: String,
    /// Only where this user would have been on call; default: whoever (or nobody) was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Start (RFC 3339).
    pub start: Timestamp,
    /// End (RFC 3339), after `start`.
    pub end: Timestamp,
}

/// A schedule: layers stacked bottom to top, overrides on top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Default zone of the layers.
    pub time_zone: String,
    /// Layers; a later layer wins where it has someone on duty.
    pub layers: Vec<LayerSpec>,
    /// Overrides written in the file (the API adds more, kept in the store).
    #[serde(default)]
    pub overrides: Vec<OverrideSpec>,
}

/// Who a step notifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetSpec {
    /// One user.
    User(String),
    /// Whoever is on call in a schedule when the step fires.
    Schedule(String),
    /// One of these users, the next one each time the step fires.
    RoundRobin(Vec<String>),
}

/// One step of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// How long to wait for an acknowledgement before the next step.
    pub delay: Duration,
    /// Who is notified.
    pub targets: Vec<TargetSpec>,
}

/// An escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many more times to run all the steps when nobody acknowledges (0: once).
    #[serde(default)]
    pub repeat: u32,
    /// Steps in order.
    pub steps: Vec<StepSpec>,
}

/// SMTP settings for email contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSpec {
    /// `host:port`; port 465 means implicit TLS.
    pub smarthost: String,
    /// The From address.
    pub from: String,
    /// Login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (prefer `password_file`).
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// STARTTLS required (default true; ignored on port 465).
    #[serde(default = "yes")]
    pub require_tls: bool,
}

fn yes() -> bool {
    true
}

/// One directory file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    users: Vec<Spanned<UserSpec>>,
    #[serde(default)]
    teams: Vec<Spanned<TeamSpec>>,
    #[serde(default)]
    services: Vec<Spanned<ServiceSpec>>,
    #[serde(default)]
    schedules: Vec<Spanned<ScheduleSpec>>,
    #[serde(default)]
    escalation_policies: Vec<Spanned<PolicySpec>>,
    #[serde(default)]
    smtp: Option<Spanned<SmtpSpec>>,
}

/// The kinds of directory objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// [`UserSpec`].
    User,
    /// [`TeamSpec`].
    Team,
    /// [`ServiceSpec`].
    Service,
    /// [`ScheduleSpec`].
    Schedule,
    /// [`PolicySpec`].
    EscalationPolicy,
}

impl Kind {
    /// Every kind, in dependency order.
    pub const ALL: [Self; 5] = [
        Self::User,
        Self::Team,
        Self::Schedule,
        Self::EscalationPolicy,
        Self::Service,
    ];

    /// Singular name (`user`, `escalation_policy`).
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Team => "team",
            Self::Service => "service",
            Self::Schedule => "schedule",
            Self::EscalationPolicy => "escalation_policy",
        }
    }

    /// The kind named by an API path segment (`users`, `escalation_policies`).
    pub fn from_plural(plural: &str) -> Option<Self> {
        Some(match plural {
            "users" => Self::User,
            "teams" => Self::Team,
            "services" => Self::Service,
            "schedules" => Self::Schedule,
            "escalation_policies" => Self::EscalationPolicy,
            _ => return None,
        })
    }
}

/// Where an object was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A directory file.
    File {
        /// File name.
        source: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
    },
    /// The API (kept in the state store).
    Api,
}

impl Origin {
    fn error(&self, kind: Kind, id: &str, message: String) -> YamlError {
        match self {
            Self::File {
                source,
                line,
                column,
            } => YamlError {
                source_name: source.clone(),
                line: Some(*line).filter(|&l| l > 0),
                column: Some(*column).filter(|&c| c > 0),
                message,
                snippet: None,
            },
            Self::Api => YamlError {
                source_name: format!("api:{}/{id}", kind.name()),
                line: None,
                column: None,
                message,
                snippet: None,
            },
        }
    }

    /// Whether the object came from a file.
    pub fn is_file(&self) -> bool {
        matches!(self, Self::File { .. })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File {
                source,
                line,
                column,
            } => write!(f, "{source}:{line}:{column}"),
            Self::Api => f.write_str("the API"),
        }
    }
}

/// A user, checked.
#[derive(Debug, Clone)]
pub struct User {
    /// As written.
    pub spec: UserSpec,
    /// The parsed zone.
    pub tz: TimeZone,
}

impl User {
    /// The display name.
    pub fn display_name(&self) -> &str {
        self.spec.name.as_deref().unwrap_or(&self.spec.id)
    }
}

/// A policy target, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One user.
    User(String),
    /// The on-call of a schedule.
    Schedule(String),
    /// Rotating over users.
    RoundRobin(Vec<String>),
}

/// A policy step, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Wait before the next step.
    pub delay: std::time::Duration,
    /// Targets.
    pub targets: Vec<Target>,
}

/// A policy, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Id.
    pub id: String,
    /// Extra rounds.
    pub repeat: u32,
    /// Steps (at least one).
    pub steps: Vec<Step>,
}

/// Collects sources, then checks them together.
#[derive(Debug, Default)]
pub struct DirectoryBuilder {
    users: BTreeMap<String, (UserSpec, Origin)>,
    teams: BTreeMap<String, (TeamSpec, Origin)>,
    services: BTreeMap<String, (ServiceSpec, Origin)>,
    schedules: BTreeMap<String, (ScheduleSpec, Origin)>,
    policies: BTreeMap<String, (PolicySpec, Origin)>,
    smtp: Option<(SmtpSpec, Origin)>,
    shadowed: Vec<(Kind, String)>,
}

fn location(source: &str, at: &serde_saphyr::Location) -> Origin {
    Origin::File {
        source: source.to_owned(),
        line: at.line(),
        column: at.column(),
    }
}

macro_rules! add_file_objects {
    ($self:ident, $source:ident, $list:expr, $map:ident, $kind:expr) => {
        for spanned in $list {
            let origin = location($source, &spanned.referenced);
            let spec = spanned.value;
            if let Some((_, first)) = $self.$map.get(&spec.id) {
                if first.is_file() {
                    return Err(origin.error(
                        $kind,
                        &spec.id,
                        format!(
                            "{} {:?} is already defined at {first}; ids must be unique",
                            $kind.name(),
                            spec.id
                        ),
                    ));
                }
                $self.shadowed.push(($kind, spec.id.clone()));
            }
            $self.$map.insert(spec.id.clone(), (spec, origin));
        }
    };
}

impl DirectoryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory file (YAML). Ids must be unique across files.
    pub fn add_file(&mut self, source: &str, text: &str) -> Result<(), YamlError> {
        let raw: RawFile = yaml::from_str(source, text)?;
        add_file_objects!(self, source, raw.users, users, Kind::User);
        add_file_objects!(self, source, raw.teams, teams, Kind::Team);
        add_file_objects!(self, source, raw.services, services, Kind::Service);
        add_file_objects!(self, source, raw.schedules, schedules, Kind::Schedule);
        add_file_objects!(
            self,
            source,
            raw.escalation_policies,
            policies,
            Kind::EscalationPolicy
        );
        if let Some(smtp) = raw.smtp {
            let origin = location(source, &smtp.referenced);
            if let Some((_, first)) = &self.smtp {
                return Err(origin.error(
                    Kind::User,
                    "smtp",
                    format!("smtp is already set at {first}; set it in one file"),
                ));
            }
            self.smtp = Some((smtp.value, origin));
        }
        Ok(())
    }

    /// Adds an object made through the API (JSON of the same shape as in files). Ignored
    /// (and reported as shadowed) when a file defines the same id.
    pub fn add_api(&mut self, kind: Kind, json: &str) -> Result<(), YamlError> {
        let bad = |e: serde_json::Error| YamlError {
            source_name: format!("api:{}", kind.name()),
            line: None,
            column: None,
            message: format!("invalid {}: {e}", kind.name()),
            snippet: None,
        };
        macro_rules! api {
            ($map:ident, $ty:ty) => {{
                let spec: $ty = serde_json::from_str(json).map_err(bad)?;
                if self.$map.contains_key(&spec.id) {
                    self.shadowed.push((kind, spec.id.clone()));
                } else {
                    self.$map.insert(spec.id.clone(), (spec, Origin::Api));
                }
            }};
        }
        match kind {
            Kind::User => api!(users, UserSpec),
            Kind::Team => api!(teams, TeamSpec),
            Kind::Service => api!(services, ServiceSpec),
            Kind::Schedule => api!(schedules, ScheduleSpec),
            Kind::EscalationPolicy => api!(policies, PolicySpec),
        }
        Ok(())
    }

    /// Checks everything and builds the directory.
    pub fn build(self) -> Result<Directory, YamlError> {
        let mut users = BTreeMap::new();
        for (id, (spec, origin)) in &self.users {
            let err = |m: String| origin.error(Kind::User, id, m);
            check_id(id).map_err(|m| err(format!("user id {id:?}: {m}")))?;
            let tz = time_zone(&spec.time_zone).map_err(|m| err(format!("user {id:?}: {m}")))?;
            for contact in &spec.contacts {
                check_contact(contact).map_err(|m| err(format!("user {id:?}: {m}")))?;
            }
            users.insert(
                id.clone(),
                User {
                    spec: spec.clone(),
                    tz,
                },
            );
        }
        let known_user = |id: &str| users.contains_key(id);
        for (id, (spec, origin)) in &self.teams {
            let err = |m: String| origin.error(Kind::Team, id, m);
            check_id(id).map_err(|m| err(format!("team id {id:?}: {m}")))?;
            for member in &spec.members {
                if !known_user(member) {
                    return Err(err(format!(
                        "team {id:?}: member {member:?} is not a user; define it under users"
                    )));
                }
            }
        }
        let mut schedules = BTreeMap::new();
        for (id, (spec, origin)) in &self.schedules {
            let err = |m: String| origin.error(Kind::Schedule, id, format!("schedule {id:?}: {m}"));
            check_id(id).map_err(|m| err(format!("id: {m}")))?;
            let schedule = compile_schedule(spec, &known_user).map_err(err)?;
            schedules.insert(id.clone(), schedule);
        }
        let mut policies = BTreeMap::new();
        for (id, (spec, origin)) in &self.policies {
            let err = |m: String| {
                origin.error(
                    Kind::EscalationPolicy,
                    id,
                    format!("escalation policy {id:?}: {m}"),
                )
            };
            check_id(id).map_err(|m| err(format!("id: {m}")))?;
            let policy =
                compile_policy(spec, &known_user, &|s| schedules.contains_key(s)).map_err(err)?;
            policies.insert(id.clone(), policy);
        }
        for (id, (spec, origin)) in &self.services {
            let err = |m: String| origin.error(Kind::Service, id, format!("service {id:?}: {m}"));
            check_id(id).map_err(|m| err(format!("id: {m}")))?;
            if let Some(team) = &spec.team
                && !self.teams.contains_key(team)
            {
                return Err(err(format!(
                    "team {team:?} is not defined; add it under teams"
                )));
            }
            if let Some(policy) = &spec.escalation_policy
                && !policies.contains_key(policy)
            {
                return Err(err(format!(
                    "escalation_policy {policy:?} is not defined; add it under escalation_policies"
                )));
            }
            if let Some(url) = &spec.runbook_url {
                check_url(url).map_err(|m| err(format!("runbook_url: {m}")))?;
            }
        }
        if let Some((smtp, origin)) = &self.smtp
            && !smtp.smarthost.contains(':')
        {
            return Err(origin.error(
                Kind::User,
                "smtp",
                format!(
                    "smtp.smarthost {:?} needs a port, like smtp.example.org:587",
                    smtp.smarthost
                ),
            ));
        }
        Ok(Directory {
            users,
            teams: self.teams,
            services: self.services,
            schedules,
            schedule_specs: self.schedules,
            policies,
            policy_specs: self.policies,
            smtp: self.smtp.map(|(s, _)| s),
            user_origins: self
                .users
                .into_iter()
                .map(|(id, (_, origin))| (id, origin))
                .collect(),
            shadowed: self.shadowed,
        })
    }
}

/// The checked directory.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Users by id.
    pub users: BTreeMap<String, User>,
    teams: BTreeMap<String, (TeamSpec, Origin)>,
    services: BTreeMap<String, (ServiceSpec, Origin)>,
    /// Schedules by id (without API-made overrides; see `schedule::with_overrides`).
    pub schedules: BTreeMap<String, Schedule>,
    schedule_specs: BTreeMap<String, (ScheduleSpec, Origin)>,
    /// Policies by id.
    pub policies: BTreeMap<String, Policy>,
    policy_specs: BTreeMap<String, (PolicySpec, Origin)>,
    /// SMTP settings for email contacts.
    pub smtp: Option<SmtpSpec>,
    user_origins: BTreeMap<String, Origin>,
    shadowed: Vec<(Kind, String)>,
}

impl Directory {
    /// Loads directory files only (no API objects).
    pub fn from_files(files: &[(String, String)]) -> Result<Self, YamlError> {
        let mut builder = DirectoryBuilder::new();
        for (name, text) in files {
            builder.add_file(name, text)?;
        }
        builder.build()
    }

    /// Adds overrides made through the API to their schedules (after the ones in files, so
    /// they win where they overlap); overrides of unknown schedules are left out.
    pub fn with_overrides(mut self, rows: &[tocsin_store::oncall::OverrideRow]) -> Self {
        for row in rows {
            let (Ok(start), Ok(end)) = (
                Timestamp::from_millisecond(row.starts_at),
                Timestamp::from_millisecond(row.ends_at),
            ) else {
                continue;
            };
            if let Some(schedule) = self.schedules.get_mut(&row.schedule) {
                schedule.overrides.push(Override {
                    id: Some(row.id.clone()),
                    user: row.user_id.clone(),
                    replaces: row.replaces.clone(),
                    start,
                    end,
                });
            }
        }
        self
    }

    /// API objects that a file overrides.
    pub fn shadowed(&self) -> &[(Kind, String)] {
        &self.shadowed
    }

    /// A user.
    pub fn user(&self, id: &str) -> crate::Result<&User> {
        self.users.get(id).ok_or_else(|| crate::Error::NotFound {
            kind: "user",
            id: id.to_owned(),
        })
    }

    /// A schedule.
    pub fn schedule(&self, id: &str) -> crate::Result<&Schedule> {
        self.schedules
            .get(id)
            .ok_or_else(|| crate::Error::NotFound {
                kind: "schedule",
                id: id.to_owned(),
            })
    }

    /// A policy.
    pub fn policy(&self, id: &str) -> crate::Result<&Policy> {
        self.policies.get(id).ok_or_else(|| crate::Error::NotFound {
            kind: "escalation_policy",
            id: id.to_owned(),
        })
    }

    /// A service as written.
    pub fn service(&self, id: &str) -> Option<&ServiceSpec> {
        self.services.get(id).map(|(s, _)| s)
    }

    /// Where an object is defined, if it exists.
    pub fn origin(&self, kind: Kind, id: &str) -> Option<&Origin> {
        match kind {
            Kind::User => self.user_origins.get(id),
            Kind::Team => self.teams.get(id).map(|(_, o)| o),
            Kind::Service => self.services.get(id).map(|(_, o)| o),
            Kind::Schedule => self.schedule_specs.get(id).map(|(_, o)| o),
            Kind::EscalationPolicy => self.policy_specs.get(id).map(|(_, o)| o),
        }
    }

    /// Every object of a kind as JSON (the shape files and the API use), with `origin`.
    pub fn list(&self, kind: Kind) -> Vec<serde_json::Value> {
        fn rows<T: Serialize>(map: &BTreeMap<String, (T, Origin)>) -> Vec<serde_json::Value> {
            map.values()
                .map(|(spec, origin)| with_origin(spec, origin))
                .collect()
        }
        match kind {
            Kind::User => self
                .users
                .values()
                .map(|u| {
                    let mut v = serde_json::to_value(&u.spec).unwrap_or_default();
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("name".into(), u.display_name().into());
                    }
                    v
                })
                .collect(),
            Kind::Team => rows(&self.teams),
            Kind::Service => rows(&self.services),
            Kind::Schedule => rows(&self.schedule_specs),
            Kind::EscalationPolicy => rows(&self.policy_specs),
        }
    }

    /// The ids of users on a team.
    pub fn team_members(&self, team: &str) -> Option<&[String]> {
        self.teams.get(team).map(|(t, _)| t.members.as_slice())
    }
}

fn with_origin<T: Serialize>(spec: &T, origin: &Origin) -> serde_json::Value {
    let mut v = serde_json::to_value(spec).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "origin".into(),
            match origin {
                Origin::Api => "api".into(),
                Origin::File { .. } => origin.to_string().into(),
            },
        );
    }
    v
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err("ids are 1 to 128 characters".to_owned());
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err("use letters, digits and - _ . @ only".to_owned());
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("{url:?} is not an http:// or https:// URL"))
    }
}

fn check_contact(contact: &Contact) -> Result<(), String> {
    match contact {
        Contact::Webhook(url) | Contact::Slack(url) => {
            check_url(url).map_err(|m| format!("{} contact: {m}", contact.kind()))
        }
        Contact::Email(address) => match address.split_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(()),
            _ => Err(format!("email contact {address:?} is not an email address")),
        },
    }
}

/// Parses an IANA zone name.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| {
        format!("unknown time zone {name:?} ({e}); use an IANA name like Europe/London")
    })
}

fn weekday(name: &str) -> Result<jiff::civil::Weekday, String> {
    use jiff::civil::Weekday;
    Ok(match name.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return Err(format!("{name:?} is not a weekday; use mon, tue, ... sun")),
    })
}

fn compile_schedule(
    spec: &ScheduleSpec,
    known_user: &dyn Fn(&str) -> bool,
) -> Result<Schedule, String> {
    let tz = time_zone(&spec.time_zone)?;
    if spec.layers.is_empty() {
        return Err("needs at least one layer".to_owned());
    }
    let mut names = BTreeSet::new();
    let mut layers = Vec::new();
    for (i, l) in spec.layers.iter().enumerate() {
        let at = |m: String| format!("layers[{i}] ({:?}): {m}", l.name);
        if !names.insert(l.name.as_str()) {
            return Err(at("layer names must be unique in a schedule".to_owned()));
        }
        let zone = match &l.time_zone {
            Some(name) => time_zone(name).map_err(at)?,
            None => tz.clone(),
        };
        let rotation = match (l.rotation, l.shift_length) {
            (RotationKind::Hourly, None) => Rotation::Fixed(std::time::Duration::from_secs(3600)),
            (RotationKind::Daily, None) => Rotation::Days(1),
            (RotationKind::Weekly, None) => Rotation::Days(7),
            (RotationKind::Custom, Some(len)) => {
                let ms = len.as_millis();
                if ms < 60_000 {
                    return Err(at("shift_length must be at least 1m".to_owned()));
                }
                if ms % 86_400_000 == 0 {
                    Rotation::Days(i64::try_from(ms / 86_400_000).map_err(|e| at(e.to_string()))?)
                } else {
                    Rotation::Fixed(len.as_std())
                }
            }
            (RotationKind::Custom, None) => {
                return Err(at(
                    "a custom rotation needs shift_length, like 12h or 3d".to_owned()
                ));
            }
            (_, Some(_)) => {
                return Err(at(
                    "shift_length is only for rotation: custom; remove it or use custom".to_owned(),
                ));
            }
        };
        let handoff = match &l.handoff {
            Some(t) => LocalTime::parse(t, false).map_err(|m| at(format!("handoff: {m}")))?,
            None => LocalTime::MIDNIGHT,
        };
        let start_date: jiff::civil::Date = l.start.parse().map_err(|e| {
            at(format!(
                "start {:?} is not a date like 2026-01-05 ({e})",
                l.start
            ))
        })?;
        if l.participants.is_empty() {
            return Err(at("needs at least one participant".to_owned()));
        }
        for p in &l.participants {
            if !known_user(p) {
                return Err(at(format!(
                    "participant {p:?} is not a user; define it under users"
                )));
            }
        }
        let mut restrictions = Vec::new();
        for (j, r) in l.restrictions.iter().enumerate() {
            let rat = |m: String| at(format!("restrictions[{j}]: {m}"));
            let from = LocalTime::parse(&r.from, false).map_err(|m| rat(format!("from: {m}")))?;
            let to = LocalTime::parse(&r.to, true).map_err(|m| rat(format!("to: {m}")))?;
            let weekdays = r
                .weekdays
                .iter()
                .map(|d| weekday(d))
                .collect::<Result<Vec<_>, _>>()
                .map_err(rat)?;
            restrictions.push(Restriction { weekdays, from, to });
        }
        let start = handoff
            .on(start_date, &zone)
            .map_err(|e| at(format!("start: {e}")))?;
        if let Some(end) = l.end
            && end <= start.timestamp()
        {
            return Err(at("end is not after the first handoff".to_owned()));
        }
        layers.push(Layer {
            name: l.name.clone(),
            tz: zone,
            rotation,
            start,
            end: l.end,
            participants: l.participants.clone(),
            restrictions,
        });
    }
    let mut overrides = Vec::new();
    for (i, o) in spec.overrides.iter().enumerate() {
        let at = |m: String| format!("overrides[{i}]: {m}");
        check_override(o, known_user).map_err(at)?;
        overrides.push(Override::from_spec(o, None));
    }
    Ok(Schedule {
        id: spec.id.clone(),
        name: spec.name.clone().unwrap_or_else(|| spec.id.clone()),
        tz,
        layers,
        overrides,
    })
}

/// Checks an override's users and range.
pub fn check_override(o: &OverrideSpec, known_user: &dyn Fn(&str) -> bool) -> Result<(), String> {
    if o.end <= o.start {
        return Err(format!("end {} is not after start {}", o.end, o.start));
    }
    for user in std::iter::once(&o.user).chain(o.replaces.as_ref()) {
        if !known_user(user) {
            return Err(format!("{user:?} is not a user; define it under users"));
        }
    }
    Ok(())
}

fn compile_policy(
    spec: &PolicySpec,
    known_user: &dyn Fn(&str) -> bool,
    known_schedule: &dyn Fn(&str) -> bool,
) -> Result<Policy, String> {
    if spec.steps.is_empty() {
        return Err("needs at least one step".to_owned());
    }
    if spec.repeat > 100 {
        return Err(format!("repeat {} is more than 100", spec.repeat));
    }
    let mut steps = Vec::new();
    for (i, s) in spec.steps.iter().enumerate() {
        let at = |m: String| format!("steps[{i}]: {m}");
        if s.targets.is_empty() {
            return Err(at("needs at least one target".to_owned()));
        }
        if s.delay.as_millis() < 1000 {
            return Err(at("delay must be at least 1s".to_owned()));
        }
        let mut targets = Vec::new();
        for t in &s.targets {
            let user = |u: &String| {
                if known_user(u) {
                    Ok(())
                } else {
                    Err(at(format!(
                        "target user {u:?} is not a user; define it under users"
                    )))
                }
            };
            targets.push(match t {
                TargetSpec::User(u) => {
                    user(u)?;
                    Target::User(u.clone())
                }
                TargetSpec::Schedule(s) => {
                    if !known_schedule(s) {
                        return Err(at(format!(
                            "target schedule {s:?} is not defined; add it under schedules"
                        )));
                    }
                    Target::Schedule(s.clone())
                }
                TargetSpec::RoundRobin(users) => {
                    if users.is_empty() {
                        return Err(at("round_robin needs at least one user".to_owned()));
                    }
                    for u in users {
                        user(u)?;
                    }
                    Target::RoundRobin(users.clone())
                }
            });
        }
        steps.push(Step {
            delay: s.delay.as_std(),
            targets,
        });
    }
    Ok(Policy {
        id: spec.id.clone(),
        repeat: spec.repeat,
        steps,
    })
}

#[cfg(test)]
mod tests;
