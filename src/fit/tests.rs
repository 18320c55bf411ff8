//! Cross-cutting tests: classifiers, selection, thresholds, drift, errors.

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::*;

/// Uniform in [-1, 1).
fn unit(rng: &mut Xoshiro256PlusPlus) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// `per_code` unit-length points around each of `n_codes` random centres;
/// `noise` controls the overlap. Rows are interleaved by code.
fn clusters(
    n_codes: usize,
    per_code: usize,
    dim: usize,
    noise: f32,
    seed: u64,
) -> (Vec<f32>, Vec<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..n_codes)
        .map(|_| (0..dim).map(|_| unit(&mut rng)).collect())
        .collect();
    let mut vectors = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..per_code {
        for (code, c) in centres.iter().enumerate() {
            let v: Vec<f32> = c.iter().map(|&x| x + noise * unit(&mut rng)).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            vectors.extend(v.iter().map(|x| x / n));
            labels.push(code);
        }
    }
    (vectors, labels)
}

fn training<'a>(v: &'a [f32], l: &'a [usize], dim: usize, n_codes: usize) -> Training<'a> {
    Training {
        vectors: v,
        dim,
        labels: l,
        n_codes,
        together: None,
    }
}

fn permuted(v: &[f32], l: &[usize], dim: usize, perm: &[usize]) -> (Vec<f32>, Vec<usize>) {
    (
        perm.iter()
            .flat_map(|&r| v[r * dim..(r + 1) * dim].to_vec())
            .collect(),
        perm.iter().map(|&r| l[r]).collect(),
    )
}

#[test]
fn separable_clusters_are_learned_perfectly() {
    let (v, l) = clusters(4, 25, 16, 0.1, 1);
    let t = training(&v, &l, 16, 4);
    for spec in ClassifierSpec::default_candidates() {
        let cv = cross_validate(&t, &spec, 5, 3).unwrap();
        assert_eq!(cv.metrics.accuracy, Some(1.0), "{}", spec.name());
        assert_eq!(cv.metrics.kappa, Some(1.0));
        assert_eq!(cv.oof.len(), 100);
        let model = spec.fit(&t).unwrap();
        for (x, &y) in v.chunks(16).zip(&l) {
            assert_eq!(model.predict(x).unwrap().0, y, "{}", spec.name());
        }
    }
}

#[test]
fn single_and_batch_scoring_are_identical() {
    let (v, l) = clusters(3, 20, 12, 0.8, 2);
    let t = training(&v, &l, 12, 3);
    for spec in ClassifierSpec::default_candidates() {
        let model = spec.fit(&t).unwrap();
        let batch = model.predict_batch(&v).unwrap();
        let single: Vec<(usize, f32)> = v.chunks(12).map(|x| model.predict(x).unwrap()).collect();
        assert_eq!(batch.len(), 60);
        for (b, s) in batch.iter().zip(&single) {
            assert_eq!(b.0, s.0);
            assert_eq!(b.1.to_bits(), s.1.to_bits());
        }
        // the first answer alone vs. the same answer inside a larger batch
        let alone = model.predict_batch(&v[..12]).unwrap();
        assert_eq!(alone[0].1.to_bits(), batch[0].1.to_bits());
    }
}

#[test]
fn block_scoring_does_not_depend_on_the_batch() {
    // 600 queries span three blocks; each row scored alone must match bit for bit.
    let (v, l) = clusters(4, 150, 16, 0.9, 5);
    let t = training(&v[..16 * 200], &l[..200], 16, 4);
    for spec in ClassifierSpec::default_candidates() {
        let model = spec.fit(&t).unwrap();
        let batch = model.scores_batch(&v).unwrap();
        assert_eq!(batch.len(), 600);
        for r in [0, 255, 256, 599] {
            let alone = model.scores_batch(&v[r * 16..(r + 1) * 16]).unwrap();
            let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&alone[0]), bits(&batch[r]), "{} row {r}", spec.name());
            // and it agrees with the one-answer path to rounding
            let one = model.scores(&v[r * 16..(r + 1) * 16]).unwrap();
            for (a, b) in one.iter().zip(&batch[r]) {
                assert!((a - b).abs() < 1e-4, "{} row {r}: {a} vs {b}", spec.name());
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let (v, l) = clusters(5, 150, 24, 1.2, 3);
    let t = training(&v, &l, 24, 5);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let spec = ClassifierSpec::Logistic { c: 10.0 };
            (
                spec.fit(&t).unwrap(),
                cross_validate(&t, &spec, 5, 9).unwrap(),
            )
        })
    };
    let (m1, cv1) = run(1);
    let (m3, cv3) = run(3);
    assert_eq!(m1, m3);
    assert_eq!(cv1, cv3);
}

