//! Stratified cross-validation and train/test splits.
//!
//! Fold rule: within each code, answers (in canonical order) are shuffled
//! with the seed and dealt round-robin to the folds, the dealing cursor
//! running on from one code to the next so folds differ in size by at most
//! one. A code with `m < k` answers therefore lands in `m` different folds
//! (one answer each) and keeps `m - 1 ≥ 1` answers in every training set,
//! instead of lowering `k` for every code. A code with a single answer is
//! kept in every training set and never tested; it is listed in
//! [`CvResult::untested_codes`].
//!
//! Rows that share a block ([`Training::together`]: one respondent's answers, an answer and
//! its translations) are dealt as one unit, under the code of the block's first row in
//! canonical order, so no fold learns from a near-copy of what it is tested on; a code whose
//! answers all sit in one unit is trained on, never tested.

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::classifier::ClassifierSpec;
use super::metrics::{evaluate, Metrics};
use super::threshold::OofPrediction;
use super::{FitError, OwnedRows, Training};

/// Result of [`cross_validate`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CvResult {
    pub spec: ClassifierSpec,
    /// Folds actually used (fewer than asked only when there are fewer
    /// testable answers than folds).
    pub folds: usize,
    /// One entry per tested answer, sorted by row.
    pub oof: Vec<OofPrediction>,
    /// Codes with exactly one answer: always trained on, never tested.
    pub untested_codes: Vec<usize>,
    /// Codes of the frame with no answer at all.
    pub absent_codes: Vec<usize>,
    /// Figures over `oof`.
    pub metrics: Metrics,
}

/// Row indices of a train/test split, each sorted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Uniform integer in `0..n` (n > 0) by multiply-shift; deterministic and
/// platform-independent.
fn below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Canonical order of `t`, grouped by code, each group shuffled by `seed`.
fn shuffled_groups(t: &Training, seed: u64) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); t.n_codes];
    for r in t.canonical_order() {
        groups[t.labels[r]].push(r);
    }
    shuffle_each(&mut groups, seed);
    groups
}

/// Shuffles each list in place (Fisher–Yates), all from one generator seeded by `seed`.
fn shuffle_each<T>(lists: &mut [Vec<T>], seed: u64) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for g in lists {
        for i in (1..g.len()).rev() {
            g.swap(i, below(&mut rng, i + 1));
        }
    }
}

/// The units dealt to folds, per code (a unit is one row, or the rows of one block), in
/// canonical order and then shuffled by `seed` within each code.
fn shuffled_units(t: &Training, seed: u64) -> Vec<Vec<Vec<usize>>> {
    let mut units: Vec<Vec<Vec<usize>>> = vec![Vec::new(); t.n_codes];
    let mut unit_of_block: std::collections::HashMap<usize, (usize, usize)> =
        std::collections::HashMap::new();
    for r in t.canonical_order() {
        let code = t.labels[r];
        match t.together.map(|b| b[r]) {
            Some(block) => match unit_of_block.get(&block) {
                Some(&(c, u)) => units[c][u].push(r),
                None => {
                    unit_of_block.insert(block, (code, units[code].len()));
                    units[code].push(vec![r]);
                }
            },
            None => units[code].push(vec![r]),
        }
    }
    shuffle_each(&mut units, seed);
    units
}

/// Test fold of each row (`None` = always in training) and the fold count.
pub(crate) fn assign_folds(
    t: &Training,
    folds: usize,
    seed: u64,
) -> Result<(Vec<Option<usize>>, usize), FitError> {
    if folds < 2 {
        return Err(FitError::TooFewFolds(folds));
    }
    t.validate()?;
    let units = shuffled_units(t, seed);
    let testable: usize = units.iter().filter(|g| g.len() >= 2).map(Vec::len).sum();
    if testable < 2 {
        return Err(FitError::NothingToValidate);
    }
    let k = folds.min(testable);
    let mut fold_of = vec![None; t.len()];
    let mut cursor = 0usize;
    for g in units.iter().filter(|g| g.len() >= 2) {
        for unit in g {
            for &r in unit {
                fold_of[r] = Some(cursor % k);
            }
            cursor += 1;
        }
    }
    Ok((fold_of, k))
}

