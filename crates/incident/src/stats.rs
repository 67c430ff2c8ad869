//! Response metrics: MTTA (opened → acknowledged), MTTD (problem began → opened, where the
//! source says when it began), MTTR (opened → resolved), per incident and aggregated per
//! service and team over a range, with a trend in weekly buckets (weeks start Monday 00:00
//! UTC). Cancelled incidents are false alarms and count in no mean.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Incident, Status, rfc3339};

/// The times of one incident, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IncidentTimes {
    /// Opened → acknowledged.
    pub time_to_acknowledge_seconds: Option<f64>,
    /// Problem began → opened.
    pub time_to_detect_seconds: Option<f64>,
    /// Opened → resolved.
    pub time_to_resolve_seconds: Option<f64>,
}

fn seconds(from: i64, to: i64) -> f64 {
    (to - from).max(0) as f64 / 1000.0
}

/// The times of `incident` (each `None` until the step happened).
pub fn times(incident: &Incident) -> IncidentTimes {
    IncidentTimes {
        time_to_acknowledge_seconds: incident
            .acknowledged_at
            .map(|at| seconds(incident.opened_at, at)),
        time_to_detect_seconds: incident
            .detected_at
            .map(|at| seconds(at, incident.opened_at)),
        time_to_resolve_seconds: incident
            .resolved_at
            .map(|at| seconds(incident.opened_at, at)),
    }
}

/// Aggregates of a set of incidents.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Incidents opened in the range (cancelled ones included).
    pub incidents: usize,
    /// Of which cancelled.
    pub cancelled: usize,
    /// Of which acknowledged.
    pub acknowledged: usize,
    /// Of which resolved.
    pub resolved: usize,
    /// Mean time to acknowledge.
    pub mtta_seconds: Option<f64>,
    /// Mean time to detect, over incidents whose start is known.
    pub mttd_seconds: Option<f64>,
    /// Mean time to resolve.
    pub mttr_seconds: Option<f64>,
    /// Median time to resolve.
    pub median_ttr_seconds: Option<f64>,
}

#[derive(Default)]
struct Acc {
    incidents: usize,
    cancelled: usize,
    tta: Vec<f64>,
    ttd: Vec<f64>,
    ttr: Vec<f64>,
}

impl Acc {
    fn add(&mut self, incident: &Incident) {
        self.incidents += 1;
        if incident.status == Status::Cancelled {
            self.cancelled += 1;
            return;
        }
        let t = times(incident);
        self.tta.extend(t.time_to_acknowledge_seconds);
        self.ttd.extend(t.time_to_detect_seconds);
        self.ttr.extend(t.time_to_resolve_seconds);
    }

    fn summary(mut self) -> Summary {
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        self.ttr.sort_by(f64::total_cmp);
        let median = (!self.ttr.is_empty()).then(|| {
            let n = self.ttr.len();
            if n % 2 == 1 {
                self.ttr[n / 2]
            } else {
                f64::midpoint(self.ttr[n / 2 - 1], self.ttr[n / 2])
            }
        });
        Summary {
            incidents: self.incidents,
            cancelled: self.cancelled,
            acknowledged: self.tta.len(),
            resolved: self.ttr.len(),
            mtta_seconds: mean(&self.tta),
            mttd_seconds: mean(&self.ttd),
            mttr_seconds: mean(&self.ttr),
            median_ttr_seconds: median,
        }
    }
}

/// One week of the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    /// Monday 00:00 UTC (Unix ms).
    pub start: i64,
    /// The same as RFC 3339.
    pub start_time: String,
    /// Incidents opened that week.
    #[serde(flatten)]
    pub summary: Summary,
}

/// Metrics over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Range start (Unix ms, inclusive).
    pub from: i64,
    /// Range end (Unix ms, exclusive).
    pub to: i64,
    /// Every incident opened in the range.
    pub overall: Summary,
    /// Per service.
    pub by_service: BTreeMap<String, Summary>,
    /// Per team (incidents of services without a team under `""`).
    pub by_team: BTreeMap<String, Summary>,
    /// Per week, oldest first, empty weeks included.
    pub weeks: Vec<Week>,
}

const WEEK_MS: i64 = 7 * 86_400_000;
/// 1970-01-05, the first Monday of the Unix epoch.
const FIRST_MONDAY_MS: i64 = 4 * 86_400_000;

