//! Gaussian mixture clustering (linfa-clustering's EM, full covariances) on the answers'
//! leading principal components.
//!
//! Full covariances in all 384 dimensions would need more answers than a survey has and hours of
//! EM; the leading components keep most of the spread between topics.

use linfa::prelude::*;
use linfa_clustering::GaussianMixtureModel;
use linfa_linalg::eigh::{EigSort, EighInto};
use linfa_linalg::Order;
use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::error::{Error, Result};

/// Principal components the mixture is fitted on.
pub const COMPONENTS: usize = 32;

/// Added to every covariance diagonal so near-duplicate answers cannot make it singular.
pub const REG_COVARIANCE: f64 = 1e-4;

/// Projects the rows of `x` on their `dims` leading principal components (by eigenvalues of the
/// covariance matrix, largest first; each axis's sign fixed so its largest loading is positive).
/// Works through the rows in blocks, so memory stays a few blocks beyond `x` itself whatever
/// the number of answers.
pub fn pca(x: ArrayView2<f32>, dims: usize) -> Result<Array2<f64>> {
    const ROWS: usize = 4096;
    let (n, d) = x.dim();
    if n == 0 {
        return Err(Error::Cluster("no points to project".into()));
    }
    let dims = dims.min(d).max(1);
    let blocks = || (0..n).step_by(ROWS).map(move |s| s..(s + ROWS).min(n));
    let mut mean = ndarray::Array1::<f64>::zeros(d);
    for r in blocks() {
        mean += &x
            .slice_axis(Axis(0), ndarray::Slice::from(r))
            .mapv(f64::from)
            .sum_axis(Axis(0));
    }
    mean /= n as f64;
    let centred = |r: std::ops::Range<usize>| {
        x.slice_axis(Axis(0), ndarray::Slice::from(r))
            .mapv(f64::from)
            - &mean
    };
    let mut cov = Array2::<f64>::zeros((d, d));
    for r in blocks() {
        let c = centred(r);
        cov += &c.t().dot(&c);
    }
    cov /= (n.max(2) - 1) as f64;
    let (_, vecs) = cov
        .eigh_into()
        .map_err(|e| Error::Cluster(format!("principal components: {e}")))?
        .sort_eig(Order::Largest);
    let mut axes = vecs
        .slice_axis(Axis(1), ndarray::Slice::from(0..dims))
        .to_owned();
    for mut col in axes.columns_mut() {
        let big = col
            .iter()
            .copied()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        if big < 0.0 {
            col.mapv_inplace(|v| -v);
        }
    }
    let mut out = Array2::<f64>::zeros((n, dims));
    for r in blocks() {
        let p = centred(r.clone()).dot(&axes);
        out.slice_axis_mut(Axis(0), ndarray::Slice::from(r))
            .assign(&p);
    }
    Ok(out)
}

/// Group of each point under a `k`-component mixture fitted with `runs` EM restarts (k-means
/// initialised), seeded.
pub fn gmm(
    x: ArrayView2<f32>,
    k: usize,
    runs: usize,
    max_iter: u64,
    seed: u64,
) -> Result<Vec<usize>> {
    let dims = COMPONENTS.min(x.nrows().saturating_sub(1)).max(1);
    let reduced = pca(x, dims)?;
    let data = DatasetBase::from(reduced.clone());
    let model = GaussianMixtureModel::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .n_runs(runs.max(1) as u64)
        .max_n_iterations(max_iter)
        .reg_covariance(REG_COVARIANCE)
        .tolerance(1e-3)
        .fit(&data)
        .map_err(|e| Error::Cluster(format!("Gaussian mixture: {e}")))?;
    Ok(model.predict(&reduced).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_keeps_the_main_axis() {
        let x =
            Array2::from_shape_vec((4, 2), vec![0.0, 0.0, 1.0, 0.01, 2.0, 0.0, 3.0, 0.01]).unwrap();
        let p = pca(x.view(), 1).unwrap();
        assert!((p[[3, 0]] - p[[0, 0]] - 3.0).abs() < 1e-3);
    }

    #[test]
    fn separates_two_clouds() {
        let mut v = Vec::new();
        for i in 0..40 {
            let off = if i < 20 { 0.0 } else { 5.0 };
            v.extend([
                off + (i % 5) as f32 * 0.1,
                off + (i % 7) as f32 * 0.1,
                (i % 3) as f32 * 0.1,
            ]);
        }
        let x = Array2::from_shape_vec((40, 3), v).unwrap();
        let labels = gmm(x.view(), 2, 1, 100, 1).unwrap();
        assert!(labels[..20].iter().all(|&l| l == labels[0]));
        assert!(labels[20..].iter().all(|&l| l == labels[20]));
        assert_ne!(labels[0], labels[20]);
    }
}