#[test]
fn row_order_does_not_change_models_or_folds() {
    let (v, l) = clusters(3, 30, 8, 1.0, 4);
    let t = training(&v, &l, 8, 3);
    let mut perm: Vec<usize> = (0..90).collect();
    perm.reverse();
    perm.swap(3, 50);
    let (v2, l2) = permuted(&v, &l, 8, &perm);
    let t2 = training(&v2, &l2, 8, 3);
    for spec in ClassifierSpec::default_candidates() {
        assert_eq!(
            spec.fit(&t).unwrap(),
            spec.fit(&t2).unwrap(),
            "{}",
            spec.name()
        );
        let a = cross_validate(&t, &spec, 5, 5).unwrap();
        let b = cross_validate(&t2, &spec, 5, 5).unwrap();
        for p in &b.oof {
            let q = a.oof.iter().find(|q| q.row == perm[p.row]).unwrap();
            assert_eq!(
                (p.predicted, p.score.to_bits()),
                (q.predicted, q.score.to_bits())
            );
        }
        assert_eq!(a.metrics, b.metrics);
    }
}

#[test]
fn same_seed_same_output_other_seed_other_folds() {
    let (v, l) = clusters(3, 20, 8, 1.5, 5);
    let t = training(&v, &l, 8, 3);
    let spec = ClassifierSpec::knn(5);
    let a = cross_validate(&t, &spec, 5, 1).unwrap();
    assert_eq!(a, cross_validate(&t, &spec, 5, 1).unwrap());
    assert_ne!(a.oof, cross_validate(&t, &spec, 5, 2).unwrap().oof);
}

#[test]
fn serde_round_trip_of_classifiers_is_exact() {
    let (v, l) = clusters(3, 10, 8, 0.9, 6);
    let t = training(&v, &l, 8, 3);
    let mut models: Vec<Classifier> = ClassifierSpec::default_candidates()
        .iter()
        .map(|s| s.fit(&t).unwrap())
        .collect();
    // awkward values: subnormals, extremes, negative zero
    models.push(Classifier::Logistic {
        weights: vec![
            vec![f32::MIN_POSITIVE / 3.0, -0.0, f32::MAX, 1e-38],
            vec![0.1, 1.0 / 3.0, -7.5e-12, 3.4e38],
        ],
        bias: vec![-1.0e4, 0.123_456_79],
        c: 0.1,
    });
    for m in models {
        let json = serde_json::to_string(&m).unwrap();
        let back: Classifier = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let bits = |c: &Classifier| serde_json::to_string(c).unwrap();
        assert_eq!(bits(&back), json);
    }
    // random f32 values, compared bit for bit
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let values: Vec<f32> = (0..5000)
        .map(|_| f32::from_bits(rng.next_u32()))
        .filter(|x| x.is_finite())
        .collect();
    let m = Classifier::NearestCentroid {
        centroids: vec![values.clone()],
    };
    let back: Classifier = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    let Classifier::NearestCentroid { centroids } = back else {
        panic!("variant changed");
    };
    for (a, b) in centroids[0].iter().zip(&values) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

#[test]
fn json_shapes_are_tagged() {
    let m = Classifier::NearestCentroid {
        centroids: vec![vec![1.0, 0.0]],
    };
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"kind":"nearest_centroid","centroids":[[1.0,0.0]]}"#
    );
    assert_eq!(
        serde_json::to_string(&ClassifierSpec::Logistic { c: 10.0 }).unwrap(),
        r#"{"kind":"logistic","c":10.0}"#
    );
}

