//! The output contract end to end with the real model: every page equals its tables on the
//! bundled runs, answers and labels come back as written, a folder never mixes two runs, no
//! output overwrites an input, and edge inputs (no substantive answer, an answer longer than a
//! spreadsheet cell) still give every row.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{codeframe, root, rows, stderr};

fn data(name: &str) -> String {
    root()
        .join("data/eccp-2020")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn run(args: &[&str], cache: &Path) -> Output {
    let o = codeframe(args, cache);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The bar chart's titles, in order.
fn bars(html: &str) -> Vec<String> {
    html.split("<g class=\"bar\"><title>")
        .skip(1)
        .map(|s| unescape(s.split("</title>").next().unwrap()))
        .collect()
}

/// Checks that the page's chart is frequencies.csv, row for row: names, counts, shares (and
/// suggestions), on the base the page states.
fn assert_page_equals_tables(dir: &Path) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let table = rows(&dir.join("frequencies.csv"));
    let header: Vec<String> = csv::Reader::from_path(dir.join("frequencies.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (kind, count) = (col("kind"), col("count"));
    let share = header
        .iter()
        .position(|h| h.starts_with("share_of"))
        .unwrap();
    let suggested = header.iter().position(|h| h == "suggested");
    let expected: Vec<(String, String, f64, Option<String>)> = table
        .iter()
        .filter(|r| &r[kind] != "status")
        .map(|r| {
            let n = suggested.map(|i| r[i].to_string()).filter(|n| n != "0");
            (
                r[0].to_string(),
                r[count].to_string(),
                100.0 * r[share].parse::<f64>().unwrap(),
                n,
            )
        })
        .collect();
    // The chart is in frequency order (ties keep the table's), without rows that have nothing.
    let mut expected = expected;
    expected.retain(|(_, n, _, s)| n != "0" || s.is_some());
    let key = |e: &(String, String, f64, Option<String>)| {
        (
            e.1.parse::<usize>().unwrap(),
            e.3.as_ref().map(|s| s.parse::<usize>().unwrap()),
        )
    };
    expected.sort_by_key(|e| std::cmp::Reverse(key(e)));
    let shown = bars(&html);
    assert_eq!(shown.len(), expected.len(), "{}: {shown:?}", dir.display());
    for (bar, (name, n, pct, sug)) in shown.iter().zip(&expected) {
        // "NAME: N (P%)[ · S suggested]", P the table's share rounded to one decimal.
        let (head, tail) = bar.rsplit_once(" (").unwrap();
        assert_eq!(head, format!("{name}: {n}"), "{}", dir.display());
        let (p, rest) = tail.split_once("%)").unwrap();
        let p: f64 = p.parse().unwrap();
        assert!((p - pct).abs() <= 0.051, "{bar} vs {pct}");
        let want = sug
            .as_ref()
            .map(|s| format!(" · {s} suggested"))
            .unwrap_or_default();
        assert_eq!(rest, want, "{bar}");
    }
    let base = if header[share] == "share_of_coded" {
        "coded answers"
    } else {
        "answers"
    };
    assert!(
        html.contains("Shares in the table and charts are of") && html.contains(base),
        "the page states its base"
    );
}

#[test]
fn every_page_equals_its_tables_on_the_bundled_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path();
    let out = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let frame = data("frame.toml");
    // Q7 reported under its topic groups: set-aside answers count under "Other" on the page too.
    run(
        &[
            "--quiet",
            "discover",
            &data("q7_topics.csv"),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--k",
            "frame",
            "--frame",
            &frame,
            "--level",
            "groups",
            "--out",
            &out("q7"),
            "--report",
        ],
        cache,
    );
    assert_page_equals_tables(&dir.path().join("q7"));
    let q7 = rows(&dir.path().join("q7/frequencies.csv"));
    let other = q7.iter().find(|r| &r[0] == "Other").unwrap();
    let set_aside = rows(&dir.path().join("q7/assignments.csv"))
        .iter()
        .filter(|r| &r[5] != "clustered")
        .count();
    assert!(set_aside > 0 && other[1].parse::<usize>().unwrap() >= set_aside);
    run(
        &[
            "--quiet",
            "discover",
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--k",
            "auto",
            "--out",
            &out("q8"),
            "--report",
        ],
        cache,
    );
    assert_page_equals_tables(&dir.path().join("q8"));
    // A frame whose code label starts with "(" keeps its bar and card on the apply page.
    run(
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
            &frame,
            "--out",
            &out("q8.json"),
        ],
        cache,
    );
    run(
        &[
            "--quiet",
            "apply",
            &out("q8.json"),
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--out",
            &out("q8-apply"),
            "--report",
        ],
        cache,
    );
    let apply_dir = dir.path().join("q8-apply");
    assert_page_equals_tables(&apply_dir);
    let html = std::fs::read_to_string(apply_dir.join("report.html")).unwrap();
    assert!(bars(&html)
        .iter()
        .any(|b| b.starts_with("(List of) additional resources, links, etc.: ")));
    assert!(html.contains("<h3>(List of) additional resources, links, etc.</h3>"));
    // Zero-shot from the frame's descriptions: answers below threshold are shown as suggestions.
    run(
        &[
            "--quiet",
            "apply",
            &frame,
            &data("q7_topics.csv"),
            "--text-column",
            "text",
            "--id-column",
            "id",
            // The English model: its German, French and Spanish answers stay suggestions.
            "--model",
            "all-MiniLM-L6-v2",
            "--out",
            &out("q7-zero"),
            "--report",
        ],
        cache,
    );
    let zero = dir.path().join("q7-zero");
    assert_page_equals_tables(&zero);
    let suggested: usize = rows(&zero.join("frequencies.csv"))
        .iter()
        .filter(|r| &r[6] == "code")
        .map(|r| r[5].parse::<usize>().unwrap())
        .sum();
    let below = rows(&zero.join("assignments.csv"))
        .iter()
        .filter(|r| &r[6] == "below threshold" || &r[6] == "unsupported language")
        .count();
    assert_eq!(
        suggested, below,
        "every suggestion is counted beside its code"
    );
    assert!(below > 0);
    let html = std::fs::read_to_string(zero.join("report.html")).unwrap();
    assert!(html.contains("more suggested below threshold"));
}

/// A small coded wave whose codes and ids look like formulas to a spreadsheet.
fn formula_like_wave(dir: &Path) -> PathBuf {
    let path = dir.join("wave.csv");
    let positive = [
        "the staff were kind and caring",
        "friendly staff at reception",
        "nurses were helpful and polite",
        "the doctor listened to me",
        "staff explained everything clearly",
        "lovely team, very professional",
        "+ links to the staff profiles",
        "wonderful nurses on the ward",
    ];
    let negative = [
        "the care was rushed and careless",
        "nobody checked on my father",
        "poor care on the night shift",
        "I was left waiting in pain",
        "care plans were ignored",
        "-- no follow-up care at all",
        "the ward was dirty and care was poor",
        "=nobody cared about the patients",
    ];
    let mut body = String::from("id,text,coder\n");
    for (i, t) in positive.iter().enumerate() {
        body.push_str(&format!("-{i},\"{t}\",+ve staff\n"));
    }
    for (i, t) in negative.iter().enumerate() {
        body.push_str(&format!("={i},\"{t}\",-ve care\n"));
    }
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn answers_labels_and_ids_come_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path();
    let wave = formula_like_wave(dir.path());
    let wave = wave.to_str().unwrap();
    let frame = dir.path().join("f.json");
    let frame = frame.to_str().unwrap();
    let out = dir.path().join("coded");
    let outs = out.to_str().unwrap();
    run(
        &[
            "--quiet",
            "fit",
            wave,
            "--text-column",
            "text",
            "--label-column",
            "coder",
            "--id-column",
            "id",
            "--folds",
            "4",
            "--out",
            frame,
        ],
        cache,
    );
    run(
        &[
            "--quiet",
            "apply",
            frame,
            wave,
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--out",
            outs,
            "--report",
        ],
        cache,
    );
    // The CSV neutralises formula-like cells for spreadsheets ...
    let csv = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert!(csv.contains("'+ve staff") && csv.contains("'=0"), "{csv}");
    // ... the page shows the answers as written ...
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("+ links to the staff profiles"));
    assert!(
        !html.contains("&#39;+ links"),
        "neutralised text on the page"
    );
    assert!(!html.contains("&#39;+ve staff"));
    // ... and codeframe's own readers read back what its writers wrote.
    let join = format!("{}:code=machine", out.join("assignments.csv").display());
    let o = run(
        &[
            "--quiet",
            "agree",
            wave,
            "--coders",
            "coder",
            "--join",
            &join,
            "--bootstrap",
            "0",
        ],
        cache,
    );
    let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        a["join_missing"]["machine"], 0,
        "ids starting with - or = join"
    );
    assert_eq!(a["codes"], serde_json::json!(["+ve staff", "-ve care"]));
    assert!(
        a["overall"]["krippendorff_alpha"]["value"]
            .as_f64()
            .unwrap()
            > 0.5
    );
    let o = run(
        &[
            "evaluate",
            "--pred",
            out.join("assignments.csv").to_str().unwrap(),
            "--pred-column",
            "code",
            "--gold",
            wave,
            "--gold-column",
            "coder",
        ],
        cache,
    );
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["mode"], "codes", "{}", stderr(&o));
    // Drift against an earlier wave reads its codes back as written too.
    let again = dir.path().join("again");
    run(
        &[
            "--quiet",
            "apply",
            frame,
            wave,
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--previous",
            outs,
            "--out",
            again.to_str().unwrap(),
        ],
        cache,
    );
}

