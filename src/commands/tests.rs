//! Whole command flows with a fake embedder (no model): what a run writes is what the page
//! reads back, row for row, and reruns give the same bytes.

use std::path::{Path, PathBuf};

use super::{apply, discover, fit};
use crate::cluster::{ClusterParams, KChoice, Method};
use crate::config::{ApplySettings, DiscoverSettings, FitSettings};
use crate::embed::fake::{self, WordHash};
use crate::embed::spec::{Backend, EmbedderSpec, Loaded};
use crate::error::Result;
use crate::frame::apply::Application;
use crate::frame::learned::LearnedFrame;
use crate::ingest::ReadOptions;
use crate::progress::Progress;
use crate::report::page::{apply_page, discover_page, Attachments};
use crate::report::tables::{apply_frequencies, discover_frequencies};
use crate::rundir::{self, Run};
use crate::status::Status;

fn fake(_: &EmbedderSpec) -> Result<Loaded> {
    Ok(Loaded::from_embedder(
        Box::new(WordHash),
        Some(fake::record()),
    ))
}

fn spec() -> EmbedderSpec {
    EmbedderSpec {
        backend: Backend::Tfidf,
        threads: 1,
        cache_dir: None,
        cache_every: 100,
        model_given: false,
    }
}

const FRAME: &str = r#"
[frame]
name = "materials"
[[questions]]
id = "q"
[[codes]]
id = "slides"
question = "q"
label = "Slides"
description = "slides and presentations of the speakers"
[[codes]]
id = "rec"
question = "q"
label = "Recordings"
description = "a recording or video of the webinar"
[[codes]]
id = "links"
question = "q"
label = "(List of) links"
description = "links to further reading and resources"
[[codes]]
id = "other"
question = "q"
label = "Other"
description = "anything else, blanks and n/a"
nonanswers = true
"#;

const ANSWERS: &[(&str, &str)] = &[
    ("the slides please", "Slides"),
    ("slides of the speakers", "Slides"),
    ("presentations and slides", "Slides"),
    ("speaker slides", "Slides"),
    ("send the slides", "Slides"),
    ("a recording of the webinar", "Recordings"),
    ("video recording", "Recordings"),
    ("the recording please", "Recordings"),
    ("webinar video", "Recordings"),
    ("recording and video", "Recordings"),
    ("links to further reading", "(List of) links"),
    ("+ links", "(List of) links"),
    ("a list of links", "(List of) links"),
    ("links and resources", "(List of) links"),
    ("resources links reading", "(List of) links"),
    ("=HYPERLINK(\"x\") slides", "Slides"),
    ("", "Other"),
    ("n/a", "Other"),
    ("more about cluster funding", "Other"),
];

fn write_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let csv = dir.join("answers.csv");
    let mut w = csv::Writer::from_path(&csv).unwrap();
    w.write_record(["id", "text", "code"]).unwrap();
    for (i, (t, c)) in ANSWERS.iter().enumerate() {
        let id = if i % 5 == 0 {
            format!("-{i}")
        } else {
            format!("a{i}")
        };
        w.write_record([id.as_str(), t, c]).unwrap();
    }
    w.flush().unwrap();
    let frame = dir.join("frame.toml");
    std::fs::write(&frame, FRAME).unwrap();
    (csv, frame)
}

/// Scores as the CSV files hold them.
fn round4(v: f32) -> f32 {
    format!("{v:.4}").parse().unwrap()
}

fn columns() -> ReadOptions {
    ReadOptions::new("text", Some("id".into()))
}

fn discover_settings(input: &Path, frame: &Path, out: &Path) -> DiscoverSettings {
    DiscoverSettings {
        input: input.to_path_buf(),
        columns: columns(),
        cluster: ClusterParams {
            k: KChoice::Fixed(3),
            method: Method::KMeans,
            ..ClusterParams::default()
        },
        frame: Some(frame.to_path_buf()),
        question: Some("q".into()),
        topic_groups: false,
        embedding: spec(),
        out: out.to_path_buf(),
        report: false,
        blanks_not_answered: false,
    }
}

