//! UMAP layout: a 5-dimensional map of the answers that keeps each answer's nearest neighbours
//! close (McInnes, Healy & Melville, 2018), for k-means to cluster (`--method umap`).
//!
//! Follows umap-learn 0.5 with `metric="cosine"`, `n_neighbors=15`, `min_dist=0`,
//! `n_components=5`, `init="pca"`: exact nearest neighbours by blocked matrix products, the
//! fuzzy union of the neighbour graphs, and its stochastic gradient descent with negative
//! sampling (200 epochs). The descent runs sequentially with one seeded generator, so a seed
//! gives one layout.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis, Slice};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

use crate::error::Result;

/// Neighbours per answer, the answer itself included (umap-learn's `n_neighbors`).
pub const NEIGHBOURS: usize = 15;
/// Dimensions of the layout.
pub const COMPONENTS: usize = 5;
/// Most answers (repeats included) laid out together: neighbours are exact, so time grows with
/// n². Above it, a seeded sample of [`LAYOUT_SAMPLE`] answers is laid out and every other answer
/// is placed among its nearest sampled ones ([`place`]), so any number of answers can be grouped.
pub const MAX_POINTS: usize = 50_000;
/// Answers laid out when there are more than [`MAX_POINTS`].
pub const LAYOUT_SAMPLE: usize = 20_000;
/// umap-learn's curve parameters for `min_dist = 0`, `spread = 1` (`find_ab_params`).
const A: f32 = 1.932_808_4;
const B: f32 = 0.790_495;
/// Negative samples per positive one.
const NEGATIVE_RATE: f32 = 5.0;
/// Rows of the similarity matrix computed at once.
const BLOCK: usize = 512;
/// Passes of the gradient descent. umap-learn makes 500 below 10,000 points and 200 above; 200
/// everywhere clustered as well or better on the shared datasets (BENCHMARKS.md) in 40% of the
/// time.
const EPOCHS: usize = 200;

/// The layout of unit-length rows `x`, n × [`COMPONENTS`] (fewer points than neighbours give
/// their principal components). Above [`MAX_POINTS`] rows, a sample is laid out and the rest
/// placed.
pub fn layout(x: ArrayView2<f32>, seed: u64) -> Result<Array2<f32>> {
    if x.nrows() <= MAX_POINTS {
        return layout_all(x, seed);
    }
    let sample = super::sample_indices(x.nrows(), LAYOUT_SAMPLE, seed);
    let xs = x.select(Axis(0), &sample);
    let ys = layout_all(xs.view(), seed)?;
    Ok(place(x, &sample, xs.view(), ys.view()))
}

/// Every row of `x` in the layout `ys` of its rows `sample` (sorted): sampled rows keep their
/// place; each other row goes to the weighted mean of its nearest sampled rows' places, with
/// UMAP's membership weights (as umap-learn's `transform` starts).
fn place(
    x: ArrayView2<f32>,
    sample: &[usize],
    xs: ArrayView2<f32>,
    ys: ArrayView2<f32>,
) -> Array2<f32> {
    let (n, dims) = (x.nrows(), ys.ncols());
    let mut is_sampled = vec![None; n];
    for (s, &i) in sample.iter().enumerate() {
        is_sampled[i] = Some(s);
    }
    let k = NEIGHBOURS.min(xs.nrows());
    // Blocks in parallel, each product on one thread: the products are most of the time, and
    // every row's place depends on its own row of similarities only.
    let starts: Vec<usize> = (0..n).step_by(BLOCK).collect();
    let blocks: Vec<Vec<f32>> = starts
        .par_iter()
        .map(|&start| {
            let end = (start + BLOCK).min(n);
            let sims = x.slice_axis(Axis(0), Slice::from(start..end)).dot(&xs.t());
            let mut out = Vec::with_capacity((end - start) * dims);
            for (sims, sampled) in sims.rows().into_iter().zip(&is_sampled[start..end]) {
                match sampled {
                    Some(s) => out.extend(ys.row(*s).iter().copied()),
                    None => out.extend(place_one(sims, ys, k)),
                }
            }
            out
        })
        .collect();
    Array2::from_shape_vec((n, dims), blocks.concat()).unwrap_or_else(|_| Array2::zeros((n, dims)))
}

