//! Faults: `discover` and `apply` killed (SIGKILL) at points spread over a run on real answers,
//! then checked and rerun. The output folder is always one whole run, never a mix; every vector
//! the cache reported stored is still there, and the rerun gives the same files as a run that
//! was never interrupted.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{root, rows, stderr};

/// About 750 distinct answers made from the bundled ECCP answers, so a run lasts a few
/// seconds and stores its vectors in several batches of 150.
fn answers(dir: &Path) -> PathBuf {
    let mut texts = Vec::new();
    for f in ["q7_topics.csv", "q8_materials.csv"] {
        for r in rows(&root().join("data/eccp-2020").join(f)) {
            if !r[2].trim().is_empty() {
                texts.push(r[2].to_string());
            }
        }
    }
    let frames = ["{}", "more on {}", "I would like {}", "{} for our cluster"];
    let path = dir.join("answers.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["id", "text"]).unwrap();
    let mut n = 0;
    for f in frames {
        for t in &texts {
            n += 1;
            w.write_record([format!("r{n}"), f.replace("{}", t)])
                .unwrap();
        }
    }
    w.flush().unwrap();
    path
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_codeframe"))
}

/// Runs to the end; stderr.
fn finish(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stderr(&o)
}

/// Starts a run, kills it after `after`; its stderr so far.
fn kill_after(args: &[&str], after: Duration, log: &Path) -> String {
    let file = std::fs::File::create(log).unwrap();
    let mut child = bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
    std::fs::read_to_string(log).unwrap_or_default()
}

/// The largest "(N so far)" the cache reported stored.
fn reported_stored(log: &str) -> usize {
    log.lines()
        // Languages are kept in the cache folder too, in a namespace of their own.
        .filter(|l| !l.contains("languages-"))
        .filter_map(|l| l.strip_prefix("cache: stored "))
        .filter_map(|l| l.rsplit_once('(').map(|(_, n)| n))
        .filter_map(|n| n.split_whitespace().next()?.replace(',', "").parse().ok())
        .max()
        .unwrap_or(0)
}

/// Cache hits of an `embed` run over the same answers with that cache.
fn hits(input: &Path, cache: &Path, npy: &Path) -> usize {
    let err = finish(&[
        "embed",
        input.to_str().unwrap(),
        "--text-column",
        "text",
        // The answers are in four languages, so the runs chose the multilingual model.
        "--model",
        "multilingual-e5-small",
        "--cache-dir",
        cache.to_str().unwrap(),
        "--out",
        npy.to_str().unwrap(),
    ]);
    let line = err.lines().find(|l| l.contains("cache hits")).unwrap();
    line.split(", ")
        .find(|p| p.ends_with("cache hits"))
        .and_then(|p| p.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// The folder is one whole run: every file belongs to its manifest (report checks them all)
/// and it holds the same tables as the uninterrupted run.
fn assert_whole(out: &Path, reference: &Path, files: &[&str]) {
    let o = bin()
        .args(["--quiet", "report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "mixed folder: {}", stderr(&o));
    for f in files {
        let (got, want) = (
            std::fs::read_to_string(out.join(f)).unwrap(),
            std::fs::read_to_string(reference.join(f)).unwrap(),
        );
        if let Some((a, b)) = got.lines().zip(want.lines()).find(|(a, b)| a != b) {
            panic!("{f} differs from the uninterrupted run: {a:?} vs {b:?}");
        }
        assert_eq!(got.len(), want.len(), "{f}");
    }
}

/// Kills the command at points spread over its measured length; checks folder and cache after
/// each kill and after a rerun.
fn kill_at_points(args: &[String], dir: &Path, input: &Path, files: &[&str], points: &[f64]) {
    let reference = dir.join("reference");
    let with = |out: &Path, cache: &Path| -> Vec<String> {
        let mut a = args.to_vec();
        a.extend(
            [
                "-v",
                "--cache-every",
                "150",
                "--cache-dir",
                cache.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ]
            .map(String::from),
        );
        a
    };
    let start = Instant::now();
    let a = with(&reference, &dir.join("cache-ref"));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    finish(&a);
    let length = start.elapsed();
    let out = dir.join("out");
    for (i, p) in points.iter().enumerate() {
        let cache = dir.join(format!("cache-{i}"));
        let a = with(&out, &cache);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let log = kill_after(&a, length.mul_f64(*p), &dir.join(format!("log-{i}")));
        if out.exists() {
            assert_whole(&out, &reference, files);
        }
        let stored = reported_stored(&log);
        let found = hits(input, &cache, &dir.join(format!("check-{i}.npy")));
        assert!(
            found >= stored,
            "kill {i}: {stored} reported stored, {found} found"
        );
        finish(&a);
        assert_whole(&out, &reference, files);
    }
}

#[test]
fn killed_discover_and_apply_never_leave_a_mixed_folder_or_lose_stored_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let input = answers(dir.path());
    let args: Vec<String> = [
        "discover",
        input.to_str().unwrap(),
        "--text-column",
        "text",
        "--id-column",
        "id",
        "--k",
        "8",
        "--method",
        "kmeans",
        "--restarts",
        "3",
    ]
    .map(String::from)
    .to_vec();
    let d = dir.path().join("discover");
    std::fs::create_dir(&d).unwrap();
    kill_at_points(
        &args,
        &d,
        &input,
        &[
            "assignments.csv",
            "groups.json",
            "frequencies.csv",
            "map.csv",
        ],
        &[0.15, 0.35, 0.55, 0.75, 0.9, 0.98],
    );

    let frame = dir.path().join("q8.json");
    let q8 = root().join("data/eccp-2020/q8_materials.csv");
    finish(&[
        "--quiet",
        "fit",
        q8.to_str().unwrap(),
        "--text-column",
        "text",
        "--label-column",
        "coder_a",
        "--id-column",
        "id",
        "--no-cache",
        "--out",
        frame.to_str().unwrap(),
    ]);
    let args: Vec<String> = [
        "apply",
        frame.to_str().unwrap(),
        input.to_str().unwrap(),
        "--text-column",
        "text",
        "--id-column",
        "id",
    ]
    .map(String::from)
    .to_vec();
    let a = dir.path().join("apply");
    std::fs::create_dir(&a).unwrap();
    kill_at_points(
        &args,
        &a,
        &input,
        &[
            "assignments.csv",
            "frequencies.csv",
            "drift.csv",
            "summary.json",
        ],
        &[0.3, 0.6, 0.85, 0.97],
    );
}