#[test]
fn the_discover_page_reads_back_what_discover_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frame) = write_inputs(dir.path());
    let out = dir.path().join("run");
    let d = discover::run(
        &discover_settings(&input, &frame, &out),
        &mut fake,
        &Progress::silent(),
    )
    .unwrap();
    let Run::Discover(r) = rundir::read_run(&out).unwrap() else {
        panic!("a discover run")
    };
    let mut written = d.assignments.clone();
    for a in &mut written {
        a.score = a.score.map(round4);
    }
    assert_eq!(
        r.discovery.assignments, written,
        "rows read back as written"
    );
    assert_eq!(r.discovery.groups, d.groups);
    let page = discover_page(&r.discovery, &r.manifest, &r.map, &Attachments::default());
    let freq = discover_frequencies(&d);
    let bars: Vec<(&str, usize)> = page
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.size))
        .collect();
    let table: Vec<(&str, usize)> = freq
        .categories()
        .map(|r| (r.name.as_str(), r.count))
        .collect();
    assert_eq!(bars, table);
    assert_eq!(page.base, format!("all {} answers", ANSWERS.len()));
    // Set-aside answers are counted under the frame's code for non-answers, on the page too.
    let other = page.groups.iter().find(|g| g.name == "Other").unwrap();
    assert!(other.set_aside >= 2);
    let texts: Vec<&str> = page.points.iter().map(|p| p.text.as_str()).collect();
    assert!(texts.contains(&"+ links") && texts.contains(&"=HYPERLINK(\"x\") slides"));
}

/// A frame fitted on the answers in `input` (their `code` column), written beside them.
fn fit_frame(dir: &Path, input: &Path, frame: &Path, precision: f64) -> (PathBuf, LearnedFrame) {
    let frame_json = dir.join("frame.json");
    let fitted = fit::run(
        &FitSettings {
            input: input.to_path_buf(),
            columns: columns(),
            label_column: "code".into(),
            frame: Some(frame.to_path_buf()),
            question: Some("q".into()),
            folds: 3,
            target_precision: precision,
            seed: 42,
            keep_together: None,
            embedding: spec(),
            out: frame_json.clone(),
        },
        &mut fake,
        &Progress::silent(),
    )
    .unwrap();
    (frame_json, fitted)
}

/// `frame_json` applied to the answers in `input`, written to `out`.
fn apply_frame(frame_json: &Path, input: &Path, out: &Path) -> Application {
    apply::run(
        &ApplySettings {
            frame: frame_json.to_path_buf(),
            question: None,
            input: input.to_path_buf(),
            columns: columns(),
            previous: None,
            multi: false,
            seed: 42,
            embedding: spec(),
            out: out.to_path_buf(),
            report: false,
            blanks_not_answered: false,
        },
        &mut fake,
        &Progress::silent(),
    )
    .unwrap()
}

#[test]
fn the_apply_page_keeps_every_code_and_its_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frame) = write_inputs(dir.path());
    let (frame_json, fitted) = fit_frame(dir.path(), &input, &frame, 0.99);
    assert_eq!(fitted.codes.len(), 4);
    let out = dir.path().join("applied");
    let app = apply_frame(&frame_json, &input, &out);
    let Run::Apply(r) = rundir::read_run(&out).unwrap() else {
        panic!("an apply run")
    };
    let mut written = app.clone();
    for r in &mut written.rows {
        r.confidence = r.confidence.map(round4);
    }
    assert_eq!(
        r.application, written,
        "rows and summary read back as written"
    );
    let page = apply_page(&r.application, &r.manifest, &r.map, &Attachments::default());
    let freq = apply_frequencies(&app);
    // The chart is in frequency order; codes with no answer at all are named in a note.
    let sizes: Vec<(usize, Option<usize>)> =
        page.groups.iter().map(|g| (g.size, g.suggested)).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    for row in freq.categories() {
        let shown = page.groups.iter().find(|g| g.name == row.name);
        match shown {
            Some(g) => assert_eq!((g.size, g.suggested), (row.count, row.suggested)),
            None => {
                assert_eq!((row.count, row.suggested), (0, Some(0)));
                assert!(page.notes.iter().any(|n| n.contains(&row.name)));
            }
        }
    }
    assert!(page.groups.iter().any(|g| g.name == "(List of) links"));
    for g in &page.groups {
        let below = app
            .rows
            .iter()
            .filter(|r| {
                r.status == Status::BelowThreshold
                    && r.code.map(|c| &fitted.codes[c].label) == Some(&g.name)
            })
            .count();
        assert_eq!(g.suggested, Some(below), "{}", g.name);
    }
    assert_eq!(page.base, format!("the {} coded answers", freq.base_n));
}

