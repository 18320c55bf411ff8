//! Tests of the store: import, coding with conflicts, frame edits and undo, samples,
//! agreement, exports.

use std::path::{Path, PathBuf};

use super::edit::Edit;
use super::query::{AnswerQuery, View};
use super::store::{Source, Store, MACHINE};
use super::{export_files, Seed, StoreError};
use crate::frame::Frame;
use crate::ingest::{Answer, Answers};

const FRAME: &str = r#"
[frame]
name = "Webinars"

[[groups]]
id = "business"
label = "Business development"
description = "Money and markets."

[[codes]]
id = "funding"
label = "Funding"
group = "business"
description = "Grants and calls."

[[codes]]
id = "markets"
label = "New markets"
group = "business"
description = "Customers and tenders."

[[codes]]
id = "comms"
label = "Communication"
description = "Newsletters, social media."
"#;

fn answers(texts: &[&str]) -> Answers {
    Answers {
        path: PathBuf::from("answers.csv"),
        sha256: String::new(),
        rows: texts
            .iter()
            .enumerate()
            .map(|(i, t)| Answer {
                row: i,
                line: i as u64 + 2,
                id: format!("a{}", i + 1),
                text: t.to_string(),
                language: None,
            })
            .collect(),
        warnings: vec![],
        respondents: Default::default(),
    }
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("answer number {i}")).collect()
}

/// A store in a temporary folder with `n` answers and the frame above, nothing coded.
fn store(n: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join(super::STORE_FILE)).unwrap();
    let t = texts(n);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let a = answers(&refs);
    let f = Frame::parse(Path::new("frame.toml"), FRAME).unwrap();
    s.import(Seed::Answers(&a, &f, None), "answers.csv")
        .unwrap();
    s.set_frame_meta(&f.frame.name, None, None).unwrap();
    (dir, s)
}

fn code_of(s: &Store, label: &str) -> i64 {
    s.frame_state()
        .unwrap()
        .codes
        .iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("no code {label}"))
        .code
}

fn page(s: &Store, coder: &str, view: View) -> super::query::AnswerPage {
    s.answers(
        coder,
        &AnswerQuery {
            view,
            limit: Some(500),
            ..Default::default()
        },
    )
    .unwrap()
}

fn base(s: &Store, coder: &str, row: i64) -> i64 {
    page(s, coder, View::All)
        .rows
        .iter()
        .find(|a| a.row == row)
        .unwrap()
        .base
}

#[test]
fn a_stale_write_is_a_conflict_and_writes_nothing() {
    let (_d, mut s) = store(4);
    let funding = code_of(&s, "Funding");
    let markets = code_of(&s, "New markets");
    let b = base(&s, "ann", 0);
    s.code_rows("ann", &[(0, b)], Some(funding), Source::Person)
        .unwrap();
    // Bob's page still shows the old base.
    let err = s
        .code_rows("bob", &[(0, b), (1, 0)], Some(markets), Source::Person)
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let p = page(&s, "ann", View::All);
    assert_eq!(p.rows[0].final_code, Some(funding));
    assert_eq!(
        p.rows[1].final_code, None,
        "nothing of a refused write lands"
    );
    // Reloaded, Bob's write goes through and the history keeps both.
    let b = base(&s, "bob", 0);
    s.code_rows("bob", &[(0, b)], Some(markets), Source::Person)
        .unwrap();
    let h = s.history(0).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].code, Some(markets));
    assert_eq!(h[0].actor, "ann");
}

