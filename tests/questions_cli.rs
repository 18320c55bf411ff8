//! A survey export with several open questions in one run, with the real model: the bundled
//! wide ECCP file (one row per respondent, closed questions, Q7 and Q8 side by side) coded
//! into one folder per question, a summary that stacks their tables, an index page, and a
//! crosstab by a kept closed question; bad flags for several questions refused with exit 2.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{codeframe, root, rows, stderr};

fn wide() -> std::path::PathBuf {
    root().join("data/eccp-2020/survey.csv")
}

fn discover(out: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    let input = wide();
    let frame = root().join("data/eccp-2020/frame.toml");
    let mut args = vec![
        "--quiet",
        "discover",
        input.to_str().unwrap(),
        "--id-column",
        "respondent",
        "--frame",
        frame.to_str().unwrap(),
        "--k",
        "frame",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    codeframe(&args, cache)
}

/// The file's mentions per respondent, as the long file lists them.
fn mentions(file: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(&root().join("data/eccp-2020").join(file)) {
        m.entry(r[1].to_string())
            .or_default()
            .push(r[2].to_string());
    }
    m
}

#[test]
fn the_wide_eccp_file_is_coded_in_one_run_with_a_folder_per_question() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("survey");
    let o = discover(
        &out,
        dir.path(),
        &[
            "--text-column",
            "q7",
            "--text-column",
            "q8",
            "--keep-column",
            "role",
            "--report",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (folder, file, answered) in [("q7", "q7_topics.csv", 78), ("q8", "q8_materials.csv", 112)] {
        let a = rows(&out.join(folder).join("assignments.csv"));
        assert_eq!(a.len(), 120, "every respondent in {folder}");
        let long = mentions(file);
        for r in &a {
            let expected = long.get(&r[0]).map(|m| m.join(", ")).unwrap_or_default();
            // Formula-like cells ("-") are written with a leading apostrophe.
            let text = r[1].strip_prefix('\'').unwrap_or(&r[1]);
            assert_eq!(
                text,
                expected.strip_prefix('\'').unwrap_or(&expected),
                "{folder} {}",
                &r[0]
            );
        }
        let no_answer = a.iter().filter(|r| &r[5] == "no answer").count();
        assert_eq!(120 - no_answer, answered, "{folder}: answered");
        assert!(a
            .iter()
            .filter(|r| &r[5] == "no answer")
            .all(|r| r[3].is_empty()));
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(folder).join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(
            m["parameters"]["question"], folder,
            "the frame question of the column"
        );
        assert!(out.join(folder).join("report.html").is_file());
    }
    // summary.csv is each question's frequencies.csv row for row.
    let summary = rows(&out.join("summary.csv"));
    for folder in ["q7", "q8"] {
        let own: Vec<Vec<String>> = rows(&out.join(folder).join("frequencies.csv"))
            .iter()
            .map(|r| r.iter().map(str::to_string).collect())
            .collect();
        let stacked: Vec<Vec<String>> = summary
            .iter()
            .filter(|r| &r[1] == folder)
            .map(|r| r.iter().skip(5).map(str::to_string).collect())
            .collect();
        assert_eq!(stacked, own, "{folder}");
    }
    let index = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(index.contains("Please suggest topics for future capacity building webinars"));
    assert!(index.contains("href=\"q8/report.html\""));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["parameters"]["questions"][1]["column"], "q8");
    assert!(m["files"]["q7/manifest.json"].is_string());

    // The crosstab of a question by a kept closed question: its bases are the answered rows.
    let q7 = out.join("q7");
    let o = codeframe(
        &["--quiet", "crosstab", q7.to_str().unwrap(), "--by", "role"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let x: serde_json::Value =
        serde_json::from_slice(&std::fs::read(q7.join("crosstab-role.json")).unwrap()).unwrap();
    let text = x.to_string();
    assert!(text.contains("Manager/ officer"), "{text}");
    // A survey folder is not a run of one question.
    let o = codeframe(
        &["crosstab", out.to_str().unwrap(), "--by", "role"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("survey run of 2 questions"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_flags_for_several_questions_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("survey");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--text-column", "q7", "--text-column", "q7"],
            "given twice",
        ),
        (
            &[
                "--text-column",
                "q7",
                "--text-column",
                "q8",
                "--question",
                "q7",
            ],
            "leave out --question",
        ),
        (
            &["--text-column", "q7", "--text-column", "q9"],
            "no column named \"q9\"",
        ),
        (
            &["--text-column", "q7", "--text-column", "role"],
            "no question for column \"role\"",
        ),
    ];
    for (flags, message) in cases {
        let o = discover(&out, dir.path(), flags);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "{flags:?}: nothing written");
    }
    let npy = dir.path().join("x.npy");
    let input = wide();
    let o = codeframe(
        &[
            "embed",
            input.to_str().unwrap(),
            "--text-column",
            "q7",
            "--text-column",
            "q8",
            "--out",
            npy.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("codes one question"), "{}", stderr(&o));
}

#[test]
fn apply_codes_the_wide_file_zero_shot_with_a_folder_per_question() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wave");
    let frame = root().join("data/eccp-2020/frame.toml");
    let input = wide();
    let apply = |out: &Path, frame: &Path| {
        codeframe(
            &[
                "--quiet",
                "apply",
                frame.to_str().unwrap(),
                input.to_str().unwrap(),
                "--text-column",
                "q7",
                "--text-column",
                "q8",
                "--id-column",
                "respondent",
                "--out",
                out.to_str().unwrap(),
                "--report",
            ],
            dir.path(),
        )
    };
    let o = apply(&out, &frame);
    assert!(o.status.success(), "{}", stderr(&o));
    for folder in ["q7", "q8"] {
        let a = rows(&out.join(folder).join("assignments.csv"));
        assert_eq!(a.len(), 120, "every respondent in {folder}");
        let statuses: Vec<&str> = a.iter().map(|r| r.get(6).unwrap_or("")).collect();
        assert!(statuses.contains(&"no answer"), "{folder}: {statuses:?}");
    }
    let summary = rows(&out.join("summary.csv"));
    assert!(summary
        .iter()
        .any(|r| &r[0] == "q8" && &r[5] == "Presentations"));
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("href=\"q7/report.html\""));
    // One learned frame cannot code two questions.
    let json = dir.path().join("q7.json");
    std::fs::write(&json, "{}").unwrap();
    let o = apply(&dir.path().join("other"), &json);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a learned frame codes one question"),
        "{}",
        stderr(&o)
    );
}

/// The wide file with the coders' codes beside each question (`q7_code`, `q8_code`: the codes
/// of the respondent's mentions, "A; B").
fn coded_wide(dir: &Path) -> std::path::PathBuf {
    let codes = |file: &str| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows(&root().join("data/eccp-2020").join(file)) {
            let c = m.entry(r[1].to_string()).or_default();
            if !c.contains(&r[3].to_string()) {
                c.push(r[3].to_string());
            }
        }
        m
    };
    let (q7, q8) = (codes("q7_topics.csv"), codes("q8_materials.csv"));
    let path = dir.join("coded.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["respondent", "q7", "q7_code", "q8", "q8_code"])
        .unwrap();
    for r in rows(&wide()) {
        let get = |m: &BTreeMap<String, Vec<String>>| m.get(&r[0]).map(|c| c.join("; "));
        w.write_record([
            &r[0],
            &r[4],
            &get(&q7).unwrap_or_default(),
            &r[5],
            &get(&q8).unwrap_or_default(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn fit_learns_a_frame_per_question_that_apply_takes_as_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let coded = coded_wide(dir.path());
    let frames = dir.path().join("frames");
    let frame = root().join("data/eccp-2020/frame.toml");
    let fit = |extra: &[&str], out: &Path| {
        let mut args = vec![
            "--quiet",
            "fit",
            coded.to_str().unwrap(),
            "--id-column",
            "respondent",
            "--frame",
            frame.to_str().unwrap(),
            "--text-column",
            "q7",
            "--text-column",
            "q8",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        codeframe(&args, dir.path())
    };
    let o = fit(
        &["--label-column", "q7_code", "--label-column", "q8_code"],
        &frames,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (q, n) in [("q7", 15), ("q8", 9)] {
        let f: serde_json::Value =
            serde_json::from_slice(&std::fs::read(frames.join(format!("{q}.json"))).unwrap())
                .unwrap();
        assert_eq!(f["question"], q);
        assert_eq!(f["codes"].as_array().unwrap().len(), n, "{q}");
    }
    let out = dir.path().join("wave");
    let o = codeframe(
        &[
            "--quiet",
            "apply",
            frames.to_str().unwrap(),
            coded.to_str().unwrap(),
            "--id-column",
            "respondent",
            "--text-column",
            "q7",
            "--text-column",
            "q8",
            "--multi",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let q8 = rows(&out.join("q8/assignments.csv"));
    assert_eq!(q8.len(), 120);
    let coded_rows = q8.iter().filter(|r| &r[6] == "coded").count();
    assert!(
        coded_rows > 80,
        "{coded_rows} of 112 answers coded (in-sample)"
    );

    // Refused before any work: labels that do not pair with the questions, one frame file.
    let cases: [(&[&str], &Path, &str); 2] = [
        (
            &["--label-column", "q7_code"],
            &dir.path().join("f2"),
            "2 --text-column but 1 --label-column",
        ),
        (
            &["--label-column", "q7_code", "--label-column", "q8_code"],
            &dir.path().join("one.json"),
            "names one frame file",
        ),
    ];
    for (flags, out, message) in cases {
        let o = fit(flags, out);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{flags:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
}
