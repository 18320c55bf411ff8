//! Tests of the clustering stage: parameters, restarts, k selection and canonical labels.

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
        .check(12, 12)
        .unwrap()
        .fit(&bundles(), 3)
        .unwrap();
    assert_eq!(c.labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
    assert_eq!(c.centroids.len(), 3);
}

#[test]
fn auto_k_picks_three_and_reports_the_curve() {
    let c = params(KChoice::Auto { min: 2, max: 5 })
        .check(12, 12)
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
    let p = params(KChoice::Fixed(4)).check(12, 12).unwrap();
    assert_eq!(p.fit(&bundles(), 3).unwrap(), p.fit(&bundles(), 3).unwrap());
}

#[test]
fn rejected_parameters() {
    assert!(params(KChoice::Fixed(0)).check(10, 10).is_err());
    assert!(params(KChoice::Fixed(11)).check(10, 10).is_err());
    assert!(params(KChoice::Auto { min: 1, max: 5 })
        .check(10, 10)
        .is_err());
    assert!(params(KChoice::Auto { min: 6, max: 5 })
        .check(10, 10)
        .is_err());
    assert!(params(KChoice::Auto { min: 3, max: 5 })
        .check(2, 2)
        .is_err());
    let mut p = params(KChoice::Fixed(2));
    p.n_runs = 0;
    assert!(p.check(10, 10).is_err());
    let mut p = params(KChoice::Fixed(2));
    p.max_iter = 0;
    assert!(p.check(10, 10).is_err());
}

#[test]
fn frame_seeding_needs_kmeans() {
    let mut p = params(KChoice::FromFrame);
    p.method = Method::Gmm;
    assert!(p.check(10, 10).is_err());
    p.method = Method::KMeans;
    assert!(p.check(10, 10).is_ok());
}

#[test]
fn agglomerative_refuses_too_many_answers() {
    let mut p = params(KChoice::Fixed(3));
    p.method = Method::Agglomerative;
    assert!(p.check(ward::MAX_POINTS, ward::MAX_POINTS).is_ok());
    // Repeats count: the limit is on answers, not distinct ones.
    let e = p.check(100, ward::MAX_POINTS + 1).unwrap_err();
    assert!(matches!(e, ParamError::TooManyPoints { rows, .. } if rows == ward::MAX_POINTS + 1));
}

#[test]
fn umap_takes_any_number_of_answers() {
    let mut p = params(KChoice::Fixed(3));
    p.method = Method::Umap;
    assert!(p.check(100, 10 * umap::MAX_POINTS).is_ok());
}

#[test]
fn every_method_finds_the_bundles() {
    for method in [
        Method::KMeans,
        Method::Agglomerative,
        Method::Gmm,
        Method::KMeansWard,
        Method::Umap,
        Method::Auto,
    ] {
        let mut p = params(KChoice::Fixed(3));
        p.method = method;
        let c = p.check(12, 12).unwrap().fit(&bundles(), 3).unwrap();
        assert_eq!(
            c.labels,
            vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2],
            "{method:?}"
        );
    }
}

#[test]
fn auto_keeps_the_layout_groups_or_takes_plain_kmeans() {
    // One broad cloud: 300 unit vectors in 8-D from a seeded generator.
    use rand_xoshiro::rand_core::RngCore;
    let mut rng = Xoshiro256Plus::seed_from_u64(5);
    let mut v = Vec::new();
    for _ in 0..300 {
        let p: Vec<f32> = (0..8)
            .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .collect();
        let norm = p.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.extend(p.iter().map(|x| x / norm));
    }
    let fit = |method| {
        let mut p = params(KChoice::Fixed(12));
        p.method = method;
        p.check(300, 300).unwrap().fit(&v, 8).unwrap()
    };
    let auto = fit(Method::Auto);
    assert!(auto == fit(Method::Umap) || auto == fit(Method::KMeans));
    assert_eq!(auto, fit(Method::Auto), "deterministic");
}

#[test]
fn adjusted_rand_index() {
    assert_eq!(adjusted_rand(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
    // sklearn: adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 0.5714285714285715
    assert!((adjusted_rand(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 0.571_428_571_428_571_5).abs() < 1e-12);
}

#[test]
fn auto_k_reports_stability() {
    let c = params(KChoice::Auto { min: 2, max: 4 })
        .check(12, 12)
        .unwrap()
        .fit(&bundles(), 3)
        .unwrap();
    assert!(c.curve.iter().all(|s| s.stability.is_some()));
    assert_eq!(c.curve[1].stability, Some(1.0));
}
