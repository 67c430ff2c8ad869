//! Error budgets computed with the PromQL engine over the time-series store.
//!
//! Events are counted per included interval of the window (the window minus maintenance
//! exclusions): each interval `[a, b]` is one query evaluated at `b` over the range `b - a`,
//! so exclusions and calendar months need no special rules. Rates are turned into event
//! counts by multiplying by the interval's length.

use std::collections::BTreeMap;

use serde::Serialize;
use tocsin_config::Duration;
use tocsin_model::Timestamp;
use tocsin_model::storage::Queryable;
use tocsin_promql::{Engine, Value};

use crate::error::{Error, Result};
use crate::generate::{error_ratio_expr, render};
use crate::spec::{Budgeting, Sli, Slo};
use crate::tiers::sli_windows;

/// Good, bad and total events over the window (event-based SLIs only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Events {
    /// Good events.
    pub good: f64,
    /// Bad events.
    pub bad: f64,
    /// All events.
    pub total: f64,
}

/// The SLA beside the SLO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SlaStatus {
    /// SLA objective in percent.
    pub objective: f64,
    /// Attained so far in the window, in percent.
    pub attained: f64,
    /// Whether the SLA is broken.
    pub breached: bool,
}

/// Where an SLO stands at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetReport {
    /// SLO name.
    pub slo: String,
    /// Service.
    pub service: String,
    /// Objective in percent.
    pub objective: f64,
    /// `30d`, `calendar month (UTC)`.
    pub window: String,
    /// `occurrences` or `timeslices`.
    pub budgeting: &'static str,
    /// Start of the window (Unix ms).
    pub window_start: Timestamp,
    /// Evaluation time (Unix ms).
    pub evaluated_at: Timestamp,
    /// Length of the whole budget period (ms).
    pub period_ms: i64,
    /// Time left out of the window by exclusions (seconds).
    pub excluded_seconds: f64,
    /// Error ratio over the window so far (None: no data).
    pub error_ratio: Option<f64>,
    /// The error budget as a ratio (0.001 for 99.9%).
    pub error_budget: f64,
    /// Share of the budget consumed (1 = all of it; above 1 = overspent).
    pub consumed: Option<f64>,
    /// Share of the budget remaining (negative when overspent).
    pub remaining: Option<f64>,
    /// Burn rate per SLI window (`5m` … `3d`): error ratio / error budget.
    pub burn_rates: BTreeMap<String, Option<f64>>,
    /// Burn rate over the last hour, used for the time to exhaustion.
    pub current_burn_rate: Option<f64>,
    /// Seconds until the budget is gone at the current burn rate (0 when already gone,
    /// None when not burning).
    pub time_to_exhaustion_seconds: Option<f64>,
    /// Share of the whole budget burned in the last 24 hours.
    pub burned_last_24h: Option<f64>,
    /// Events over the window (event-based SLIs).
    pub events: Option<Events>,
    /// SLA status, when an SLA objective is set.
    pub sla: Option<SlaStatus>,
}

fn duration_str(ms: i64) -> String {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0)).to_string()
}

/// How several series of one result are combined: event rates add up, ratios take the worst.
#[derive(Clone, Copy)]
enum Combine {
    Sum,
    Max,
}

fn scalar(
    engine: &Engine,
    store: &dyn Queryable,
    query: &str,
    t: Timestamp,
    combine: Combine,
) -> Result<Option<f64>> {
    let result = engine
        .instant_query(store, query, t)
        .map_err(|source| Error::Query {
            query: query.to_owned(),
            source,
        })?;
    let values: Vec<f64> = match result.value {
        Value::Scalar(p) => vec![p.v],
        Value::Vector(samples) => samples.into_iter().map(|s| s.v).collect(),
        Value::Matrix(_) | Value::String(..) => Vec::new(),
    };
    let values: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
    if values.is_empty() {
        return Ok(None);
    }
    Ok(Some(match combine {
        Combine::Sum => values.iter().sum(),
        Combine::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }))
}

/// The window `[start, end]` minus the SLO's exclusions, as non-empty intervals.
pub fn included_intervals(
    slo: &Slo,
    start: Timestamp,
    end: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let mut intervals = vec![(start, end)];
    for ex in &slo.tocsin.exclusions {
        let (xs, xe) = (ex.start.as_millisecond(), ex.end.as_millisecond());
        intervals = intervals
            .into_iter()
            .flat_map(|(a, b)| {
                if xe <= a || xs >= b {
                    vec![(a, b)]
                } else {
                    [(a, xs.max(a)), (xe.min(b), b)]
                        .into_iter()
                        .filter(|(s, e)| e > s)
                        .collect()
                }
            })
            .collect();
    }
    intervals
}

