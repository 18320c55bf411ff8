//! Tests: published worked examples, degenerate inputs, determinism and the outputs.

use super::*;

/// Codings from one whitespace-separated line per coder; "." = not coded.
fn by_coder(lines: &[&str]) -> Codings {
    let columns: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let n_units = columns[0].len();
    let coders = (0..lines.len()).map(|i| format!("c{}", i + 1)).collect();
    let units = (1..=n_units).map(|u| u.to_string()).collect();
    let cells = (0..n_units)
        .map(|u| columns.iter().map(|col| col[u].replace('.', "")).collect())
        .collect();
    Codings::from_columns(units, coders, cells).unwrap()
}

/// Codings from per-unit category counts (coder j gets the j-th rating of the unit).
fn from_counts(table: &[&[usize]]) -> Codings {
    let raters: usize = table[0].iter().sum();
    let cells = table
        .iter()
        .map(|counts| {
            counts
                .iter()
                .enumerate()
                .flat_map(|(k, &n)| std::iter::repeat_n(format!("k{k}"), n))
                .collect::<Vec<_>>()
        })
        .collect();
    Codings::from_columns(
        (0..table.len()).map(|u| u.to_string()).collect(),
        (0..raters).map(|r| format!("r{r}")).collect(),
        cells,
    )
    .unwrap()
}

fn no_boot() -> AgreeOptions {
    AgreeOptions {
        bootstrap: 0,
        ..AgreeOptions::default()
    }
}

fn close(actual: Option<f64>, expected: f64, tol: f64) {
    let v = actual.unwrap();
    assert!((v - expected).abs() <= tol, "{v} != {expected} (±{tol})");
}

const KRIPPENDORFF_2011: [&str; 4] = [
    "1 2 3 3 2 1 4 1 2 . . .",
    "1 2 3 3 2 2 4 1 2 5 . 3",
    ". 3 3 3 2 3 4 2 2 5 1 .",
    "1 2 3 3 2 4 4 1 2 5 1 .",
];

#[test]
fn krippendorff_2011_example_with_missing_values() {
    let a = agree(&by_coder(&KRIPPENDORFF_2011), &no_boot()).unwrap();
    close(a.overall.krippendorff_alpha.value, 0.743421, 1e-6);
    assert_eq!(a.units_total, 12);
    assert_eq!(a.units_used, 11);
    assert_eq!(a.skipped_units, 1);
    assert_eq!(a.single_coded_units, 1);
    assert_eq!(a.pairable_values, 40);
    // Gwet (2014) / irrCAC documented values for the same data (rounded to 5 digits).
    close(a.overall.gwet_ac1.value, 0.77544, 5e-6);
    close(a.overall.fleiss_kappa.value, 0.76117, 5e-6);
    close(a.overall.percent_agreement.value, 0.81818, 5e-6);
    assert_eq!(
        a.overall.krippendorff_alpha.reading,
        "tentative conclusions only"
    );
}

#[test]
fn krippendorff_python_package_example() {
    let a = agree(
        &by_coder(&[
            ". . . . . 3 4 1 2 1 1 3 3 . 3",
            "1 . 2 1 3 3 4 3 . . . . . . .",
            ". . 2 1 3 4 4 . 2 1 1 3 3 . 4",
        ]),
        &no_boot(),
    )
    .unwrap();
    close(a.overall.krippendorff_alpha.value, 0.691358, 1e-6);
}

#[test]
fn cohen_kappa_wikipedia_example() {
    // 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no
    let mut cells = Vec::new();
    for (n, a, b) in [
        (20, "yes", "yes"),
        (5, "yes", "no"),
        (10, "no", "yes"),
        (15, "no", "no"),
    ] {
        cells.extend(std::iter::repeat_n(vec![a.to_string(), b.to_string()], n));
    }
    let c = Codings::from_columns(
        (0..50).map(|u| u.to_string()).collect(),
        vec!["A".into(), "B".into()],
        cells,
    )
    .unwrap();
    let a = agree(&c, &no_boot()).unwrap();
    let pair = &a.pairs[0];
    assert_eq!(pair.units, 50);
    close(pair.cohen_kappa.value, 0.4, 1e-12);
    close(pair.percent_agreement.value, 0.7, 1e-12);
    assert_eq!(pair.cohen_kappa.reading, "fair");
    // codes sorted: no, yes; rows coder A
    assert_eq!(pair.confusion, vec![vec![15, 10], vec![5, 20]]);
    // with two coders the per-code kappa is Cohen's, and binarising two codes changes nothing
    assert_eq!(a.per_code[0].kappa_kind, "cohen");
    close(a.per_code[0].kappa.value, 0.4, 1e-12);
}

