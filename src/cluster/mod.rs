//! Clustering: k-means (greedy k-means++, restarts, Lloyd by matrix products, finished by
//! linfa-clustering), agglomerative (Ward), a Gaussian mixture, k-means on a UMAP layout of
//! unit-length answer vectors, or the layout's groups checked against plain k-means (the default),
//! with k fixed, chosen by silhouette and stability inside a range, or seeded from a code frame.
//!
//! Points must arrive in a canonical order (the caller sorts answers by text) so that the same
//! answers in any row order give the same groups; groups are numbered by size, largest first,
//! ties by their first point.

pub mod gmm;
pub mod lloyd;
pub mod umap;
pub mod ward;

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use std::fmt;

use crate::error::{Error, Result};

/// linfa's k-means, which finishes each clustering, stops when its centroids move less than
/// this in total (Frobenius norm of the change).
pub const KMEANS_TOLERANCE: f64 = 1e-4;

/// `--k auto` prefers k whose groups come back (adjusted Rand index between seeds) at least this
/// similar; see [`ValidClusterParams::fit`].
pub const STABLE: f64 = 0.8;

/// Extra seeds each k of `--k auto` is re-clustered with to measure stability.
pub const STABILITY_SEEDS: u64 = 2;

/// How many groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    /// Exactly this many.
    Fixed(usize),
    /// Chosen in `min..=max` by silhouette among the stable k ([`ValidClusterParams::fit`]).
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

/// Clustering algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// k-means: greedy k-means++ seeding, restarts, lowest inertia wins.
    KMeans,
    /// Agglomerative clustering with Ward linkage (deterministic; at most
    /// [`ward::MAX_POINTS`] answers).
    Agglomerative,
    /// Gaussian mixture (full covariances) on the leading principal components.
    Gmm,
    /// k-means into many small groups ([`micro_groups`]), merged into k by Ward linkage on
    /// their centroids.
    KMeansWard,
    /// k-means on a 5-dimensional UMAP layout of the answers ([`umap::layout`]; any number of
    /// answers).
    Umap,
    /// The layout's groups ([`Method::Umap`]) unless they are far less coherent on the answer
    /// vectors than plain k-means's groups ([`LAYOUT_COHERENCE`]); then those.
    Auto,
}

/// `--method auto` keeps the layout's groups while their mean silhouette on the answer vectors
/// is at least this share of plain k-means's. Where the layout pulls topics apart (news,
/// intents, tags) its groups keep most of k-means's silhouette; on answers that form one broad
/// cloud (NHS feedback at 40 groups) they keep under half, because the layout slices the cloud
/// along lines the vectors do not follow (BENCHMARKS.md).
pub const LAYOUT_COHERENCE: f64 = 0.5;

/// Micro-groups `--method kmeans-ward` first cuts the answers into: at least 150, three per
/// final group, at most one per distinct answer.
pub fn micro_groups(k: usize, n: usize) -> usize {
    (3 * k).max(150).min(n).max(k)
}

/// k-means restarts for the micro-groups (more would only polish groups Ward merges anyway).
pub const MICRO_RESTARTS: usize = 3;

impl Method {
    /// The name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Method::KMeans => "kmeans",
            Method::Agglomerative => "agglomerative",
            Method::Gmm => "gmm",
            Method::KMeansWard => "kmeans-ward",
            Method::Umap => "umap",
            Method::Auto => "auto",
        }
    }
}

/// Clustering settings, unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterParams {
    /// Number of groups.
    pub k: KChoice,
    /// Algorithm.
    pub method: Method,
    /// Restarts (k-means and mixture); the best run wins.
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
            method: Method::KMeans,
            n_runs: 10,
            max_iter: 300,
            seed: 42,
        }
    }
}

/// Settings checked against the data they will run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidClusterParams(ClusterParams);

