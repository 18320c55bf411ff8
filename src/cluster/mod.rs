//! Clustering: k-means (k-means++ seeding, several restarts, linfa-clustering) on unit-length
//! answer vectors, with k fixed or chosen by silhouette inside a range.
//!
//! Points must arrive in a canonical order (the caller sorts answers by text) so that the same
//! answers in any row order give the same groups; groups are numbered by size, largest first,
//! ties by their first point.

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::Serialize;

use crate::error::{Error, InputError, Result};

/// k-means stops when its centroids move less than this in total (Frobenius norm of the
/// change); on unit vectors 1e-4 leaves memberships settled and saves most iterations.
pub const KMEANS_TOLERANCE: f64 = 1e-4;

/// How many groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    /// Exactly this many.
    Fixed(usize),
    /// The k with the best silhouette in `min..=max` (ties: the smaller k).
    Auto {
        /// Smallest k tried.
        min: usize,
        /// Largest k tried.
        max: usize,
    },
    /// One group per code of a frame, k-means started from the codes' vectors
    /// ([`ValidClusterParams::fit_seeded`]).
    FromFrame,
}

/// Clustering settings, unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterParams {
    /// Number of groups.
    pub k: KChoice,
    /// k-means restarts; the run with the lowest inertia wins.
    pub n_runs: usize,
    /// Iteration cap per run.
    pub max_iter: u64,
    /// Seed of every random step.
    pub seed: u64,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            k: KChoice::Auto { min: 2, max: 15 },
            n_runs: 10,
            max_iter: 300,
            seed: 42,
        }
    }
}

/// Settings checked against the data they will run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidClusterParams(ClusterParams);

impl ClusterParams {
    /// Checks the settings for `distinct` distinct points.
    pub fn check(self, distinct: usize) -> Result<ValidClusterParams, InputError> {
        if self.n_runs == 0 {
            return Err(InputError::flag(
                "the number of k-means restarts must be at least 1",
                "use 10",
            ));
        }
        if self.max_iter == 0 {
            return Err(InputError::flag(
                "the k-means iteration cap must be at least 1",
                "use 300",
            ));
        }
        match self.k {
            KChoice::Fixed(0) => Err(InputError::flag(
                "--k must be at least 1",
                "pass --k 2 or more, or --k auto",
            )),
            KChoice::Fixed(k) if k > distinct => Err(InputError::flag(
                format!("--k {k} asks for more groups than the {distinct} distinct answers"),
                format!("pass --k {distinct} or fewer"),
            )),
            KChoice::Auto { min, max } if min < 2 || min > max => Err(InputError::flag(
                format!("the k range {min}..{max} is empty or starts below 2"),
                "pass --k-range 2..15",
            )),
            KChoice::Auto { min, .. } if min > distinct => Err(InputError::flag(
                format!("--k auto needs at least {min} distinct answers; there are {distinct}"),
                "pass a fixed --k",
            )),
            _ => Ok(ValidClusterParams(self)),
        }
    }
}

/// One point of the silhouette curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KScore {
    /// Groups.
    pub k: usize,
    /// Mean silhouette (cosine distance).
    pub silhouette: f64,
}

/// The result of clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Number of groups.
    pub k: usize,
    /// Group of each point, 0-based, numbered by size.
    pub labels: Vec<usize>,
    /// Unit-length centroid direction of each group.
    pub centroids: Vec<Vec<f32>>,
    /// Sum of squared distances to the centroids.
    pub inertia: f64,
    /// The silhouette curve `--k auto` chose from (empty for a fixed k).
    pub curve: Vec<KScore>,
    /// For each group, its index before renumbering (for a seeded fit: its seed).
    pub source: Vec<usize>,
}