/// Stratified k-fold cross-validation of `spec` on `t` (see the module docs
/// for the fold rule). Folds run in parallel; the result depends only on the
/// inputs and `seed`.
pub fn cross_validate(
    t: &Training,
    spec: &ClassifierSpec,
    folds: usize,
    seed: u64,
) -> Result<CvResult, FitError> {
    let (fold_of, k) = assign_folds(t, folds, seed)?;
    let counts = t.validate()?;
    let per_fold: Vec<Vec<OofPrediction>> = (0..k)
        .into_par_iter()
        .map(|f| {
            let train_rows = (0..t.len()).filter(|&r| fold_of[r] != Some(f));
            let train = OwnedRows::gather(t, train_rows);
            let model = spec.fit(&train.view(t.dim, t.n_codes))?;
            (0..t.len())
                .filter(|&r| fold_of[r] == Some(f))
                .map(|row| {
                    let (predicted, score) = model.predict(t.row(row))?;
                    Ok(OofPrediction {
                        row,
                        truth: t.labels[row],
                        predicted,
                        score,
                    })
                })
                .collect()
        })
        .collect::<Result<_, FitError>>()?;
    let mut oof: Vec<OofPrediction> = per_fold.into_iter().flatten().collect();
    oof.sort_by_key(|p| p.row);
    let truth: Vec<usize> = oof.iter().map(|p| p.truth).collect();
    let predicted: Vec<usize> = oof.iter().map(|p| p.predicted).collect();
    Ok(CvResult {
        spec: spec.clone(),
        folds: k,
        metrics: evaluate(&truth, &predicted, t.n_codes),
        oof,
        untested_codes: (0..t.n_codes).filter(|&c| counts[c] == 1).collect(),
        absent_codes: (0..t.n_codes).filter(|&c| counts[c] == 0).collect(),
    })
}