#[test]
fn reruns_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frame) = write_inputs(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        discover::run(
            &discover_settings(&input, &frame, out),
            &mut fake,
            &Progress::silent(),
        )
        .unwrap();
    }
    for f in rundir::RunKind::Discover.files() {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}

fn english_only(_: &EmbedderSpec) -> Result<Loaded> {
    let mut l = Loaded::from_embedder(Box::new(WordHash), Some(fake::record()));
    l.languages = vec!["en".into()];
    Ok(l)
}

#[test]
fn answers_in_languages_the_model_does_not_cover_are_only_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frame) = write_inputs(dir.path());
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("de1,Aufzeichnung des Webinars bitte,Recordings\n");
    text.push_str("de2,Folien der Vorträge und weiterführende Links,Slides\n");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("found");
    let d = discover::run(
        &discover_settings(&input, &frame, &out),
        &mut english_only,
        &Progress::silent(),
    )
    .unwrap();
    let by_id = |id: &str| d.assignments.iter().find(|a| a.id == id).unwrap();
    for id in ["de1", "de2"] {
        assert_eq!(by_id(id).status, Status::UnsupportedLanguage);
        assert_eq!(by_id(id).language.as_deref(), Some("de"));
        assert!(by_id(id).group.is_some(), "the group stays as a suggestion");
    }
    assert!(d
        .assignments
        .iter()
        .any(|a| a.language.as_deref() == Some("en") && a.status == Status::Clustered));
    assert!(d
        .languages
        .iter()
        .any(|c| c.language.as_deref() == Some("de") && c.answers == 2));
    let Run::Discover(back) = rundir::read_run(&out).unwrap() else {
        panic!("not a discover run")
    };
    let strip = |v: &[crate::describe::Assignment]| {
        v.iter()
            .map(|a| (a.id.clone(), a.status, a.language.clone(), a.group))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&back.discovery.assignments), strip(&d.assignments));
    let page = discover_page(&d, &back.manifest, &[], &Attachments::default());
    assert!(page.languages.contains(&("de".to_string(), 2)));
    assert!(page
        .status_counts
        .contains(&("unsupported language".to_string(), 2)));
}

#[test]
fn answers_in_a_language_the_frame_never_learned_from_go_to_review() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frame) = write_inputs(dir.path());
    let (frame_json, fitted) = fit_frame(dir.path(), &input, &frame, 0.5);
    let learned = &fitted.training.as_ref().unwrap().languages;
    assert!(learned.get("en").is_some_and(|&n| n > 0), "{learned:?}");
    assert!(!learned.contains_key("de"));
    let wave = dir.path().join("wave2.csv");
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("de1,Aufzeichnung des Webinars bitte,\n");
    text.push_str("de2,Folien der Vorträge und weiterführende Links,\n");
    std::fs::write(&wave, text).unwrap();
    let app = apply_frame(&frame_json, &wave, &dir.path().join("applied"));
    for r in &app.rows {
        match r.language.as_deref() {
            Some("de") => {
                assert_eq!(r.status, Status::NewLanguage, "{}", r.text);
                assert!(r.code.is_some(), "the code stays as a suggestion");
            }
            _ => assert_ne!(r.status, Status::NewLanguage, "{}", r.text),
        }
    }
    assert_eq!(app.summary.status.get(&Status::NewLanguage), Some(&2));
    assert!(app.rows.iter().any(|r| r.status == Status::Coded));
}

/// A command line parsed as the binary parses it: `codeframe ARGS…`.
fn parse<S: AsRef<str>>(args: &[S]) -> crate::cli::Command {
    use clap::Parser;
    let argv = std::iter::once("codeframe").chain(args.iter().map(AsRef::as_ref));
    crate::cli::Cli::try_parse_from(argv).unwrap().command
}