/// Clustering settings that cannot run, on their own or on the answers at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No restarts.
    #[error("the number of restarts must be at least 1")]
    NoRestarts,
    /// No iterations.
    #[error("the iteration cap must be at least 1")]
    NoIterations,
    /// Seeding from a frame's codes needs k-means.
    #[error("groups seeded from a frame's codes are made by k-means, not by {0}")]
    SeededNeedsKMeans(Method),
    /// The method's size limit.
    #[error("{method} clusters at most {max} answers; there are {rows}")]
    TooManyPoints {
        /// The method.
        method: Method,
        /// Its limit.
        max: usize,
        /// Answers given.
        rows: usize,
    },
    /// k = 0.
    #[error("the number of groups must be at least 1")]
    ZeroK,
    /// More groups than distinct answers.
    #[error("{k} groups asked for, but there are only {distinct} distinct answers")]
    MoreGroupsThanAnswers {
        /// Groups asked for.
        k: usize,
        /// Distinct answers.
        distinct: usize,
    },
    /// An empty range, or one starting below 2.
    #[error("the range of k {min}..{max} is empty or starts below 2")]
    BadRange {
        /// Smallest k.
        min: usize,
        /// Largest k.
        max: usize,
    },
    /// The range starts above the number of distinct answers.
    #[error(
        "choosing k from {min} up needs at least {min} distinct answers; there are {distinct}"
    )]
    TooFewForRange {
        /// Smallest k.
        min: usize,
        /// Distinct answers.
        distinct: usize,
    },
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ClusterParams {
    /// Checks the settings for `rows` points, `distinct` of them distinct (`usize::MAX` for
    /// either: not known yet).
    pub fn check(self, distinct: usize, rows: usize) -> Result<ValidClusterParams, ParamError> {
        if self.n_runs == 0 {
            return Err(ParamError::NoRestarts);
        }
        if self.max_iter == 0 {
            return Err(ParamError::NoIterations);
        }
        if self.k == KChoice::FromFrame && self.method != Method::KMeans {
            return Err(ParamError::SeededNeedsKMeans(self.method));
        }
        // Both work on every answer, repeats included.
        let limit = match self.method {
            Method::Agglomerative => Some(ward::MAX_POINTS),
            _ => None,
        };
        if let Some(max) = limit {
            if rows != usize::MAX && rows > max {
                return Err(ParamError::TooManyPoints {
                    method: self.method,
                    max,
                    rows,
                });
            }
        }
        match self.k {
            KChoice::Fixed(0) => Err(ParamError::ZeroK),
            KChoice::Fixed(k) if k > distinct => {
                Err(ParamError::MoreGroupsThanAnswers { k, distinct })
            }
            KChoice::Auto { min, max } if min < 2 || min > max => {
                Err(ParamError::BadRange { min, max })
            }
            KChoice::Auto { min, .. } if min > distinct => {
                Err(ParamError::TooFewForRange { min, distinct })
            }
            _ => Ok(ValidClusterParams(self)),
        }
    }
}

/// One point of the curve `--k auto` chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// Groups.
    pub k: usize,
    /// Mean silhouette (cosine distance) on a seeded sample of up to 3,000 answers.
    pub silhouette: f64,
    /// Mean adjusted Rand index between the groups and those found with other seeds (absent
    /// for the deterministic agglomerative method).
    pub stability: Option<f64>,
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
    /// The curve `--k auto` chose from (empty for a fixed k).
    pub curve: Vec<KScore>,
    /// For each group, its index before renumbering (for a seeded fit: its seed).
    pub source: Vec<usize>,
}

impl Clustering {
    /// No groups: what clustering no answers gives.
    pub fn empty() -> Self {
        Clustering {
            k: 0,
            labels: Vec::new(),
            centroids: Vec::new(),
            inertia: 0.0,
            curve: Vec::new(),
            source: Vec::new(),
        }
    }
}

/// Row-major vectors as an n×dim view.
fn view(data: &[f32], dim: usize) -> Result<ArrayView2<'_, f32>> {
    let n = data.len().checked_div(dim).unwrap_or(0);
    ArrayView2::from_shape((n, dim), data).map_err(|e| Error::Cluster(e.to_string()))
}

impl ValidClusterParams {
    /// The settings.
    pub fn params(&self) -> &ClusterParams {
        &self.0
    }