/// The place of one row from its similarities to the sampled rows: the membership-weighted mean
/// of its `k` nearest sampled rows' places (ties by index).
fn place_one(sims: ArrayView1<f32>, ys: ArrayView2<f32>, k: usize) -> Vec<f32> {
    let mut near: Vec<(f32, usize)> = sims
        .iter()
        .enumerate()
        .map(|(j, &v)| ((1.0 - v).max(0.0), j))
        .collect();
    let by = |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if k < near.len() {
        near.select_nth_unstable_by(k - 1, by);
        near.truncate(k);
    }
    near.sort_by(by);
    let ds: Vec<f32> = near.iter().map(|p| p.0).collect();
    let w = memberships(&ds);
    let total: f32 = w.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let mut out = vec![0f32; ys.ncols()];
    for (&(_, j), wj) in near.iter().zip(&w) {
        for (o, &v) in out.iter_mut().zip(ys.row(j)) {
            *o += wj / total * v;
        }
    }
    out
}

/// UMAP's membership strength of each of a point's neighbours at distances `ds` (sorted): 1 for
/// the nearest, falling with the distance beyond it at the rate that makes the strengths sum
/// to log2(k) (umap-learn's `smooth_knn_dist`).
fn memberships(ds: &[f32]) -> Vec<f32> {
    let k = ds.len();
    let target = (k.max(2) as f32).log2();
    let rho = ds.first().copied().unwrap_or(0.0);
    let strengths = |sigma: f32| -> Vec<f32> {
        ds.iter()
            .map(|&d| {
                let e = d - rho;
                if e > 0.0 {
                    (-e / sigma).exp()
                } else {
                    1.0
                }
            })
            .collect()
    };
    let (mut lo, mut hi, mut mid) = (0f32, f32::INFINITY, 1f32);
    for _ in 0..64 {
        let sum: f32 = strengths(mid).iter().sum();
        if (sum - target).abs() < 1e-5 {
            break;
        }
        if sum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                mid * 2.0
            };
        }
    }
    let mean = ds.iter().sum::<f32>() / k.max(1) as f32;
    strengths(mid.max(1e-3 * mean).max(f32::MIN_POSITIVE))
}

/// The layout of every row of `x`.
fn layout_all(x: ArrayView2<f32>, seed: u64) -> Result<Array2<f32>> {
    let n = x.nrows();
    let dims = COMPONENTS.min(x.ncols()).min(n.saturating_sub(1)).max(1);
    let mut y = initial(x, dims)?;
    if n <= NEIGHBOURS {
        return Ok(y);
    }
    let (idx, dist) = neighbours(x, NEIGHBOURS);
    let edges = fuzzy_union(&idx, &dist);
    optimise(&mut y, &edges, EPOCHS, seed);
    Ok(y)
}

/// Principal components, scaled to [0, 10] per axis (umap-learn's start).
fn initial(x: ArrayView2<f32>, dims: usize) -> Result<Array2<f32>> {
    let n = x.nrows();
    if n < 3 {
        return Ok(Array2::zeros((n, dims)));
    }
    let p = super::gmm::pca(x, dims)?;
    let mut y = p.mapv(|v| v as f32);
    for mut col in y.columns_mut() {
        let lo = col.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = col.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        col.mapv_inplace(|v| 10.0 * (v - lo) / span);
    }
    Ok(y)
}

/// Each point's `k` nearest points by cosine distance (1 − cosine), itself first, then by
/// distance, ties to the lower index.
fn neighbours(x: ArrayView2<f32>, k: usize) -> (Vec<Vec<usize>>, Vec<Vec<f32>>) {
    let n = x.nrows();
    let k = k.min(n);
    let mut idx = Vec::with_capacity(n);
    let mut dist = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let sims = x.slice_axis(Axis(0), Slice::from(start..end)).dot(&x.t());
        let rows: Vec<(Vec<usize>, Vec<f32>)> = (start..end)
            .into_par_iter()
            .map(|i| {
                let row = sims.row(i - start);
                let mut others: Vec<(f32, usize)> = row
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(j, &s)| ((1.0 - s).max(0.0), j))
                    .collect();
                let take = (k - 1).min(others.len());
                let by =
                    |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if take < others.len() {
                    others.select_nth_unstable_by(take, by);
                    others.truncate(take);
                }
                others.sort_by(by);
                let mut ids = vec![i];
                let mut ds = vec![0.0];
                for (d, j) in others {
                    ids.push(j);
                    ds.push(d);
                }
                (ids, ds)
            })
            .collect();
        for (i, d) in rows {
            idx.push(i);
            dist.push(d);
        }
    }
    (idx, dist)
}

