//! `codeframe evaluate` end to end on real files: scores, JSON, mismatched label files.

#![allow(clippy::unwrap_used)]

mod common;

use common::{codeframe, root, stderr};

fn run(
    pred: &str,
    pred_col: &str,
    gold: &str,
    gold_col: &str,
    extra: &[&str],
) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "evaluate",
        "--pred",
        pred,
        "--pred-column",
        pred_col,
        "--gold",
        gold,
        "--gold-column",
        gold_col,
    ];
    args.extend_from_slice(extra);
    codeframe(&args, dir.path())
}

#[test]
fn second_coder_against_first_on_eccp_q7() {
    let q7 = root().join("data/eccp-2020/q7_topics.csv");
    let q7 = q7.to_str().unwrap();
    let o = run(q7, "coder_b", q7, "coder_a", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "codes");
    assert_eq!(v["n"], 79);
    assert_eq!(v["report"]["classification"]["accuracy"], 1.0);
    assert_eq!(v["report"]["frequencies"]["tvd"], 0.0);
    assert_eq!(v["manifest"]["command"], "evaluate");
    let table = stderr(&o);
    assert!(
        table.contains("Financing and funding opportunities"),
        "{table}"
    );
}

#[test]
fn groups_are_matched_to_codes() {
    let dir = tempfile::tempdir().unwrap();
    let pred = dir.path().join("pred.csv");
    let gold = dir.path().join("gold.csv");
    std::fs::write(&pred, "id,group\n1,7\n2,7\n3,3\n4,3\n5,3\n6,\n").unwrap();
    std::fs::write(
        &gold,
        "id,code\n1,Money\n2,Money\n3,People\n4,People\n5,Money\n6,People\n7,\n",
    )
    .unwrap();
    let out = dir.path().join("eval.json");
    let o = run(
        pred.to_str().unwrap(),
        "group",
        gold.to_str().unwrap(),
        "code",
        &["--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["mode"], "groups");
    assert_eq!(v["n"], 6);
    assert_eq!(v["gold_uncoded"], 1);
    let acc = v["report"]["cluster"]["acc"].as_f64().unwrap();
    assert!((acc - 4.0 / 6.0).abs() < 1e-12, "{acc}");
    assert_eq!(v["report"]["cluster"]["mapping"]["7"], "Money");
}

#[test]
fn a_label_file_that_does_not_match_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pred = dir.path().join("pred.csv");
    let gold = dir.path().join("gold.csv");
    std::fs::write(&pred, "id,group\n1,a\n2,b\n").unwrap();
    std::fs::write(&gold, "id,code\n1,x\n2,y\n3,z\n").unwrap();
    let o = run(
        pred.to_str().unwrap(),
        "group",
        gold.to_str().unwrap(),
        "code",
        &[],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("gold.csv, line 4") && e.contains("\"3\"") && e.contains("Fix:"),
        "{e}"
    );
    let o = run(
        pred.to_str().unwrap(),
        "cluster",
        gold.to_str().unwrap(),
        "code",
        &[],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("--pred-column"), "{e}");
}

#[test]
fn codes_the_coders_never_used_do_not_turn_codes_into_groups() {
    let dir = tempfile::tempdir().unwrap();
    let pred = dir.path().join("pred.csv");
    let gold = dir.path().join("gold.csv");
    std::fs::write(&pred, "id,code\n1,10\n2,2\n3,13\n4,2\n5,99\n").unwrap();
    std::fs::write(&gold, "id,code\n1,10\n2,2\n3,13\n4,13\n5,2\n").unwrap();
    let (p, g) = (pred.to_str().unwrap(), gold.to_str().unwrap());
    let o = run(p, "code", g, "code", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "codes");
    assert!(v["mode_reason"].as_str().unwrap().contains("4 of 5"), "{v}");
    assert_eq!(v["unknown_labels"], serde_json::json!([["99", 1]]));
    let err = stderr(&o);
    assert!(err.contains("not gold labels: \"99\" (1)"), "{err}");
}
