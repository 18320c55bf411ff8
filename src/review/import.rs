//! Filling a new store: the answers, the frame and the machine's codes of a discover or apply
//! run, or answers not yet grouped with a frame's codes.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::store::{now_ms, record, NewCoding, Source, Store, MACHINE};
use super::StoreError;
use crate::describe::Discovery;
use crate::frame::apply::Application;
use crate::frame::learned::slug;
use crate::frame::Frame;
use crate::ingest::Answers;
use crate::rundir::Run;
use crate::status::Status;

/// What a store starts from.
pub enum Seed<'a> {
    /// A discover or apply run folder, read back; with the frame it was named from, if any.
    Run(&'a Run, Option<(&'a Frame, Option<&'a str>)>),
    /// Answers to code from scratch with a frame's codes.
    Answers(&'a Answers, &'a Frame, Option<&'a str>),
}

impl Store {
    /// Imports answers, frame and machine codes into an empty store, in one transaction.
    pub fn import(&mut self, seed: Seed, source: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('source', ?1), ('frame_version', '1'),
             ('created_ms', ?2)",
            params![source, now_ms().to_string()],
        )?;
        match seed {
            Seed::Run(Run::Discover(r), frame) => discovery(&tx, &r.discovery, frame)?,
            Seed::Run(Run::Apply(r), _) => application(&tx, &r.application)?,
            Seed::Answers(a, f, q) => {
                for (row, ans) in a.rows.iter().enumerate() {
                    let status = crate::ingest::substantive::set_aside(&ans.text)
                        .map(|s| s.status())
                        .unwrap_or(Status::Clustered);
                    insert_answer(
                        &tx,
                        NewAnswer {
                            row,
                            id: &ans.id,
                            text: &ans.text,
                            status,
                            suggestion: None,
                            confidence: None,
                            language: ans.language.as_deref(),
                        },
                    )?;
                }
                frame_codes(&tx, f, q)?;
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO coders(name, role) VALUES (?1, 'machine')",
            [MACHINE],
        )?;
        tx.commit()?;
        self.save_frame_version(None)
    }
}

/// One answer as the store first holds it.
struct NewAnswer<'a> {
    row: usize,
    id: &'a str,
    text: &'a str,
    status: Status,
    suggestion: Option<i64>,
    confidence: Option<f32>,
    language: Option<&'a str>,
}

fn insert_answer(tx: &Transaction, a: NewAnswer) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO answers(row, id, text, status, suggestion, confidence, language)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            a.row as i64,
            a.id,
            a.text,
            a.status.as_str(),
            a.suggestion,
            a.confidence.map(f64::from),
            a.language
        ],
    )?;
    Ok(())
}

fn insert_group(
    tx: &Transaction,
    key: &str,
    label: &str,
    description: &str,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO topic_groups(key, label, description) VALUES (?1, ?2, ?3)",
        params![key, label, description],
    )?;
    Ok(tx.last_insert_rowid())
}

fn insert_code(
    tx: &Transaction,
    key: &str,
    label: &str,
    description: &str,
    grp: Option<i64>,
    nonanswers: bool,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO codes(key, label, description, grp, nonanswers) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key, label, description, grp, nonanswers],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The frame's topic groups and codes for the question; code labels → code numbers.
fn frame_codes(
    tx: &Transaction,
    f: &Frame,
    q: Option<&str>,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut groups = BTreeMap::new();
    for g in f
        .groups
        .iter()
        .filter(|g| q.is_none() || g.question.as_deref() == q)
    {
        groups.insert(
            g.id.clone(),
            insert_group(tx, &g.id, &g.label, &g.description)?,
        );
    }
    let mut codes = BTreeMap::new();
    for c in f
        .codes
        .iter()
        .filter(|c| q.is_none() || c.question.as_deref() == q)
    {
        let grp = c.group.as_ref().and_then(|g| groups.get(g).copied());
        let n = insert_code(tx, &c.id, &c.label, &c.description, grp, c.nonanswers)?;
        codes.insert(c.label.clone(), n);
    }
    Ok(codes)
}

