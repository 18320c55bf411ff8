//! Bootstrap: resampling units with replacement, cheaply, deterministically and in parallel.
//!
//! A unit's contribution to the statistics vector splits into a few *features*
//! that many units share: one per coded value (keyed by which coders coded the
//! unit, the coder and the code) and one for the unit's pattern of equal codes.
//! Each feature's sparse contribution is computed once. A resample then only
//! draws unit multiplicities, adds them up per feature, and expands the (few)
//! features — instead of redoing every unit's arithmetic.

use std::collections::HashMap;

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

use super::stats::{self, Estimates, Layout};

/// Precomputed features of the units eligible for resampling (≥2 codings).
pub(crate) struct Resampler<'a> {
    layout: &'a Layout,
    q: usize,
    /// Contribution of units that are never resampled (single codings).
    fixed: Vec<f64>,
    /// `unit_features[unit_start[i]..unit_start[i + 1]]` are unit i's features.
    unit_start: Vec<usize>,
    unit_features: Vec<u32>,
    /// Sparse contribution of each feature, same offset scheme.
    feature_start: Vec<usize>,
    feature_terms: Vec<(usize, f64)>,
}

/// Reusable per-thread buffers.
struct Scratch {
    weights: Vec<u32>,
    counts: Vec<u32>,
    stats: Vec<f64>,
}

impl<'a> Resampler<'a> {
    /// `rows` are all units; those with ≥2 codings are resampled, single-coded
    /// ones are held fixed.
    pub(crate) fn new(layout: &'a Layout, rows: &[Vec<Option<u32>>], q: usize) -> Self {
        let mut fixed = vec![0.0; layout.len()];
        let mut unit_start = vec![0];
        let mut unit_features = Vec::new();
        let mut features = Features::default();
        let mut masks: HashMap<Vec<bool>, u32> = HashMap::new();

        for row in rows {
            if row.iter().flatten().count() < 2 {
                stats::add_unit(layout, fixed.as_mut_slice(), row);
                continue;
            }
            let mask: Vec<bool> = row.iter().map(Option::is_some).collect();
            let next_mask = masks.len() as u32;
            let mask_id = *masks.entry(mask).or_insert(next_mask);

            unit_features.push(
                features.intern(FeatureKey::Structure(equality_pattern(row)), |t| {
                    stats::add_structure(layout, t, row)
                }),
            );
            for (a, code) in row.iter().enumerate() {
                if let Some(k) = *code {
                    unit_features.push(features.intern(FeatureKey::Code(mask_id, a, k), |t| {
                        stats::add_code(layout, t, row, a)
                    }));
                }
            }
            unit_start.push(unit_features.len());
        }
        Self {
            layout,
            q,
            fixed,
            unit_start,
            unit_features,
            feature_start: features.start,
            feature_terms: features.terms,
        }
    }

    fn n_units(&self) -> usize {
        self.unit_start.len() - 1
    }

    fn n_features(&self) -> usize {
        self.feature_start.len() - 1
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            weights: vec![0; self.n_units()],
            counts: vec![0; self.n_features()],
            stats: vec![0.0; self.layout.len()],
        }
    }

    /// Statistics vector for the given multiplicity of each resampled unit.
    fn weighted_stats(&self, weights: &[u32], counts: &mut [u32], out: &mut [f64]) {
        counts.fill(0);
        for (i, &w) in weights.iter().enumerate() {
            if w > 0 {
                for &f in &self.unit_features[self.unit_start[i]..self.unit_start[i + 1]] {
                    counts[f as usize] += w;
                }
            }
        }
        out.copy_from_slice(&self.fixed);
        for (f, &c) in counts.iter().enumerate() {
            if c > 0 {
                let c = f64::from(c);
                for &(idx, v) in
                    &self.feature_terms[self.feature_start[f]..self.feature_start[f + 1]]
                {
                    out[idx] += c * v;
                }
            }
        }
    }

    /// Estimates with every unit taken once: must equal the direct computation.
    #[cfg(test)]
    pub(crate) fn full_sample(&self) -> Estimates {
        let mut scratch = self.scratch();
        scratch.weights.fill(1);
        self.weighted_stats(&scratch.weights, &mut scratch.counts, &mut scratch.stats);
        stats::finalize(self.layout, &scratch.stats, self.q)
    }

    fn resample(&self, rng: &mut Xoshiro256Plus, scratch: &mut Scratch) -> Estimates {
        let n = self.n_units();
        scratch.weights.fill(0);
        for _ in 0..n {
            scratch.weights[below(rng, n)] += 1;
        }
        self.weighted_stats(&scratch.weights, &mut scratch.counts, &mut scratch.stats);
        stats::finalize(self.layout, &scratch.stats, self.q)
    }

    /// Runs `resamples` resamples and returns `pick(estimates)` for each, in
    /// resample order. Resample b always uses the b-th jump of the seeded
    /// generator, so the result does not depend on the number of threads.
    pub(crate) fn run<T, F>(&self, resamples: usize, seed: u64, pick: F) -> Vec<T>
    where
        T: Send,
        F: Fn(&Estimates) -> T + Sync,
    {
        let mut rng = Xoshiro256Plus::seed_from_u64(seed);
        let streams: Vec<Xoshiro256Plus> = (0..resamples)
            .map(|_| {
                let stream = rng.clone();
                rng.jump(); // 2^128 draws apart: streams never overlap
                stream
            })
            .collect();
        streams
            .into_par_iter()
            .map_init(
                || self.scratch(),
                |scratch, mut stream| pick(&self.resample(&mut stream, scratch)),
            )
            .collect()
    }
}

/// Features interned by key, each with its sparse contribution computed once.
struct Features {
    ids: HashMap<FeatureKey, u32>,
    start: Vec<usize>,
    terms: Vec<(usize, f64)>,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            ids: HashMap::new(),
            start: vec![0],
            terms: Vec::new(),
        }
    }
}

impl Features {
    fn intern(&mut self, key: FeatureKey, add: impl FnOnce(&mut Vec<(usize, f64)>)) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(key).or_insert_with(|| {
            add(&mut self.terms);
            self.start.push(self.terms.len());
            next
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FeatureKey {
    /// Which codes are equal: first-occurrence labels per coder, `u32::MAX` = not coded.
    Structure(Vec<u32>),
    /// (which coders coded the unit, coder, code).
    Code(u32, usize, u32),
}

fn equality_pattern(row: &[Option<u32>]) -> Vec<u32> {
    let mut seen: Vec<u32> = Vec::new();
    row.iter()
        .map(|code| match code {
            None => u32::MAX,
            Some(k) => match seen.iter().position(|s| s == k) {
                Some(label) => label as u32,
                None => {
                    seen.push(*k);
                    (seen.len() - 1) as u32
                }
            },
        })
        .collect()
}

/// Uniform integer in `0..n` (Lemire's multiply-and-reject, unbiased).
fn below(rng: &mut Xoshiro256Plus, n: usize) -> usize {
    let n = n as u64;
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as usize
}

/// A percentile interval from bootstrap values; `None` entries (undefined in
/// that resample) are dropped and counted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Interval {
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub used: usize,
    pub dropped: usize,
}

pub(crate) fn percentile_interval(values: &[Option<f64>], confidence: f64) -> Interval {
    let mut xs: Vec<f64> = values.iter().flatten().copied().collect();
    xs.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Interval {
        low: quantile(&xs, tail),
        high: quantile(&xs, 1.0 - tail),
        used: xs.len(),
        dropped: values.len() - xs.len(),
    }
}

/// Linear interpolation between order statistics (R's type 7, numpy's default).
fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}