    /// Clusters row-major unit vectors (`dim` columns).
    ///
    /// `--k auto` clusters with every k in range, scores each by mean silhouette and by
    /// stability (mean adjusted Rand index against [`STABILITY_SEEDS`] re-runs with other
    /// seeds), and keeps the k with the best silhouette among those at least [`STABLE`];
    /// when none is, the best silhouette overall. Ties go to the smaller k.
    ///
    /// `--method umap` lays the answers out once; every k (and every stability re-run) clusters
    /// that one layout. `--method auto` does the same, then checks the groups of the chosen k
    /// against plain k-means ([`LAYOUT_COHERENCE`]).
    pub fn fit(&self, data: &[f32], dim: usize) -> Result<Clustering> {
        let x = view(data, dim)?;
        let n = x.nrows();
        let layout = match self.0.method {
            Method::Umap | Method::Auto => Some(umap::layout(x, self.0.seed)?),
            _ => None,
        };
        let layout = layout.as_ref().map(|l| l.view());
        match self.0.k {
            KChoice::Fixed(k) => {
                let c = self.fit_k(x, layout, k, self.0.seed)?;
                self.or_raw(x, c)
            }
            KChoice::FromFrame => Err(Error::Cluster(
                "k from a frame needs the frame's seeds (fit_seeded)".into(),
            )),
            KChoice::Auto { min, max } => {
                let max = max.min(n.saturating_sub(1)).max(min);
                let gram = SampleGram::new(x, &sample_indices(n, 3000, self.0.seed));
                let mut fits = Vec::new();
                for k in min..=max {
                    let c = self.fit_k(x, layout, k, self.0.seed)?;
                    let silhouette = gram.silhouette(&c.labels);
                    let stability = if self.0.method == Method::Agglomerative {
                        None
                    } else {
                        let mut total = 0.0;
                        for s in 1..=STABILITY_SEEDS {
                            let seed = self.0.seed.wrapping_add(s);
                            let other = match self.0.method {
                                // Only the labels are compared: no centroids in the vectors' space.
                                Method::Umap | Method::Auto => {
                                    self.layout_labels(layout, k, seed)?
                                }
                                _ => self.fit_k(x, layout, k, seed)?.labels,
                            };
                            total += adjusted_rand(&c.labels, &other);
                        }
                        Some(total / STABILITY_SEEDS as f64)
                    };
                    fits.push((
                        KScore {
                            k,
                            silhouette,
                            stability,
                        },
                        c,
                    ));
                }
                let stable = |s: &KScore| s.stability.map(|v| v >= STABLE).unwrap_or(true);
                let any_stable = fits.iter().any(|(s, _)| stable(s));
                let curve: Vec<KScore> = fits.iter().map(|(s, _)| *s).collect();
                let mut best: Option<(KScore, Clustering)> = None;
                for (s, c) in fits {
                    if any_stable && !stable(&s) {
                        continue;
                    }
                    if best
                        .as_ref()
                        .map(|(b, _)| s.silhouette > b.silhouette)
                        .unwrap_or(true)
                    {
                        best = Some((s, c));
                    }
                }
                let (_, best) = best.ok_or_else(|| Error::Cluster("no k in range".into()))?;
                let mut best = self.or_raw(x, best)?;
                best.curve = curve;
                Ok(best)
            }
        }
    }

    /// For `--method auto`: the layout's groups `c`, or plain k-means's with as many groups
    /// when the layout's keep less than [`LAYOUT_COHERENCE`] of their silhouette on the answer
    /// vectors (both on the same seeded sample of up to 3,000 answers). Above
    /// [`umap::MAX_POINTS`] answers, plain k-means runs on the layout's sample.
    fn or_raw(&self, x: ArrayView2<f32>, c: Clustering) -> Result<Clustering> {
        if self.0.method != Method::Auto || c.k < 2 {
            return Ok(c);
        }
        let gram = SampleGram::new(x, &sample_indices(x.nrows(), 3000, self.0.seed));
        let raw = if x.nrows() > umap::MAX_POINTS {
            // As the layout does: k-means on its seeded sample, every answer to the nearest
            // centroid (plain k-means on a million answers takes far longer than the rest).
            let sample = sample_indices(x.nrows(), umap::LAYOUT_SAMPLE, self.0.seed);
            let xs = x.select(ndarray::Axis(0), &sample);
            let run = lloyd::best_of(
                xs.view(),
                c.k,
                self.0.n_runs,
                self.0.max_iter as usize,
                self.0.seed,
            );
            from_labels(x, lloyd::lloyd(x, run.centroids, 0).labels)
        } else {
            self.kmeans(x, c.k, self.0.seed)?
        };
        let (layout, plain) = (gram.silhouette(&c.labels), gram.silhouette(&raw.labels));
        if plain > 0.0 && layout < LAYOUT_COHERENCE * plain {
            Ok(raw)
        } else {
            Ok(c)
        }
    }

