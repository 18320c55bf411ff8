//! Classifiers on answer embeddings: nearest centroid, kNN, logistic regression, blends.
//!
//! A [`Classifier`] is plain data (serialisable, comparable) and scores one
//! answer at a time with a pure function of that answer, so an answer scored
//! alone gets exactly the score it gets in a batch.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::threshold::Thresholds;
use super::{logistic, FitError, Training};
use crate::vector::{dot, dot_f64, norm, normalised};

/// Threshold on the margin share ([`Classifier::Descriptions`]) for zero-shot coding from
/// code descriptions: the best code must stand out from the runner-up by at least 0.4 of its
/// lead over the average code.
///
/// A share, not a cosine, so it means the same with any model: cosines of one model sit near
/// 0.3 and of another near 0.85 for the same pairs. Chosen on the bundled ECCP questions (the
/// human-coded questions with a written frame; BENCHMARKS.md): with both installed models
/// about two thirds of the English answers coded at 0.94–0.96 accuracy, and no answer in
/// another language coded otherwise than its English rendering. Once some answers are coded,
/// `fit` calibrates thresholds from them instead.
pub const ZERO_SHOT_THRESHOLD: f32 = 0.4;

/// Default softmax temperature of kNN similarity weights.
///
/// Neighbour `i` votes with weight `exp((cos_i - cos_max) / τ)`. With
/// MiniLM cosines, τ = 0.05 lets a near-duplicate answer outvote a loose
/// neighbour (0.1 lower cosine → weight e⁻² ≈ 0.14) while still pooling
/// several neighbours; on the NHS FFT data it gave clearly better macro-F1
/// than linear `max(cos, 0)` weights.
pub const KNN_TEMPERATURE: f32 = 0.05;

fn default_knn_temperature() -> f32 {
    KNN_TEMPERATURE
}

/// How to build a classifier: the candidates that [`super::select`] compares.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClassifierSpec {
    /// Unit-length mean vector per code; score = cosine similarity.
    NearestCentroid,
    /// `k` most similar training answers; score = similarity-weighted vote
    /// share (weights: see [`KNN_TEMPERATURE`]).
    Knn {
        k: usize,
        #[serde(default = "default_knn_temperature")]
        temperature: f32,
    },
    /// Multinomial logistic regression with L2 penalty `1 / C` (scikit-learn's
    /// parametrisation); score = probability.
    Logistic { c: f64 },
    /// Weighted average of the members' scores. Members must be `knn` or
    /// `logistic` (scores that are distributions over codes); weights are
    /// normalised to sum to 1.
    Blend {
        members: Vec<ClassifierSpec>,
        weights: Vec<f64>,
    },
}

/// A fitted classifier. Scores are in `[-1, 1]` (cosines) or `[0, 1]`
/// (vote shares, probabilities); higher means more confident.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Classifier {
    /// Unit-length centroids, one per code; score = cosine. A code without
    /// examples has an all-zero centroid and scores −1, the lowest cosine, so
    /// it is never preferred over a code with examples.
    NearestCentroid { centroids: Vec<Vec<f32>> },
    /// Zero-shot: one unit vector per code (its label and description). The best code is the
    /// nearest; a code's score is its margin share: its cosine minus the best other code's,
    /// over the best code's lead on the mean cosine of all codes. The best code scores in
    /// `[0, n/(n-1)]` for n codes, every other below 0; the best scores 0 when its cosine is
    /// under `min_cosine` (the model's floor). With a single code the score is its cosine.
    Descriptions {
        centroids: Vec<Vec<f32>>,
        #[serde(default)]
        min_cosine: f32,
    },
    /// Unit-length training vectors in canonical order (by code, then content)
    /// so that similarity ties resolve the same way whatever the input order.
    Knn {
        k: usize,
        n_codes: usize,
        temperature: f32,
        vectors: Vec<Vec<f32>>,
        labels: Vec<usize>,
    },
    /// `weights[code]` and `bias[code]`; `c` is the inverse L2 strength it was
    /// trained with. A code without examples has zero weights and a bias of
    /// −10⁴, which gives it probability 0 (finite, so it survives JSON).
    Logistic {
        weights: Vec<Vec<f32>>,
        bias: Vec<f32>,
        c: f64,
    },
    /// Weighted average of member scores; `weights` sum to 1.
    Blend {
        members: Vec<Classifier>,
        weights: Vec<f32>,
    },
}

