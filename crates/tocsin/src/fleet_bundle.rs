//! The configuration bundle of the simulated fleet, written as ordinary files a user can read
//! and reuse with `tocsin server --config <dir>/tocsin.yml`: the server configuration with a
//! `simulator:` section, 20 on-call engineers in a follow-the-sun schedule with teams,
//! services and escalation policies, Alertmanager routing that pages through the on-call
//! stage, SLO specs and cause alerts for every service, and the incidents file. `tocsin demo`
//! and `tocsin drill run` both start from it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tocsin_config::{Duration, FaultConfig};
use tocsin_sim::{FaultKind, Fleet, Role};

/// What the bundle is for.
#[derive(Debug, Clone)]
pub(crate) struct BundleOptions {
    /// Seeds the fleet (its shape, so which services exist, and every sample's noise).
    pub(crate) seed: u64,
    /// Faults scheduled relative to the server's start.
    pub(crate) faults: Vec<FaultConfig>,
    /// A drill's scenario: every alert carries `drill="<scenario>"`.
    pub(crate) drill: Option<String>,
    /// Where the server listens (host:port), for links in notifications.
    pub(crate) listen: String,
    /// Simulated history backfilled at start.
    pub(crate) history: Duration,
    /// Time between simulated scrapes.
    pub(crate) scrape_interval: Duration,
}

impl BundleOptions {
    /// The demo's settings: 30 minutes of history (enough for the 5m–1h burn-rate windows,
    /// short enough that a fault shows in the 1h window within a minute) and 10s scrapes.
    pub(crate) fn new(seed: u64, listen: &str) -> Self {
        Self {
            seed,
            faults: Vec::new(),
            drill: None,
            listen: listen.to_owned(),
            history: Duration::from_secs(30 * 60),
            scrape_interval: Duration::from_secs(10),
        }
    }

    /// The fleet these options describe (the same one the server will simulate).
    pub(crate) fn fleet(&self) -> anyhow::Result<Fleet> {
        Fleet::build(&tocsin_sim::FleetConfig {
            seed: self.seed,
            scrape_interval_ms: i64::try_from(self.scrape_interval.as_millis()).unwrap_or(i64::MAX),
            ..tocsin_sim::FleetConfig::default()
        })
        .map_err(|e| anyhow::anyhow!("cannot build the simulated fleet: {e}"))
    }
}

/// A fault of the simulator as a `simulator.faults` entry starting `after` the server starts.
pub(crate) fn fault_config(
    kind: &FaultKind,
    after: Duration,
    duration: Option<Duration>,
) -> FaultConfig {
    let mut f = FaultConfig {
        kind: kind.name().to_owned(),
        after,
        duration,
        service: kind.service().map(str::to_owned),
        region: None,
        instance: None,
        version: kind.deployed_version().map(str::to_owned),
        error_ratio: None,
        demand_factor: None,
        max_connections: None,
        failure_ratio: None,
        bytes_per_second: None,
        peak_multiple: None,
        ramp: None,
    };
    match kind {
        FaultKind::BadDeploy { error_ratio, .. } | FaultKind::SlowBurn { error_ratio, .. } => {
            f.error_ratio = Some(*error_ratio);
        }
        FaultKind::CpuSaturation { demand_factor, .. } => f.demand_factor = Some(*demand_factor),
        FaultKind::IntermittentErrors {
            region,
            instance,
            error_ratio,
            ..
        } => {
            f.region = Some(region.clone());
            f.instance = Some(*instance);
            f.error_ratio = Some(*error_ratio);
        }
        FaultKind::PoolExhaustion {
            max_connections, ..
        } => f.max_connections = Some(*max_connections),
        FaultKind::DnsFailures { failure_ratio, .. } => f.failure_ratio = Some(*failure_ratio),
        FaultKind::DiskFill {
            region,
            instance,
            bytes_per_second,
            ..
        } => {
            f.region = Some(region.clone());
            f.instance = Some(*instance);
            f.bytes_per_second = Some(*bytes_per_second);
        }
        FaultKind::MemoryLeak {
            bytes_per_second, ..
        } => f.bytes_per_second = Some(*bytes_per_second),
        FaultKind::TargetDown {
            region, instance, ..
        } => {
            f.region = Some(region.clone());
            f.instance = Some(*instance);
        }
        FaultKind::RegionalOutage { region } => f.region = Some(region.clone()),
        FaultKind::TrafficSurge {
            peak_multiple,
            ramp_ms,
            ..
        } => {
            f.peak_multiple = Some(*peak_multiple);
            f.ramp = Some(Duration::from_millis(u64::try_from(*ramp_ms).unwrap_or(0)));
        }
    }
    f
}

