//! The simulator's noise: PCG streams seeded from the fleet's seed (one for traffic, one per
//! instance), drawn in a fixed order each scrape, so a seed gives the same samples bit for bit
//! however `step` calls are split.

use rand_pcg::Pcg64Mcg;
use rand_pcg::rand_core::{Rng, SeedableRng};

#[derive(Debug, Clone)]
pub(crate) struct SimRng(Pcg64Mcg);

impl SimRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(Pcg64Mcg::seed_from_u64(seed))
    }

    /// Uniform in [0, 1), 53 bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform index below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Standard normal (Box-Muller; one of the pair is dropped to keep the draw order simple).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln stays finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Rounds `x` (≥ 0) to an integer whose expectation is `x`: counters count whole events.
    pub(crate) fn round(&mut self, x: f64) -> f64 {
        if x <= 0.0 || !x.is_finite() {
            return 0.0;
        }
        let floor = x.floor();
        if self.uniform() < x - floor {
            floor + 1.0
        } else {
            floor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_draws_stay_in_range() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for _ in 0..1000 {
            let u = a.uniform();
            assert_eq!(u.to_bits(), b.uniform().to_bits());
            assert!((0.0..1.0).contains(&u));
            assert!(a.normal().is_finite());
            b.normal();
            let r = a.round(2.5);
            assert!(r == 2.0 || r == 3.0, "{r}");
            b.round(2.5);
            assert!(a.below(3) < 3);
            b.below(3);
        }
        assert_ne!(SimRng::new(8).uniform(), SimRng::new(7).uniform());
    }

    #[test]
    fn stochastic_rounding_keeps_the_mean() {
        let mut rng = SimRng::new(1);
        let total: f64 = (0..10_000).map(|_| rng.round(0.3)).sum();
        assert!((2_700.0..3_300.0).contains(&total), "{total}");
    }
}