    /// k-means on the answer vectors.
    fn kmeans(&self, x: ArrayView2<f32>, k: usize, seed: u64) -> Result<Clustering> {
        let run = lloyd::best_of(x, k, self.0.n_runs, self.0.max_iter as usize, seed);
        self.finish_kmeans(x, run.centroids.mapv(f64::from), seed)
    }

    /// k-means with `k` groups on the UMAP layout `y`: on all of it up to [`umap::MAX_POINTS`]
    /// answers; above, as the layout itself, on the laid-out sample, every other answer then
    /// joining the nearest centroid (restarts on a million laid-out answers dominate the run).
    fn layout_labels(
        &self,
        layout: Option<ArrayView2<f32>>,
        k: usize,
        seed: u64,
    ) -> Result<Vec<usize>> {
        let y = layout.ok_or_else(|| Error::Cluster("UMAP layout missing".into()))?;
        let max_iter = self.0.max_iter as usize;
        if y.nrows() <= umap::MAX_POINTS {
            return Ok(lloyd::best_of(y, k, self.0.n_runs, max_iter, seed).labels);
        }
        let sample = sample_indices(y.nrows(), umap::LAYOUT_SAMPLE, self.0.seed);
        let ys = y.select(ndarray::Axis(0), &sample);
        let run = lloyd::best_of(ys.view(), k, self.0.n_runs, max_iter, seed);
        Ok(lloyd::lloyd(y, run.centroids, 0).labels)
    }

    /// One clustering with exactly `k` groups (`layout`: the UMAP layout, for that method).
    fn fit_k(
        &self,
        x: ArrayView2<f32>,
        layout: Option<ArrayView2<f32>>,
        k: usize,
        seed: u64,
    ) -> Result<Clustering> {
        match self.0.method {
            Method::Umap | Method::Auto => Ok(from_labels(x, self.layout_labels(layout, k, seed)?)),
            Method::KMeans => self.kmeans(x, k, seed),
            Method::Agglomerative => Ok(from_labels(x, ward::ward(x, k))),
            Method::Gmm => Ok(from_labels(
                x,
                gmm::gmm(x, k, self.0.n_runs, self.0.max_iter, seed)?,
            )),
            Method::KMeansWard => {
                let m = micro_groups(k, x.nrows());
                let micro = lloyd::best_of(
                    x,
                    m,
                    MICRO_RESTARTS.min(self.0.n_runs),
                    self.0.max_iter as usize,
                    seed,
                );
                let merged = ward::ward(micro.centroids.view(), k);
                Ok(from_labels(
                    x,
                    micro.labels.iter().map(|&g| merged[g]).collect(),
                ))
            }
        }
    }

    /// linfa-clustering's k-means from given centroids, one run.
    fn finish_kmeans(
        &self,
        x: ArrayView2<f32>,
        init: Array2<f64>,
        seed: u64,
    ) -> Result<Clustering> {
        let records = x.mapv(f64::from);
        let model = KMeans::params_with_rng(init.nrows(), Xoshiro256Plus::seed_from_u64(seed))
            .n_runs(1)
            .max_n_iterations(self.0.max_iter)
            .tolerance(KMEANS_TOLERANCE)
            .init_method(linfa_clustering::KMeansInit::Precomputed(init))
            .fit(&DatasetBase::from(records.clone()))
            .map_err(|e| Error::Cluster(e.to_string()))?;
        let raw: Vec<usize> = model.predict(&records).to_vec();
        Ok(canonical(raw, model.centroids(), model.inertia()))
    }

    /// k-means started from given centroids (e.g. a code frame's label vectors) instead of
    /// k-means++: one run, k = number of seeds.
    pub fn fit_seeded(&self, data: &[f32], dim: usize, seeds: &[Vec<f32>]) -> Result<Clustering> {
        let x = view(data, dim)?;
        let n = x.nrows();
        if seeds.is_empty() || seeds.len() > n || seeds.iter().any(|s| s.len() != dim) {
            return Err(Error::Cluster(format!(
                "{} seed centroids do not fit {n} points of dimension {dim}",
                seeds.len()
            )));
        }
        let init = Array2::from_shape_vec(
            (seeds.len(), dim),
            seeds.iter().flatten().map(|&v| f64::from(v)).collect(),
        )
        .map_err(|e| Error::Cluster(e.to_string()))?;
        self.finish_kmeans(x, init, self.0.seed)
    }
}

