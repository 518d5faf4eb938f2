//! Timing: interleaved samples of two or three sides of one row, and their quantiles.

use std::time::{Duration, Instant};

use crate::data::{Data, SplitMix};
use crate::views::UserProfile;

/// Nanosecond samples of each side of one row.
pub struct Samples {
    pub sides: Vec<Vec<u64>>,
}

impl Samples {
    /// The `q`-quantile of side `side`, in µs.
    pub fn quantile_us(&self, side: usize, q: f64) -> f64 {
        let mut v = self.sides[side].clone();
        v.sort_unstable();
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1e3
    }

    pub fn len(&self) -> usize {
        self.sides[0].len()
    }
}

/// Runs `call(side)` for each side in turn (A B, B A, A B, …), `warmup` rounds unrecorded, then
/// up to `iters` rounds or until `budget` is spent. `call` prepares its input, times the call itself
/// and returns the time.
pub async fn measure<F>(
    sides: usize,
    warmup: usize,
    iters: usize,
    budget: Duration,
    mut call: F,
) -> Samples
where
    F: AsyncFnMut(usize) -> Duration,
{
    for _ in 0..warmup {
        for side in 0..sides {
            call(side).await;
        }
    }
    let mut samples = Samples {
        sides: vec![Vec::with_capacity(iters); sides],
    };
    let start = Instant::now();
    for round in 0..iters {
        // Who goes first rotates, so that no side always follows the same one.
        for k in 0..sides {
            let side = (round + k) % sides;
            let d = call(side).await;
            samples.sides[side].push(d.as_nanos() as u64);
        }
        if start.elapsed() > budget {
            break;
        }
    }
    samples
}

pub struct RowResult {
    pub name: &'static str,
    pub command: &'static str,
    pub seed_us: f64,
    pub fstore_p50: f64,
    pub fstore_p99: f64,
    pub hand_p50: f64,
    pub hand_p99: f64,
    pub iterations: usize,
}

impl RowResult {
    pub fn new(
        name: &'static str,
        command: &'static str,
        seed_us: f64,
        s: &Samples,
        fstore: usize,
        hand: usize,
    ) -> RowResult {
        RowResult {
            name,
            command,
            seed_us,
            fstore_p50: s.quantile_us(fstore, 0.5),
            fstore_p99: s.quantile_us(fstore, 0.99),
            hand_p50: s.quantile_us(hand, 0.5),
            hand_p99: s.quantile_us(hand, 0.99),
            iterations: s.len(),
        }
    }

    pub fn ratio(&self) -> f64 {
        self.fstore_p50 / self.hand_p50
    }
}

/// A row that compares two ways of doing the same thing in fstore (the dynamic API against the
/// typed one, a cluster against one server), with the ratio the issue sets as the target.
pub struct RatioRow {
    pub name: &'static str,
    /// What each side sends.
    pub command: &'static str,
    pub subject_p50: f64,
    pub subject_p99: f64,
    pub baseline_p50: f64,
    pub baseline_p99: f64,
    /// Round trips (`Store::round_trips`) of one call of each side: subject, baseline.
    pub round_trips: (u64, u64),
    /// The ratio subject p50 / baseline p50 should not exceed.
    pub target: f64,
    pub iterations: usize,
}

impl RatioRow {
    pub fn new(
        name: &'static str,
        command: &'static str,
        target: f64,
        round_trips: (u64, u64),
        s: &Samples,
        subject: usize,
        baseline: usize,
    ) -> RatioRow {
        RatioRow {
            name,
            command,
            subject_p50: s.quantile_us(subject, 0.5),
            subject_p99: s.quantile_us(subject, 0.99),
            baseline_p50: s.quantile_us(baseline, 0.5),
            baseline_p99: s.quantile_us(baseline, 0.99),
            round_trips,
            target,
            iterations: s.len(),
        }
    }

    pub fn ratio(&self) -> f64 {
        self.subject_p50 / self.baseline_p50
    }
}

pub fn random_ids<'a>(rng: &mut SplitMix, data: &'a Data, n: usize) -> Vec<&'a str> {
    (0..n)
        .map(|_| data.ids[rng.below(data.ids.len())].as_str())
        .collect()
}

/// `n` distinct users with every feature present, for the write rows: a window of random
/// position in [`Data::complete`].
pub fn random_rows<'a>(
    rng: &mut SplitMix,
    data: &'a Data,
    n: usize,
) -> Vec<(&'a str, &'a UserProfile)> {
    let n = n.min(data.complete.len());
    let start = rng.below(data.complete.len() - n + 1);
    data.complete[start..start + n]
        .iter()
        .map(|&i| (data.ids[i].as_str(), &data.users[i]))
        .collect()
}