/// The team owning a layer of the fleet; the same as the `team` label the suggested SLOs
/// carry (a unit test holds the two together).
pub(crate) fn team_of(role: Role) -> &'static str {
    match role {
        Role::Frontend | Role::Api => "edge",
        Role::Domain => "commerce",
        Role::Core => "platform",
        Role::DataAccess | Role::Database | Role::Cache | Role::Queue => "data",
    }
}

/// Teams with their display names.
const TEAMS: [(&str, &str); 4] = [
    ("edge", "Edge (frontends and APIs)"),
    ("commerce", "Commerce (domain services)"),
    ("platform", "Platform (core services)"),
    ("data", "Data (stores, caches, queues)"),
];

/// The on-call engineers: id, name, time zone. Seven in London, seven in New York, six in
/// Asia, so every region's business hours are someone's.
pub(crate) const ENGINEERS: [(&str, &str, &str); 20] = [
    ("amelia", "Amelia Hughes", "Europe/London"),
    ("ethan", "Ethan Brooks", "America/New_York"),
    ("wei", "Wei Lin", "Asia/Singapore"),
    ("oliver", "Oliver Grant", "Europe/London"),
    ("maya", "Maya Patel", "America/New_York"),
    ("haruto", "Haruto Sato", "Asia/Tokyo"),
    ("isla", "Isla Murray", "Europe/London"),
    ("lucas", "Lucas Rivera", "America/New_York"),
    ("priya", "Priya Nair", "Asia/Singapore"),
    ("harry", "Harry Clarke", "Europe/London"),
    ("zoe", "Zoe Bennett", "America/New_York"),
    ("yui", "Yui Tanaka", "Asia/Tokyo"),
    ("freya", "Freya Watson", "Europe/London"),
    ("noah", "Noah Kim", "America/New_York"),
    ("arjun", "Arjun Mehta", "Asia/Singapore"),
    ("george", "George Evans", "Europe/London"),
    ("ava", "Ava Thompson", "America/New_York"),
    ("kenji", "Kenji Watanabe", "Asia/Tokyo"),
    ("poppy", "Poppy Carter", "Europe/London"),
    ("mason", "Mason Lee", "America/New_York"),
];

/// The follow-the-sun layers: name, zone of the layer, the window in local time, and which
/// engineers' zones it draws from. Windows overlap in UTC in every DST combination
/// (Asia 22:00–09:00 UTC, London 07/08–17/18, New York 15/16–23/24), so the day has no gap.
const LAYERS: [(&str, &str, &str, &str, &[&str]); 3] = [
    (
        "asia",
        "Asia/Singapore",
        "06:00",
        "17:00",
        &["Asia/Singapore", "Asia/Tokyo"],
    ),
    (
        "europe",
        "Europe/London",
        "08:00",
        "18:00",
        &["Europe/London"],
    ),
    (
        "americas",
        "America/New_York",
        "11:00",
        "19:00",
        &["America/New_York"],
    ),
];

/// Engineers in team `t` (round robin over the list, so every team spans the zones); the
/// first is the team lead.
fn members(team_index: usize) -> Vec<&'static str> {
    ENGINEERS
        .iter()
        .enumerate()
        .filter(|(i, _)| i % TEAMS.len() == team_index)
        .map(|(_, (id, _, _))| *id)
        .collect()
}

fn email(name: &str) -> String {
    format!("{}@example.com", name.to_lowercase().replace(' ', "."))
}