struct WindowErrors {
    ratio: Option<f64>,
    events: Option<Events>,
}

fn window_errors(
    engine: &Engine,
    store: &dyn Queryable,
    slo: &Slo,
    intervals: &[(Timestamp, Timestamp)],
) -> Result<WindowErrors> {
    if let Budgeting::Timeslices { target, slice } = slo.budgeting {
        let slice_ms = i64::try_from(slice.as_millis()).unwrap_or(i64::MAX).max(1);
        let expr = error_ratio_expr(&slo.sli, &slice.to_string());
        let (mut bad, mut all) = (0u64, 0u64);
        for &(a, b) in intervals {
            if b - a < slice_ms {
                continue;
            }
            let result = engine
                .range_query(store, &expr, a + slice_ms, b, slice_ms)
                .map_err(|source| Error::Query {
                    query: expr.clone(),
                    source,
                })?;
            // One point per slice: a slice is bad when its worst series misses the target.
            let mut per_slice: BTreeMap<Timestamp, f64> = BTreeMap::new();
            if let Value::Matrix(series) = result.value {
                for s in series {
                    for p in s.points.into_iter().filter(|p| !p.v.is_nan()) {
                        let worst = per_slice.entry(p.t).or_insert(f64::NEG_INFINITY);
                        *worst = worst.max(p.v);
                    }
                }
            }
            for err in per_slice.values() {
                all += 1;
                if 1.0 - err < target {
                    bad += 1;
                }
            }
        }
        return Ok(WindowErrors {
            ratio: (all > 0).then(|| bad as f64 / all as f64),
            events: None,
        });
    }
    match &slo.sli {
        Sli::Events { total_query, .. } | Sli::GoodTotal { total_query, .. } => {
            let (mut bad, mut good, mut total, mut seen) = (0.0, 0.0, 0.0, false);
            for &(a, b) in intervals {
                let range = duration_str(b - a);
                let seconds = (b - a) as f64 / 1000.0;
                let Some(t) = scalar(engine, store, &render(total_query, &range), b, Combine::Sum)?
                else {
                    continue;
                };
                seen = true;
                total += t * seconds;
                match &slo.sli {
                    Sli::Events { error_query, .. } => {
                        let e =
                            scalar(engine, store, &render(error_query, &range), b, Combine::Sum)?
                                .unwrap_or(0.0);
                        bad += e * seconds;
                        good += (t - e) * seconds;
                    }
                    Sli::GoodTotal { good_query, .. } => {
                        let g =
                            scalar(engine, store, &render(good_query, &range), b, Combine::Sum)?
                                .unwrap_or(0.0);
                        good += g * seconds;
                        bad += (t - g) * seconds;
                    }
                    Sli::Raw { .. } | Sli::Threshold { .. } => {}
                }
            }
            Ok(WindowErrors {
                ratio: (seen && total > 0.0).then(|| bad / total),
                events: seen.then_some(Events { good, bad, total }),
            })
        }
        Sli::Raw { .. } | Sli::Threshold { .. } => {
            // A ratio per interval, weighted by the interval's length.
            let (mut weighted, mut weight) = (0.0, 0.0);
            for &(a, b) in intervals {
                let expr = error_ratio_expr(&slo.sli, &duration_str(b - a));
                if let Some(r) = scalar(engine, store, &expr, b, Combine::Max)? {
                    weighted += r * (b - a) as f64;
                    weight += (b - a) as f64;
                }
            }
            Ok(WindowErrors {
                ratio: (weight > 0.0).then(|| weighted / weight),
                events: None,
            })
        }
    }
}

/// The error ratio over the `window` before `t`. With bad/total events, a missing bad series
/// (a healthy service that never answered a 5xx) counts as no errors, not as no data.
fn window_ratio(
    engine: &Engine,
    store: &dyn Queryable,
    slo: &Slo,
    window: &str,
    t: Timestamp,
) -> Result<Option<f64>> {
    if let Sli::Events {
        error_query,
        total_query,
    } = &slo.sli
    {
        let Some(total) = scalar(engine, store, &render(total_query, window), t, Combine::Sum)?
        else {
            return Ok(None);
        };
        let bad = scalar(engine, store, &render(error_query, window), t, Combine::Sum)?;
        return Ok((total > 0.0).then(|| bad.unwrap_or(0.0) / total));
    }
    scalar(
        engine,
        store,
        &error_ratio_expr(&slo.sli, window),
        t,
        Combine::Max,
    )
}