/// The flags of a discover run, parsed as the binary parses them.
fn discover_plan(args: &[&str]) -> crate::config::DiscoverPlan {
    let argv: Vec<&str> = std::iter::once("discover")
        .chain(args.iter().copied())
        .collect();
    match parse(&argv) {
        crate::cli::Command::Discover(a) => crate::config::DiscoverPlan::from_args(&a).unwrap(),
        _ => unreachable!(),
    }
}

/// A survey export: one row per respondent, the answers in column `q`, the same answers in
/// reverse order in `q2`, every third `q2` cell blank.
fn write_wide(dir: &Path) -> PathBuf {
    let csv = dir.join("survey.csv");
    let mut w = csv::Writer::from_path(&csv).unwrap();
    w.write_record(["id", "q", "q2"]).unwrap();
    let n = ANSWERS.len();
    for (i, (t, _)) in ANSWERS.iter().enumerate() {
        let other = if i % 3 == 0 { "" } else { ANSWERS[n - 1 - i].0 };
        w.write_record([format!("r{i}").as_str(), t, other])
            .unwrap();
    }
    w.flush().unwrap();
    csv
}

#[test]
fn several_questions_run_into_one_survey_folder_whose_tables_agree() {
    use crate::config::DiscoverPlan;
    let dir = tempfile::tempdir().unwrap();
    let input = write_wide(dir.path());
    let out = dir.path().join("survey");
    let args = [
        input.to_str().unwrap(),
        "--text-column",
        "q",
        "--text-column",
        "q2",
        "--id-column",
        "id",
        "--k",
        "3",
        "--method",
        "kmeans",
        "--out",
        out.to_str().unwrap(),
    ];
    let DiscoverPlan::Questions(plan) = discover_plan(&args) else {
        panic!("two columns make a survey run")
    };
    super::questions::discover_all(&plan, &mut fake, &Progress::silent()).unwrap();
    let survey = rundir::read_survey(&out).unwrap();
    assert_eq!(survey.questions.len(), 2);
    let summary = std::fs::read_to_string(out.join(rundir::QUESTIONS_SUMMARY)).unwrap();
    let mut from_questions = Vec::new();
    for (e, run) in &survey.questions {
        let freq = std::fs::read_to_string(out.join(&e.folder).join(rundir::FREQUENCIES)).unwrap();
        for line in freq.lines().skip(1) {
            from_questions.push(format!("{},{},", e.column, e.folder) + line);
        }
        let Run::Discover(r) = run else {
            panic!("discover runs")
        };
        assert_eq!(r.discovery.rows, ANSWERS.len(), "every row of the file");
    }
    let stacked: Vec<String> = summary
        .lines()
        .skip(1)
        .map(|l| {
            // question, folder, rows, base, base_n, then the question's own row.
            let cells: Vec<&str> = l.splitn(6, ',').collect();
            format!("{},{},{}", cells[0], cells[1], cells[5])
        })
        .collect();
    assert_eq!(
        stacked, from_questions,
        "summary.csv is the questions' tables"
    );
    // q2: 7 cells left blank and the blank answer are not answered — outside the base and
    // any group.
    let Run::Discover(q2) = &survey.questions[1].1 else {
        panic!()
    };
    let not_answered = q2
        .discovery
        .assignments
        .iter()
        .filter(|a| a.status == Status::NoAnswer)
        .count();
    assert_eq!(not_answered, 8);
    assert_eq!(q2.discovery.base(), ANSWERS.len() - 8);
    let f = discover_frequencies(&q2.discovery);
    assert_eq!(f.base_n, ANSWERS.len() - 8);
    let shares: f64 = f.rows.iter().filter_map(|r| r.share).sum();
    assert!(
        (shares - 1.0).abs() < 1e-9,
        "shares add up over the base: {shares}"
    );
    let err = rundir::read_run(&out).unwrap_err().to_string();
    assert!(err.contains("survey run of 2 questions"), "{err}");

    // The index page and each question's page; a person's file in a question folder is kept
    // by a rerun.
    let report = crate::config::ReportSettings::new(&out, None).unwrap();
    super::report::run(&report, &Progress::silent()).unwrap();
    let index = std::fs::read_to_string(out.join(rundir::REPORT)).unwrap();
    assert!(index.contains("href=\"q2/report.html\""));
    assert!(out.join("q/report.html").is_file());
    std::fs::write(out.join("q2/notes.txt"), "mine").unwrap();
    super::questions::discover_all(&plan, &mut fake, &Progress::silent()).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("q2/notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(out.join(rundir::QUESTIONS_SUMMARY)).unwrap(),
        summary
    );
}