/// A clustering from labels alone: centroids are the groups' means.
fn from_labels(x: ArrayView2<f32>, labels: Vec<usize>) -> Clustering {
    let k = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut sums = Array2::<f64>::zeros((k, x.ncols()));
    let mut counts = vec![0usize; k];
    for (i, &g) in labels.iter().enumerate() {
        counts[g] += 1;
        for (s, &v) in sums.row_mut(g).iter_mut().zip(x.row(i)) {
            *s += f64::from(v);
        }
    }
    for (mut row, &c) in sums.rows_mut().into_iter().zip(&counts) {
        row /= c.max(1) as f64;
    }
    let inertia = labels
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            x.row(i)
                .iter()
                .zip(sums.row(g))
                .map(|(&a, &b)| (f64::from(a) - b).powi(2))
                .sum::<f64>()
        })
        .sum();
    canonical(labels, &sums, inertia)
}

/// A 2-D map of the points: their two leading principal components (for the report's scatter
/// plot). Fewer than three points sit at the origin.
pub fn map_2d(data: &[f32], dim: usize) -> Result<Vec<[f32; 2]>> {
    let x = view(data, dim)?;
    if x.nrows() < 3 {
        return Ok(vec![[0.0, 0.0]; x.nrows()]);
    }
    let p = gmm::pca(x, 2)?;
    Ok(p.rows()
        .into_iter()
        .map(|r| [r[0] as f32, r.get(1).copied().unwrap_or(0.0) as f32])
        .collect())
}

/// Adjusted Rand index of two labelings of the same points.
pub fn adjusted_rand(a: &[usize], b: &[usize]) -> f64 {
    let ka = a.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let kb = b.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut table = vec![0u64; ka * kb];
    for (&x, &y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
    }
    let pairs = |v: u64| (v * v.saturating_sub(1) / 2) as f64;
    let sum_cells: f64 = table.iter().map(|&v| pairs(v)).sum();
    let rows: f64 = (0..ka)
        .map(|i| pairs(table[i * kb..(i + 1) * kb].iter().sum()))
        .sum();
    let cols: f64 = (0..kb)
        .map(|j| pairs((0..ka).map(|i| table[i * kb + j]).sum()))
        .sum();
    let total = pairs(a.len() as u64);
    if total == 0.0 {
        return 1.0;
    }
    let expected = rows * cols / total;
    let max = (rows + cols) / 2.0;
    if max == expected {
        1.0
    } else {
        (sum_cells - expected) / (max - expected)
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
pub(crate) fn sample_indices(n: usize, max: usize, seed: u64) -> Vec<usize> {
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

/// Cosine similarities among a sample of points, computed once for every k `--k auto` scores.
struct SampleGram {
    sample: Vec<usize>,
    gram: Array2<f32>,
}

impl SampleGram {
    fn new(x: ArrayView2<f32>, sample: &[usize]) -> SampleGram {
        let xs = x.select(Axis(0), sample);
        SampleGram {
            sample: sample.to_vec(),
            gram: xs.dot(&xs.t()),
        }
    }

    /// Mean silhouette over the sample with cosine distance on unit vectors (0 when k < 2).
    fn silhouette(&self, labels: &[usize]) -> f64 {
        use rayon::prelude::*;
        let k = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
        let s = self.sample.len();
        if k < 2 || s < 2 {
            return 0.0;
        }
        let lab: Vec<usize> = self.sample.iter().map(|&i| labels[i]).collect();
        let scores: Vec<f64> = (0..s)
            .into_par_iter()
            .map(|a| {
                let mut sum = vec![0f64; k];
                let mut count = vec![0usize; k];
                for (b, &sim) in self.gram.row(a).iter().enumerate() {
                    if a == b {
                        continue;
                    }
                    sum[lab[b]] += f64::from(1.0 - sim);
                    count[lab[b]] += 1;
                }
                let own = lab[a];
                if count[own] == 0 {
                    return 0.0;
                }
                let within = sum[own] / count[own] as f64;
                let between = (0..k)
                    .filter(|&g| g != own && count[g] > 0)
                    .map(|g| sum[g] / count[g] as f64)
                    .fold(f64::INFINITY, f64::min);
                if !between.is_finite() {
                    return 0.0;
                }
                let m = within.max(between);
                if m > 0.0 {
                    (between - within) / m
                } else {
                    0.0
                }
            })
            .collect();
        scores.iter().sum::<f64>() / s as f64
    }
}

#[cfg(test)]
mod tests;