impl ValidClusterParams {
    /// Clusters row-major unit vectors (`dim` columns).
    pub fn fit(&self, data: &[f32], dim: usize) -> Result<Clustering> {
        let n = data.len().checked_div(dim).unwrap_or(0);
        let records =
            Array2::from_shape_vec((n, dim), data.iter().map(|&v| f64::from(v)).collect())
                .map_err(|e| Error::Cluster(e.to_string()))?;
        match self.0.k {
            KChoice::Fixed(k) => self.kmeans(&records, k),
            KChoice::FromFrame => Err(Error::Cluster(
                "k from a frame needs the frame's seeds (fit_seeded)".into(),
            )),
            KChoice::Auto { min, max } => {
                let max = max.min(n.saturating_sub(1)).max(min);
                let sample = sample_indices(n, 3000, self.0.seed);
                let mut best: Option<Clustering> = None;
                let mut curve = Vec::new();
                for k in min..=max {
                    let c = self.kmeans(&records, k)?;
                    let s = silhouette(data, dim, &c.labels, &sample);
                    curve.push(KScore { k, silhouette: s });
                    let better = best
                        .as_ref()
                        .map(|b| s > b.curve.last().map(|x| x.silhouette).unwrap_or(f64::MIN))
                        .unwrap_or(true);
                    if better {
                        let mut c = c;
                        c.curve = vec![KScore { k, silhouette: s }];
                        best = Some(c);
                    }
                }
                let mut best = best.ok_or_else(|| Error::Cluster("no k in range".into()))?;
                best.curve = curve;
                Ok(best)
            }
        }
    }

    /// k-means started from given centroids (e.g. a code frame's label vectors) instead of
    /// k-means++: one run, k = number of seeds.
    pub fn fit_seeded(&self, data: &[f32], dim: usize, seeds: &[Vec<f32>]) -> Result<Clustering> {
        let n = data.len().checked_div(dim).unwrap_or(0);
        if seeds.is_empty() || seeds.len() > n || seeds.iter().any(|s| s.len() != dim) {
            return Err(Error::Cluster(format!(
                "{} seed centroids do not fit {n} points of dimension {dim}",
                seeds.len()
            )));
        }
        let records =
            Array2::from_shape_vec((n, dim), data.iter().map(|&v| f64::from(v)).collect())
                .map_err(|e| Error::Cluster(e.to_string()))?;
        let init = Array2::from_shape_vec(
            (seeds.len(), dim),
            seeds.iter().flatten().map(|&v| f64::from(v)).collect(),
        )
        .map_err(|e| Error::Cluster(e.to_string()))?;
        let model =
            KMeans::params_with_rng(seeds.len(), Xoshiro256Plus::seed_from_u64(self.0.seed))
                .n_runs(1)
                .max_n_iterations(self.0.max_iter)
                .tolerance(KMEANS_TOLERANCE)
                .init_method(linfa_clustering::KMeansInit::Precomputed(init))
                .fit(&DatasetBase::from(records.clone()))
                .map_err(|e| Error::Cluster(e.to_string()))?;
        let raw: Vec<usize> = model.predict(&records).to_vec();
        Ok(canonical(raw, model.centroids(), model.inertia()))
    }

    fn kmeans(&self, records: &Array2<f64>, k: usize) -> Result<Clustering> {
        let rng = Xoshiro256Plus::seed_from_u64(self.0.seed);
        let dataset = DatasetBase::from(records.clone());
        let model = KMeans::params_with_rng(k, rng)
            .n_runs(self.0.n_runs)
            .max_n_iterations(self.0.max_iter)
            .tolerance(KMEANS_TOLERANCE)
            .fit(&dataset)
            .map_err(|e| Error::Cluster(e.to_string()))?;
        let raw: Vec<usize> = model.predict(records).to_vec();
        Ok(canonical(raw, model.centroids(), model.inertia()))
    }
}

/// Renumbers groups by size (largest first), ties by the first point in each, and drops
/// empty groups.
fn canonical(raw: Vec<usize>, centroids: &Array2<f64>, inertia: f64) -> Clustering {
    let k_raw = centroids.nrows();
    let mut size = vec![0usize; k_raw];
    let mut first = vec![usize::MAX; k_raw];
    for (i, &g) in raw.iter().enumerate() {
        size[g] += 1;
        first[g] = first[g].min(i);
    }
    let mut order: Vec<usize> = (0..k_raw).filter(|&g| size[g] > 0).collect();
    order.sort_by(|&a, &b| size[b].cmp(&size[a]).then(first[a].cmp(&first[b])));
    let mut new_id = vec![0usize; k_raw];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = new;
    }
    let centroids: Vec<Vec<f32>> = order
        .iter()
        .map(|&g| {
            let row: Vec<f32> = centroids.row(g).iter().map(|&v| v as f32).collect();
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.into_iter().map(|v| v / norm).collect()
        })
        .collect();
    Clustering {
        k: order.len(),
        labels: raw.into_iter().map(|g| new_id[g]).collect(),
        centroids,
        inertia,
        curve: Vec::new(),
        source: order,
    }
}