/// Membership strengths of each point's neighbours (umap-learn's `smooth_knn_dist` and
/// `compute_membership_strengths`), combined into one symmetric graph by fuzzy union
/// (a + b − ab). Edges in both directions, ordered by (from, to).
fn fuzzy_union(idx: &[Vec<usize>], dist: &[Vec<f32>]) -> Vec<(usize, usize, f32)> {
    let mean_all = {
        let (s, c) = dist
            .iter()
            .flatten()
            .fold((0f64, 0usize), |(s, c), &d| (s + f64::from(d), c + 1));
        (s / c.max(1) as f64) as f32
    };
    let mut directed = std::collections::BTreeMap::<(usize, usize), (f32, f32)>::new();
    for (i, (ids, ds)) in idx.iter().zip(dist).enumerate() {
        let k = ds.len();
        let target = (k as f32).log2();
        let rho = ds.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0);
        let (mut lo, mut hi, mut mid) = (0f32, f32::INFINITY, 1f32);
        for _ in 0..64 {
            let psum: f32 = ds[1..]
                .iter()
                .map(|&d| {
                    let e = d - rho;
                    if e > 0.0 {
                        (-e / mid).exp()
                    } else {
                        1.0
                    }
                })
                .sum();
            if (psum - target).abs() < 1e-5 {
                break;
            }
            if psum > target {
                hi = mid;
                mid = (lo + hi) / 2.0;
            } else {
                lo = mid;
                mid = if hi.is_finite() {
                    (lo + hi) / 2.0
                } else {
                    mid * 2.0
                };
            }
        }
        let mean_i = ds.iter().sum::<f32>() / k as f32;
        let sigma = if rho > 0.0 {
            mid.max(1e-3 * mean_i)
        } else {
            mid.max(1e-3 * mean_all)
        };
        for (&j, &d) in ids.iter().zip(ds).skip(1) {
            let w = if d - rho <= 0.0 || sigma == 0.0 {
                1.0
            } else {
                (-(d - rho) / sigma).exp()
            };
            let slot = directed.entry((i.min(j), i.max(j))).or_insert((0.0, 0.0));
            if i < j {
                slot.0 = w;
            } else {
                slot.1 = w;
            }
        }
    }
    let mut edges = Vec::with_capacity(2 * directed.len());
    for ((a, b), (w1, w2)) in directed {
        let p = w1 + w2 - w1 * w2;
        if p > 0.0 {
            edges.push((a, b, p));
            edges.push((b, a, p));
        }
    }
    edges.sort_by_key(|e| (e.0, e.1));
    edges
}

