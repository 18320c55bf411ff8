//! Survey files end to end with the real model: repeated respondent ids (refused, or one row
//! kept and the others listed in dropped.csv), respondent columns and weights carried into every
//! output, weighted frequencies with the effective sample size, and `codeframe crosstab` by a
//! kept or a joined variable — bases per respondent and per mention, the chi-square test
//! checked against the table it was computed from.
//!
//! The respondent variables below (country, size, weight) are made up for the test from the row
//! number; the bundled ECCP data has none.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{codeframe, root, rows, stderr};

const COUNTRIES: [&str; 3] = ["DE", "FR", "ES"];

/// The bundled Q7 answers as a survey export: respondent id, text, country and weight, with
/// respondent R006 answering twice (the second row last).
fn survey_file(dir: &Path) -> PathBuf {
    let q7 = rows(&root().join("data/eccp-2020/q7_topics.csv"));
    let mut w = csv::Writer::from_path(dir.join("survey.csv")).unwrap();
    w.write_record(["respondent", "text", "country", "weight"])
        .unwrap();
    for (i, r) in q7.iter().enumerate() {
        let weight = ["0.5", "1", "1,5"][i % 3];
        w.write_record([&r[1], &r[2], COUNTRIES[i % 3], weight])
            .unwrap();
    }
    w.write_record(["R006", "a second answer: funding calls", "DE", "1"])
        .unwrap();
    w.flush().unwrap();
    dir.join("survey.csv")
}

