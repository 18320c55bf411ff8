//! `codeframe review` without a browser: the server's guards (Host, Origin, token, body size),
//! durability under `kill -9`, and the round trips the workspace promises — agreement equal to
//! `codeframe agree` on the export, the exported frame read back unchanged, `fit` learning from
//! the exported coded.csv and `apply` coding with the edited frame.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::server::{agree, export, request, Server};
use common::{codeframe, model_dir, rows, stderr};
use serde_json::json;
use std::path::Path;

const Q7: &str = "data/eccp-2020/q7_topics.csv";
const FRAME: &str = "data/eccp-2020/frame.toml";

fn root(p: &str) -> String {
    common::root().join(p).display().to_string()
}

/// Arguments that open the bundled Q7 answers with the bundled frame.
fn q7_args() -> Vec<String> {
    [
        "--input",
        &root(Q7),
        "--text-column",
        "text",
        "--id-column",
        "id",
        "--frame",
        &root(FRAME),
    ]
    .map(String::from)
    .to_vec()
}

fn start(dir: &Path, coder: &str) -> Server {
    let a = q7_args();
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    Server::start(dir, coder, &refs)
}

#[test]
fn foreign_hosts_origins_writes_without_token_and_big_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "ann");
    let ok = s.get("/api/state");
    assert_eq!(ok.status, 200);
    let csp = ok.headers.to_ascii_lowercase();
    assert!(
        csp.contains("content-security-policy: default-src 'none'"),
        "{csp}"
    );
    // DNS rebinding: a name that resolves here but is not ours.
    let r = request(
        s.port,
        "GET",
        "/api/state",
        &[("Host", "evil.example:80")],
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(s.port, "GET", "/api/state", &[], None);
    assert_eq!(r.status, 403, "no Host at all");
    // Another site's page in the same browser.
    let host = s.host();
    let r = request(
        s.port,
        "GET",
        "/api/answers",
        &[("Host", &host), ("Origin", "http://evil.example")],
        None,
    );
    assert_eq!(r.status, 403);
    let body = json!({"writes": [[0, 0]], "code": 1}).to_string();
    let r = request(
        s.port,
        "POST",
        "/api/code",
        &[("Host", &host), ("Content-Type", "application/json")],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 403, "a write without the token");
    let r = request(
        s.port,
        "POST",
        "/api/code",
        &[
            ("Host", &host),
            ("Content-Type", "application/json"),
            ("X-Codeframe-Token", "0000"),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 403, "a write with a wrong token");
    // Nothing of those landed.
    assert_eq!(s.answers("all")[0]["final_code"], serde_json::Value::Null);
    // A body over the limit.
    let big = format!(
        "{{\"writes\": [{}], \"code\": 1}}",
        vec!["[0, 0]"; 300_000].join(",")
    );
    let r = request(
        s.port,
        "POST",
        "/api/code",
        &[
            ("Host", &host),
            ("Content-Type", "application/json"),
            ("X-Codeframe-Token", &s.token),
        ],
        Some(big.as_bytes()),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    // With the token, from our own page, a write lands.
    let r = s.post("/api/code", &json!({"writes": [[0, 0]], "code": 1}));
    assert_eq!(r.status, 200, "{}", r.body);
    // No route reads a path: unknown exports and traversal are refused.
    assert_eq!(s.get("/api/export/..%2F..%2Fetc%2Fpasswd").status, 400);
    assert_eq!(s.get("/etc/passwd").status, 404);
    s.stop();
}

#[test]
fn two_coders_at_once_get_a_conflict_not_a_lost_update() {
    let dir = tempfile::tempdir().unwrap();
    let ann = start(dir.path(), "ann");
    let bob = Server::start(dir.path(), "bob", &[]);
    let codes = ann.codes();
    let (a, b) = (codes[0].1, codes[1].1);
    let seen = ann.answers("all")[3]["base"].as_i64().unwrap();
    assert_eq!(bob.answers("all")[3]["base"].as_i64().unwrap(), seen);
    let r = ann.post("/api/code", &json!({"writes": [[3, seen]], "code": a}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = bob.post("/api/code", &json!({"writes": [[3, seen]], "code": b}));
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("since your page showed it"));
    assert_eq!(bob.answers("all")[3]["final_code"].as_i64(), Some(a));
    // Frame edits too: Bob's page showed version v, Ann edits first.
    let v = ann.get("/api/state").json()["frame"]["version"]
        .as_i64()
        .unwrap();
    let r = ann.post(
        "/api/edit",
        &json!({"version": v, "edit": {"kind": "rename", "code": a, "label": "Funding"}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = bob.post(
        "/api/edit",
        &json!({"version": v, "edit": {"kind": "rename", "code": a, "label": "Money"}}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(bob.codes()[0].0, "Funding");
    ann.stop();
    bob.stop();
}

#[test]
fn kill_9_mid_write_loses_at_most_the_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "ann");
    let code = s.codes()[0].1;
    let port = s.port;
    let (host, token) = (s.host(), s.token.clone());
    let codes: Vec<i64> = s.codes().iter().map(|c| c.1).collect();
    let writer = std::thread::spawn(move || {
        // Round after round over the answers, each write based on the one before it.
        let mut base = vec![0i64; 79];
        let mut acknowledged = 0usize;
        for i in 0.. {
            let row = i % 79;
            let body = json!({"writes": [[row, base[row]]], "code": codes[(i / 79) % codes.len()]})
                .to_string();
            let r = request(
                port,
                "POST",
                "/api/code",
                &[
                    ("Host", &host),
                    ("Content-Type", "application/json"),
                    ("X-Codeframe-Token", &token),
                ],
                Some(body.as_bytes()),
            );
            if r.status != 200 {
                break;
            }
            base[row] = r.json()["seqs"][0].as_i64().unwrap();
            acknowledged += 1;
        }
        acknowledged
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = s.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let acknowledged = writer.join().unwrap();
    drop(s);
    // Reopened, the store has every acknowledged write and at most the one in flight.
    let s = start(dir.path(), "ann");
    let stored: usize = (0..79)
        .map(|row| {
            s.get(&format!("/api/history?row={row}"))
                .json()
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["actor"] == "ann")
                .count()
        })
        .sum();
    assert!(acknowledged > 0);
    assert!(
        stored == acknowledged || stored == acknowledged + 1,
        "{acknowledged} acknowledged, {stored} in the store"
    );
    // And coding goes on where it stopped.
    let a = &s.answers("all")[0];
    let r = s.post(
        "/api/code",
        &json!({"writes": [[0, a["base"]]], "code": code}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop();
}

/// Ann codes Q7 as its coder_a did, Bob second-codes a blind sample as coder_b did.
fn code_like_the_report(dir: &Path) -> (Server, f64) {
    let ann = start(dir, "ann");
    let codes = ann.codes();
    let by_label = |l: &str| codes.iter().find(|c| c.0 == l).map(|c| c.1);
    let human = rows(&common::root().join(Q7));
    for (row, rec) in human.iter().enumerate() {
        let Some(code) = by_label(&rec[3]) else {
            continue;
        };
        let r = ann.post("/api/code", &json!({"writes": [[row, 0]], "code": code}));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = ann.post(
        "/api/sample",
        &json!({"coder": "bob", "size": 40, "seed": 42}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let bob = Server::start(dir, "bob", &[]);
    let sample = bob.answers("all");
    assert_eq!(sample.len(), 40);
    for a in &sample {
        assert!(
            a["suggestion"].is_null() && a["final_code"].is_null(),
            "blind: {a}"
        );
        let row = a["row"].as_u64().unwrap() as usize;
        let code = by_label(&human[row][4]).unwrap_or(codes[0].1);
        let r = bob.post(
            "/api/code",
            &json!({"writes": [[row, a["base"]]], "code": code}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(bob.get("/api/agreement?a=ann&b=bob").status, 400, "blind");
    bob.stop();
    let ag = ann.get("/api/agreement?a=ann&b=bob").json();
    let kappa = ag["pairs"][0]["cohen_kappa"]["value"].as_f64().unwrap();
    (ann, kappa)
}

#[test]
fn agreement_in_the_workspace_equals_codeframe_agree_on_the_export_and_frames_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, kappa) = code_like_the_report(dir.path());
    ann.stop();
    let out = dir.path().join("export");
    let cache = dir.path().join("cache");
    export(dir.path().to_str().unwrap(), out.to_str().unwrap(), &cache);
    for f in [
        "frame.toml",
        "coded.csv",
        "codings.csv",
        "sample-bob.csv",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} exported");
    }
    let json = dir.path().join("agreement.json");
    let agree = agree(
        out.join("codings.csv").to_str().unwrap(),
        "ann,bob",
        json.to_str().unwrap(),
        &cache,
    );
    let theirs = agree["pairs"][0]["cohen_kappa"]["value"].as_f64().unwrap();
    assert!(
        (kappa - theirs).abs() < 1e-12,
        "workspace {kappa} vs agree {theirs}"
    );
    // Every input row is in coded.csv, coded by a person.
    let coded = rows(&out.join("coded.csv"));
    assert_eq!(coded.len(), 79);
    assert!(coded.iter().all(|r| r[6] == *"person" || r[2].is_empty()));
    // The exported frame opened again and exported again is the same frame.
    let again = dir.path().join("again");
    let o = codeframe(
        &[
            "review",
            again.to_str().unwrap(),
            "--input",
            &root(Q7),
            "--text-column",
            "text",
            "--frame",
            out.join("frame.toml").to_str().unwrap(),
            "--export",
            again.join("export").to_str().unwrap(),
        ],
        &cache,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let strip = |p: &Path| -> String {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("source = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&out.join("frame.toml")),
        strip(&again.join("export/frame.toml"))
    );
}

#[test]
fn fit_learns_from_the_exported_coded_csv_and_apply_codes_a_new_wave_with_the_edited_frame() {
    if !model_dir().join("model.safetensors").is_file() {
        eprintln!("skipped: the model is not installed (run scripts/setup.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ann = start(dir.path(), "ann");
    let codes = ann.codes();
    let human = rows(&common::root().join(Q7));
    for (row, rec) in human.iter().enumerate() {
        if let Some(c) = codes.iter().find(|c| c.0 == rec[3]) {
            ann.post("/api/code", &json!({"writes": [[row, 0]], "code": c.1}));
        }
    }
    let v = ann.get("/api/state").json()["frame"]["version"]
        .as_i64()
        .unwrap();
    let r = ann.post(
        "/api/edit",
        &json!({"version": v, "edit": {"kind": "rename", "code": codes[0].1, "label": "Funding and finance"}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    ann.stop();
    let cache = dir.path().join("cache");
    let out = dir.path().join("export");
    export(dir.path().to_str().unwrap(), out.to_str().unwrap(), &cache);
    let fitted = dir.path().join("q7.frame.json");
    let o = codeframe(
        &[
            "fit",
            out.join("coded.csv").to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--label-column",
            "code",
            "--frame",
            out.join("frame.toml").to_str().unwrap(),
            "--folds",
            "3",
            "--out",
            fitted.to_str().unwrap(),
        ],
        &cache,
    );
    assert!(o.status.success(), "fit on coded.csv: {}", stderr(&o));
    let wave = dir.path().join("wave2");
    let o = codeframe(
        &[
            "apply",
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--out",
            wave.to_str().unwrap(),
            fitted.to_str().unwrap(),
            &root(Q7),
        ],
        &cache,
    );
    assert!(o.status.success(), "apply: {}", stderr(&o));
    let freq = std::fs::read_to_string(wave.join("frequencies.csv")).unwrap();
    assert!(freq.contains("Funding and finance"), "{freq}");
    // The workspace over wave 2 knows each code's threshold, so a reviewer sees why an answer
    // was left below it.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(wave.join("summary.json")).unwrap()).unwrap();
    let thresholds = summary["thresholds"].as_array().unwrap();
    assert_eq!(thresholds.len(), summary["codes"].as_array().unwrap().len());
    let review = Server::start(&wave, "ann", &[]);
    let state = review.get("/api/state").json();
    assert_eq!(state["frame"]["thresholds"], true);
    let codes = state["frame"]["codes"].as_array().unwrap();
    assert_eq!(codes.len(), thresholds.len());
    for (c, t) in codes.iter().zip(thresholds) {
        match t.as_f64() {
            Some(t) => assert!((c["threshold"].as_f64().unwrap() - t).abs() < 1e-6, "{c}"),
            None => assert!(c["threshold"].is_null(), "{c}"),
        }
    }
    let below = review.answers("uncertain");
    let below: Vec<_> = below
        .iter()
        .filter(|a| a["status"] == "below threshold")
        .collect();
    assert!(!below.is_empty());
    for a in below {
        let code = codes.iter().find(|c| c["code"] == a["suggestion"]).unwrap();
        // No threshold: the frame never codes that code itself.
        if let Some(t) = code["threshold"].as_f64() {
            assert!(a["confidence"].as_f64().unwrap() < t, "{a} {code}");
        }
    }
    review.stop();
}

#[test]
fn earlier_coding_comes_in_with_coders_and_its_disagreements_are_the_adjudication_queue() {
    let dir = tempfile::tempdir().unwrap();
    // The bundled coders agree on every answer: make coder_b differ on six, once with a label
    // the frame does not have.
    let mut text = String::new();
    for (i, line) in std::fs::read_to_string(common::root().join(Q7))
        .unwrap()
        .lines()
        .enumerate()
    {
        let changed = match i {
            5 | 15 | 25 | 35 | 45 => {
                let cut = line.rfind(',').unwrap();
                format!("{},Other", &line[..cut])
            }
            55 => {
                let cut = line.rfind(',').unwrap();
                format!("{},Events and matchmaking", &line[..cut])
            }
            _ => line.to_string(),
        };
        text.push_str(&changed);
        text.push('\n');
    }
    let input = dir.path().join("q7_topics.csv");
    std::fs::write(&input, text).unwrap();
    let human = rows(&input);
    let differ = human.iter().filter(|r| r[3] != r[4]).count();
    assert!(differ >= 5, "{differ}");
    let store = dir.path().join("store");
    let s = Server::start(
        &store,
        "ann",
        &[
            "--input",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--frame",
            &root(FRAME),
            "--coders",
            "coder_a,coder_b",
        ],
    );
    assert_eq!(s.answers("disagreements").len(), differ);
    assert!(
        s.codes().iter().any(|c| c.0 == "Events and matchmaking"),
        "nothing lost"
    );
    let ag = s.get("/api/agreement?a=coder_a&b=coder_b").json();
    let cache = dir.path().join("cache");
    let json = dir.path().join("agreement.json");
    let agree = agree(
        input.to_str().unwrap(),
        "coder_a,coder_b",
        json.to_str().unwrap(),
        &cache,
    );
    let kappa = &ag["pairs"][0]["cohen_kappa"]["value"];
    assert!(kappa.as_f64().is_some_and(|k| k < 1.0), "{kappa}");
    assert_eq!(kappa, &agree["pairs"][0]["cohen_kappa"]["value"]);
    assert_eq!(
        ag["overall"]["krippendorff_alpha"]["value"],
        agree["overall"]["krippendorff_alpha"]["value"]
    );
    s.stop();
}

#[test]
fn a_run_never_replaces_a_folder_holding_a_review_store() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let store = dir.path().join("q7");
    let mut a = vec!["review".to_string(), store.display().to_string()];
    a.extend(q7_args());
    a.extend([
        "--export".to_string(),
        dir.path().join("x").display().to_string(),
    ]);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = codeframe(&refs, &cache);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(store.join("review.sqlite")).unwrap();
    let o = codeframe(
        &[
            "discover",
            &root("data/eccp-2020/q8_materials.csv"),
            "--text-column",
            "text",
            "--out",
            store.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("review store"), "{}", stderr(&o));
    assert_eq!(std::fs::read(store.join("review.sqlite")).unwrap(), before);
}
