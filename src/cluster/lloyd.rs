//! Lloyd's k-means on answer vectors: greedy k-means++ seeding and assignment steps done as one
//! matrix product per iteration, restarts run in parallel.
//!
//! Distances come from `|x|² + |c|² − 2·x·c`, so each iteration is an n×d by d×k product
//! instead of n·k separate distance loops; with dozens of groups that is the difference between
//! seconds and minutes.

use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

/// sklearn's convergence rule: stop when the centroids' total squared shift falls below this
/// times the data's mean per-feature variance.
pub const RELATIVE_TOLERANCE: f64 = 1e-4;

/// One k-means run.
#[derive(Debug, Clone)]
pub struct Run {
    /// k×d centroids.
    pub centroids: Array2<f32>,
    /// Group of each point.
    pub labels: Vec<usize>,
    /// Sum of squared distances to the assigned centroids.
    pub inertia: f64,
    /// Lloyd iterations done.
    pub iterations: usize,
}

/// A uniform draw in [0, 1).
fn uniform(rng: &mut Xoshiro256Plus) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Squared row norms.
fn sq_norms(x: ArrayView2<f32>) -> Vec<f32> {
    x.rows().into_iter().map(|r| r.dot(&r)).collect()
}

/// Squared distances of every point to every centre (n×k), clamped at 0 against rounding.
fn sq_dists(x: ArrayView2<f32>, x_sq: &[f32], c: ArrayView2<f32>) -> Array2<f32> {
    let mut g = x.dot(&c.t());
    let c_sq = sq_norms(c);
    for (mut row, &xs) in g.rows_mut().into_iter().zip(x_sq) {
        for (v, &cs) in row.iter_mut().zip(&c_sq) {
            *v = (xs + cs - 2.0 * *v).max(0.0);
        }
    }
    g
}

/// Index of the smallest value, ties to the lower index.
fn argmin(row: impl Iterator<Item = f32>) -> (usize, f32) {
    let mut best = (0usize, f32::INFINITY);
    for (j, v) in row.enumerate() {
        if v < best.1 {
            best = (j, v);
        }
    }
    best
}

/// Greedy k-means++ (as in scikit-learn): each new centre is the best of `2 + ln k` candidates
/// drawn in proportion to the squared distance to the nearest centre so far.
pub fn kmeans_plus_plus(x: ArrayView2<f32>, k: usize, rng: &mut Xoshiro256Plus) -> Array2<f32> {
    let (n, d) = x.dim();
    let x_sq = sq_norms(x);
    let trials = 2 + (k as f64).ln().floor().max(0.0) as usize;
    let mut centres = Array2::<f32>::zeros((k, d));
    let first = (rng.next_u64() % n as u64) as usize;
    centres.row_mut(0).assign(&x.row(first));
    let mut closest: Vec<f32> = sq_dists(x, &x_sq, x.row(first).insert_axis(Axis(0)))
        .column(0)
        .to_vec();
    for c in 1..k {
        let pot: f64 = closest.iter().map(|&v| f64::from(v)).sum();
        let mut picks = Vec::with_capacity(trials);
        for _ in 0..trials {
            let pick = if pot > 0.0 {
                let target = uniform(rng) * pot;
                let mut acc = 0.0;
                let mut chosen = n - 1;
                for (i, &v) in closest.iter().enumerate() {
                    acc += f64::from(v);
                    if acc > target {
                        chosen = i;
                        break;
                    }
                }
                chosen
            } else {
                (rng.next_u64() % n as u64) as usize
            };
            picks.push(pick);
        }
        let cand = x.select(Axis(0), &picks);
        let dist = sq_dists(x, &x_sq, cand.view());
        let mut best = (0usize, f64::INFINITY);
        for t in 0..picks.len() {
            let p: f64 = closest
                .iter()
                .zip(dist.column(t))
                .map(|(&a, &b)| f64::from(a.min(b)))
                .sum();
            if p < best.1 {
                best = (t, p);
            }
        }
        centres.row_mut(c).assign(&x.row(picks[best.0]));
        for (v, &b) in closest.iter_mut().zip(dist.column(best.0)) {
            *v = v.min(b);
        }
    }
    centres
}

/// Mean per-feature variance of the data (scales the convergence tolerance).
fn mean_variance(x: ArrayView2<f32>) -> f64 {
    let n = x.nrows().max(1) as f64;
    let mut total = 0.0;
    for col in x.columns() {
        let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        total += col
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
    }
    total / x.ncols().max(1) as f64
}