impl ClassifierSpec {
    /// kNN with the default temperature.
    pub fn knn(k: usize) -> ClassifierSpec {
        ClassifierSpec::Knn {
            k,
            temperature: KNN_TEMPERATURE,
        }
    }

    /// The default candidate set for [`super::select`]: nearest centroid, kNN
    /// with k ∈ {5, 15}, logistic regression with C ∈ {1, 10, 100}, and an
    /// equal blend of logistic (C = 10) and kNN (k = 15), which pairs a
    /// smooth global model with local evidence from near-duplicate answers.
    pub fn default_candidates() -> Vec<ClassifierSpec> {
        vec![
            ClassifierSpec::NearestCentroid,
            ClassifierSpec::knn(5),
            ClassifierSpec::knn(15),
            ClassifierSpec::Logistic { c: 1.0 },
            ClassifierSpec::Logistic { c: 10.0 },
            ClassifierSpec::Logistic { c: 100.0 },
            ClassifierSpec::Blend {
                members: vec![
                    ClassifierSpec::Logistic { c: 10.0 },
                    ClassifierSpec::knn(15),
                ],
                weights: vec![0.5, 0.5],
            },
        ]
    }

    /// Short human-readable name, e.g. `knn(k=5)`.
    pub fn name(&self) -> String {
        match self {
            ClassifierSpec::NearestCentroid => "nearest_centroid".to_string(),
            ClassifierSpec::Knn { k, temperature } if *temperature == KNN_TEMPERATURE => {
                format!("knn(k={k})")
            }
            ClassifierSpec::Knn { k, temperature } => format!("knn(k={k},t={temperature})"),
            ClassifierSpec::Logistic { c } => format!("logistic(C={c})"),
            ClassifierSpec::Blend { members, weights } => {
                let parts: Vec<String> = members
                    .iter()
                    .zip(weights)
                    .map(|(m, w)| format!("{w}*{}", m.name()))
                    .collect();
                format!("blend({})", parts.join("+"))
            }
        }
    }

    fn check(&self) -> Result<(), FitError> {
        let invalid = |msg: String| Err(FitError::InvalidSpec(msg));
        match self {
            ClassifierSpec::NearestCentroid => Ok(()),
            ClassifierSpec::Knn { k, .. } if *k == 0 => invalid("k must be at least 1".into()),
            ClassifierSpec::Knn { temperature, .. } if !valid_temperature(*temperature) => invalid(
                format!("temperature must be positive and finite, got {temperature}"),
            ),
            ClassifierSpec::Knn { .. } => Ok(()),
            ClassifierSpec::Logistic { c } if !(c.is_finite() && *c > 0.0) => {
                invalid(format!("C must be positive and finite, got {c}"))
            }
            ClassifierSpec::Logistic { .. } => Ok(()),
            ClassifierSpec::Blend { members, weights } => {
                if members.is_empty() || members.len() != weights.len() {
                    return invalid("a blend needs one weight per member".into());
                }
                if !weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                    || weights.iter().sum::<f64>() <= 0.0
                {
                    return invalid(
                        "blend weights must be non-negative with a positive sum".into(),
                    );
                }
                for m in members {
                    if !matches!(
                        m,
                        ClassifierSpec::Knn { .. } | ClassifierSpec::Logistic { .. }
                    ) {
                        return invalid("blend members must be knn or logistic".into());
                    }
                    m.check()?;
                }
                Ok(())
            }
        }
    }

    /// Fits the classifier on all of `t`.
    pub fn fit(&self, t: &Training) -> Result<Classifier, FitError> {
        self.check()?;
        let counts = t.validate()?;
        let order = t.canonical_order();
        self.fit_checked(t, &counts, &order)
    }

