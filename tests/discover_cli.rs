//! `codeframe discover` end to end with the real model on the bundled ECCP answers.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{codeframe, root, rows, stderr};

fn discover(input: &Path, out: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "discover",
        input.to_str().unwrap(),
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
fn q8_with_the_frame_writes_every_row_and_names_groups() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q8");
    let input = root().join("data/eccp-2020/q8_materials.csv");
    let frame = root().join("data/eccp-2020/frame.toml");
    let o = discover(
        &input,
        &out,
        dir.path(),
        &["--k", "9", "--frame", frame.to_str().unwrap()],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let a = rows(&out.join("assignments.csv"));
    assert_eq!(a.len(), 121, "every input row is in the output");
    let set_aside = a.iter().filter(|r| &r[5] != "clustered").count();
    assert!((1..=5).contains(&set_aside), "{set_aside} set aside");
    for r in a.iter().filter(|r| &r[5] == "clustered") {
        assert!(!r[2].is_empty() && !r[3].is_empty() && !r[4].is_empty());
    }
    // The frame codes non-answers "Other" (nonanswers = true): set-aside rows keep their
    // status and no group, and are reported under that code.
    for r in a.iter().filter(|r| &r[5] != "clustered") {
        assert!(r[2].is_empty() && &r[3] == "Other", "{r:?}");
    }
    let groups: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("groups.json")).unwrap()).unwrap();
    assert_eq!(groups["k"], 9);
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Presentations"), "{names:?}");
    assert!(names.contains(&"Recordings"), "{names:?}");
    let f = rows(&out.join("frequencies.csv"));
    let total: usize = f.iter().map(|r| r[1].parse::<usize>().unwrap()).sum();
    assert_eq!(total, 121);
    assert!(f.iter().all(|r| !r[0].starts_with("(set aside")), "{f:?}");
    assert_eq!(groups["set_aside_as"], "Other");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["seed"], 42);
    assert_eq!(m["parameters"]["question"], "q8");
    assert_eq!(m["parameters"]["method"], "auto", "the default method");
}

#[test]
fn row_order_does_not_change_the_groups() {
    let dir = tempfile::tempdir().unwrap();
    let input = root().join("data/eccp-2020/q7_topics.csv");
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let shuffled = dir.path().join("q7_reversed.csv");
    std::fs::write(&shuffled, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(discover(&input, &a, dir.path(), &["--k", "6"])
        .status
        .success());
    assert!(discover(&shuffled, &b, dir.path(), &["--k", "6"])
        .status
        .success());
    let by_id = |p: &Path| -> std::collections::BTreeMap<String, String> {
        rows(&p.join("assignments.csv"))
            .into_iter()
            .map(|r| (r[0].to_string(), r[2].to_string()))
            .collect()
    };
    assert_eq!(by_id(&a), by_id(&b));
    assert_eq!(
        std::fs::read(a.join("groups.json")).unwrap(),
        std::fs::read(b.join("groups.json")).unwrap()
    );
}

#[test]
fn k_auto_prints_the_curve_and_too_many_groups_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = root().join("data/eccp-2020/q8_materials.csv");
    let o = discover(
        &input,
        &dir.path().join("auto"),
        dir.path(),
        &["--k", "auto", "--k-range", "2..10"],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("<- chosen"), "{err}");
    let o = discover(&input, &dir.path().join("x"), dir.path(), &["--k", "500"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("distinct answers"));
}

#[test]
fn k_frame_seeds_one_group_per_code_and_rolls_up_to_topic_groups() {
    let dir = tempfile::tempdir().unwrap();
    let input = root().join("data/eccp-2020/q7_topics.csv");
    let frame = root().join("data/eccp-2020/frame.toml");
    let out = dir.path().join("q7");
    let o = discover(
        &input,
        &out,
        dir.path(),
        &[
            "--k",
            "frame",
            "--frame",
            frame.to_str().unwrap(),
            "--level",
            "groups",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let groups: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("groups.json")).unwrap()).unwrap();
    assert_eq!(groups["k"], 15);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["parameters"]["method"], "kmeans",
        "--k frame starts k-means from the codes"
    );
    let f = rows(&out.join("frequencies.csv"));
    let names: Vec<&str> = f
        .iter()
        .map(|r| r.get(0).unwrap())
        .filter(|n| !n.starts_with("(set aside"))
        .collect();
    assert!(names.len() <= 6, "{names:?}");
    assert!(names.contains(&"Other"), "{names:?}");
    let total: usize = f.iter().map(|r| r[1].parse::<usize>().unwrap()).sum();
    assert_eq!(total, 79);
    assert!(names.contains(&"Cluster business development"), "{names:?}");
    let o = discover(&input, &dir.path().join("x"), dir.path(), &["--k", "frame"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--frame"), "{}", stderr(&o));
}