/// umap-learn's `optimize_layout_euclidean`: attractive moves along sampled edges, repulsive
/// moves away from random points, learning rate falling linearly to 0.
fn optimise(y: &mut Array2<f32>, edges: &[(usize, usize, f32)], epochs: usize, seed: u64) {
    let (n, dim) = y.dim();
    let max_w = edges.iter().map(|e| e.2).fold(0.0f32, f32::max);
    if max_w <= 0.0 {
        return;
    }
    // Edges too weak to be sampled once are dropped, as umap-learn does.
    let edges: Vec<&(usize, usize, f32)> = edges
        .iter()
        .filter(|e| e.2 >= max_w / epochs as f32)
        .collect();
    let per_sample: Vec<f32> = edges.iter().map(|e| max_w / e.2).collect();
    let per_negative: Vec<f32> = per_sample.iter().map(|&p| p / NEGATIVE_RATE).collect();
    let mut next_sample = per_sample.clone();
    let mut next_negative = per_negative.clone();
    let mut rng = Xoshiro256Plus::seed_from_u64(seed ^ 0x0A11_CE5E);
    // Row-major working copy, written back at the end.
    let mut data: Vec<f32> = y.iter().copied().collect();
    let clip = |v: f32| v.clamp(-4.0, 4.0);
    for epoch in 0..epochs {
        let alpha = 1.0 - epoch as f32 / epochs as f32;
        let now = epoch as f32;
        for (e, &&(j, k, _)) in edges.iter().enumerate() {
            if next_sample[e] > now {
                continue;
            }
            let d2: f32 = (0..dim)
                .map(|d| (data[j * dim + d] - data[k * dim + d]).powi(2))
                .sum();
            if d2 > 0.0 {
                let pb = d2.powf(B);
                let coeff = -2.0 * A * B * pb / d2 / (A * pb + 1.0);
                for d in 0..dim {
                    let g = clip(coeff * (data[j * dim + d] - data[k * dim + d]));
                    data[j * dim + d] += g * alpha;
                    data[k * dim + d] -= g * alpha;
                }
            }
            next_sample[e] += per_sample[e];
            let negatives = ((now - next_negative[e]) / per_negative[e]).max(0.0) as usize;
            for _ in 0..negatives {
                let other = (rng.next_u64() % n as u64) as usize;
                if other == j {
                    continue;
                }
                let d2: f32 = (0..dim)
                    .map(|d| (data[j * dim + d] - data[other * dim + d]).powi(2))
                    .sum();
                let coeff = if d2 > 0.0 {
                    2.0 * B / ((0.001 + d2) * (A * d2.powf(B) + 1.0))
                } else {
                    0.0
                };
                for d in 0..dim {
                    let g = if coeff > 0.0 {
                        clip(coeff * (data[j * dim + d] - data[other * dim + d]))
                    } else {
                        4.0
                    };
                    data[j * dim + d] += g * alpha;
                }
            }
            next_negative[e] += negatives as f32 * per_negative[e];
        }
    }
    for (dst, &src) in y.iter_mut().zip(&data) {
        *dst = src;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two well-separated bundles of 30 unit vectors each in 8-D.
    fn bundles() -> Array2<f32> {
        let mut rng = Xoshiro256Plus::seed_from_u64(7);
        let mut v = Vec::new();
        for b in 0..2 {
            for _ in 0..30 {
                let mut p = [0f32; 8];
                for (d, x) in p.iter_mut().enumerate() {
                    let noise = (rng.next_u64() % 1000) as f32 / 10_000.0;
                    *x = noise + if d % 2 == b { 1.0 } else { 0.0 };
                }
                let norm = p.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.extend(p.iter().map(|x| x / norm));
            }
        }
        Array2::from_shape_vec((60, 8), v).unwrap()
    }

    #[test]
    fn neighbours_start_with_the_point_itself() {
        let x = bundles();
        let (idx, dist) = neighbours(x.view(), NEIGHBOURS);
        for (i, (ids, ds)) in idx.iter().zip(&dist).enumerate() {
            assert_eq!(ids.len(), NEIGHBOURS);
            assert_eq!(ids[0], i);
            assert!(ds.windows(2).all(|w| w[0] <= w[1]));
            // Every neighbour comes from the same bundle.
            assert!(ids.iter().all(|&j| j / 30 == i / 30), "{i}: {ids:?}");
        }
    }

    #[test]
    fn the_graph_is_symmetric() {
        let x = bundles();
        let (idx, dist) = neighbours(x.view(), NEIGHBOURS);
        let edges = fuzzy_union(&idx, &dist);
        for &(a, b, w) in &edges {
            assert!(w > 0.0 && w <= 1.0);
            assert!(edges.iter().any(|&(c, d, v)| c == b && d == a && v == w));
        }
    }

    #[test]
    fn layout_separates_the_bundles_and_repeats_with_the_seed() {
        let x = bundles();
        let y = layout(x.view(), 42).unwrap();
        assert_eq!(y.dim(), (60, COMPONENTS));
        assert_eq!(y, layout(x.view(), 42).unwrap());
        let mean = |r: std::ops::Range<usize>| {
            let n = r.len() as f32;
            r.fold(vec![0f32; COMPONENTS], |mut m, i| {
                for (a, &b) in m.iter_mut().zip(y.row(i)) {
                    *a += b / n;
                }
                m
            })
        };
        let (m0, m1) = (mean(0..30), mean(30..60));
        let between: f32 = m0.iter().zip(&m1).map(|(a, b)| (a - b).powi(2)).sum();
        let within: f32 = (0..30)
            .map(|i| {
                y.row(i)
                    .iter()
                    .zip(&m0)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f32>()
            })
            .sum::<f32>()
            / 30.0;
        assert!(between > 4.0 * within, "between {between}, within {within}");
    }

    #[test]
    fn placed_points_land_beside_their_sampled_neighbours() {
        let x = bundles();
        let sample: Vec<usize> = (0..60).filter(|i| i % 3 != 0).collect();
        let xs = x.select(Axis(0), &sample);
        let ys = layout_all(xs.view(), 42).unwrap();
        let y = place(x.view(), &sample, xs.view(), ys.view());
        for (s, &i) in sample.iter().enumerate() {
            assert_eq!(y.row(i), ys.row(s), "a sampled point keeps its place");
        }
        // A placed point is nearer its own bundle's centre than the other bundle's.
        let centre = |b: usize| -> Vec<f32> {
            let members: Vec<usize> = sample.iter().copied().filter(|&i| i / 30 == b).collect();
            let mut c = vec![0f32; y.ncols()];
            for &i in &members {
                for (a, &v) in c.iter_mut().zip(y.row(i)) {
                    *a += v / members.len() as f32;
                }
            }
            c
        };
        let (c0, c1) = (centre(0), centre(1));
        let d = |i: usize, c: &[f32]| -> f32 {
            y.row(i).iter().zip(c).map(|(a, b)| (a - b).powi(2)).sum()
        };
        for i in (0..60).filter(|i| i % 3 == 0) {
            let (own, other) = if i / 30 == 0 { (&c0, &c1) } else { (&c1, &c0) };
            assert!(d(i, own) < d(i, other), "point {i}");
        }
        let w = memberships(&[0.1, 0.2, 0.4]);
        assert_eq!(w[0], 1.0);
        assert!(w[1] > w[2]);
    }
}