/// Seeded stratified split: within each code, `floor(m * test_share)`
/// shuffled answers go to test, the rest (at least one) to train.
pub fn stratified_split(t: &Training, test_share: f64, seed: u64) -> Result<Split, FitError> {
    if !(test_share > 0.0 && test_share < 1.0) {
        return Err(FitError::OutOfUnitRange {
            what: "test share",
            value: test_share,
        });
    }
    t.validate()?;
    let mut split = Split {
        train: Vec::new(),
        test: Vec::new(),
    };
    for g in shuffled_groups(t, seed) {
        let n_test =
            ((g.len() as f64 * test_share).floor() as usize).min(g.len().saturating_sub(1));
        split.test.extend_from_slice(&g[..n_test]);
        split.train.extend_from_slice(&g[n_test..]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_to_training(labels: &[usize], n_codes: usize) -> (Vec<f32>, Vec<usize>) {
        let vectors = labels
            .iter()
            .enumerate()
            .flat_map(|(i, &l)| [l as f32 + 1.0, i as f32, 1.0])
            .collect();
        let _ = n_codes;
        (vectors, labels.to_vec())
    }

    #[test]
    fn folds_keep_every_code_in_training() {
        // code 0: 40 answers, code 1: 3 (fewer than k), code 2: 1 (singleton)
        let labels: Vec<usize> = (0..40).map(|_| 0).chain([1, 1, 1, 2]).collect();
        let (v, l) = labels_to_training(&labels, 3);
        let t = Training {
            vectors: &v,
            dim: 3,
            labels: &l,
            n_codes: 3,
            together: None,
        };
        let (fold_of, k) = assign_folds(&t, 5, 7).unwrap();
        assert_eq!(k, 5);
        for f in 0..k {
            for code in 0..3 {
                let in_train = (0..l.len()).any(|r| l[r] == code && fold_of[r] != Some(f));
                assert!(in_train, "code {code} missing from training of fold {f}");
            }
            let size = fold_of.iter().filter(|&&x| x == Some(f)).count();
            assert!((8..=9).contains(&size), "fold {f} has {size}");
        }
        assert_eq!(fold_of[43], None);
        let folds_of_code1: std::collections::BTreeSet<_> =
            (40..43).map(|r| fold_of[r].unwrap()).collect();
        assert_eq!(folds_of_code1.len(), 3);
    }

    #[test]
    fn folds_do_not_depend_on_row_order() {
        let labels: Vec<usize> = (0..30).map(|i| i % 3).collect();
        let (v, l) = labels_to_training(&labels, 3);
        let t = Training {
            vectors: &v,
            dim: 3,
            labels: &l,
            n_codes: 3,
            together: None,
        };
        let (a, _) = assign_folds(&t, 4, 11).unwrap();
        let perm: Vec<usize> = (0..30).rev().collect();
        let v2: Vec<f32> = perm
            .iter()
            .flat_map(|&r| v[r * 3..r * 3 + 3].to_vec())
            .collect();
        let l2: Vec<usize> = perm.iter().map(|&r| l[r]).collect();
        let t2 = Training {
            vectors: &v2,
            dim: 3,
            labels: &l2,
            n_codes: 3,
            together: None,
        };
        let (b, _) = assign_folds(&t2, 4, 11).unwrap();
        for (i, &r) in perm.iter().enumerate() {
            assert_eq!(b[i], a[r]);
        }
        let (c, _) = assign_folds(&t, 4, 12).unwrap();
        assert_ne!(a, c, "another seed should shuffle differently");
    }

    #[test]
    fn split_is_stratified() {
        let labels: Vec<usize> = (0..21).map(|i| usize::from(i >= 10)).chain([2]).collect();
        let (v, l) = labels_to_training(&labels, 3);
        let t = Training {
            vectors: &v,
            dim: 3,
            labels: &l,
            n_codes: 3,
            together: None,
        };
        let s = stratified_split(&t, 0.5, 1).unwrap();
        let count = |rows: &[usize], c| rows.iter().filter(|&&r| l[r] == c).count();
        assert_eq!((count(&s.test, 0), count(&s.train, 0)), (5, 5));
        assert_eq!((count(&s.test, 1), count(&s.train, 1)), (5, 6));
        assert_eq!((count(&s.test, 2), count(&s.train, 2)), (0, 1));
        assert_eq!(s.train.len() + s.test.len(), 22);
    }

    #[test]
    fn too_few_folds_or_testable_rows_are_errors() {
        let (v, l) = labels_to_training(&[0, 1], 2);
        let t = Training {
            vectors: &v,
            dim: 3,
            labels: &l,
            n_codes: 2,
            together: None,
        };
        assert_eq!(assign_folds(&t, 1, 0), Err(FitError::TooFewFolds(1)));
        assert_eq!(assign_folds(&t, 5, 0), Err(FitError::NothingToValidate));
    }

    #[test]
    fn rows_of_one_block_share_a_fold() {
        // 12 sentences in 3 languages each: the translations of a sentence share block `i / 3`.
        let labels: Vec<usize> = (0..36).map(|i| (i / 3) % 2).collect();
        let blocks: Vec<usize> = (0..36).map(|i| i / 3).collect();
        let (v, l) = labels_to_training(&labels, 2);
        let t = Training {
            vectors: &v,
            dim: 3,
            labels: &l,
            n_codes: 2,
            together: Some(&blocks),
        };
        let (fold_of, k) = assign_folds(&t, 4, 3).unwrap();
        assert_eq!(k, 4);
        for b in 0..12 {
            let folds: std::collections::BTreeSet<_> = (0..36)
                .filter(|&r| blocks[r] == b)
                .map(|r| fold_of[r])
                .collect();
            assert_eq!(folds.len(), 1, "block {b} split over folds {folds:?}");
        }
        for f in 0..k {
            let size = fold_of.iter().filter(|&&x| x == Some(f)).count();
            assert_eq!(size, 9, "fold {f}");
        }
        // One block per code: nothing left to test those codes on.
        let one = [0usize, 0, 1, 1];
        let (v, l) = labels_to_training(&[0, 0, 1, 1], 2);
        let t = Training {
            vectors: &v,
            dim: 3,
            labels: &l,
            n_codes: 2,
            together: Some(&one),
        };
        assert_eq!(assign_folds(&t, 5, 0), Err(FitError::NothingToValidate));
        let short = [0usize, 1];
        let t = Training {
            together: Some(&short),
            ..t
        };
        assert_eq!(
            assign_folds(&t, 5, 0),
            Err(FitError::BlocksMismatch { blocks: 2, rows: 4 })
        );
    }
}