#[test]
fn fleiss_kappa_wikipedia_example() {
    let table: [&[usize]; 10] = [
        &[0, 0, 0, 0, 14],
        &[0, 2, 6, 4, 2],
        &[0, 0, 3, 5, 6],
        &[0, 3, 9, 2, 0],
        &[2, 2, 8, 1, 1],
        &[7, 7, 0, 0, 0],
        &[3, 2, 6, 3, 0],
        &[2, 5, 3, 2, 2],
        &[6, 5, 2, 1, 0],
        &[0, 2, 2, 3, 7],
    ];
    let a = agree(&from_counts(&table), &no_boot()).unwrap();
    // P̄ = 0.378022, P̄e = 0.213400 → κ = 0.209931 (Wikipedia: 0.210)
    close(a.overall.fleiss_kappa.value, 0.209931, 1e-6);
    close(a.overall.percent_agreement.value, 0.378022, 1e-6);
    assert_eq!(a.overall.fleiss_kappa.reading, "fair");
}

#[test]
fn one_coder_is_an_error() {
    let c = by_coder(&["1 2 3"]);
    assert_eq!(
        agree(&c, &no_boot()),
        Err(AgreeError::TooFewCoders { found: 1 })
    );
}

#[test]
fn no_overlapping_units_is_an_error() {
    let c = by_coder(&["1 2 . .", ". . 1 2"]);
    let err = agree(&c, &no_boot()).unwrap_err();
    assert_eq!(err, AgreeError::NoPairableUnits);
    assert!(err
        .to_string()
        .contains("no unit was coded by two or more coders"));
}

#[test]
fn single_code_everywhere_is_undefined_not_an_error() {
    let c = by_coder(&["x x x x", "x x x .", "x . x x"]);
    let a = agree(&c, &AgreeOptions::default()).unwrap();
    let o = &a.overall;
    assert_eq!(o.percent_agreement.value, Some(1.0));
    for coef in [
        &o.krippendorff_alpha,
        &o.fleiss_kappa,
        &o.gwet_ac1,
        &o.brennan_prediger,
    ] {
        assert_eq!(coef.value, None);
        assert!(coef.undefined.is_some());
        assert_eq!(coef.reading, "undefined");
        assert_eq!((coef.ci_low, coef.ci_high), (None, None));
    }
    assert_eq!(
        o.krippendorff_alpha.undefined.as_deref(),
        Some("only one code among pairable values: expected disagreement is 0")
    );
    for p in &a.pairs {
        assert_eq!(p.cohen_kappa.value, None);
        assert_eq!(p.scott_pi.value, None);
    }
    let json = serde_json::to_string(&a).unwrap();
    assert!(!json.contains("NaN") && !json.contains("inf"));
    assert!(render_table(&a).contains("undefined"));
}

#[test]
fn malformed_codings_are_errors() {
    let mut c = by_coder(&["1 2", "1 2"]);
    c.values[0][1] = Some(7);
    assert!(matches!(
        agree(&c, &no_boot()),
        Err(AgreeError::InvalidCodings(_))
    ));
    let mut c = by_coder(&["1 2", "1 2"]);
    c.coders[1] = "c1".into();
    assert!(matches!(
        agree(&c, &no_boot()),
        Err(AgreeError::DuplicateCoder { .. })
    ));
    let c = by_coder(&["1 2", "1 2"]);
    let opts = AgreeOptions {
        confidence: 1.5,
        ..AgreeOptions::default()
    };
    assert!(matches!(
        agree(&c, &opts),
        Err(AgreeError::InvalidConfidence(_))
    ));
    let bad = Codings::from_columns(
        vec!["u".into()],
        vec!["a".into(), "b".into()],
        vec![vec!["1".into()]],
    );
    assert!(matches!(bad, Err(AgreeError::InvalidCodings(_))));
}