fn discover_q8(out: &Path, cache: &Path, k: &str) {
    run(
        &[
            "--quiet",
            "discover",
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--k",
            k,
            "--out",
            out.to_str().unwrap(),
        ],
        cache,
    );
}

#[test]
fn a_folder_mixing_two_runs_is_refused_and_stale_scores_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    discover_q8(&a, dir.path(), "3");
    discover_q8(&b, dir.path(), "4");
    // Scores of run a, placed in its folder.
    let eval = a.join("evaluation.json");
    run(
        &[
            "--quiet",
            "evaluate",
            "--pred",
            a.join("assignments.csv").to_str().unwrap(),
            "--pred-column",
            "group",
            "--gold",
            &data("q8_materials.csv"),
            "--gold-column",
            "coder_a",
            "--out",
            eval.to_str().unwrap(),
        ],
        dir.path(),
    );
    run(&["--quiet", "report", a.to_str().unwrap()], dir.path());
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(html.contains("<h2>Evaluation</h2>"));
    // A rerun into the folder keeps the scores file but leaves it off the page: it scores the
    // earlier groups.
    discover_q8(&a, dir.path(), "5");
    assert!(eval.is_file(), "a file put in the folder is kept");
    assert!(
        !a.join("report.html").exists(),
        "the earlier run's page is gone"
    );
    let o = run(&["report", a.to_str().unwrap()], dir.path());
    assert!(stderr(&o).contains("evaluation.json"), "{}", stderr(&o));
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(!html.contains("<h2>Evaluation</h2>"));
    assert!(html.contains("evaluation.json in this folder was left out"));
    // One file of another run: refused, naming the file.
    std::fs::copy(b.join("groups.json"), a.join("groups.json")).unwrap();
    let o = codeframe(&["report", a.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("groups.json"), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not belong"), "{}", stderr(&o));
}

#[test]
fn no_output_overwrites_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path();
    let run_dir = dir.path().join("run");
    discover_q8(&run_dir, cache, "3");
    let assignments = run_dir.join("assignments.csv");
    let a = assignments.to_str().unwrap();
    let copy = dir.path().join("q8.csv");
    std::fs::copy(data("q8_materials.csv"), &copy).unwrap();
    let c = copy.to_str().unwrap();
    let ids = dir.path().join("wave.ids.csv");
    std::fs::copy(data("q8_materials.csv"), &ids).unwrap();
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    let inner_input = inner.join("q8.csv");
    std::fs::copy(data("q8_materials.csv"), &inner_input).unwrap();
    let before = std::fs::read(&assignments).unwrap();
    let join = format!("{a}:group");
    let npy = dir.path().join("wave.npy");
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "evaluate",
            "--pred",
            a,
            "--pred-column",
            "group",
            "--gold",
            c,
            "--gold-column",
            "coder_a",
            "--out",
            a,
        ],
        vec!["agree", c, "--coders", "coder_a,coder_b", "--out", c],
        vec![
            "agree",
            c,
            "--coders",
            "coder_a",
            "--join",
            &join,
            "--disagreements",
            a,
        ],
        vec!["report", run_dir.to_str().unwrap(), "--out", a],
        vec![
            "discover",
            inner_input.to_str().unwrap(),
            "--text-column",
            "text",
            "--out",
            inner.to_str().unwrap(),
        ],
        vec![
            "embed",
            ids.to_str().unwrap(),
            "--text-column",
            "text",
            "--out",
            npy.to_str().unwrap(),
        ],
    ];
    for args in cases {
        let o = codeframe(&args, cache);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("Fix:"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&assignments).unwrap(), before);
    assert!(inner_input.is_file());
    // A folder of other files is not replaced either.
    let q8 = data("q8_materials.csv");
    let o = codeframe(
        &[
            "discover",
            &q8,
            "--text-column",
            "text",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        cache,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a codeframe run"), "{}", stderr(&o));
}

#[test]
fn no_substantive_answer_still_writes_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("blank.csv");
    std::fs::write(&input, "id,text\n1,\n2,   \n3,n/a\n4,😀\n5,-\n").unwrap();
    let out = dir.path().join("run");
    let o = run(
        &[
            "discover",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--out",
            out.to_str().unwrap(),
            "--report",
        ],
        dir.path(),
    );
    assert!(stderr(&o).contains("nothing to group"), "{}", stderr(&o));
    let a = rows(&out.join("assignments.csv"));
    assert_eq!(a.len(), 5);
    assert!(a
        .iter()
        .all(|r| &r[5] == "empty" || &r[5] == "non-substantive"));
    let f = rows(&out.join("frequencies.csv"));
    assert_eq!(
        f.iter()
            .map(|r| r[1].parse::<usize>().unwrap())
            .sum::<usize>(),
        5
    );
}