/// The share of an SLO's error budget an episode (an incident) of `duration_ms` burned,
/// from its bad and total events: its burn rate (error ratio over the budget ratio) for its
/// share of the `period_ms` window, as the SRE workbook counts it. `None` without events.
///
/// Differencing the window's consumed budget at the episode's end and start instead counts
/// the window's traffic only as far back as data reaches, so on a young system (30 minutes
/// of data in a 30-day window) an incident seemed to burn several whole budgets.
pub fn burned_by(
    bad: f64,
    total: f64,
    budget_ratio: f64,
    duration_ms: i64,
    period_ms: i64,
) -> Option<f64> {
    if total <= 0.0 || budget_ratio <= 0.0 || period_ms <= 0 {
        return None;
    }
    let burn_rate = (bad / total).clamp(0.0, 1.0) / budget_ratio;
    Some(burn_rate * duration_ms.max(0) as f64 / period_ms as f64)
}

/// Computes the budget of `slo` at `now` (Unix ms).
pub fn compute(
    engine: &Engine,
    store: &dyn Queryable,
    slo: &Slo,
    now: Timestamp,
) -> Result<BudgetReport> {
    let (start, period_ms) = slo.window.period_at(now);
    let intervals = included_intervals(slo, start, now);
    let included: i64 = intervals.iter().map(|(a, b)| b - a).sum();
    let excluded_seconds = (now - start - included) as f64 / 1000.0;
    let errors = window_errors(engine, store, slo, &intervals)?;
    let budget = slo.error_budget_ratio();
    let consumed = errors.ratio.map(|r| r / budget);
    let remaining = consumed.map(|c| 1.0 - c);

    let mut burn_rates = BTreeMap::new();
    for window in sli_windows() {
        let ratio = window_ratio(engine, store, slo, &window.to_string(), now)?;
        burn_rates.insert(window.to_string(), ratio.map(|r| r / budget));
    }
    let current_burn_rate = burn_rates.get("1h").copied().flatten();
    let period_seconds = period_ms as f64 / 1000.0;
    let time_to_exhaustion_seconds = match (remaining, current_burn_rate) {
        (Some(r), _) if r <= 0.0 => Some(0.0),
        (Some(r), Some(b)) if b > 0.0 => Some(r * period_seconds / b),
        _ => None,
    };
    let burned_last_24h = burn_rates
        .get("1d")
        .copied()
        .flatten()
        .map(|b| b * 86_400.0 / period_seconds);
    let sla = match (slo.tocsin.sla, errors.ratio) {
        (Some(objective), Some(ratio)) => {
            let attained = 100.0 * (1.0 - ratio);
            Some(SlaStatus {
                objective,
                attained,
                breached: attained < objective,
            })
        }
        _ => None,
    };
    Ok(BudgetReport {
        slo: slo.name.clone(),
        service: slo.service.clone(),
        objective: slo.objective,
        window: slo.window.describe(),
        budgeting: match slo.budgeting {
            Budgeting::Occurrences => "occurrences",
            Budgeting::Timeslices { .. } => "timeslices",
        },
        window_start: start,
        evaluated_at: now,
        period_ms,
        excluded_seconds,
        error_ratio: errors.ratio,
        error_budget: budget,
        consumed,
        remaining,
        burn_rates,
        current_burn_rate,
        time_to_exhaustion_seconds,
        burned_last_24h,
        events: errors.events,
        sla,
    })
}

#[cfg(test)]
mod tests {
    use super::burned_by;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn an_episode_burns_its_burn_rate_for_its_share_of_the_window() {
        // 75% errors against a 99.9% objective for 3 minutes of a 30-day window:
        // burn rate 750, for 3/43,200 of the window.
        let burned = burned_by(750.0, 1000.0, 0.001, 180_000, 30 * DAY_MS).unwrap();
        assert!((burned - 750.0 * 3.0 / 43_200.0).abs() < 1e-12, "{burned}");
        // A whole window at exactly the budget's error ratio burns exactly the budget.
        let whole = burned_by(1.0, 1000.0, 0.001, 30 * DAY_MS, 30 * DAY_MS).unwrap();
        assert!((whole - 1.0).abs() < 1e-12, "{whole}");
        // No errors, no burn.
        assert_eq!(burned_by(0.0, 10.0, 0.01, DAY_MS, 30 * DAY_MS), Some(0.0));
    }

    #[test]
    fn no_traffic_or_no_budget_measures_nothing() {
        assert_eq!(burned_by(0.0, 0.0, 0.001, DAY_MS, 30 * DAY_MS), None);
        assert_eq!(burned_by(1.0, 10.0, 0.0, DAY_MS, 30 * DAY_MS), None);
        assert_eq!(burned_by(1.0, 10.0, 0.001, DAY_MS, 0), None);
    }
}