#[test]
fn ties_go_to_the_lowest_code() {
    let m = Classifier::NearestCentroid {
        centroids: vec![vec![0.0, 1.0], vec![1.0, 0.0], vec![1.0, 0.0]],
    };
    assert_eq!(m.predict(&[2.0, 0.0]).unwrap(), (1, 1.0));
    let s = m.scores(&[1.0, 1.0]).unwrap()[0];
    let th = Thresholds::uniform(3, 0.5);
    assert_eq!(
        m.codes_above(&[1.0, 1.0], &th).unwrap(),
        vec![(0, s), (1, s), (2, s)]
    );
}

#[test]
fn codes_above_is_sorted_and_checks_threshold_count() {
    let m = Classifier::NearestCentroid {
        centroids: vec![vec![1.0, 0.0], vec![0.6, 0.8], vec![0.0, 1.0]],
    };
    let th = Thresholds::uniform(3, 0.5);
    let hits = m.codes_above(&[0.8, 0.6], &th).unwrap();
    let codes: Vec<usize> = hits.iter().map(|h| h.0).collect();
    assert_eq!(codes, vec![1, 0, 2]);
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
    let strict = Thresholds::uniform(3, 0.9);
    assert_eq!(m.codes_above(&[0.8, 0.6], &strict).unwrap().len(), 1);
    assert_eq!(
        m.codes_above(&[0.8, 0.6], &Thresholds::uniform(2, 0.5)),
        Err(FitError::ThresholdCount {
            expected: 3,
            got: 2
        })
    );
}