#[test]
fn edits_survive_reopening_and_undo_puts_them_back() {
    let (dir, mut s) = store(6);
    let funding = code_of(&s, "Funding");
    let markets = code_of(&s, "New markets");
    for row in 0..4 {
        let b = base(&s, "ann", row);
        let code = if row < 2 { funding } else { markets };
        s.code_rows("ann", &[(row, b)], Some(code), Source::Person)
            .unwrap();
    }
    let v = s.frame_state().unwrap().version;
    let v = s
        .edit(
            "ann",
            v,
            &Edit::Rename {
                code: funding,
                label: "Financing".into(),
            },
        )
        .unwrap();
    let v = s
        .edit(
            "ann",
            v,
            &Edit::Merge {
                from: markets,
                into: funding,
            },
        )
        .unwrap();
    let v = s
        .edit(
            "ann",
            v,
            &Edit::Split {
                rows: vec![0, 3],
                label: "Calls for proposals".into(),
            },
        )
        .unwrap();
    // A stale frame version is refused.
    assert!(matches!(
        s.edit("bob", v - 1, &Edit::NewCode { label: "x".into() }),
        Err(StoreError::Conflict(_))
    ));
    drop(s);
    let mut s = Store::open(&dir.path().join(super::STORE_FILE)).unwrap();
    let st = s.frame_state().unwrap();
    let labels: Vec<&str> = st.codes.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Financing", "Communication", "Calls for proposals"]
    );
    let calls = code_of(&s, "Calls for proposals");
    let p = page(&s, "ann", View::All);
    let finals: Vec<Option<i64>> = p.rows.iter().map(|a| a.final_code).collect();
    assert_eq!(
        finals,
        [
            Some(calls),
            Some(funding),
            Some(funding),
            Some(calls),
            None,
            None
        ]
    );
    // Undo the split, then the merge: the frame and codes are as before.
    let v = s.undo("ann", v).unwrap().unwrap();
    let v = s.undo("ann", v).unwrap().unwrap();
    let p = page(&s, "ann", View::All);
    let finals: Vec<Option<i64>> = p.rows.iter().map(|a| a.final_code).collect();
    assert_eq!(
        finals,
        [
            Some(funding),
            Some(funding),
            Some(markets),
            Some(markets),
            None,
            None
        ]
    );
    let labels: Vec<String> = s
        .frame_state()
        .unwrap()
        .codes
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(labels, ["Financing", "New markets", "Communication"]);
    let v = s.undo("ann", v).unwrap().unwrap();
    assert_eq!(code_of(&s, "Funding"), funding);
    assert_eq!(s.undo("ann", v).unwrap(), None, "nothing left to undo");
}

#[test]
fn deleting_a_code_uncodes_its_answers_and_non_answers_get_the_non_answer_code() {
    let (_d, mut s) = store(5);
    let comms = code_of(&s, "Communication");
    let ws: Vec<(i64, i64)> = (0..3).map(|r| (r, 0)).collect();
    s.code_rows("ann", &ws, Some(comms), Source::Person)
        .unwrap();
    let v = s.frame_state().unwrap().version;
    let v = s.edit("ann", v, &Edit::Delete { code: comms }).unwrap();
    let p = page(&s, "ann", View::All);
    assert!(p.rows.iter().all(|a| a.final_code.is_none()));
    assert!(s
        .code_rows("ann", &[(4, 0)], Some(comms), Source::Person)
        .is_err());
    s.edit("ann", v, &Edit::NonAnswers { rows: vec![3, 4] })
        .unwrap();
    let st = s.frame_state().unwrap();
    let na = st.codes.iter().find(|c| c.nonanswers).unwrap();
    assert_eq!(na.count, 2);
    let toml = s.frame_toml().unwrap();
    assert!(toml.contains("nonanswers = true"), "{toml}");
}