/// A discover run: one code per group name (the frame's code when the groups were named from
/// one), the machine coding each grouped answer with its group and each set-aside answer with
/// the frame's code for non-answers, if any.
fn discovery(
    tx: &Transaction,
    d: &Discovery,
    frame: Option<(&Frame, Option<&str>)>,
) -> Result<(), StoreError> {
    let mut codes = match frame {
        Some((f, q)) => frame_codes(tx, f, q)?,
        None => BTreeMap::new(),
    };
    let mut topic: BTreeMap<String, i64> = BTreeMap::new();
    // A group named from a frame takes its code (not the topic group it is reported under).
    let mut group_code = Vec::with_capacity(d.groups.len());
    for g in &d.groups {
        let label = g
            .naming
            .as_ref()
            .map_or(g.name.as_str(), |n| n.label.as_str());
        if let Some(&c) = codes.get(label) {
            group_code.push(c);
            continue;
        }
        let grp = match &g.topic_group {
            Some(t) if t != label => Some(match topic.get(t) {
                Some(&n) => n,
                None => {
                    let n = insert_group(tx, &slug(t), t, "")?;
                    topic.insert(t.clone(), n);
                    n
                }
            }),
            _ => None,
        };
        let description = format!("Keywords: {}", g.keywords.join(", "));
        let key = unique_key(tx, &slug(label))?;
        let n = insert_code(tx, &key, label, &description, grp, false)?;
        codes.insert(label.to_string(), n);
        group_code.push(n);
    }
    let nonanswer = match frame.and_then(|(f, q)| f.nonanswer_code(q)) {
        Some(c) => codes.get(&c.label).copied(),
        None => match &d.set_aside_as {
            Some(name) => Some(match codes.get(name) {
                Some(&n) => n,
                None => insert_code(tx, &unique_key(tx, &slug(name))?, name, "", None, true)?,
            }),
            None => None,
        },
    };
    for (row, a) in d.assignments.iter().enumerate() {
        let code = match a.group {
            Some(g) => group_code.get(g - 1).copied(),
            None if a.status == Status::NoAnswer => None,
            None => nonanswer,
        };
        insert_answer(
            tx,
            NewAnswer {
                row,
                id: &a.id,
                text: &a.text,
                status: a.status,
                suggestion: code,
                confidence: a.score,
                language: a.language.as_deref(),
            },
        )?;
        // A group in a language the model does not cover stays a suggestion.
        if code.is_some() && a.status != Status::UnsupportedLanguage {
            machine(tx, row, code)?;
        }
    }
    Ok(())
}

/// An apply run: the frame's codes, the machine coding every coded answer (and every
/// set-aside one with the code for non-answers), below-threshold answers keeping their
/// suggestion and confidence, and the candidate new codes.
fn application(tx: &Transaction, app: &Application) -> Result<(), StoreError> {
    let s = &app.summary;
    let mut groups: BTreeMap<String, i64> = BTreeMap::new();
    let mut code_of = Vec::with_capacity(s.codes.len());
    for c in &s.codes {
        let grp = match &c.group {
            Some(g) => Some(match groups.get(g) {
                Some(&n) => n,
                None => {
                    let n = insert_group(tx, &slug(g), g, "")?;
                    groups.insert(g.clone(), n);
                    n
                }
            }),
            None => None,
        };
        code_of.push(insert_code(
            tx,
            &c.id,
            &c.label,
            &c.description,
            grp,
            c.nonanswers,
        )?);
    }
    if !s.thresholds.is_empty() {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('thresholds', 'recorded')",
            [],
        )?;
    }
    for (&code, threshold) in code_of.iter().zip(&s.thresholds) {
        tx.execute(
            "UPDATE codes SET threshold = ?1 WHERE code = ?2",
            params![threshold.map(f64::from), code],
        )?;
    }
    for c in &s.candidates {
        tx.execute(
            "INSERT INTO candidates(candidate, keywords, typical, size, nearest) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                c.candidate as i64,
                c.keywords.join(", "),
                c.typical.join("\n"),
                c.size as i64,
                c.nearest_code
            ],
        )?;
    }
    for (row, r) in app.rows.iter().enumerate() {
        let code = r.code.and_then(|c| code_of.get(c).copied());
        insert_answer(
            tx,
            NewAnswer {
                row,
                id: &r.id,
                text: &r.text,
                status: r.status,
                suggestion: code,
                confidence: r.confidence,
                language: r.language.as_deref(),
            },
        )?;
        if let Some(c) = r.candidate {
            tx.execute(
                "UPDATE answers SET candidate = ?1 WHERE row = ?2",
                params![c as i64, row as i64],
            )?;
        }
        if r.status == Status::Coded || (r.status.is_set_aside() && code.is_some()) {
            machine(tx, row, code)?;
        }
    }
    Ok(())
}