/// Monday 00:00 UTC of the week holding `at`.
pub fn week_start(at: i64) -> i64 {
    (at - FIRST_MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS + FIRST_MONDAY_MS
}

/// Most weeks a report lists; a longer range is a mistake (or a denial of service).
pub const MAX_WEEKS: i64 = 520;

/// Aggregates the incidents opened in `[from, to)`.
pub fn report(incidents: &[Incident], from: i64, to: i64) -> Report {
    let mut overall = Acc::default();
    let mut by_service: BTreeMap<String, Acc> = BTreeMap::new();
    let mut by_team: BTreeMap<String, Acc> = BTreeMap::new();
    let mut weeks: BTreeMap<i64, Acc> = BTreeMap::new();
    if to > from {
        let mut w = week_start(from);
        let last = week_start(to - 1);
        while w <= last && weeks.len() < usize::try_from(MAX_WEEKS).unwrap_or(usize::MAX) {
            weeks.insert(w, Acc::default());
            w += WEEK_MS;
        }
    }
    for incident in incidents
        .iter()
        .filter(|i| i.opened_at >= from && i.opened_at < to)
    {
        overall.add(incident);
        by_service
            .entry(incident.service.clone())
            .or_default()
            .add(incident);
        by_team
            .entry(incident.team.clone())
            .or_default()
            .add(incident);
        if let Some(acc) = weeks.get_mut(&week_start(incident.opened_at)) {
            acc.add(incident);
        }
    }
    Report {
        from,
        to,
        overall: overall.summary(),
        by_service: by_service
            .into_iter()
            .map(|(k, v)| (k, v.summary()))
            .collect(),
        by_team: by_team.into_iter().map(|(k, v)| (k, v.summary())).collect(),
        weeks: weeks
            .into_iter()
            .map(|(start, acc)| Week {
                start,
                start_time: rfc3339(start),
                summary: acc.summary(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Roles, Severity, SourceKind};

    fn incident(service: &str, team: &str, opened: i64) -> Incident {
        Incident {
            id: "INC-1".to_owned(),
            number: 1,
            title: "t".to_owned(),
            service: service.to_owned(),
            team: team.to_owned(),
            severity: Severity::Sev2,
            status: Status::Triage,
            source: SourceKind::Manual,
            source_key: None,
            detected_at: None,
            opened_at: opened,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            cancelled_at: None,
            roles: Roles::default(),
            runbook_url: None,
            labels: BTreeMap::new(),
            updated_at: opened,
        }
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        // 2026-11-25 is a Wednesday; its week starts Monday 2026-11-23.
        let wed: jiff::Timestamp = "2026-11-25T13:00:00Z".parse().expect("valid time");
        let mon: jiff::Timestamp = "2026-11-23T00:00:00Z".parse().expect("valid time");
        assert_eq!(week_start(wed.as_millisecond()), mon.as_millisecond());
        assert_eq!(week_start(mon.as_millisecond()), mon.as_millisecond());
        assert_eq!(
            week_start(mon.as_millisecond() - 1),
            mon.as_millisecond() - WEEK_MS
        );
    }

    #[test]
    fn means_per_service_team_and_week_skip_cancelled_and_unfinished() {
        let day = 86_400_000;
        let base = week_start(100 * WEEK_MS);
        let mut a = incident("api", "core", base + day);
        a.detected_at = Some(base + day - 60_000);
        a.acknowledged_at = Some(base + day + 120_000);
        a.resolved_at = Some(base + day + 600_000);
        let mut b = incident("api", "core", base + WEEK_MS + day);
        b.acknowledged_at = Some(base + WEEK_MS + day + 240_000);
        b.resolved_at = Some(base + WEEK_MS + day + 1_800_000);
        let mut c = incident("web", "", base + WEEK_MS + 2 * day);
        c.status = Status::Cancelled;
        c.cancelled_at = Some(base + WEEK_MS + 2 * day + 1);
        let d = incident("web", "", base + 2 * day); // still open: no times
        let outside = incident("api", "core", base + 3 * WEEK_MS);
        let r = report(&[a, b, c, d, outside], base, base + 3 * WEEK_MS);
        assert_eq!(r.overall.incidents, 4);
        assert_eq!(r.overall.cancelled, 1);
        assert_eq!(r.overall.mtta_seconds, Some(180.0));
        assert_eq!(r.overall.mttd_seconds, Some(60.0));
        assert_eq!(r.overall.mttr_seconds, Some(1200.0));
        assert_eq!(r.overall.median_ttr_seconds, Some(1200.0));
        assert_eq!(r.by_service["api"].resolved, 2);
        assert_eq!(r.by_service["web"].mttr_seconds, None);
        assert_eq!(r.by_team["core"].incidents, 2);
        assert_eq!(r.by_team[""].incidents, 2);
        assert_eq!(r.weeks.len(), 3);
        assert_eq!(r.weeks[0].summary.mttr_seconds, Some(600.0));
        assert_eq!(r.weeks[1].summary.mttr_seconds, Some(1800.0));
        assert_eq!(r.weeks[2].summary.incidents, 0);
    }
}