fn discover(input: &Path, out: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--quiet",
        "discover",
        input.to_str().unwrap(),
        "--text-column",
        "text",
        "--id-column",
        "respondent",
        "--k",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    codeframe(&args, cache)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn header(path: &Path) -> Vec<String> {
    csv::Reader::from_path(path)
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect()
}

#[test]
fn repeated_ids_are_refused_unless_one_row_is_kept_and_the_others_listed() {
    let dir = tempfile::tempdir().unwrap();
    let input = survey_file(dir.path());
    let out = dir.path().join("q7");
    let o = discover(&input, &out, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("line 81") && err.contains("\"R006\""), "{err}");
    assert!(err.contains("--duplicates first"), "{err}");

    let o = discover(&input, &out, dir.path(), &["--duplicates", "last"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dropped = rows(&out.join("dropped.csv"));
    assert_eq!(dropped.len(), 1);
    assert_eq!(&dropped[0][0], "R006");
    assert_eq!(&dropped[0][4], "81", "the last row is kept");
    let kept = rows(&out.join("assignments.csv"));
    assert_eq!(kept.len(), 79, "every respondent once");
    assert!(kept
        .iter()
        .any(|r| &r[1] == "a second answer: funding calls"));
    let m = json(&out.join("manifest.json"));
    assert_eq!(m["parameters"]["rows_read"], 80);
    assert_eq!(m["parameters"]["rows_dropped"], 1);
    assert_eq!(m["parameters"]["duplicates"], "last");
    assert!(m["files"]["dropped.csv"].is_string());
}

#[test]
fn kept_columns_and_weights_reach_the_outputs_and_the_crosstab_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let input = survey_file(dir.path());
    let out = dir.path().join("q7");
    let o = discover(
        &input,
        &out,
        dir.path(),
        &[
            "--duplicates",
            "first",
            "--keep-column",
            "country",
            "--weight-column",
            "weight",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let h = header(&out.join("assignments.csv"));
    assert_eq!(&h[h.len() - 2..], ["country", "weight"]);
    let assignments = rows(&out.join("assignments.csv"));
    let by_country: BTreeMap<String, usize> =
        assignments.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r[h.len() - 2].to_string()).or_insert(0) += 1;
            m
        });
    let weights: Vec<f64> = assignments
        .iter()
        .map(|r| r[h.len() - 1].parse().unwrap())
        .collect();
    assert!(weights.contains(&1.5), "a decimal comma is read as a point");
    let freq = header(&out.join("frequencies.csv"));
    assert!(freq.contains(&"weighted_count".to_string()), "{freq:?}");
    let weighted: f64 = rows(&out.join("frequencies.csv"))
        .iter()
        .map(|r| r[4].parse::<f64>().unwrap())
        .sum();
    assert!((weighted - weights.iter().sum::<f64>()).abs() < 1e-3);

    let o = codeframe(
        &[
            "--quiet",
            "crosstab",
            out.to_str().unwrap(),
            "--by",
            "country",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("chi-square"), "{table}");
    let x = json(&out.join("crosstab-country.json"))["crosstab"].clone();
    let columns: Vec<&str> = x["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns, vec!["DE", "ES", "FR", "Total"]);
    let respondents = x["respondents"].as_array().unwrap();
    for (i, c) in ["DE", "ES", "FR"].iter().enumerate() {
        assert_eq!(respondents[i].as_u64().unwrap() as usize, by_country[*c]);
    }
    let column_sums: Vec<u64> = (0..4)
        .map(|c| {
            x["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["counts"][c].as_u64().unwrap())
                .sum()
        })
        .collect();
    assert_eq!(column_sums[3], 79, "each answer in one row");
    let test = &x["test"];
    let p = test["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert!(x["weight_column"] == "weight", "the run's weights are used");
    let n_eff = x["effective_n"][3].as_f64().unwrap();
    let (s, s2) = weights
        .iter()
        .fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    assert!((n_eff - s * s / s2).abs() < 1e-9);
    let csv_header = header(&out.join("crosstab-country.csv"));
    assert!(csv_header.contains(&"DE: weighted share".to_string()));
    assert!(out.join("crosstab-country.xlsx").is_file());

    let o = codeframe(
        &["--quiet", "crosstab", out.to_str().unwrap(), "--by", "role"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--keep-column role"), "{}", stderr(&o));
}

#[test]
fn mentions_of_one_respondent_count_once_on_the_respondent_base() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("data/eccp-2020");
    let frame = dir.path().join("q8.json");
    let q8 = data.join("q8_materials.csv");
    let o = codeframe(
        &[
            "--quiet",
            "fit",
            q8.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--label-column",
            "coder_a",
            "--frame",
            data.join("frame.toml").to_str().unwrap(),
            "--out",
            frame.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("q8");
    let o = codeframe(
        &[
            "--quiet",
            "apply",
            frame.to_str().unwrap(),
            q8.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--keep-column",
            "respondent",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // A respondent file beside the run: size by respondent number.
    let respondents = dir.path().join("respondents.csv");
    let mut w = csv::Writer::from_path(&respondents).unwrap();
    w.write_record(["respondent", "size"]).unwrap();
    for n in 1..=120 {
        let size = if n % 2 == 0 { "small" } else { "large" };
        w.write_record([format!("R{n:03}").as_str(), size]).unwrap();
    }
    w.flush().unwrap();
    let o = codeframe(
        &[
            "--quiet",
            "crosstab",
            out.to_str().unwrap(),
            "--by",
            "size",
            "--join",
            respondents.to_str().unwrap(),
            "--join-id",
            "respondent",
            "--respondent-column",
            "respondent",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The bases from the assignments: coded rows, their respondents, the codes each names.
    let h = header(&out.join("assignments.csv"));
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let mut codes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows(&out.join("assignments.csv")) {
        if &r[col("status")] == "coded" {
            codes
                .entry(r[col("respondent")].to_string())
                .or_default()
                .insert(r[col("code")].to_string());
        }
    }
    let x = json(&out.join("crosstab-size.json"))["crosstab"].clone();
    let total = x["columns"].as_array().unwrap().len() - 1;
    assert_eq!(
        x["respondents"][total].as_u64().unwrap() as usize,
        codes.len()
    );
    let mentions: usize = codes.values().map(BTreeSet::len).sum();
    assert_eq!(x["mentions"][total].as_u64().unwrap() as usize, mentions);
    assert_eq!(x["several_codes"], mentions > codes.len());
    if mentions > codes.len() {
        assert!(x["test"].is_null());
        let sheet = rows(&out.join("crosstab-size.csv"));
        assert!(sheet.iter().any(|r| &r[0] == "Base: mentions"));
    }
}