#[test]
fn zero_shot_from_descriptions() {
    let m =
        Classifier::from_descriptions(vec![vec![2.0, 0.0, 0.0], vec![0.0, 0.0, 5.0]], 0.3).unwrap();
    let (code, score) = m.predict(&[0.1, 0.2, 0.9]).unwrap();
    assert_eq!(code, 1);
    assert!(score > ZERO_SHOT_THRESHOLD);
    let th = Thresholds::uniform(2, ZERO_SHOT_THRESHOLD);
    assert!(m.codes_above(&[0.0, 1.0, 0.0], &th).unwrap().is_empty());
    assert_eq!(
        Classifier::from_descriptions(vec![], 0.0),
        Err(FitError::NoDescriptions)
    );
    assert_eq!(
        Classifier::from_descriptions(vec![vec![1.0, 0.0], vec![1.0]], 0.0),
        Err(FitError::DimMismatch {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        Classifier::from_descriptions(vec![vec![1.0, 0.0], vec![0.0, 0.0]], 0.0),
        Err(FitError::InvalidDescription { code: 1 })
    );
}

#[test]
fn zero_shot_scores_are_margin_shares_on_any_cosine_scale() {
    // Cosines 0.9, 0.5, 0.1 and the same order squeezed near 0.85: the best code's share is
    // the runner-up gap over the lead on the mean, whatever the scale.
    let e = |i: usize| {
        let mut v = vec![0.0f32; 3];
        v[i] = 1.0;
        v
    };
    let m = Classifier::from_descriptions(vec![e(0), e(1), e(2)], 0.0).unwrap();
    let wide = m.scores(&[0.9, 0.5, 0.1]).unwrap();
    let narrow = m.scores(&[0.87, 0.85, 0.83]).unwrap();
    for s in [&wide, &narrow] {
        assert!(s[1] < 0.0 && s[2] < 0.0);
    }
    // 0.9 − 0.5 = 0.4 over 0.9 − 0.5 (mean) = 1.0; the squeezed scale gives the same share.
    assert!((wide[0] - 1.0).abs() < 1e-5, "{wide:?}");
    assert!((narrow[0] - wide[0]).abs() < 1e-3, "{narrow:?}");
    // A model floor: under it the best code scores 0 and is not coded.
    let floored = Classifier::from_descriptions(vec![e(0), e(1), e(2)], 0.95).unwrap();
    assert_eq!(floored.scores(&[0.9, 0.5, 0.1]).unwrap()[0], 0.0);
    // Ties go to the lowest code, which scores 0 against its equal.
    assert_eq!(m.predict(&[0.5, 0.5, 0.1]).unwrap(), (0, 0.0));
}

#[test]
fn degenerate_training_is_a_typed_error() {
    let spec = ClassifierSpec::Logistic { c: 1.0 };
    let fit = |v: &[f32], l: &[usize], dim, n| spec.fit(&training(v, l, dim, n));
    assert_eq!(fit(&[], &[], 2, 2), Err(FitError::EmptyTraining));
    assert_eq!(
        fit(&[1.0, 0.0, 0.5, 0.5], &[0, 0], 2, 2),
        Err(FitError::TooFewCodes { found: 1 })
    );
    assert_eq!(
        fit(&[1.0, 0.0, 0.5], &[0, 1], 2, 2),
        Err(FitError::ShapeMismatch {
            values: 3,
            rows: 2,
            dim: 2
        })
    );
    assert_eq!(fit(&[1.0, 0.0], &[0, 1], 0, 2), Err(FitError::ZeroDim));
    assert_eq!(
        fit(&[1.0, 0.0, 0.0, 1.0], &[0, 2], 2, 2),
        Err(FitError::LabelOutOfRange {
            row: 1,
            label: 2,
            n_codes: 2
        })
    );
    assert_eq!(
        fit(&[1.0, f32::NAN, 0.0, 1.0], &[0, 1], 2, 2),
        Err(FitError::NonFinite { row: 0 })
    );
    let t = training(&[1.0, 0.0, 0.0, 1.0], &[0, 1], 2, 2);
    assert!(matches!(
        ClassifierSpec::knn(0).fit(&t),
        Err(FitError::InvalidSpec(_))
    ));
    assert!(matches!(
        ClassifierSpec::Logistic { c: -1.0 }.fit(&t),
        Err(FitError::InvalidSpec(_))
    ));
    assert!(matches!(
        ClassifierSpec::Logistic { c: f64::NAN }.fit(&t),
        Err(FitError::InvalidSpec(_))
    ));
    assert_eq!(
        cross_validate(&t, &ClassifierSpec::NearestCentroid, 5, 0),
        Err(FitError::NothingToValidate)
    );
    assert_eq!(select(&t, &[], 5, 0), Err(FitError::NoCandidates));
    let empty = training(&[], &[], 2, 2);
    assert_eq!(
        select(&empty, &ClassifierSpec::default_candidates(), 5, 0),
        Err(FitError::EmptyTraining)
    );
}

#[test]
fn bad_queries_and_corrupt_models_are_typed_errors() {
    let (v, l) = clusters(2, 5, 4, 0.5, 8);
    let t = training(&v, &l, 4, 2);
    for spec in ClassifierSpec::default_candidates() {
        let m = spec.fit(&t).unwrap();
        assert_eq!(
            m.scores(&[1.0, 0.0]),
            Err(FitError::DimMismatch {
                expected: 4,
                got: 2
            })
        );
        assert_eq!(
            m.scores(&[f32::INFINITY, 0.0, 0.0, 0.0]),
            Err(FitError::InvalidQuery)
        );
        assert!(m.predict_batch(&[1.0; 6]).is_err());
    }
    let zero = [0.0f32; 4];
    assert_eq!(
        ClassifierSpec::NearestCentroid
            .fit(&t)
            .unwrap()
            .scores(&zero),
        Err(FitError::InvalidQuery)
    );
    assert!(ClassifierSpec::Logistic { c: 1.0 }
        .fit(&t)
        .unwrap()
        .scores(&zero)
        .is_ok());
    let corrupt: Vec<Classifier> = [
        r#"{"kind":"nearest_centroid","centroids":[[1.0,0.0],[1.0]]}"#,
        r#"{"kind":"nearest_centroid","centroids":[]}"#,
        r#"{"kind":"knn","k":3,"n_codes":2,"temperature":0.05,"vectors":[[1.0,0.0]],"labels":[5]}"#,
        r#"{"kind":"knn","k":3,"n_codes":2,"temperature":0.05,"vectors":[[1.0,0.0]],"labels":[]}"#,
        r#"{"kind":"logistic","weights":[[1.0,0.0]],"bias":[0.0,1.0],"c":1.0}"#,
    ]
    .iter()
    .map(|j| serde_json::from_str(j).unwrap())
    .collect();
    for m in corrupt {
        assert!(
            matches!(m.scores(&[1.0, 1.0]), Err(FitError::Corrupt(_))),
            "{m:?}"
        );
    }
}

#[test]
fn absent_codes_are_never_predicted() {
    let (v, l) = clusters(3, 15, 8, 0.6, 9);
    let t = training(&v, &l, 8, 4); // code 3 has no answers
    for spec in ClassifierSpec::default_candidates() {
        let m = spec.fit(&t).unwrap();
        assert_eq!(m.n_codes(), 4);
        for x in v.chunks(8) {
            let s = m.scores(x).unwrap();
            assert!(s[3] <= s[..3].iter().copied().fold(f32::MIN, f32::max));
            assert_ne!(m.predict(x).unwrap().0, 3);
            assert!(s.iter().all(|x| x.is_finite()));
        }
        let cv = cross_validate(&t, &spec, 5, 0).unwrap();
        assert_eq!(cv.absent_codes, vec![3]);
    }
}

#[test]
fn singleton_codes_are_trained_on_but_not_tested() {
    let (mut v, mut l) = clusters(2, 20, 8, 0.6, 10);
    v.extend_from_slice(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    l.push(2);
    let t = training(&v, &l, 8, 3);
    let cv = cross_validate(&t, &ClassifierSpec::knn(5), 5, 0).unwrap();
    assert_eq!(cv.untested_codes, vec![2]);
    assert_eq!(cv.oof.len(), 40);
    assert!(cv.oof.iter().all(|p| p.row != 40));
}

#[test]
fn thresholds_meet_their_target_on_the_oof_data() {
    let (v, l) = clusters(6, 80, 16, 1.6, 11);
    let t = training(&v, &l, 16, 6);
    let sel = select(&t, &ClassifierSpec::default_candidates(), 5, 42).unwrap();
    let oof = &sel.cv.oof;
    let rule = ThresholdRule::default();
    let precision_at = |code: Option<usize>, th: f32| {
        let passed: Vec<_> = oof
            .iter()
            .filter(|p| code.is_none_or(|c| p.predicted == c) && p.score >= th)
            .collect();
        let ok = passed.iter().filter(|p| p.truth == p.predicted).count();
        (ok as f64 / passed.len() as f64, passed.len())
    };
    let mut calibrated = 0;
    for c in &sel.thresholds.codes {
        if c.source == ThresholdSource::Code {
            let (precision, n) = precision_at(Some(c.code), c.threshold.unwrap());
            assert!(precision >= rule.target_precision && n >= rule.min_support);
            assert_eq!(Some(precision), c.precision);
            calibrated += 1;
        }
    }
    assert!(calibrated >= 3, "{:?}", sel.thresholds);
    if let Some(g) = sel.thresholds.global {
        assert!(precision_at(None, g).0 >= rule.target_precision);
    }
    // a stricter target never lowers a threshold
    let strict = Thresholds::calibrate(
        oof,
        6,
        ThresholdRule {
            target_precision: 0.95,
            min_support: 10,
        },
    )
    .unwrap();
    for (a, b) in sel.thresholds.codes.iter().zip(&strict.codes) {
        if let (Some(x), Some(y), ThresholdSource::Code, ThresholdSource::Code) =
            (a.threshold, b.threshold, a.source, b.source)
        {
            assert!(y >= x);
        }
    }
    let curve = coverage_curve(oof);
    assert!(curve
        .windows(2)
        .all(|w| w[0].coverage < w[1].coverage && w[0].threshold > w[1].threshold));
    assert_eq!(curve.last().unwrap().coverage, 1.0);
    assert_eq!(
        Some(curve.last().unwrap().accuracy),
        sel.cv.metrics.accuracy
    );
}

#[test]
fn select_reports_every_candidate_and_breaks_ties_early() {
    let (v, l) = clusters(3, 20, 8, 1.0, 12);
    let t = training(&v, &l, 8, 3);
    let candidates = [ClassifierSpec::knn(3), ClassifierSpec::knn(3)];
    let mut seen = Vec::new();
    let sel = select_observed(&t, &candidates, 4, 1, &mut |i, r, _| {
        seen.push((i, r.clone()))
    })
    .unwrap();
    assert_eq!(sel.best, 0);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1, sel.candidates[0]);
    let all = select(&t, &ClassifierSpec::default_candidates(), 5, 1).unwrap();
    assert_eq!(all.candidates.len(), 7);
    let best = &all.candidates[all.best];
    for r in &all.candidates {
        assert!(r.kappa <= best.kappa);
    }
    assert_eq!(
        all.classifier,
        all.candidates[all.best].spec.fit(&t).unwrap()
    );
    let json = serde_json::to_string(&all).unwrap();
    let back: Selection = serde_json::from_str(&json).unwrap();
    assert_eq!(back, all);
}

#[test]
fn drift_matches_scipy_and_statsmodels() {
    // scipy.stats.chi2_contingency([prev, cur], correction=False);
    // statsmodels proportions_ztest([cur_k, prev_k], [cur_n, prev_n])
    let close = |a: f64, b: f64| assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-300), "{a} vs {b}");
    let d = drift(&[120, 80, 50, 30, 20], &[100, 95, 70, 20, 15]).unwrap();
    let chi = d.chi_square.as_ref().unwrap();
    close(chi.statistic, 9.151515151515152);
    assert_eq!(chi.df, 4);
    close(chi.p_value, 0.05742190779248234);
    assert!(chi.merged_codes.is_empty() && !chi.low_expected);
    let zs = [
        (-1.6943474841747161, 0.09019927243804512),
        (1.3472661394172154, 0.1778945333359635),
        (2.041241452319315, 0.041226833337163676),
        (-1.4770978917519932, 0.13964939861042922),
        (-0.870938288225023, 0.3837878494489777),
    ];
    for (c, (z, p)) in d.codes.iter().zip(zs) {
        close(c.z.unwrap(), z);
        close(c.p_value.unwrap(), p);
    }
    close(
        d.codes[0].change_pp.unwrap(),
        100.0 * (100.0 / 300.0 - 120.0 / 300.0),
    );

    // sparse codes 2 and 3 pooled; code 4 empty in both waves
    let d = drift(&[200, 150, 3, 1, 0, 40], &[180, 190, 6, 2, 0, 35]).unwrap();
    let chi = d.chi_square.as_ref().unwrap();
    close(chi.statistic, 6.981714887397647);
    assert_eq!(chi.df, 3);
    close(chi.p_value, 0.07248287043924534);
    assert_eq!(chi.merged_codes, vec![2, 3]);
    assert_eq!(chi.excluded_codes, vec![4]);
    assert_eq!(chi.columns, vec![vec![0], vec![1], vec![5], vec![2, 3]]);
    assert!(!chi.low_expected);
    close(d.codes[2].p_value.unwrap(), 0.3498639209874944);
    close(d.codes[3].p_value.unwrap(), 0.5907703210689854);
    assert!(d.codes[3].low_expected);
    assert_eq!((d.codes[4].z, d.codes[4].p_value), (None, None));

    // the merged column is itself still sparse: kept and flagged
    let d = drift(&[50, 2], &[60, 1]).unwrap();
    let chi = d.chi_square.as_ref().unwrap();
    close(chi.statistic, 0.5289655699491765);
    close(chi.p_value, 0.4670420802618408);
    assert!(chi.low_expected);

    // large waves, tiny p-values keep their relative accuracy
    let d = drift(&[5000, 3000, 2000], &[4000, 3600, 2400]).unwrap();
    let chi = d.chi_square.as_ref().unwrap();
    close(chi.statistic, 202.02020202020205);
    close(chi.p_value, 1.3547854219908076e-44);
    close(d.codes[0].p_value.unwrap(), 7.568144119453144e-46);
    close(d.codes[1].p_value.unwrap(), 1.833229497002606e-19);
    close(d.codes[2].p_value.unwrap(), 8.61741668249188e-12);
}