#[test]
fn an_answer_longer_than_a_spreadsheet_cell_is_cut_in_the_workbook_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.csv");
    let long = "more webinars on funding please ".repeat(1100);
    let mut body = String::from("id,text\n");
    for (i, t) in ["slides", "recordings", "links to resources", "a handbook"]
        .iter()
        .enumerate()
    {
        body.push_str(&format!("{i},{t}\n"));
    }
    body.push_str(&format!("9,{long}\n"));
    std::fs::write(&input, body).unwrap();
    let out = dir.path().join("run");
    let o = run(
        &[
            "discover",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--k",
            "2",
            "--out",
            out.to_str().unwrap(),
            "--report",
        ],
        dir.path(),
    );
    assert!(stderr(&o).contains("32767"), "{}", stderr(&o));
    let a = rows(&out.join("assignments.csv"));
    assert_eq!(a[4][1].len(), long.len(), "the CSV keeps the answer whole");
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(
        std::fs::read(out.join("assignments.xlsx")).unwrap(),
    ))
    .unwrap();
    let cells = book.worksheet_range("assignments").unwrap();
    assert!(cells
        .used_cells()
        .any(|(_, _, d)| matches!(d, Data::String(s) if s.chars().count() == 32767)));
    assert!(out.join("report.html").is_file());
}