fn machine(tx: &Transaction, row: usize, code: Option<i64>) -> Result<(), StoreError> {
    record(
        tx,
        NewCoding {
            row: row as i64,
            coder: MACHINE,
            actor: MACHINE,
            code,
            source: Source::Machine,
        },
        None,
    )?;
    Ok(())
}

/// A code key not used yet: `key`, else `key-2`, `key-3`, …
pub(super) fn unique_key(tx: &Transaction, key: &str) -> Result<String, StoreError> {
    let taken = |k: &str| -> Result<bool, StoreError> {
        Ok(
            tx.query_row("SELECT COUNT(*) FROM codes WHERE key = ?1", [k], |r| {
                r.get::<_, i64>(0)
            })? > 0,
        )
    };
    if !taken(key)? {
        return Ok(key.to_string());
    }
    let mut n = 2;
    loop {
        let k = format!("{key}-{n}");
        if !taken(&k)? {
            return Ok(k);
        }
        n += 1;
    }
}

/// What [`Store::import_codings`] brought in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportedCodings {
    /// Codings recorded.
    pub codings: usize,
    /// Codes made for labels the frame did not have.
    pub new_codes: Vec<String>,
    /// Ids of the file that are not answers of the store.
    pub unknown_ids: usize,
}

impl Store {
    /// Records earlier coding, one stream per coder: `rows` are (answer id, each coder's label;
    /// empty: not coded). A label is matched to a code by its label, then by its id; a label
    /// the frame lacks becomes a code of its own, so no coding is lost. One transaction.
    pub fn import_codings(
        &mut self,
        coders: &[String],
        rows: &[(String, Vec<String>)],
    ) -> Result<ImportedCodings, StoreError> {
        let tx = self.conn.transaction()?;
        let mut codes: BTreeMap<String, i64> = BTreeMap::new();
        {
            let mut st = tx.prepare(
                "SELECT code, key, label FROM codes WHERE deleted = 0 ORDER BY code DESC",
            )?;
            for r in st.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })? {
                let (code, key, label) = r?;
                // Labels win over ids; lower numbers win ties (inserted last).
                codes.entry(format!("k:{key}")).or_insert(code);
                codes.insert(format!("l:{label}"), code);
            }
        }
        for c in coders {
            tx.execute(
                "INSERT INTO coders(name, role) VALUES (?1, 'primary') ON CONFLICT(name) DO NOTHING",
                [c],
            )?;
        }
        let mut out = ImportedCodings::default();
        for (id, labels) in rows {
            let row: Option<i64> = tx
                .query_row("SELECT row FROM answers WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let Some(row) = row else {
                out.unknown_ids += 1;
                continue;
            };
            for (coder, label) in coders.iter().zip(labels) {
                let label = label.trim();
                if label.is_empty() {
                    continue;
                }
                let known = codes
                    .get(&format!("l:{label}"))
                    .or_else(|| codes.get(&format!("k:{label}")))
                    .copied();
                let code = match known {
                    Some(c) => c,
                    None => {
                        let key = unique_key(&tx, &slug(label))?;
                        let c = insert_code(&tx, &key, label, "", None, false)?;
                        codes.insert(format!("l:{label}"), c);
                        out.new_codes.push(label.to_string());
                        c
                    }
                };
                record(
                    &tx,
                    NewCoding {
                        row,
                        coder,
                        actor: coder,
                        code: Some(code),
                        source: Source::Person,
                    },
                    None,
                )?;
                out.codings += 1;
            }
        }
        tx.commit()?;
        if !out.new_codes.is_empty() {
            self.save_frame_version(None)?;
        }
        Ok(out)
    }
}