#[test]
fn the_exported_frame_reads_back_as_the_same_frame() {
    let (_d, mut s) = store(3);
    let v = s.frame_state().unwrap().version;
    s.edit(
        "ann",
        v,
        &Edit::Describe {
            code: code_of(&s, "Funding"),
            description: "Grants, \"calls\"\nand loans \\ credit".into(),
        },
    )
    .unwrap();
    let once = s.frame_toml().unwrap();
    let f = Frame::parse(Path::new("frame.toml"), &once).unwrap();
    assert_eq!(f.codes.len(), 3);
    assert_eq!(
        f.codes[0].description,
        "Grants, \"calls\"\nand loans \\ credit"
    );
    assert_eq!(f.codes[0].group.as_deref(), Some("business"));
    // Re-imported and exported again, nothing changes.
    let dir = tempfile::tempdir().unwrap();
    let mut t = Store::open(&dir.path().join(super::STORE_FILE)).unwrap();
    let a = answers(&["x"]);
    t.import(Seed::Answers(&a, &f, None), "answers.csv")
        .unwrap();
    t.set_frame_meta(&f.frame.name, None, None).unwrap();
    let twice = t.frame_toml().unwrap();
    let strip = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with("source = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&once), strip(&twice));
}

#[test]
fn a_second_coder_sees_a_blind_stratified_sample_and_adjudication_decides() {
    let (_d, mut s) = store(40);
    let codes = [
        code_of(&s, "Funding"),
        code_of(&s, "New markets"),
        code_of(&s, "Communication"),
    ];
    // The first coder codes everything: 20, 15, 5.
    let split = |r: i64| {
        if r < 20 {
            0
        } else if r < 35 {
            1
        } else {
            2
        }
    };
    for (c, &code) in codes.iter().enumerate() {
        let ws: Vec<(i64, i64)> = (0..40).filter(|&r| split(r) == c).map(|r| (r, 0)).collect();
        s.code_rows("ann", &ws, Some(code), Source::Person).unwrap();
    }
    let sample = s.draw_sample("bob", 8, 7).unwrap();
    assert_eq!(sample.size, 8);
    let again = {
        let (_d2, mut t) = store(40);
        for (c, &code) in codes.iter().enumerate() {
            let ws: Vec<(i64, i64)> = (0..40).filter(|&r| split(r) == c).map(|r| (r, 0)).collect();
            t.code_rows("ann", &ws, Some(code), Source::Person).unwrap();
        }
        t.draw_sample("bob", 8, 7).unwrap();
        page(&t, "bob", View::Sample)
    };
    let p = page(&s, "bob", View::Sample);
    assert!(p.blind);
    assert_eq!(p.total, 8);
    let rows: Vec<i64> = p.rows.iter().map(|a| a.row).collect();
    assert_eq!(
        rows,
        again.rows.iter().map(|a| a.row).collect::<Vec<_>>(),
        "seeded"
    );
    let per_code: Vec<usize> = (0..3)
        .map(|c| rows.iter().filter(|&&r| split(r) == c).count())
        .collect();
    assert_eq!(per_code, [4, 3, 1], "every code in it, shares kept");
    for a in &p.rows {
        assert_eq!(a.suggestion, None);
        assert_eq!(a.final_code, None);
        assert!(a.codings.is_empty(), "blind");
    }
    // A second coder asking for everything still sees the sample only.
    assert_eq!(page(&s, "bob", View::All).total, 8);
    // Bob codes his sample: he agrees on all but two.
    for (i, a) in p.rows.iter().enumerate() {
        let mine = if i < 2 {
            codes[(split(a.row) + 1) % 3]
        } else {
            codes[split(a.row)]
        };
        s.code_rows("bob", &[(a.row, a.base)], Some(mine), Source::Person)
            .unwrap();
    }
    // Bob's codes never decide a final code.
    let all = page(&s, "ann", View::All);
    assert!(all
        .rows
        .iter()
        .all(|a| a.final_code == Some(codes[split(a.row)])));
    let agreement = s.agreement("ann", "bob").unwrap();
    assert_eq!(agreement.pairs[0].units, 8);
    assert!((agreement.overall.percent_agreement.value.unwrap() - 0.75).abs() < 1e-9);
    // Adjudication of the two disagreements: the decision is its own coding and decides.
    let d = page(&s, "ann", View::Disagreements);
    assert_eq!(d.total, 2);
    let row = d.rows[0].row;
    let decided = codes[(split(row) + 1) % 3];
    s.code_rows(
        "ann",
        &[(row, d.rows[0].base)],
        Some(decided),
        Source::Adjudicated,
    )
    .unwrap();
    assert_eq!(page(&s, "ann", View::Disagreements).total, 1);
    let a = page(&s, "ann", View::All);
    let r = a.rows.iter().find(|a| a.row == row).unwrap();
    assert_eq!(r.final_code, Some(decided));
    assert_eq!(r.final_source, Some(Source::Adjudicated));
    let coded = String::from_utf8(s.coded_csv().unwrap()).unwrap();
    assert!(
        coded
            .lines()
            .any(|l| l.ends_with(",adjudication,adjudicated,clustered")),
        "{coded}"
    );
    // The sheet and the codings table are exported.
    let names: Vec<String> = export_files(&s).unwrap().into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        ["frame.toml", "coded.csv", "codings.csv", "sample-bob.csv"]
    );
}