/// Lloyd iterations from `centres` until memberships settle, the centroids stop moving, or
/// `max_iter`. A group left empty takes the point farthest from its own centroid.
pub fn lloyd(x: ArrayView2<f32>, mut centres: Array2<f32>, max_iter: usize) -> Run {
    let (n, d) = x.dim();
    let k = centres.nrows();
    let x_sq = sq_norms(x);
    let tol = RELATIVE_TOLERANCE * mean_variance(x);
    let mut labels = vec![usize::MAX; n];
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        let dist = sq_dists(x, &x_sq, centres.view());
        let mut changed = false;
        let mut own = vec![0f32; n];
        for (i, row) in dist.rows().into_iter().enumerate() {
            let (j, v) = argmin(row.iter().copied());
            changed |= labels[i] != j;
            labels[i] = j;
            own[i] = v;
        }
        let mut sums = Array2::<f64>::zeros((k, d));
        let mut counts = vec![0usize; k];
        for (i, &g) in labels.iter().enumerate() {
            counts[g] += 1;
            for (s, &v) in sums.row_mut(g).iter_mut().zip(x.row(i)) {
                *s += f64::from(v);
            }
        }
        // Empty groups: relocate to the worst-fitting points, farthest first, ties by index.
        let empty: Vec<usize> = (0..k).filter(|&g| counts[g] == 0).collect();
        if !empty.is_empty() {
            let mut far: Vec<usize> = (0..n).collect();
            far.sort_by(|&a, &b| own[b].total_cmp(&own[a]).then(a.cmp(&b)));
            for (&g, &i) in empty.iter().zip(&far) {
                let old = labels[i];
                counts[old] -= 1;
                for (s, &v) in sums.row_mut(old).iter_mut().zip(x.row(i)) {
                    *s -= f64::from(v);
                }
                labels[i] = g;
                counts[g] = 1;
                for (s, &v) in sums.row_mut(g).iter_mut().zip(x.row(i)) {
                    *s = f64::from(v);
                }
            }
            changed = true;
        }
        let mut shift = 0.0;
        for (g, &count) in counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let c = count as f64;
            for (old, &s) in centres.row_mut(g).iter_mut().zip(sums.row(g)) {
                let new = (s / c) as f32;
                shift += f64::from(new - *old).powi(2);
                *old = new;
            }
        }
        if !changed || shift <= tol {
            break;
        }
    }
    // Final memberships and inertia against the final centroids.
    let dist = sq_dists(x, &x_sq, centres.view());
    let mut inertia = 0.0;
    for (i, row) in dist.rows().into_iter().enumerate() {
        let (j, v) = argmin(row.iter().copied());
        labels[i] = j;
        inertia += f64::from(v);
    }
    Run {
        centroids: centres,
        labels,
        inertia,
        iterations,
    }
}

/// The RNG of restart `run`: derived from the one seed, so results do not depend on how many
/// threads run the restarts.
pub fn run_rng(seed: u64, run: usize) -> Xoshiro256Plus {
    Xoshiro256Plus::seed_from_u64(seed ^ (run as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// `runs` restarts of k-means++ then Lloyd; the lowest inertia wins, ties to the earlier run.
pub fn best_of(x: ArrayView2<f32>, k: usize, runs: usize, max_iter: usize, seed: u64) -> Run {
    let results: Vec<Run> = (0..runs.max(1))
        .into_par_iter()
        .map(|r| {
            let mut rng = run_rng(seed, r);
            let init = kmeans_plus_plus(x, k, &mut rng);
            lloyd(x, init, max_iter)
        })
        .collect();
    let mut best: Option<Run> = None;
    for r in results {
        if best.as_ref().map(|b| r.inertia < b.inertia).unwrap_or(true) {
            best = Some(r);
        }
    }
    best.unwrap_or_else(|| lloyd(x, Array2::zeros((k, x.ncols())), max_iter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Array2<f32> {
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0f32, 0.0f32), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..6 {
                rows.push(cx + (i % 3) as f32 * 0.1);
                rows.push(cy + (i / 3) as f32 * 0.1);
            }
        }
        Array2::from_shape_vec((18, 2), rows).unwrap()
    }

    #[test]
    fn finds_three_blobs() {
        let x = blobs();
        let r = best_of(x.view(), 3, 4, 100, 7);
        for b in 0..3 {
            let g = r.labels[b * 6];
            assert!(r.labels[b * 6..b * 6 + 6].iter().all(|&l| l == g));
        }
        assert!(r.inertia < 1.0);
    }

    #[test]
    fn restarts_do_not_depend_on_threads() {
        let x = blobs();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| best_of(x.view(), 4, 6, 100, 3));
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| best_of(x.view(), 4, 6, 100, 3));
        assert_eq!(one.labels, two.labels);
        assert_eq!(one.inertia, two.inertia);
    }

    #[test]
    fn empty_groups_are_refilled() {
        let x = blobs();
        // Two centres far from every point: both would be empty.
        let init =
            Array2::from_shape_vec((3, 2), vec![0.0, 0.0, 100.0, 100.0, 200.0, 200.0]).unwrap();
        let r = lloyd(x.view(), init, 50);
        let mut used = r.labels.clone();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), 3);
    }
}