#[test]
fn from_columns_trims_and_treats_blank_as_missing() {
    let c = Codings::from_columns(
        vec!["u1".into(), "u2".into()],
        vec!["a".into(), "b".into()],
        vec![
            vec![" beta ".into(), "alpha".into()],
            vec!["   ".into(), "beta".into()],
        ],
    )
    .unwrap();
    assert_eq!(c.codes, vec!["alpha", "beta"]);
    assert_eq!(c.values, vec![vec![Some(1), Some(0)], vec![None, Some(1)]]);
}

/// Random codings with missing cells, from a seeded generator.
fn random_codings(units: usize, coders: usize, codes: u64, seed: u64) -> Codings {
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256Plus::seed_from_u64(seed);
    let cells = (0..units)
        .map(|_| {
            let truth = rng.next_u64() % codes;
            (0..coders)
                .map(|_| match rng.next_u64() % 10 {
                    0 => String::new(),
                    1 | 2 => format!("k{}", rng.next_u64() % codes),
                    _ => format!("k{truth}"),
                })
                .collect()
        })
        .collect();
    Codings::from_columns(
        (0..units).map(|u| format!("u{u}")).collect(),
        (0..coders).map(|c| format!("c{c}")).collect(),
        cells,
    )
    .unwrap()
}

#[test]
fn resampling_machinery_reproduces_the_direct_estimates() {
    let c = random_codings(500, 4, 6, 7);
    let layout = stats::Layout::new(4, c.codes.len());
    let mut sums = vec![0.0; layout.len()];
    for row in &c.values {
        stats::add_unit(&layout, sums.as_mut_slice(), row);
    }
    let q = c.codes.len();
    let direct = stats::finalize(&layout, &sums, q);
    let via_features = Resampler::new(&layout, &c.values, q).full_sample();
    let pairs = |e: &stats::Estimates| -> Vec<f64> {
        let mut v = vec![e.percent, e.alpha, e.fleiss, e.ac1, e.bp];
        v.extend(e.pairs.iter().flat_map(|p| [p.percent, p.cohen, p.scott]));
        v.into_iter().map(|x| x.unwrap()).collect()
    };
    for (x, y) in pairs(&direct).iter().zip(pairs(&via_features)) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
}

#[test]
fn bootstrap_is_deterministic_and_thread_count_independent() {
    let c = random_codings(300, 3, 5, 11);
    let opts = AgreeOptions {
        bootstrap: 200,
        seed: 9,
        ..AgreeOptions::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| agree(&c, &opts).unwrap())
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one, two);
    assert_eq!(one, run(2));
    let alpha = &one.overall.krippendorff_alpha;
    let (lo, hi, v) = (
        alpha.ci_low.unwrap(),
        alpha.ci_high.unwrap(),
        alpha.value.unwrap(),
    );
    assert!(lo < v && v < hi, "{lo} < {v} < {hi}");
    assert_eq!(alpha.ci_resamples + alpha.ci_dropped, 200);
    assert!(one.pairs.iter().all(|p| p.cohen_kappa.ci_low.is_some()));
    let other_seed = agree(&c, &AgreeOptions { seed: 10, ..opts }).unwrap();
    assert_ne!(other_seed.overall.krippendorff_alpha.ci_low, alpha.ci_low);
}

#[test]
fn undefined_resamples_are_dropped_and_counted() {
    // Only one unit shows a second code: many resamples miss it.
    let c = by_coder(&["a a a a a a b", "a a a a a a a"]);
    let a = agree(
        &c,
        &AgreeOptions {
            bootstrap: 500,
            ..AgreeOptions::default()
        },
    )
    .unwrap();
    let alpha = &a.overall.krippendorff_alpha;
    assert!(alpha.value.is_some());
    assert!(alpha.ci_dropped > 0 && alpha.ci_resamples > 0);
    assert_eq!(alpha.ci_dropped + alpha.ci_resamples, 500);
}

