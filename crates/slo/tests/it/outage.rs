//! Burn-rate alerts on a fake timeline evaluated every 15 s (SRE Workbook arithmetic: a
//! total outage against 99.9% spends 2% of a 30-day budget, the 14.4× page threshold, after
//! 0.0144 h ≈ 52 s of the 1 h window).

use tocsin_slo::TierName;

use crate::sim::{EPOCH, STEP_MS, Sim, slo_99_9};

const GUARD: &str = "    tocsin:\n      min_events: 100\n";

#[test]
fn a_total_outage_pages_on_the_first_step_after_52_seconds() {
    let slo = slo_99_9(GUARD);
    let mut sim = Sim::new(&slo);
    // Three healthy days at 10 requests/s (so every window, 3d included, is full), the last
    // ten minutes of them evaluated.
    let healthy_steps = 3 * 24 * 240 + 40;
    let mut t = EPOCH;
    for step in 0..healthy_steps {
        t = EPOCH + step * STEP_MS;
        sim.scrape(t, 150.0, 0.0);
        if step >= healthy_steps - 40 {
            assert!(
                sim.evaluate(t).is_empty(),
                "healthy traffic fired at step {step}"
            );
        }
    }
    // The outage starts right after the last healthy scrape: every request fails.
    let outage_start = t;
    let mut fired_at = None;
    for k in 1..=20 {
        t = outage_start + k * STEP_MS;
        sim.scrape(t, 0.0, 150.0);
        let firing = sim.evaluate(t);
        if firing.contains(&TierName::Page1h) {
            fired_at = Some(k);
            break;
        }
        assert!(
            firing.is_empty(),
            "{firing:?} fired {} s into the outage",
            k * 15
        );
    }
    // 51.84 s is needed; the first 15 s step past it is the 4th (60 s), not the 3rd (45 s).
    assert_eq!(fired_at, Some(4), "14.4x page tier should fire at 60 s");
}

#[test]
fn a_steady_2x_burn_pages_nobody_but_opens_a_ticket() {
    let slo = slo_99_9(GUARD);
    let mut sim = Sim::new(&slo);
    // 0.2% errors (2× the 0.1% budget) for 6.5 hours, evaluated every 15 s.
    let steps = 6 * 240 + 120;
    let mut seen = std::collections::BTreeSet::new();
    for step in 0..steps {
        let t = EPOCH + step * STEP_MS;
        sim.scrape(t, 998.0, 2.0);
        for tier in sim.evaluate(t) {
            assert!(
                !matches!(tier, TierName::Page1h | TierName::Page6h),
                "a 2x burn paged ({tier:?}) at step {step}"
            );
            seen.insert(tier);
        }
    }
    // 2× is below the 3× ticket tier but above the 1× one: the loop does see alerts.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![TierName::Ticket3d]
    );
}

#[test]
fn a_handful_of_failed_requests_cannot_page() {
    let slo = slo_99_9(GUARD);
    let mut sim = Sim::new(&slo);
    // One request a minute, all failing: 100% errors but only 60 requests an hour.
    let mut fired = Vec::new();
    for step in 0..(2 * 240) {
        let t = EPOCH + step * STEP_MS;
        let bad = if step % 4 == 0 { 1.0 } else { 0.0 };
        sim.scrape(t, 0.0, bad);
        if step >= 240 {
            fired.extend(sim.evaluate(t));
        }
    }
    assert!(fired.is_empty(), "low traffic fired {fired:?}");

    // Without the guard the same traffic pages.
    let unguarded = slo_99_9("");
    let mut sim = Sim::new(&unguarded);
    let mut paged = false;
    for step in 0..(2 * 240) {
        let t = EPOCH + step * STEP_MS;
        sim.scrape(t, 0.0, if step % 4 == 0 { 1.0 } else { 0.0 });
        if step >= 240 {
            paged |= sim.evaluate(t).contains(&TierName::Page1h);
        }
    }
    assert!(paged, "without min_events the 1h5m tier should fire");
}