#[test]
fn help_names_every_input_format() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["embed", "discover", "fit", "apply", "agree", "evaluate"] {
        let o = codeframe(&[cmd, "--help"], dir.path());
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.contains(".xlsx"), "{cmd} --help: {help}");
    }
}

#[test]
fn bf16_on_a_cpu_without_bfloat16_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_codeframe"))
        .args([
            "embed",
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--precision",
            "bf16",
            "--out",
            dir.path().join("x.npy").to_str().unwrap(),
        ])
        .env("XDG_CACHE_HOME", dir.path())
        .env("CODEFRAME_CPU_FLAGS", "fpu sse avx avx2 fma")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bfloat16"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--precision f32"), "{}", stderr(&o));
    assert!(!dir.path().join("x.npy").exists());
}

#[test]
fn labels_with_control_characters_do_not_reach_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("c.csv");
    std::fs::write(
        &input,
        "id,a,b\n1,\u{1b}[31mred,\u{1b}[31mred\n2,blue,blue\n3,blue,\u{1b}[31mred\n",
    )
    .unwrap();
    let o = run(
        &[
            "agree",
            input.to_str().unwrap(),
            "--coders",
            "a,b",
            "--bootstrap",
            "0",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("\\u{1b}[31mred"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,text\n1,\"never closed\n").unwrap();
    let o = codeframe(
        &["agree", bad.to_str().unwrap(), "--coders", "text,id"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn unwritable_outputs_and_caches_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under = file.join("out");
    let o = codeframe(
        &[
            "discover",
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--out",
            under.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("Fix:"));
    let o = codeframe(
        &[
            "embed",
            &data("q8_materials.csv"),
            "--text-column",
            "text",
            "--cache-dir",
            under.to_str().unwrap(),
            "--out",
            dir.path().join("x.npy").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-cache"), "{}", stderr(&o));
}