#[test]
fn percentile_interval_interpolates_like_numpy() {
    let values: Vec<Option<f64>> = (0..=10).map(|i| Some(f64::from(i))).chain([None]).collect();
    let i = percentile_interval(&values, 0.5);
    assert_eq!(
        (i.low, i.high, i.used, i.dropped),
        (Some(2.5), Some(7.5), 11, 1)
    );
    assert_eq!(percentile_interval(&[None], 0.95).low, None);
}

#[test]
fn readings_follow_the_conventional_bands() {
    let r = |v: f64, s| render::reading(Some(v), s);
    assert_eq!(r(-0.1, Scale::Kappa), "poor");
    assert_eq!(r(0.2, Scale::Kappa), "slight");
    assert_eq!(r(0.35, Scale::Kappa), "fair");
    assert_eq!(r(0.5, Scale::Kappa), "moderate");
    assert_eq!(r(0.8, Scale::Kappa), "substantial");
    assert_eq!(r(0.81, Scale::Kappa), "almost perfect");
    assert_eq!(r(0.8, Scale::Alpha), "reliable");
    assert_eq!(r(0.7, Scale::Alpha), "tentative conclusions only");
    assert_eq!(r(0.6, Scale::Alpha), "unreliable");
    assert_eq!(render::reading(None, Scale::Alpha), "undefined");
}

#[test]
fn disagreements_are_ordered_for_adjudication() {
    let c = Codings::from_columns(
        ["10", "2", "3", "4", "5", "x"].map(String::from).to_vec(),
        ["a", "b", "c"].map(String::from).to_vec(),
        [
            ["p", "q", ""],  // 10: p/q
            ["q", "r", "r"], // 2: q/r
            ["p", "q", "r"], // 3: three codes
            ["s", "s", "s"], // 4: agreement
            ["q", "p", "q"], // 5: p/q
            ["p", "q", "p"], // x: p/q
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect(),
    )
    .unwrap();
    let d = disagreements(&c);
    let ids: Vec<&str> = d.iter().map(|d| d.unit.as_str()).collect();
    assert_eq!(ids, ["3", "5", "10", "x", "2"]);
    assert_eq!(d[0].n_codes, 3);
    assert_eq!(d[1].main_dispute, ["p".to_string(), "q".to_string()]);
    assert_eq!(d[2].codes, vec![Some("p".into()), Some("q".into()), None]);

    let texts: Vec<String> = ["=1+1", "fine", "a, \"b\"", "", "", "-x"]
        .map(String::from)
        .to_vec();
    let csv = String::from_utf8(disagreements_csv(&d[..3], &c.coders, Some(&texts))).unwrap();
    assert_eq!(
        csv,
        "id,a,b,c,n_codes,text\n3,p,q,r,3,\"a, \"\"b\"\"\"\n5,q,p,q,2,\n10,p,q,,2,'=1+1\n"
    );
    let csv = String::from_utf8(disagreements_csv(&d[3..4], &c.coders, None)).unwrap();
    assert_eq!(csv, "id,a,b,c,n_codes\nx,p,q,p,2\n");
}

#[test]
fn json_and_table_outputs() {
    let a = agree(&by_coder(&KRIPPENDORFF_2011), &AgreeOptions::default()).unwrap();
    let json: serde_json::Value = serde_json::to_value(&a).unwrap();
    for key in [
        "coders",
        "codes",
        "codes_used",
        "units_total",
        "units_used",
        "skipped_units",
        "single_coded_units",
        "pairable_values",
        "disagreement_units",
        "bootstrap",
        "overall",
        "pairs",
        "per_code",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    let alpha = &json["overall"]["krippendorff_alpha"];
    assert!(alpha["ci_low"].is_f64() && alpha["ci_high"].is_f64());
    assert_eq!(json["per_code"][0]["uses_by_coder"]["c3"], 1);
    assert_eq!(a.pairs.len(), 6);
    assert_eq!(a.disagreement_units, 3);

    let table = render_table(&a);
    assert!(table.contains("Krippendorff's alpha"));
    assert!(table.contains("0.743"));
    assert!(table.contains("c1 / c2"));
    assert!(table.lines().all(|l| l == l.trim_end()));
}