    fn fit_checked(
        &self,
        t: &Training,
        counts: &[usize],
        order: &[usize],
    ) -> Result<Classifier, FitError> {
        Ok(match self {
            ClassifierSpec::NearestCentroid => fit_centroids(t, order),
            &ClassifierSpec::Knn { k, temperature } => Classifier::Knn {
                k,
                n_codes: t.n_codes,
                temperature,
                vectors: order
                    .iter()
                    .map(|&r| normalised(t.row(r)).unwrap_or_else(|| vec![0.0; t.dim]))
                    .collect(),
                labels: order.iter().map(|&r| t.labels[r]).collect(),
            },
            &ClassifierSpec::Logistic { c } => {
                let (weights, bias) = logistic::fit(t, order, counts, c);
                Classifier::Logistic { weights, bias, c }
            }
            ClassifierSpec::Blend { members, weights } => {
                let total: f64 = weights.iter().sum();
                Classifier::Blend {
                    members: members
                        .iter()
                        .map(|m| m.fit_checked(t, counts, order))
                        .collect::<Result<_, _>>()?,
                    weights: weights.iter().map(|w| (w / total) as f32).collect(),
                }
            }
        })
    }
}

fn fit_centroids(t: &Training, order: &[usize]) -> Classifier {
    let mut sums = vec![vec![0f64; t.dim]; t.n_codes];
    for &r in order {
        for (s, &v) in sums[t.labels[r]].iter_mut().zip(t.row(r)) {
            *s += f64::from(v);
        }
    }
    let centroids = sums
        .iter()
        .map(|s| {
            let n = s.iter().map(|v| v * v).sum::<f64>().sqrt();
            if n > 0.0 && n.is_finite() {
                s.iter().map(|v| (v / n) as f32).collect()
            } else {
                vec![0.0; t.dim]
            }
        })
        .collect();
    Classifier::NearestCentroid { centroids }
}