fn oncall_yaml(fleet: &Fleet, slo_names: &[(String, Vec<String>)]) -> String {
    let mut out = String::from(
        "# On-call directory of the simulated fleet, generated by tocsin (see docs/oncall.md).\n\
         # Pages reach everyone's built-in inbox (`tocsin oncall inbox --user ID`). To page by\n\
         # email too, add `contacts: [{email: ...}]` to a user and an `smtp:` section.\n\
         users:\n",
    );
    for (id, name, tz) in ENGINEERS {
        let _ = writeln!(
            out,
            "  - {{id: {id}, name: {name}, time_zone: {tz}}}   # {}",
            email(name)
        );
    }
    out.push_str("teams:\n");
    for (i, (id, name)) in TEAMS.iter().enumerate() {
        let m = members(i);
        let _ = writeln!(
            out,
            "  - {{id: {id}, name: \"{name}\", members: [{}]}}   # lead: {}",
            m.join(", "),
            m[0]
        );
    }
    out.push_str("services:\n");
    for svc in fleet.services() {
        let team = team_of(svc.role);
        let slos = slo_names
            .iter()
            .find(|(s, _)| *s == svc.name)
            .map(|(_, names)| names.join(", "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  - {{id: {id}, name: {id}, team: {team}, escalation_policy: {team}-escalation, \
             runbook_url: \"https://runbooks.example.com/{id}\", slos: [{slos}]}}",
            id = svc.name
        );
    }
    out.push_str(
        "schedules:\n\
         \x20 # Follow the sun: each region's layer is on duty in its business hours, every day;\n\
         \x20 # a later layer wins where two overlap. `tocsin oncall report --schedule\n\
         \x20 # follow-the-sun` shows it has no gap.\n\
         \x20 - id: follow-the-sun\n\
         \x20   time_zone: UTC\n\
         \x20   layers:\n",
    );
    for (name, tz, from, to, zones) in LAYERS {
        let people: Vec<&str> = ENGINEERS
            .iter()
            .filter(|(_, _, z)| zones.contains(z))
            .map(|(id, _, _)| *id)
            .collect();
        let _ = writeln!(
            out,
            "      - {{name: {name}, rotation: daily, handoff: \"{from}\", time_zone: {tz}, start: 2025-12-29,\n\
             \x20        participants: [{}],\n\
             \x20        restrictions: [{{from: \"{from}\", to: \"{to}\"}}]}}",
            people.join(", ")
        );
    }
    let everyone: Vec<&str> = ENGINEERS.iter().map(|(id, _, _)| *id).collect();
    let _ = writeln!(
        out,
        "  - id: secondary\n\
         \x20   time_zone: UTC\n\
         \x20   layers:\n\
         \x20     - {{name: weekly, rotation: weekly, handoff: \"09:00\", start: 2025-12-29,\n\
         \x20        participants: [{}]}}",
        everyone.join(", ")
    );
    out.push_str(
        "escalation_policies:\n\
         \x20 # Whoever follows the sun now; after 5 minutes without an acknowledgement the\n\
         \x20 # secondary; after 10 the team lead.\n",
    );
    for (i, (team, _)) in TEAMS.iter().enumerate() {
        let lead = members(i)[0];
        let _ = writeln!(
            out,
            "  - id: {team}-escalation\n\
             \x20   repeat: 1\n\
             \x20   steps:\n\
             \x20     - {{delay: 5m, targets: [{{schedule: follow-the-sun}}]}}\n\
             \x20     - {{delay: 5m, targets: [{{schedule: secondary}}]}}\n\
             \x20     - {{delay: 15m, targets: [{{user: {lead}}}]}}"
        );
    }
    out
}

fn alertmanager_yaml(fleet: &Fleet) -> String {
    let mut out = String::from(
        "# Alert routing of the simulated fleet, generated by tocsin (Alertmanager format; see\n\
         # docs/alerting.md). Pages go to the owning team's escalation policy through tocsin's\n\
         # on-call stage (an incident opens, the on-call's inbox gets the page); tickets stay in\n\
         # tocsin (alerts page and history). No external receivers.\n\
         route:\n\
         \x20 receiver: tickets\n\
         \x20 group_by: [alertname, service]\n\
         \x20 group_wait: 5s\n\
         \x20 group_interval: 1m\n\
         \x20 repeat_interval: 4h\n\
         \x20 routes:\n",
    );
    for (team, _) in TEAMS {
        let services: Vec<&str> = fleet
            .services()
            .iter()
            .filter(|s| team_of(s.role) == team)
            .map(|s| s.name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "    - receiver: oncall-{team}\n\
             \x20     matchers: ['severity=\"page\"', 'service=~\"{}\"']",
            services.join("|")
        );
    }
    out.push_str("receivers:\n  - name: tickets\n");
    for (team, _) in TEAMS {
        let _ = writeln!(
            out,
            "  - name: oncall-{team}\n\
             \x20   oncall_configs:\n\
             \x20     - escalation_policy: {team}-escalation"
        );
    }
    out
}

/// The suggested SLO specs with a `service` label added to each, so page alerts (and the
/// incidents they open) name their service the way cause alerts do, and SLO names prefixed
/// with the service (`web-requests-availability`).
fn slo_yaml(fleet: &Fleet) -> (String, Vec<(String, Vec<String>)>) {
    let text = tocsin_sim::suggest::slo_specs_yaml(fleet);
    let mut out = String::with_capacity(text.len() + 64 * fleet.services().len());
    let mut names: Vec<(String, Vec<String>)> = Vec::new();
    let mut service = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if let Some(rest) = line.strip_prefix("service: ") {
            service = rest.trim_matches('"').to_owned();
            names.push((service.clone(), Vec::new()));
        } else if line == "labels:" {
            let _ = writeln!(out, "  service: \"{service}\"");
        } else if let Some(rest) = line.strip_prefix("  - name: ")
            && let Some((_, slos)) = names.last_mut()
        {
            // SLO names are unique across files (they name the SLO in the API and UI); the
            // suggestions reuse one name per kind, so prefix the service.
            out.truncate(out.len() - line.len() - 1);
            let name = format!("{service}-{}", rest.trim_matches('"'));
            let _ = writeln!(out, "  - name: \"{name}\"");
            slos.push(name);
        }
    }
    (out, names)
}

fn tocsin_yaml(opts: &BundleOptions, fleet: &Fleet) -> String {
    let mut out = format!(
        "# tocsin configuration of the simulated fleet, generated by `tocsin demo` (seed {seed}).\n\
         # Reuse it: tocsin server --config <this file> --data-dir <another dir>\n\
         global:\n\
         \x20 # Short intervals so a page fires within a minute or two of a fault.\n\
         \x20 evaluation_interval: 10s\n\
         \x20 scrape_interval: 15s\n",
        seed = opts.seed
    );
    if let Some(scenario) = &opts.drill {
        let _ = write!(
            out,
            "  # A drill: every alert says so, and routing below reaches only inboxes.\n\
             \x20 external_labels:\n\
             \x20   drill: \"{scenario}\"\n"
        );
    }
    let _ = write!(
        out,
        "rule_files: [rules/*.yml]\n\
         slo_files: [slos/*.yml]\n\
         alerting:\n\
         \x20 config_file: alertmanager.yml\n\
         \x20 external_url: http://{listen}\n\
         oncall:\n\
         \x20 files: [oncall.yml]\n\
         incidents:\n\
         \x20 config_file: incidents.yml\n\
         simulator:\n\
         \x20 seed: {seed}\n\
         \x20 services: {services}\n\
         \x20 regions: [{regions}]\n\
         \x20 instances_per_region: {instances}\n\
         \x20 scrape_interval: {scrape}\n\
         \x20 history: {history}\n",
        listen = opts.listen,
        seed = opts.seed,
        services = fleet.services().len(),
        regions = fleet.regions().join(", "),
        instances = fleet.config().instances_per_region,
        scrape = opts.scrape_interval,
        history = opts.history,
    );
    if opts.faults.is_empty() {
        return out;
    }
    out.push_str("  faults:\n");
    for f in &opts.faults {
        let _ = writeln!(out, "    - kind: {}", f.kind);
        let _ = writeln!(out, "      after: {}", f.after);
        if let Some(d) = f.duration {
            let _ = writeln!(out, "      duration: {d}");
        }
        let quoted = |v: &Option<String>| v.as_ref().map(|v| format!("{v:?}"));
        let text = [
            ("service", quoted(&f.service)),
            ("region", quoted(&f.region)),
            ("instance", f.instance.map(|v| v.to_string())),
            ("version", quoted(&f.version)),
            ("error_ratio", f.error_ratio.map(|v| v.to_string())),
            ("demand_factor", f.demand_factor.map(|v| v.to_string())),
            ("max_connections", f.max_connections.map(|v| v.to_string())),
            ("failure_ratio", f.failure_ratio.map(|v| v.to_string())),
            (
                "bytes_per_second",
                f.bytes_per_second.map(|v| v.to_string()),
            ),
            ("peak_multiple", f.peak_multiple.map(|v| v.to_string())),
            ("ramp", f.ramp.map(|v| v.to_string())),
        ];
        for (name, value) in text {
            if let Some(v) = value {
                let _ = writeln!(out, "      {name}: {v}");
            }
        }
    }
    out
}

const INCIDENTS_YAML: &str = "# Incidents of the simulated fleet, generated by tocsin (see docs/incidents.md).\n\
# Teams, runbooks and escalation policies come from the on-call directory (oncall.yml).\n\
postmortem:\n\
\x20 budget_threshold: 0.2\n\
\x20 always_for: [SEV1]\n";

/// Writes the bundle into `dir` (created if missing; files in it are replaced) and returns
/// the path of its tocsin.yml.
pub(crate) fn write_bundle(dir: &Path, opts: &BundleOptions) -> anyhow::Result<PathBuf> {
    let fleet = opts.fleet()?;
    let (slos, slo_names) = slo_yaml(&fleet);
    let files: [(&str, String); 6] = [
        ("tocsin.yml", tocsin_yaml(opts, &fleet)),
        ("alertmanager.yml", alertmanager_yaml(&fleet)),
        ("oncall.yml", oncall_yaml(&fleet, &slo_names)),
        ("incidents.yml", INCIDENTS_YAML.to_owned()),
        ("slos/fleet.yml", slos),
        ("rules/fleet.yml", tocsin_sim::suggest::alert_rules_yaml()),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir.join("tocsin.yml"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn written(opts: &BundleOptions) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = write_bundle(dir.path(), opts).unwrap();
        (dir, path)
    }

    #[test]
    fn every_file_loads_through_the_check_config_paths_and_the_rule_loader() {
        let mut opts = BundleOptions::new(1, "127.0.0.1:9095");
        let fleet = opts.fleet().unwrap();
        let web = fleet.services()[0].name.clone();
        opts.faults.push(fault_config(
            &FaultKind::BadDeploy {
                service: web,
                version: "v9.9.9".to_owned(),
                error_ratio: 0.9,
            },
            Duration::from_secs(30),
            None,
        ));
        opts.drill = Some("bad-deploy".to_owned());
        let (_dir, path) = written(&opts);
        crate::commands::check::check_one(&path).unwrap();
        let config = tocsin_config::Config::load(&path).unwrap();
        let base = path.parent().unwrap();
        let groups = crate::server::rules::load_groups(&config, base).unwrap();
        // The fleet's recording and cause groups plus the SLOs' generated groups.
        assert!(groups.len() > 10, "{} groups", groups.len());
        let sim = config.simulator.unwrap();
        assert_eq!(sim.services, 50);
        assert_eq!(sim.faults.len(), 1);
        assert_eq!(sim.faults[0].error_ratio, Some(0.9));
        assert_eq!(
            config
                .global
                .external_labels
                .get("drill")
                .map(String::as_str),
            Some("bad-deploy")
        );
        // What the server would simulate from the file is what the options describe.
        let kind = crate::server::sim::fault_kind(&sim.faults[0]).unwrap();
        assert_eq!(kind.name(), "bad_deploy");
    }

    #[test]
    fn twenty_engineers_and_every_service_has_an_owner_and_a_policy() {
        let opts = BundleOptions::new(3, "127.0.0.1:9095");
        let (_dir, path) = written(&opts);
        let text = std::fs::read_to_string(path.with_file_name("oncall.yml")).unwrap();
        let directory =
            tocsin_oncall::directory::Directory::from_files(&[("oncall.yml".to_owned(), text)])
                .unwrap();
        assert_eq!(directory.users.len(), 20);
        let zones: BTreeSet<String> = directory
            .users
            .values()
            .map(|u| u.tz.iana_name().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            zones,
            [
                "America/New_York",
                "Asia/Singapore",
                "Asia/Tokyo",
                "Europe/London"
            ]
            .into_iter()
            .map(str::to_owned)
            .collect()
        );
        let fleet = opts.fleet().unwrap();
        assert_eq!(fleet.services().len(), 50);
        for svc in fleet.services() {
            let spec = directory
                .service(&svc.name)
                .unwrap_or_else(|| panic!("{} missing", svc.name));
            let team = spec.team.as_deref().unwrap();
            assert!(directory.team_members(team).is_some(), "{team}");
            let policy = spec.escalation_policy.as_deref().unwrap();
            directory.policy(policy).unwrap();
            assert!(spec.runbook_url.as_deref().unwrap().ends_with(&svc.name));
        }
    }

    #[test]
    fn teams_match_the_team_labels_of_the_suggested_slos() {
        let fleet = BundleOptions::new(1, "x:1").fleet().unwrap();
        let specs = tocsin_sim::suggest::slo_specs_yaml(&fleet);
        let mut checked = 0;
        for doc in specs.split("---\n") {
            let field = |name: &str| {
                doc.lines()
                    .find_map(|l| l.trim().strip_prefix(name))
                    .map(|v| v.trim_matches('"').to_owned())
            };
            let (Some(service), Some(team)) = (field("service: "), field("team: ")) else {
                continue;
            };
            let svc = fleet.services().iter().find(|s| s.name == service).unwrap();
            assert_eq!(team_of(svc.role), team, "{service}");
            checked += 1;
        }
        assert!(checked >= 30, "{checked}");
        // And every SLO document gained the service label.
        let (ours, _) = slo_yaml(&fleet);
        assert_eq!(
            ours.matches("labels:\n  service: ").count(),
            ours.matches("\nlabels:\n").count() + usize::from(ours.starts_with("labels:\n"))
        );
    }

    #[test]
    fn follow_the_sun_covers_every_hour_of_the_year_without_a_gap() {
        let (_dir, path) = written(&BundleOptions::new(1, "x:1"));
        let text = std::fs::read_to_string(path.with_file_name("oncall.yml")).unwrap();
        let directory =
            tocsin_oncall::directory::Directory::from_files(&[("oncall.yml".to_owned(), text)])
                .unwrap();
        // A year from a date in winter: both DST changes of London and New York inside.
        let from: jiff::Timestamp = "2026-01-05T00:00:00Z".parse().unwrap();
        let to: jiff::Timestamp = "2027-01-05T00:00:00Z".parse().unwrap();
        for schedule in ["follow-the-sun", "secondary"] {
            let shifts = directory
                .schedule(schedule)
                .unwrap()
                .shifts(from, to)
                .unwrap();
            let report = tocsin_oncall::report::build(&directory, schedule, from, to, &shifts, &[]);
            assert!(report.gaps.is_empty(), "{schedule}: {:?}", report.gaps);
            assert!((report.coverage - 1.0).abs() < 1e-9, "{}", report.coverage);
        }
        // Every one of the 20 takes follow-the-sun shifts.
        let shifts = directory
            .schedule("follow-the-sun")
            .unwrap()
            .shifts(from, to)
            .unwrap();
        let people: BTreeSet<&str> = shifts.iter().map(|s| s.user.as_str()).collect();
        assert_eq!(people.len(), 20);
    }

    #[test]
    fn routing_pages_each_team_through_its_policy_and_nothing_leaves_tocsin() {
        let (_dir, path) = written(&BundleOptions::new(1, "x:1"));
        let config = tocsin_alerting::config::AlertmanagerConfig::load(
            &path.with_file_name("alertmanager.yml"),
        )
        .unwrap();
        assert_eq!(config.receivers.len(), 5);
        let text = std::fs::read_to_string(path.with_file_name("alertmanager.yml")).unwrap();
        for forbidden in [
            "webhook_configs",
            "slack_configs",
            "email_configs",
            "pagerduty",
        ] {
            assert!(!text.contains(forbidden), "{forbidden}");
        }
        assert_eq!(text.matches("escalation_policy: ").count(), 4);
    }
}
