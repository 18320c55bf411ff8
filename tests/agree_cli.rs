//! `codeframe agree` end to end: published reference values through the CLI, a machine coder
//! joined from a real discover run, disagreements for adjudication, and bad input.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{codeframe, root, stderr};

/// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders × 12 units.
const KRIPPENDORFF_2011: &str = "id,A,B,C,D
1,1,1,,1
2,2,2,3,2
3,3,3,3,3
4,3,3,3,3
5,2,2,2,2
6,1,2,3,4
7,4,4,4,4
8,1,1,2,1
9,2,2,2,2
10,,5,5,5
11,,,1,1
12,,3,,
";

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn published_alpha_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "k.csv", KRIPPENDORFF_2011);
    let v = json(&codeframe(
        &["agree", &f, "--coders", "A,B,C,D", "--bootstrap", "200"],
        dir.path(),
    ));
    let alpha = &v["overall"]["krippendorff_alpha"];
    assert!((alpha["value"].as_f64().unwrap() - 0.743421).abs() < 1e-6);
    assert!(alpha["ci_low"].as_f64().unwrap() <= alpha["value"].as_f64().unwrap());
    assert_eq!(v["units_used"], 11);
    assert_eq!(v["skipped_units"], 1);
    assert_eq!(v["pairs"].as_array().unwrap().len(), 6);
    assert_eq!(v["manifest"]["seed"], 42);
}

#[test]
fn disagreements_are_listed_for_adjudication() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "c.csv",
        "id,text,a,b\n1,grants,fund,fund\n2,=cmd(),fund,comm\n3,webinars,comm,comm\n4,x,comm,\n",
    );
    let out = dir.path().join("agree.json");
    let o = codeframe(
        &[
            "agree",
            &f,
            "--coders",
            "a,b",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Cohen kappa"));
    let csv = std::fs::read_to_string(dir.path().join("disagreements.csv")).unwrap();
    assert_eq!(csv, "id,a,b,n_codes,text\n2,fund,comm,2,'=cmd()\n");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["disagreement_units"], 1);
    assert_eq!(v["skipped_units"], 1);
}

#[test]
fn machine_coder_joined_from_a_discover_run() {
    let dir = tempfile::tempdir().unwrap();
    let q8 = root().join("data/eccp-2020/q8_materials.csv");
    let frame = root().join("data/eccp-2020/frame.toml");
    let run = dir.path().join("q8");
    let o = codeframe(
        &[
            "--quiet",
            "discover",
            q8.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--k",
            "frame",
            "--frame",
            frame.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let join = format!(
        "{}:group_name=machine",
        run.join("assignments.csv").display()
    );
    let v = json(&codeframe(
        &[
            "agree",
            q8.to_str().unwrap(),
            "--coders",
            "coder_a,coder_b",
            "--join",
            &join,
            "--bootstrap",
            "100",
        ],
        dir.path(),
    ));
    assert_eq!(
        v["coders"],
        serde_json::json!(["coder_a", "coder_b", "machine"])
    );
    let pair = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["coder_a"] == "coder_a" && p["coder_b"] == "machine")
        .unwrap()
        .clone();
    // The frame-seeded run codes Q8 close to the report (BENCHMARKS.md: kappa 0.788).
    assert!(
        pair["cohen_kappa"]["value"].as_f64().unwrap() > 0.6,
        "{pair}"
    );
}

#[test]
fn bad_input_exits_2_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "c.csv", "id,a,b\n1,x,x\n2,y,\n");
    let other = write(dir.path(), "o.csv", "id,code\n9,x\n");
    let dup = write(dir.path(), "d.csv", "id,a,b\n1,x,x\n1,y,y\n");
    let none = write(dir.path(), "n.csv", "id,a,b\n1,x,\n2,,y\n");
    let join_other = format!("{other}:code");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["agree", &f, "--coders", "a,nope"], "nope"),
        (vec!["agree", &f, "--coders", "a"], "at least two coders"),
        (
            vec!["agree", &f, "--coders", "a", "--join", "o.csv"],
            "FILE:COLUMN",
        ),
        (
            vec!["agree", &f, "--coders", "a", "--join", &join_other],
            "none of its ids",
        ),
        (vec!["agree", &dup, "--coders", "a,b"], "used again"),
        (
            vec!["agree", &none, "--coders", "a,b"],
            "two or more coders",
        ),
        (
            vec!["agree", "missing.csv", "--coders", "a,b"],
            "no such file",
        ),
    ];
    for (args, needle) in cases {
        let o = codeframe(&args, dir.path());
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
        assert_eq!(e.lines().filter(|l| l.contains("error")).count(), 1, "{e}");
    }
}