impl Classifier {
    /// Zero-shot classifier: nearest centroid on the embeddings of the code
    /// descriptions (code `i` = `desc_vectors[i]`). Use with
    /// [`Thresholds::uniform`]`(n, `[`ZERO_SHOT_THRESHOLD`]`)`.
    pub fn from_descriptions(
        desc_vectors: Vec<Vec<f32>>,
        min_cosine: f32,
    ) -> Result<Classifier, FitError> {
        let dim = desc_vectors.first().ok_or(FitError::NoDescriptions)?.len();
        if dim == 0 {
            return Err(FitError::ZeroDim);
        }
        let centroids = desc_vectors
            .iter()
            .enumerate()
            .map(|(code, v)| {
                if v.len() != dim {
                    return Err(FitError::DimMismatch {
                        expected: dim,
                        got: v.len(),
                    });
                }
                normalised(v).ok_or(FitError::InvalidDescription { code })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Classifier::Descriptions {
            centroids,
            min_cosine,
        })
    }

    /// Number of codes scored.
    pub fn n_codes(&self) -> usize {
        match self {
            Classifier::NearestCentroid { centroids }
            | Classifier::Descriptions { centroids, .. } => centroids.len(),
            Classifier::Knn { n_codes, .. } => *n_codes,
            Classifier::Logistic { bias, .. } => bias.len(),
            Classifier::Blend { members, .. } => members.first().map_or(0, Classifier::n_codes),
        }
    }

    /// Embedding dimension expected (0 for an empty, corrupt classifier).
    pub fn dim(&self) -> usize {
        let rows = match self {
            Classifier::NearestCentroid { centroids }
            | Classifier::Descriptions { centroids, .. } => centroids,
            Classifier::Knn { vectors, .. } => vectors,
            Classifier::Logistic { weights, .. } => weights,
            Classifier::Blend { members, .. } => return members.first().map_or(0, Classifier::dim),
        };
        rows.first().map_or(0, Vec::len)
    }

    /// One score per code for the answer `x`.
    pub fn scores(&self, x: &[f32]) -> Result<Vec<f32>, FitError> {
        let dim = self.dim();
        if dim == 0 || self.n_codes() == 0 {
            return Err(FitError::Corrupt("no codes or zero dimension"));
        }
        if x.len() != dim {
            return Err(FitError::DimMismatch {
                expected: dim,
                got: x.len(),
            });
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(FitError::InvalidQuery);
        }
        match self {
            Classifier::NearestCentroid { centroids } => centroid_scores(centroids, x),
            Classifier::Descriptions {
                centroids,
                min_cosine,
            } => Ok(margin_shares(&centroid_scores(centroids, x)?, *min_cosine)),
            Classifier::Knn {
                k,
                n_codes,
                temperature,
                vectors,
                labels,
            } => knn_scores(*k, *n_codes, *temperature, vectors, labels, x),
            Classifier::Logistic { weights, bias, .. } => logistic_scores(weights, bias, x),
            Classifier::Blend { members, weights } => blend_scores(members, weights, x),
        }
    }

    /// Best code and its score; ties go to the lowest code index.
    pub fn predict(&self, x: &[f32]) -> Result<(usize, f32), FitError> {
        Ok(argmax(&self.scores(x)?))
    }

    /// Scores of each row of a row-major buffer, for coding many answers: kNN similarities
    /// come from matrix products over fixed blocks of [`BATCH_BLOCK`] rows, so a row's scores do
    /// not depend on which rows share its batch (one answer alone is padded to a block). They
    /// agree with [`Self::scores`] to rounding.
    pub fn scores_batch(&self, rows: &[f32]) -> Result<Vec<Vec<f32>>, FitError> {
        let dim = self.dim();
        if dim == 0 || !rows.len().is_multiple_of(dim) {
            return Err(FitError::ShapeMismatch {
                values: rows.len(),
                rows: rows.len() / dim.max(1),
                dim,
            });
        }
        if !rows.iter().all(|v| v.is_finite()) {
            return Err(FitError::InvalidQuery);
        }
        match self {
            Classifier::Knn {
                k,
                n_codes,
                temperature,
                vectors,
                labels,
            } => {
                if vectors.len() != labels.len()
                    || labels.iter().any(|l| l >= n_codes)
                    || *k == 0
                    || !valid_temperature(*temperature)
                {
                    return Err(FitError::Corrupt(
                        "kNN vectors, labels, k and temperature disagree",
                    ));
                }
                knn_sims_batch(vectors, rows, dim, |row| {
                    let pairs = row.into_iter().enumerate().map(|(i, s)| (s, i)).collect();
                    knn_vote(*k, *n_codes, *temperature, labels, pairs)
                })
            }
            Classifier::Blend { members, weights } => {
                let n_codes = self.n_codes();
                if members.len() != weights.len() || members.iter().any(|m| m.n_codes() != n_codes)
                {
                    return Err(FitError::Corrupt("blend members and weights disagree"));
                }
                let parts = members
                    .iter()
                    .map(|m| m.scores_batch(rows))
                    .collect::<Result<Vec<_>, _>>()?;
                let n = rows.len() / dim;
                Ok((0..n)
                    .map(|r| {
                        let mut total = vec![0f64; n_codes];
                        for (part, &w) in parts.iter().zip(weights) {
                            for (t, &v) in total.iter_mut().zip(&part[r]) {
                                *t += f64::from(w) * f64::from(v);
                            }
                        }
                        total.iter().map(|&t| t as f32).collect()
                    })
                    .collect())
            }
            _ => rows.par_chunks(dim).map(|x| self.scores(x)).collect(),
        }
    }

    /// [`Self::predict`] for each row of a row-major buffer, in parallel;
    /// identical to predicting the rows one by one.
    pub fn predict_batch(&self, vectors: &[f32]) -> Result<Vec<(usize, f32)>, FitError> {
        let dim = self.dim();
        if dim == 0 {
            return Err(FitError::Corrupt("zero dimension"));
        }
        if !vectors.len().is_multiple_of(dim) {
            return Err(FitError::ShapeMismatch {
                values: vectors.len(),
                rows: vectors.len() / dim,
                dim,
            });
        }
        vectors.par_chunks(dim).map(|x| self.predict(x)).collect()
    }

    /// Multi-label coding: every code whose score reaches its threshold, best
    /// first (ties: lowest code). Codes without a threshold are never returned.
    pub fn codes_above(
        &self,
        x: &[f32],
        thresholds: &Thresholds,
    ) -> Result<Vec<(usize, f32)>, FitError> {
        let scores = self.scores(x)?;
        if thresholds.codes.len() != scores.len() {
            return Err(FitError::ThresholdCount {
                expected: scores.len(),
                got: thresholds.codes.len(),
            });
        }
        let mut hits: Vec<(usize, f32)> = scores
            .iter()
            .enumerate()
            .filter(|&(code, &s)| thresholds.passes(code, s))
            .map(|(code, &s)| (code, s))
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(hits)
    }
}

/// Highest score, lowest index on ties. `scores` is never empty here.
pub(crate) fn argmax(scores: &[f32]) -> (usize, f32) {
    let mut best = (0, scores.first().copied().unwrap_or(0.0));
    for (i, &s) in scores.iter().enumerate().skip(1) {
        if s > best.1 {
            best = (i, s);
        }
    }
    best
}

/// `1 / |x|`, or an error for a zero-length answer (its cosine is undefined).
fn inverse_norm(x: &[f32]) -> Result<f64, FitError> {
    let n = norm(x);
    if n > 0.0 && n.is_finite() {
        Ok(1.0 / n)
    } else {
        Err(FitError::InvalidQuery)
    }
}

fn cosine(x: &[f32], unit: &[f32], inv_norm: f64) -> f32 {
    ((f64::from(dot(x, unit)) * inv_norm) as f32).clamp(-1.0, 1.0)
}

/// Each code's margin share ([`Classifier::Descriptions`]) from its cosines.
fn margin_shares(cosines: &[f32], min_cosine: f32) -> Vec<f32> {
    if cosines.len() < 2 {
        return cosines.to_vec();
    }
    let mean = cosines.iter().map(|&c| f64::from(c)).sum::<f64>() / cosines.len() as f64;
    // The two largest cosines (the runner-up of the best code, the best of every other).
    let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &c in cosines {
        if c > first {
            second = first;
            first = c;
        } else if c > second {
            second = c;
        }
    }
    let lead = (f64::from(first) - mean).max(1e-6);
    let mut best_seen = false;
    cosines
        .iter()
        .map(|&c| {
            // The first code holding the best cosine is the best code (ties go to the lowest
            // index); any other is measured against the best.
            let other = if c == first && !best_seen {
                best_seen = true;
                second
            } else {
                first
            };
            let share = ((f64::from(c) - f64::from(other)) / lead) as f32;
            if c < min_cosine {
                share.min(0.0)
            } else {
                share
            }
        })
        .collect()
}

fn centroid_scores(centroids: &[Vec<f32>], x: &[f32]) -> Result<Vec<f32>, FitError> {
    let inv = inverse_norm(x)?;
    centroids
        .iter()
        .map(|c| {
            if c.len() != x.len() {
                Err(FitError::Corrupt("centroids of different lengths"))
            } else if c.iter().all(|&v| v == 0.0) {
                Ok(-1.0)
            } else {
                Ok(cosine(x, c, inv))
            }
        })
        .collect()
}

fn valid_temperature(t: f32) -> bool {
    t.is_finite() && t > 0.0
}

fn knn_scores(
    k: usize,
    n_codes: usize,
    temperature: f32,
    vectors: &[Vec<f32>],
    labels: &[usize],
    x: &[f32],
) -> Result<Vec<f32>, FitError> {
    if vectors.len() != labels.len()
        || labels.iter().any(|&l| l >= n_codes)
        || k == 0
        || !valid_temperature(temperature)
    {
        return Err(FitError::Corrupt(
            "kNN vectors, labels, k and temperature disagree",
        ));
    }
    let inv = inverse_norm(x)?;
    let sims = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if v.len() == x.len() {
                Ok((cosine(x, v, inv), i))
            } else {
                Err(FitError::Corrupt("kNN vectors of different lengths"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(knn_vote(k, n_codes, temperature, labels, sims))
}

/// Votes of the `k` most similar stored answers, softmax-weighted by similarity.
fn knn_vote(
    k: usize,
    n_codes: usize,
    temperature: f32,
    labels: &[usize],
    mut sims: Vec<(f32, usize)>,
) -> Vec<f32> {
    // Most similar first; equal similarity -> earlier stored vector, so the
    // neighbour set is unique.
    let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let k = k.min(sims.len());
    if k > 0 && k < sims.len() {
        sims.select_nth_unstable_by(k - 1, order);
        sims.truncate(k);
    }
    sims.sort_by(order);
    // Softmax weights relative to the nearest neighbour: at most 1, the
    // nearest is exactly 1, so the total is never zero and nothing overflows.
    let top = sims.first().map_or(0.0, |s| f64::from(s.0));
    let tau = f64::from(temperature);
    let weights: Vec<f64> = sims
        .iter()
        .map(|&(s, _)| ((f64::from(s) - top) / tau).exp())
        .collect();
    let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut votes = vec![0f64; n_codes];
    for (&(_, i), w) in sims.iter().zip(&weights) {
        votes[labels[i]] += w;
    }
    votes.iter().map(|v| (v / total) as f32).collect()
}

/// Queries scored together by [`Classifier::scores_batch`]; a lone answer is padded to a full
/// block, so every answer's similarities come from the same matrix-product shape.
pub const BATCH_BLOCK: usize = 256;

/// `vote` of the cosine similarities of each query row to every stored vector, by blocked
/// matrix products; a block's similarities are dropped once voted on, so memory stays at one
/// block per thread whatever the number of queries.
fn knn_sims_batch(
    vectors: &[Vec<f32>],
    rows: &[f32],
    dim: usize,
    vote: impl Fn(Vec<f32>) -> Vec<f32> + Sync,
) -> Result<Vec<Vec<f32>>, FitError> {
    use ndarray::{Array2, ArrayView2};
    if vectors.iter().any(|v| v.len() != dim) {
        return Err(FitError::Corrupt("kNN vectors of different lengths"));
    }
    let stored = Array2::from_shape_vec(
        (vectors.len(), dim),
        vectors.iter().flatten().copied().collect(),
    )
    .map_err(|_| FitError::Corrupt("kNN vectors of different lengths"))?;
    let blocks: Vec<&[f32]> = rows.chunks(BATCH_BLOCK * dim).collect();
    let out: Vec<Vec<Vec<f32>>> = blocks
        .par_iter()
        .map(|block| {
            let n = block.len() / dim;
            let mut padded = vec![0f32; BATCH_BLOCK * dim];
            padded[..block.len()].copy_from_slice(block);
            let q = ArrayView2::from_shape((BATCH_BLOCK, dim), &padded[..])
                .map_err(|_| FitError::InvalidQuery)?;
            let sims = q.dot(&stored.t());
            (0..n)
                .map(|r| {
                    let inv = inverse_norm(&block[r * dim..(r + 1) * dim])?;
                    Ok(vote(
                        sims.row(r)
                            .iter()
                            .map(|&v| ((f64::from(v) * inv) as f32).clamp(-1.0, 1.0))
                            .collect(),
                    ))
                })
                .collect::<Result<Vec<Vec<f32>>, FitError>>()
        })
        .collect::<Result<_, _>>()?;
    Ok(out.into_iter().flatten().collect())
}

fn blend_scores(members: &[Classifier], weights: &[f32], x: &[f32]) -> Result<Vec<f32>, FitError> {
    let n_codes = members.first().map_or(0, Classifier::n_codes);
    if members.len() != weights.len()
        || members.iter().any(|m| m.n_codes() != n_codes)
        || !weights.iter().all(|w| w.is_finite() && *w >= 0.0)
    {
        return Err(FitError::Corrupt("blend members and weights disagree"));
    }
    let mut total = vec![0f64; n_codes];
    for (m, &w) in members.iter().zip(weights) {
        for (t, s) in total.iter_mut().zip(m.scores(x)?) {
            *t += f64::from(w) * f64::from(s);
        }
    }
    Ok(total.iter().map(|&t| t as f32).collect())
}

fn logistic_scores(weights: &[Vec<f32>], bias: &[f32], x: &[f32]) -> Result<Vec<f32>, FitError> {
    if weights.len() != bias.len() || weights.iter().any(|w| w.len() != x.len()) {
        return Err(FitError::Corrupt("logistic weights and bias disagree"));
    }
    let logits: Vec<f64> = weights
        .iter()
        .zip(bias)
        .map(|(w, &b)| f64::from(b) + dot_f64(w, x))
        .collect();
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return Err(FitError::Corrupt("logistic weights overflow"));
    }
    let exps: Vec<f64> = logits.iter().map(|z| (z - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    Ok(exps.iter().map(|e| (e / total) as f32).collect())
}