#[test]
fn agreement_with_the_machine_uses_the_codes_both_gave() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join(super::STORE_FILE)).unwrap();
    let a = answers(&["a", "b", "c", "d"]);
    let f = Frame::parse(Path::new("frame.toml"), FRAME).unwrap();
    s.import(Seed::Answers(&a, &f, None), "answers.csv")
        .unwrap();
    let funding = code_of(&s, "Funding");
    // No machine codes came with bare answers; people code two.
    s.code_rows("ann", &[(0, 0), (1, 0)], Some(funding), Source::Person)
        .unwrap();
    assert!(s.agreement("ann", "ann").is_err());
    let coders = s.coders().unwrap();
    assert_eq!(coders, ["ann"]);
    assert!(!coders.contains(&MACHINE.to_string()));
}

#[test]
fn a_newer_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(super::STORE_FILE);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Newer { found: 99, .. })
    ));
}

#[test]
fn a_sample_size_follows_the_interval_width() {
    let (_d, mut s) = store(400);
    let codes = [code_of(&s, "Funding"), code_of(&s, "New markets")];
    let ws: Vec<(i64, i64)> = (0..200).map(|r| (r, 0)).collect();
    s.code_rows("ann", &ws, Some(codes[0]), Source::Person)
        .unwrap();
    let ws: Vec<(i64, i64)> = (200..400).map(|r| (r, 0)).collect();
    s.code_rows("ann", &ws, Some(codes[1]), Source::Person)
        .unwrap();
    let wide = s.suggest_sample_size(0.4).unwrap();
    let narrow = s.suggest_sample_size(0.2).unwrap();
    assert!(narrow.size > wide.size, "{} vs {}", narrow.size, wide.size);
    // p_e = 0.5, p_o = 0.8: (3.92)² · 0.16 / (0.25 · 0.04) ≈ 246.
    assert!((240..=250).contains(&narrow.size), "{}", narrow.size);
}

#[test]
fn a_candidate_accepted_as_a_code_codes_its_answers_and_undo_takes_it_back() {
    let (_d, mut s) = store(6);
    s.conn
        .execute_batch(
            "INSERT INTO candidates(candidate, keywords, typical, size, nearest)
               VALUES (1, 'recording, video', 'the recording\nvideo of it', 2, 'Other');
             UPDATE answers SET candidate = 1, status = 'below threshold' WHERE row IN (1, 4);",
        )
        .unwrap();
    let v = s.frame_state().unwrap().version;
    let v = s
        .edit(
            "ann",
            v,
            &Edit::AcceptCandidate {
                candidate: 1,
                label: "Recordings".into(),
            },
        )
        .unwrap();
    let st = s.frame_state().unwrap();
    assert!(
        st.candidates.is_empty(),
        "accepted candidates leave the list"
    );
    let rec = code_of(&s, "Recordings");
    let coded: Vec<i64> = page(&s, "ann", View::All)
        .rows
        .iter()
        .filter(|a| a.final_code == Some(rec))
        .map(|a| a.row)
        .collect();
    assert_eq!(coded, [1, 4]);
    assert!(s
        .edit(
            "ann",
            v,
            &Edit::AcceptCandidate {
                candidate: 1,
                label: "Again".into()
            }
        )
        .is_err());
    s.undo("ann", v).unwrap().unwrap();
    let st = s.frame_state().unwrap();
    assert_eq!(st.candidates.len(), 1);
    assert!(st.codes.iter().all(|c| c.label != "Recordings"));
}

#[test]
fn the_uncertain_queue_puts_below_threshold_and_low_confidence_first_and_leaves_people_s_codes_out()
{
    let (_d, mut s) = store(5);
    let funding = code_of(&s, "Funding");
    s.conn
        .execute_batch(&format!(
            "UPDATE answers SET suggestion = {funding}, status = 'coded', confidence = 0.9 - row * 0.1;
             UPDATE answers SET status = 'below threshold' WHERE row = 0;"
        ))
        .unwrap();
    s.code_rows("ann", &[(4, 0)], Some(funding), Source::Person)
        .unwrap();
    let order: Vec<i64> = page(&s, "ann", View::Uncertain)
        .rows
        .iter()
        .map(|a| a.row)
        .collect();
    assert_eq!(
        order,
        [0, 3, 2, 1],
        "below threshold first, then lowest confidence; row 4 is coded"
    );
}