#[test]
fn degenerate_drift_has_no_nan() {
    assert_eq!(
        drift(&[1, 2], &[1]),
        Err(FitError::CountLengthMismatch { prev: 2, cur: 1 })
    );
    for (prev, cur) in [
        (vec![0, 0], vec![3, 4]),
        (vec![5, 0], vec![7, 0]),
        (vec![], vec![]),
        (vec![0], vec![0]),
    ] {
        let d = drift(&prev, &cur).unwrap();
        assert!(d.chi_square.is_none());
        let json = serde_json::to_string(&d).unwrap();
        let back: Drift = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        for c in &d.codes {
            for x in [c.prev_share, c.cur_share, c.change_pp, c.z, c.p_value]
                .into_iter()
                .flatten()
            {
                assert!(x.is_finite());
            }
        }
    }
}

#[test]
fn blend_is_the_weighted_average_of_its_members() {
    let (v, l) = clusters(3, 20, 8, 1.2, 13);
    let t = training(&v, &l, 8, 3);
    let spec = ClassifierSpec::Blend {
        members: vec![ClassifierSpec::Logistic { c: 10.0 }, ClassifierSpec::knn(5)],
        weights: vec![3.0, 1.0],
    };
    let blend = spec.fit(&t).unwrap();
    let lr = ClassifierSpec::Logistic { c: 10.0 }.fit(&t).unwrap();
    let knn = ClassifierSpec::knn(5).fit(&t).unwrap();
    for x in v.chunks(8).take(10) {
        let b = blend.scores(x).unwrap();
        let (p, q) = (lr.scores(x).unwrap(), knn.scores(x).unwrap());
        for i in 0..3 {
            assert!((b[i] - (0.75 * p[i] + 0.25 * q[i])).abs() < 1e-6);
        }
        assert!((b.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    for bad in [
        ClassifierSpec::Blend {
            members: vec![ClassifierSpec::NearestCentroid],
            weights: vec![1.0],
        },
        ClassifierSpec::Blend {
            members: vec![ClassifierSpec::knn(5)],
            weights: vec![],
        },
        ClassifierSpec::Blend {
            members: vec![ClassifierSpec::knn(5)],
            weights: vec![0.0],
        },
        ClassifierSpec::Knn {
            k: 5,
            temperature: 0.0,
        },
    ] {
        assert!(
            matches!(bad.fit(&t), Err(FitError::InvalidSpec(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn knn_weights_favour_the_nearest_answers() {
    // Two close neighbours of code 1 outvote three distant ones of code 0.
    let m = Classifier::Knn {
        k: 5,
        n_codes: 2,
        temperature: KNN_TEMPERATURE,
        vectors: vec![
            vec![1.0, 0.0],
            vec![0.995, 0.0998],
            vec![0.6, 0.8],
            vec![0.6, -0.8],
            vec![0.5, 0.866],
        ],
        labels: vec![1, 1, 0, 0, 0],
    };
    let s = m.scores(&[1.0, 0.0]).unwrap();
    assert!(s[1] > 0.99, "{s:?}");
    // A very large temperature approaches plain vote counting.
    let Classifier::Knn {
        k,
        n_codes,
        vectors,
        labels,
        ..
    } = m
    else {
        unreachable!()
    };
    let flat = Classifier::Knn {
        k,
        n_codes,
        temperature: 1e6,
        vectors,
        labels,
    };
    let s = flat.scores(&[1.0, 0.0]).unwrap();
    assert!((s[0] - 0.6).abs() < 1e-4, "{s:?}");
    let spec: ClassifierSpec = serde_json::from_str(r#"{"kind":"knn","k":7}"#).unwrap();
    assert_eq!(spec, ClassifierSpec::knn(7));
}