/// Up to `max` point indices, seeded, sorted; all points when there are few.
fn sample_indices(n: usize, max: usize, seed: u64) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    use rand_xoshiro::rand_core::RngCore;
    let mut rng = Xoshiro256Plus::seed_from_u64(seed ^ 0x5EED);
    // Partial Fisher-Yates over the index list.
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..max {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut s = idx[..max].to_vec();
    s.sort_unstable();
    s
}

/// Mean silhouette over `sample` with cosine distance on unit vectors (0 when k < 2).
pub fn silhouette(data: &[f32], dim: usize, labels: &[usize], sample: &[usize]) -> f64 {
    let k = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    if k < 2 || sample.len() < 2 {
        return 0.0;
    }
    let row = |i: usize| &data[i * dim..(i + 1) * dim];
    let scores: Vec<f64> = {
        use rayon::prelude::*;
        sample
            .par_iter()
            .map(|&i| {
                let mut sum = vec![0f64; k];
                let mut count = vec![0usize; k];
                for &j in sample {
                    if i == j {
                        continue;
                    }
                    let dot: f32 = row(i).iter().zip(row(j)).map(|(a, b)| a * b).sum();
                    sum[labels[j]] += f64::from(1.0 - dot);
                    count[labels[j]] += 1;
                }
                let own = labels[i];
                if count[own] == 0 {
                    return 0.0;
                }
                let a = sum[own] / count[own] as f64;
                let b = (0..k)
                    .filter(|&g| g != own && count[g] > 0)
                    .map(|g| sum[g] / count[g] as f64)
                    .fold(f64::INFINITY, f64::min);
                if !b.is_finite() {
                    return 0.0;
                }
                let m = a.max(b);
                if m > 0.0 {
                    (b - a) / m
                } else {
                    0.0
                }
            })
            .collect()
    };
    scores.iter().sum::<f64>() / scores.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight bundles of unit vectors in 3-D.
    fn bundles() -> Vec<f32> {
        let mut v = Vec::new();
        for (axis, n) in [(0usize, 5usize), (1, 4), (2, 3)] {
            for i in 0..n {
                let mut p = [0.05f32 * i as f32, 0.02, 0.03];
                p[axis] = 1.0;
                let norm = p.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.extend(p.iter().map(|x| x / norm));
            }
        }
        v
    }

    fn params(k: KChoice) -> ClusterParams {
        ClusterParams {
            k,
            ..ClusterParams::default()
        }
    }

    #[test]
    fn finds_the_bundles_numbered_by_size() {
        let c = params(KChoice::Fixed(3))
            .check(12)
            .unwrap()
            .fit(&bundles(), 3)
            .unwrap();
        assert_eq!(c.labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
        assert_eq!(c.centroids.len(), 3);
    }

    #[test]
    fn auto_k_picks_three_and_reports_the_curve() {
        let c = params(KChoice::Auto { min: 2, max: 5 })
            .check(12)
            .unwrap()
            .fit(&bundles(), 3)
            .unwrap();
        assert_eq!(c.k, 3);
        assert_eq!(
            c.curve.iter().map(|s| s.k).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
    }

    #[test]
    fn same_seed_same_groups() {
        let p = params(KChoice::Fixed(4)).check(12).unwrap();
        assert_eq!(p.fit(&bundles(), 3).unwrap(), p.fit(&bundles(), 3).unwrap());
    }

    #[test]
    fn rejected_parameters() {
        assert!(params(KChoice::Fixed(0)).check(10).is_err());
        assert!(params(KChoice::Fixed(11)).check(10).is_err());
        assert!(params(KChoice::Auto { min: 1, max: 5 }).check(10).is_err());
        assert!(params(KChoice::Auto { min: 6, max: 5 }).check(10).is_err());
        assert!(params(KChoice::Auto { min: 3, max: 5 }).check(2).is_err());
        let mut p = params(KChoice::Fixed(2));
        p.n_runs = 0;
        assert!(p.check(10).is_err());
        let mut p = params(KChoice::Fixed(2));
        p.max_iter = 0;
        assert!(p.check(10).is_err());
    }
}
