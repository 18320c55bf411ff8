//! Answers that name several codes, end to end with the real model: the bundled ECCP Q8
//! answers one row per respondent (the survey file's cell, the codes of its mentions as
//! "A; B"), a frame fitted on them with its learned rule for further codes, `apply --multi`
//! giving two-part answers both codes, `evaluate --mode multi` scoring the sets, and a label
//! cell naming an unknown code refused with its line.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{codeframe, root, rows, stderr};

fn data(name: &str) -> PathBuf {
    root().join("data/eccp-2020").join(name)
}

/// `id,text,codes`: each Q8 respondent's answer and the codes of its mentions.
fn respondents(dir: &Path) -> (PathBuf, BTreeMap<String, Vec<String>>) {
    let mut codes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(&data("q8_materials.csv")) {
        let c = codes.entry(r[1].to_string()).or_default();
        if !c.contains(&r[3].to_string()) {
            c.push(r[3].to_string());
        }
    }
    let path = dir.join("q8.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["id", "text", "codes"]).unwrap();
    for r in rows(&data("survey.csv")) {
        if let Some(c) = codes.get(&r[0]) {
            w.write_record([&r[0], &r[5], c.join("; ").as_str()])
                .unwrap();
        }
    }
    w.flush().unwrap();
    (path, codes)
}

/// `codeframe fit INPUT` on its `codes` column with the ECCP frame's Q8 codes.
fn fit(input: &str, out: &Path, cache: &Path) -> std::process::Output {
    let frame_toml = data("frame.toml");
    codeframe(
        &[
            "fit",
            input,
            "--text-column",
            "text",
            "--label-column",
            "codes",
            "--frame",
            frame_toml.to_str().unwrap(),
            "--question",
            "q8",
            "--out",
            out.to_str().unwrap(),
        ],
        cache,
    )
}

#[test]
fn answers_with_several_codes_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let (input, gold) = respondents(dir.path());
    let input = input.to_str().unwrap();
    let frame = dir.path().join("frame.json");
    let o = fit(input, &frame, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("answers carry several codes"),
        "{}",
        stderr(&o)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&frame).unwrap()).unwrap();
    let rule = &json["multi"];
    assert!(rule["several"].as_u64().unwrap() >= 6, "{rule}");
    assert!(rule["sample_f1"].as_f64().unwrap() >= rule["single_sample_f1"].as_f64().unwrap());

    let out = dir.path().join("apply");
    let o = codeframe(
        &[
            "--quiet",
            "apply",
            frame.to_str().unwrap(),
            input,
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--multi",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let coded = rows(&out.join("assignments.csv"));
    assert_eq!(coded.len(), 113);
    let both = coded
        .iter()
        .filter(|r| gold[&r[0]].len() == 2)
        .filter(|r| {
            let got: Vec<&str> = r[7].split("; ").collect();
            gold[&r[0]].iter().all(|c| got.contains(&c.as_str()))
        })
        .count();
    assert!(both >= 6, "{both} of 8 two-part answers got both codes");
    // The best code leads the list.
    assert!(coded
        .iter()
        .all(|r| r[7].is_empty() || r[7].starts_with(&r[2])));

    let eval = dir.path().join("evaluation.json");
    let o = codeframe(
        &[
            "--quiet",
            "evaluate",
            "--pred",
            out.join("assignments.csv").to_str().unwrap(),
            "--pred-column",
            "codes",
            "--gold",
            input,
            "--gold-column",
            "codes",
            "--mode",
            "multi",
            "--out",
            eval.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&std::fs::read(&eval).unwrap()).unwrap();
    assert_eq!(e["mode"], "multi");
    let m = &e["multi"];
    assert_eq!(m["n"], 113);
    assert!(m["sample_f1"].as_f64().unwrap() > 0.8, "{m}");
    assert!(m["mean_alpha"].as_f64().unwrap() > 0.6, "{m}");
    assert!(m["codes"].as_array().unwrap().len() >= 9);
}

#[test]
fn an_unknown_code_in_a_cell_of_several_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,text,codes\n1,slides please,Presentations\n2,the recording and a list,Recordings; Lists\n",
    )
    .unwrap();
    let o = fit(
        bad.to_str().unwrap(),
        &dir.path().join("f.json"),
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("line 3") && err.contains("\"Lists\""), "{err}");
}
