//! Multi-window multi-burn-rate tiers (Google SRE Workbook, table 5-8, plus Sloth's 1d/2h).
//!
//! A tier's burn factor is the speed at which `budget_percent` of the whole window's budget
//! is spent within the long window: `budget_percent/100 * window / long`. For a 30-day window
//! that gives 14.4, 6, 3 and 1, exactly as Sloth computes them (so 28-day windows give 13.44,
//! 5.6, 2.8 and 0.93).

use serde::{Deserialize, Serialize};
use tocsin_config::Duration;

/// A tier's name, used in `tocsin.tiers` and as the `burnrate_tier` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TierName {
    /// Page: 1h long, 5m short, 2% of the budget (14.4× on 30 days).
    #[serde(rename = "1h5m")]
    Page1h,
    /// Page: 6h long, 30m short, 5% of the budget (6×).
    #[serde(rename = "6h30m")]
    Page6h,
    /// Ticket: 1d long, 2h short, 10% of the budget (3×).
    #[serde(rename = "1d2h")]
    Ticket1d,
    /// Ticket: 3d long, 6h short, 10% of the budget (1×).
    #[serde(rename = "3d6h")]
    Ticket3d,
}

/// Page or ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Look at it in working hours.
    Ticket,
}

impl Severity {
    /// `sloth_severity` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Ticket => "ticket",
        }
    }
}

/// One tier's windows and budget share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Name and label value.
    pub name: TierName,
    /// Page or ticket.
    pub severity: Severity,
    /// Long window.
    pub long: Duration,
    /// Short window (stops the alert soon after the burn stops).
    pub short: Duration,
    /// Share of the whole budget spent within `long` that fires the tier, in percent.
    pub budget_percent: u32,
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// All tiers, fastest first.
pub const TIERS: [Tier; 4] = [
    Tier {
        name: TierName::Page1h,
        severity: Severity::Page,
        long: Duration::from_secs(HOUR),
        short: Duration::from_secs(5 * MIN),
        budget_percent: 2,
    },
    Tier {
        name: TierName::Page6h,
        severity: Severity::Page,
        long: Duration::from_secs(6 * HOUR),
        short: Duration::from_secs(30 * MIN),
        budget_percent: 5,
    },
    Tier {
        name: TierName::Ticket1d,
        severity: Severity::Ticket,
        long: Duration::from_secs(DAY),
        short: Duration::from_secs(2 * HOUR),
        budget_percent: 10,
    },
    Tier {
        name: TierName::Ticket3d,
        severity: Severity::Ticket,
        long: Duration::from_secs(3 * DAY),
        short: Duration::from_secs(6 * HOUR),
        budget_percent: 10,
    },
];

/// Every tier name, the default of `tocsin.tiers`.
pub fn all_tier_names() -> Vec<TierName> {
    TIERS.iter().map(|t| t.name).collect()
}

impl TierName {
    /// The label value (`1h5m`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page1h => "1h5m",
            Self::Page6h => "6h30m",
            Self::Ticket1d => "1d2h",
            Self::Ticket3d => "3d6h",
        }
    }

    /// The tier's definition.
    pub fn tier(self) -> Tier {
        match self {
            Self::Page1h => TIERS[0],
            Self::Page6h => TIERS[1],
            Self::Ticket1d => TIERS[2],
            Self::Ticket3d => TIERS[3],
        }
    }
}

impl Tier {
    /// The burn factor for a window of `period`, computed as Sloth does.
    pub fn factor(&self, period: Duration) -> f64 {
        let period_hours = period.as_millis() as f64 / 3_600_000.0;
        let long_hours = self.long.as_millis() as f64 / 3_600_000.0;
        let hours_required = f64::from(self.budget_percent) * period_hours / 100.0;
        hours_required / long_hours
    }
}

/// The windows the SLI is recorded over: every tier's short and long windows, shortest first
/// (Sloth's order: 5m 30m 1h 2h 6h 1d 3d).
pub fn sli_windows() -> Vec<Duration> {
    let mut windows: Vec<Duration> = TIERS.iter().flat_map(|t| [t.short, t.long]).collect();
    windows.sort();
    windows.dedup();
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_give_the_workbook_factors() {
        let period = Duration::from_secs(30 * DAY);
        let factors: Vec<f64> = TIERS.iter().map(|t| t.factor(period)).collect();
        assert_eq!(factors, vec![14.4, 6.0, 3.0, 1.0]);
        let windows: Vec<String> = sli_windows().iter().map(ToString::to_string).collect();
        assert_eq!(windows, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    }
}