#[test]
fn a_survey_column_without_a_frame_question_is_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_wide(dir.path());
    let (_, frame) = write_inputs(dir.path());
    let out = dir.path().join("survey");
    let plan = discover_plan(&[
        input.to_str().unwrap(),
        "--text-column",
        "q",
        "--text-column",
        "q2",
        "--frame",
        frame.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let crate::config::DiscoverPlan::Questions(plan) = plan else {
        panic!()
    };
    let err = super::questions::discover_all(&plan, &mut fake, &Progress::silent()).unwrap_err();
    assert!(
        err.to_string().contains("no question for column \"q2\""),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

/// FRAME with a second question, q2, holding the same codes.
fn two_question_frame(dir: &Path) -> PathBuf {
    let codes: String = FRAME
        .split("[[codes]]")
        .skip(1)
        .map(|c| {
            format!(
                "[[codes]]{}",
                c.replace("question = \"q\"", "question = \"q2\"")
                    .replace("id = \"", "id = \"b-")
            )
        })
        .collect();
    let path = dir.join("two.toml");
    std::fs::write(
        &path,
        format!("{FRAME}\n[[questions]]\nid = \"q2\"\n{codes}"),
    )
    .unwrap();
    path
}

#[test]
fn apply_codes_several_questions_zero_shot_and_compares_with_the_previous_survey() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_wide(dir.path());
    let frame = two_question_frame(dir.path());
    let plan = |out: &Path, previous: Option<&Path>| {
        let mut argv = vec![
            "apply".to_string(),
            frame.display().to_string(),
            input.display().to_string(),
        ];
        for a in [
            "--text-column",
            "q",
            "--text-column",
            "q2",
            "--id-column",
            "id",
        ] {
            argv.push(a.into());
        }
        argv.extend(["--out".into(), out.display().to_string()]);
        if let Some(p) = previous {
            argv.extend(["--previous".into(), p.display().to_string()]);
        }
        let crate::cli::Command::Apply(a) = parse(&argv) else {
            unreachable!()
        };
        match crate::config::ApplyPlan::from_args(&a).unwrap() {
            crate::config::ApplyPlan::Questions(p) => p,
            crate::config::ApplyPlan::One(_) => panic!("two columns make a survey run"),
        }
    };
    let wave1 = dir.path().join("wave1");
    super::questions::apply_all(&plan(&wave1, None), &mut fake, &Progress::silent()).unwrap();
    let wave2 = dir.path().join("wave2");
    super::questions::apply_all(&plan(&wave2, Some(&wave1)), &mut fake, &Progress::silent())
        .unwrap();
    let survey = rundir::read_survey(&wave2).unwrap();
    for (e, run) in &survey.questions {
        let Run::Apply(r) = run else {
            panic!("apply runs")
        };
        let m = &r.manifest.parameters;
        assert_eq!(
            m["question"],
            e.folder.as_str(),
            "coded with its frame question"
        );
        let blanks = r
            .application
            .rows
            .iter()
            .filter(|a| a.status == Status::NoAnswer)
            .inspect(|a| assert_eq!(a.code, None, "no code for a question not answered"))
            .count();
        assert_eq!(blanks, if e.folder == "q" { 1 } else { 8 });
        assert!(r.application.summary.drift_baseline.contains("wave1"));
    }
    let summary = rows_of(&wave2.join(rundir::QUESTIONS_SUMMARY));
    assert!(summary.iter().any(|r| r[0] == "q2" && r[5] == "no answer"));
}

fn rows_of(path: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}
