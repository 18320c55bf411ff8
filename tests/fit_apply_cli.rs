//! `codeframe fit` and `codeframe apply` end to end with the real model on the ECCP survey:
//! a frame learned from coded answers codes a wave, every row accounted for, byte-identical
//! reruns, one answer alone coded as within the batch, drift against a previous wave, zero-shot
//! coding from the frame's descriptions, and refusals with exit code 2.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{codeframe, root, rows, stderr};

fn data(name: &str) -> String {
    root()
        .join("data/eccp-2020")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn fit_q8(dir: &Path) -> PathBuf {
    let out = dir.join("q8.json");
    let o = codeframe(
        &[
            "--quiet",
            "fit",
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--label-column",
            "coder_a",
            "--id-column",
            "id",
            "--frame",
            &data("frame.toml"),
            "--out",
            out.to_str().unwrap(),
        ],
        dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn apply(
    frame: &str,
    input: &str,
    out: &Path,
    cache: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "--quiet",
        "apply",
        frame,
        input,
        "--text-column",
        "text",
        "--id-column",
        "id",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    codeframe(&args, cache)
}

#[test]
fn learned_frame_codes_every_row_and_reruns_identically() {
    let dir = tempfile::tempdir().unwrap();
    let frame = fit_q8(dir.path());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&frame).unwrap()).unwrap();
    assert_eq!(json["format"], "codeframe-frame");
    assert_eq!(json["codes"].as_array().unwrap().len(), 9);
    assert!(
        json["training"]["kappa"].as_f64().unwrap() > 0.7,
        "{}",
        json["training"]
    );
    assert!(json["model"]["checksum"].as_str().unwrap().len() >= 16);

    let frame = frame.to_str().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let o = apply(
        frame,
        &data("q8_materials.csv"),
        &a,
        dir.path(),
        &["--multi"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = apply(
        frame,
        &data("q8_materials.csv"),
        &b,
        dir.path(),
        &["--multi"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "assignments.csv",
        "frequencies.csv",
        "drift.csv",
        "summary.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let coded = rows(&a.join("assignments.csv"));
    assert_eq!(coded.len(), 121);
    let statuses: std::collections::BTreeSet<&str> = coded.iter().map(|r| &r[6]).collect();
    assert!(statuses.contains("coded"));
    assert!(statuses.iter().all(|s| [
        "coded",
        "below threshold",
        "new language",
        "empty",
        "non-substantive"
    ]
    .contains(s)));
    // The frame learned from few answers in German, French and Spanish (under ten each, and
    // under a tenth of the answers): theirs go to review; the English ones never do.
    for r in &coded {
        assert_eq!(
            &r[6] == "new language",
            ["de", "fr", "es"].contains(&&r[9]),
            "{r:?}"
        );
    }
    let right = coded
        .iter()
        .zip(rows(Path::new(&data("q8_materials.csv"))))
        .filter(|(p, g)| p[0] == g[0] && p[2] == g[3])
        .count();
    assert!(
        right > 100,
        "{right} of 121 coded as the report did (in-sample)"
    );

    // One answer alone gets the code and confidence it got within the batch.
    let one = dir.path().join("one.csv");
    std::fs::write(
        &one,
        format!("id,text\n{},\"{}\"\n", &coded[4][0], &coded[4][1]),
    )
    .unwrap();
    let solo = dir.path().join("solo");
    let o = apply(
        frame,
        one.to_str().unwrap(),
        &solo,
        &dir.path().join("other-cache"),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let alone = rows(&solo.join("assignments.csv"));
    assert_eq!(alone[0][2], coded[4][2]);
    let (x, y): (f32, f32) = (alone[0][5].parse().unwrap(), coded[4][5].parse().unwrap());
    assert!((x - y).abs() <= 1e-4, "{x} vs {y}");

    // Drift against the previous wave: the same answers, so nothing changed.
    let c = dir.path().join("c");
    let o = apply(
        frame,
        &data("q8_materials.csv"),
        &c,
        dir.path(),
        &["--previous", a.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for r in rows(&c.join("drift.csv")) {
        assert_eq!(r[1], r[3], "{r:?}");
        assert_eq!(&r[8], "");
    }
}

#[test]
fn zero_shot_from_the_frame_descriptions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("z");
    let o = apply(
        &data("frame.toml"),
        &data("q8_materials.csv"),
        &out,
        dir.path(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let coded = rows(&out.join("assignments.csv"));
    assert_eq!(coded.len(), 121);
    let gold = rows(Path::new(&data("q8_materials.csv")));
    let right = coded
        .iter()
        .zip(&gold)
        .filter(|(p, g)| p[2] == g[3])
        .count();
    assert!(right > 80, "{right} of 121");
    // Non-answers carry the frame's code for them ("Other", nonanswers = true) and keep
    // their status.
    let aside: Vec<_> = coded
        .iter()
        .filter(|r| &r[6] == "non-substantive" || &r[6] == "empty")
        .collect();
    assert!(!aside.is_empty());
    assert!(
        aside.iter().all(|r| &r[2] == "Other" && r[5].is_empty()),
        "{aside:?}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["drift_baseline"]
        .as_str()
        .unwrap()
        .starts_with("none"));
}

#[test]
fn refusals_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let frame = fit_q8(dir.path());
    let other = dir.path().join("other-model.json");
    let text = std::fs::read_to_string(&frame).unwrap();
    let checksum = serde_json::from_str::<serde_json::Value>(&text).unwrap()["model"]["checksum"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&other, text.replace(&checksum, "0123456789abcdef")).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,text,code\n1,slides please,Slides\n2,the recording,Recordings\n",
    )
    .unwrap();
    let out = dir.path().join("o");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "apply".into(),
                other.to_str().unwrap().into(),
                data("q8_materials.csv"),
                "--text-column".into(),
                "text".into(),
                "--out".into(),
                out.to_str().unwrap().into(),
            ],
            "(checksum 0123456789abcdef)",
        ),
        (
            vec![
                "fit".into(),
                bad.to_str().unwrap().into(),
                "--text-column".into(),
                "text".into(),
                "--label-column".into(),
                "code".into(),
                "--frame".into(),
                data("frame.toml"),
                "--question".into(),
                "q8".into(),
                "--out".into(),
                dir.path().join("f.json").to_str().unwrap().into(),
            ],
            "line 2",
        ),
        (
            vec![
                "fit".into(),
                data("q8_materials.csv"),
                "--text-column".into(),
                "text".into(),
                "--label-column".into(),
                "nope".into(),
                "--out".into(),
                dir.path().join("f.json").to_str().unwrap().into(),
            ],
            "nope",
        ),
        (
            vec![
                "fit".into(),
                data("q8_materials.csv"),
                "--text-column".into(),
                "text".into(),
                "--label-column".into(),
                "coder_a".into(),
                "--keep-together".into(),
                "panel_id".into(),
                "--out".into(),
                dir.path().join("f.json").to_str().unwrap().into(),
            ],
            "--keep-together with one of the header's columns",
        ),
        (
            vec![
                "fit".into(),
                data("q8_materials.csv"),
                "--text-column".into(),
                "text".into(),
                "--label-column".into(),
                "coder_a".into(),
                "--folds".into(),
                "1".into(),
                "--out".into(),
                dir.path().join("f.json").to_str().unwrap().into(),
            ],
            "--folds",
        ),
        (
            vec![
                "apply".into(),
                data("q8_materials.csv"),
                data("q8_materials.csv"),
                "--text-column".into(),
                "text".into(),
                "--out".into(),
                out.to_str().unwrap().into(),
            ],
            "not a codeframe frame",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = codeframe(&args, dir.path());
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}
