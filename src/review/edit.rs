//! Editing the frame in the store: rename, describe, merge, split, move under topic groups,
//! delete, accept a candidate, mark non-answers — each one operation with what it changed, so
//! it can be undone, and each a new frame version. A stale page (another coder edited the frame
//! since) gets a conflict, not a silent overwrite.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::import::unique_key;
use super::store::{current, forget, now_ms, record, NewCoding, Source, Store, MACHINE};
use super::StoreError;
use crate::frame::learned::slug;

/// A frame edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    /// A new, empty code.
    NewCode { label: String },
    /// A code's label.
    Rename { code: i64, label: String },
    /// A code's description.
    Describe { code: i64, description: String },
    /// Put a code under a topic group (or none).
    SetGroup { code: i64, group: Option<i64> },
    /// A new topic group.
    NewGroup { label: String },
    /// A topic group's label.
    RenameGroup { group: i64, label: String },
    /// Every answer of `from` goes to `into`; `from` is gone.
    Merge { from: i64, into: i64 },
    /// Chosen answers become a new code.
    Split { rows: Vec<i64>, label: String },
    /// Its answers become uncoded; the code is gone.
    Delete { code: i64 },
    /// Chosen answers are non-answers (the frame's code for them, made if needed).
    NonAnswers { rows: Vec<i64> },
    /// A candidate new code of apply becomes a code with its answers.
    AcceptCandidate { candidate: i64, label: String },
}

/// A code as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRow {
    /// Its number.
    pub code: i64,
    /// Its id in the frame file.
    pub key: String,
    /// Label.
    pub label: String,
    /// Description.
    pub description: String,
    /// Topic group.
    pub group: Option<i64>,
    /// The code for non-answers.
    pub nonanswers: bool,
    /// Deleted (or merged).
    pub deleted: bool,
    /// The code it was merged into.
    pub merged_into: Option<i64>,
}

/// A topic group as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    /// Its number.
    pub group: i64,
    /// Its id in the frame file.
    pub key: String,
    /// Label.
    pub label: String,
    /// Description.
    pub description: String,
    /// Deleted.
    pub deleted: bool,
}

/// A coding stream's coding of one answer before an edit: (row, stream, code and source).
type CodingBefore = (i64, String, Option<(Option<i64>, String)>);

/// What an edit changed, to put back.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Undo {
    codes: Vec<CodeRow>,
    created_codes: Vec<i64>,
    groups: Vec<GroupRow>,
    created_groups: Vec<i64>,
    /// (row, coding stream, its coding before: code and source).
    codings: Vec<CodingBefore>,
    candidates: Vec<(i64, Option<i64>)>,
    /// Answers whose machine suggestion moved: (row, its suggestion before).
    suggestions: Vec<(i64, i64)>,
}

fn code_row(tx: &Transaction, code: i64) -> Result<CodeRow, StoreError> {
    tx.query_row(
        "SELECT code, key, label, description, grp, nonanswers, deleted, merged_into
         FROM codes WHERE code = ?1",
        [code],
        |r| {
            Ok(CodeRow {
                code: r.get(0)?,
                key: r.get(1)?,
                label: r.get(2)?,
                description: r.get(3)?,
                group: r.get(4)?,
                nonanswers: r.get(5)?,
                deleted: r.get(6)?,
                merged_into: r.get(7)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::Invalid(format!("no code {code}")))
}

fn group_row(tx: &Transaction, group: i64) -> Result<GroupRow, StoreError> {
    tx.query_row(
        "SELECT grp, key, label, description, deleted FROM topic_groups WHERE grp = ?1",
        [group],
        |r| {
            Ok(GroupRow {
                group: r.get(0)?,
                key: r.get(1)?,
                label: r.get(2)?,
                description: r.get(3)?,
                deleted: r.get(4)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::Invalid(format!("no topic group {group}")))
}

/// Refuses a code that does not exist or was deleted.
pub(super) fn live_code(tx: &Transaction, code: i64) -> Result<CodeRow, StoreError> {
    let c = code_row(tx, code)?;
    if c.deleted {
        return Err(StoreError::Invalid(format!(
            "the code \"{}\" was deleted or merged",
            c.label
        )));
    }
    Ok(c)
}

fn check_label(tx: &Transaction, label: &str, except: Option<i64>) -> Result<String, StoreError> {
    let label = label.trim();
    if label.is_empty() {
        return Err(StoreError::Invalid("a code needs a label".into()));
    }
    if label.chars().count() > 200 {
        return Err(StoreError::Invalid(
            "a label has at most 200 characters".into(),
        ));
    }
    let clash: Option<i64> = tx
        .query_row(
            "SELECT code FROM codes WHERE label = ?1 AND deleted = 0 AND code != ?2",
            params![label, except.unwrap_or(-1)],
            |r| r.get(0),
        )
        .optional()?;
    if clash.is_some() {
        return Err(StoreError::Invalid(format!(
            "a code is already labelled \"{label}\""
        )));
    }
    Ok(label.to_string())
}

fn new_code(tx: &Transaction, label: &str, undo: &mut Undo) -> Result<i64, StoreError> {
    let label = check_label(tx, label, None)?;
    let key = unique_key(tx, &slug(&label))?;
    tx.execute(
        "INSERT INTO codes(key, label, description) VALUES (?1, ?2, '')",
        params![key, label],
    )?;
    let code = tx.last_insert_rowid();
    undo.created_codes.push(code);
    Ok(code)
}

/// Sets a coding stream's code for a row, remembering what it was.
fn recode(
    tx: &Transaction,
    undo: &mut Undo,
    (row, coder, actor): (i64, &str, &str),
    code: Option<i64>,
    source: Source,
    op: i64,
) -> Result<(), StoreError> {
    let before = current(tx, row, coder)?.map(|(c, s)| (c, s.as_str().to_string()));
    undo.codings.push((row, coder.to_string(), before));
    record(
        tx,
        NewCoding {
            row,
            coder,
            actor,
            code,
            source,
        },
        Some(op),
    )?;
    Ok(())
}

/// Every coding stream's coding currently at `code`: (row, stream, source).
fn at_code(tx: &Transaction, code: i64) -> Result<Vec<(i64, String, Source)>, StoreError> {
    let mut st = tx.prepare("SELECT row, coder, source FROM current WHERE code = ?1")?;
    let rows = st
        .query_map([code], |r| {
            let s: String = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, s))
        })?
        .collect::<Result<Vec<(i64, String, String)>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(r, c, s)| {
            let source = match s.as_str() {
                "machine" => Source::Machine,
                "adjudicated" => Source::Adjudicated,
                _ => Source::Person,
            };
            (r, c, source)
        })
        .collect())
}

impl Store {
    /// Applies one edit made by `coder` on a page that showed frame version `version`.
    /// Returns the new frame version.
    pub fn edit(&mut self, coder: &str, version: i64, edit: &Edit) -> Result<i64, StoreError> {
        self.ensure_coder(coder)?;
        let tx = self.conn.transaction()?;
        let now: i64 = tx
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'frame_version'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if now != version {
            return Err(StoreError::Conflict(format!(
                "the frame changed since your page showed it (version {version}, now {now}); reload it"
            )));
        }
        let kind = serde_json::to_value(edit)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_else(|| "edit".into());
        tx.execute(
            "INSERT INTO ops(coder, kind, detail, undo, at_ms) VALUES (?1, ?2, ?3, '{}', ?4)",
            params![coder, kind, format!("{edit:?}"), now_ms()],
        )?;
        let op = tx.last_insert_rowid();
        let mut undo = Undo::default();
        apply(&tx, coder, op, edit, &mut undo)?;
        let undo = serde_json::to_string(&undo)
            .map_err(|e| StoreError::Invalid(format!("cannot record the edit: {e}")))?;
        tx.execute("UPDATE ops SET undo = ?1 WHERE op = ?2", params![undo, op])?;
        let next = now + 1;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'frame_version'",
            [next.to_string()],
        )?;
        tx.commit()?;
        self.save_frame_version(Some(op))?;
        Ok(next)
    }

    /// Undoes `coder`'s latest edit not undone yet; `None` when there is none.
    pub fn undo(&mut self, coder: &str, version: i64) -> Result<Option<i64>, StoreError> {
        let tx = self.conn.transaction()?;
        let now: i64 = tx
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'frame_version'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if now != version {
            return Err(StoreError::Conflict(format!(
                "the frame changed since your page showed it (version {version}, now {now}); reload it"
            )));
        }
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT op, undo FROM ops WHERE coder = ?1 AND undone = 0 ORDER BY op DESC LIMIT 1",
                [coder],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((op, undo)) = last else {
            return Ok(None);
        };
        let undo: Undo = serde_json::from_str(&undo)
            .map_err(|e| StoreError::Invalid(format!("cannot read the edit to undo: {e}")))?;
        put_back(&tx, coder, &undo)?;
        tx.execute("UPDATE ops SET undone = 1 WHERE op = ?1", [op])?;
        let next = now + 1;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'frame_version'",
            [next.to_string()],
        )?;
        tx.commit()?;
        self.save_frame_version(Some(op))?;
        Ok(Some(next))
    }

    /// Keeps the frame as a TOML file of its version.
    pub(super) fn save_frame_version(&mut self, op: Option<i64>) -> Result<(), StoreError> {
        let version = self.frame_version()?;
        let toml = self.frame_toml()?;
        self.conn.execute(
            "INSERT OR REPLACE INTO frames(version, op, toml, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![version, op, toml, now_ms()],
        )?;
        Ok(())
    }
}

fn apply(
    tx: &Transaction,
    coder: &str,
    op: i64,
    edit: &Edit,
    undo: &mut Undo,
) -> Result<(), StoreError> {
    let snapshot = |undo: &mut Undo, code: i64| -> Result<(), StoreError> {
        undo.codes.push(code_row(tx, code)?);
        Ok(())
    };
    match edit {
        Edit::NewCode { label } => {
            new_code(tx, label, undo)?;
        }
        Edit::Rename { code, label } => {
            live_code(tx, *code)?;
            let label = check_label(tx, label, Some(*code))?;
            snapshot(undo, *code)?;
            tx.execute(
                "UPDATE codes SET label = ?1 WHERE code = ?2",
                params![label, code],
            )?;
        }
        Edit::Describe { code, description } => {
            live_code(tx, *code)?;
            snapshot(undo, *code)?;
            tx.execute(
                "UPDATE codes SET description = ?1 WHERE code = ?2",
                params![description.trim(), code],
            )?;
        }
        Edit::SetGroup { code, group } => {
            live_code(tx, *code)?;
            if let Some(g) = group {
                group_row(tx, *g)?;
            }
            snapshot(undo, *code)?;
            tx.execute(
                "UPDATE codes SET grp = ?1 WHERE code = ?2",
                params![group, code],
            )?;
        }
        Edit::NewGroup { label } => {
            let label = label.trim();
            if label.is_empty() {
                return Err(StoreError::Invalid("a topic group needs a label".into()));
            }
            tx.execute(
                "INSERT INTO topic_groups(key, label, description) VALUES (?1, ?2, '')",
                params![slug(label), label],
            )?;
            undo.created_groups.push(tx.last_insert_rowid());
        }
        Edit::RenameGroup { group, label } => {
            undo.groups.push(group_row(tx, *group)?);
            tx.execute(
                "UPDATE topic_groups SET label = ?1 WHERE grp = ?2",
                params![label.trim(), group],
            )?;
        }
        Edit::Merge { from, into } => merge(tx, coder, op, (*from, *into), undo)?,
        Edit::Split { rows, label } => {
            let code = new_code(tx, label, undo)?;
            code_rows(tx, coder, op, rows, code, undo)?;
        }
        Edit::Delete { code } => {
            live_code(tx, *code)?;
            for (row, stream, source) in at_code(tx, *code)? {
                recode(tx, undo, (row, &stream, coder), None, source, op)?;
            }
            snapshot(undo, *code)?;
            tx.execute("UPDATE codes SET deleted = 1 WHERE code = ?1", [code])?;
        }
        Edit::NonAnswers { rows } => {
            let code = nonanswer_code(tx, undo)?;
            code_rows(tx, coder, op, rows, code, undo)?;
        }
        Edit::AcceptCandidate { candidate, label } => {
            accept_candidate(tx, coder, op, (*candidate, label), undo)?
        }
    }
    Ok(())
}

/// Moves every coding and suggestion of `from` to `into` and retires `from`.
fn merge(
    tx: &Transaction,
    coder: &str,
    op: i64,
    (from, into): (i64, i64),
    undo: &mut Undo,
) -> Result<(), StoreError> {
    if from == into {
        return Err(StoreError::Invalid(
            "a code cannot be merged into itself".into(),
        ));
    }
    live_code(tx, from)?;
    live_code(tx, into)?;
    for (row, stream, source) in at_code(tx, from)? {
        recode(tx, undo, (row, &stream, coder), Some(into), source, op)?;
    }
    undo.codes.push(code_row(tx, from)?);
    tx.execute(
        "UPDATE codes SET deleted = 1, merged_into = ?1 WHERE code = ?2",
        params![into, from],
    )?;
    let mut st = tx.prepare("SELECT row FROM answers WHERE suggestion = ?1")?;
    let moved = st
        .query_map([from], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    undo.suggestions.extend(moved.iter().map(|&r| (r, from)));
    tx.execute(
        "UPDATE answers SET suggestion = ?1 WHERE suggestion = ?2",
        params![into, from],
    )?;
    Ok(())
}

/// The coder's own codes for `rows`: `code` for each.
fn code_rows(
    tx: &Transaction,
    coder: &str,
    op: i64,
    rows: &[i64],
    code: i64,
    undo: &mut Undo,
) -> Result<(), StoreError> {
    for &row in rows {
        recode(
            tx,
            undo,
            (row, coder, coder),
            Some(code),
            Source::Person,
            op,
        )?;
    }
    Ok(())
}

/// The frame's non-answer code, made on first use.
fn nonanswer_code(tx: &Transaction, undo: &mut Undo) -> Result<i64, StoreError> {
    let existing: Option<i64> = tx
        .query_row(
            "SELECT code FROM codes WHERE nonanswers = 1 AND deleted = 0 ORDER BY code LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(c) = existing {
        return Ok(c);
    }
    let c = new_code(tx, "Non-answer", undo)?;
    tx.execute("UPDATE codes SET nonanswers = 1 WHERE code = ?1", [c])?;
    Ok(c)
}

/// Makes a candidate code a code of the frame, coding its answers with it.
fn accept_candidate(
    tx: &Transaction,
    coder: &str,
    op: i64,
    (candidate, label): (i64, &str),
    undo: &mut Undo,
) -> Result<(), StoreError> {
    let accepted: Option<Option<i64>> = tx
        .query_row(
            "SELECT accepted_as FROM candidates WHERE candidate = ?1",
            [candidate],
            |r| r.get(0),
        )
        .optional()?;
    match accepted {
        None => return Err(StoreError::Invalid(format!("no candidate {candidate}"))),
        Some(Some(_)) => {
            return Err(StoreError::Invalid(format!(
                "candidate {candidate} is already a code"
            )))
        }
        Some(None) => {}
    }
    let code = new_code(tx, label, undo)?;
    let mut st = tx.prepare("SELECT row FROM answers WHERE candidate = ?1 ORDER BY row")?;
    let rows = st
        .query_map([candidate], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    code_rows(tx, coder, op, &rows, code, undo)?;
    undo.candidates.push((candidate, None));
    tx.execute(
        "UPDATE candidates SET accepted_as = ?1 WHERE candidate = ?2",
        params![code, candidate],
    )?;
    Ok(())
}

/// Restores what an edit changed; codings go back as new rows, so history keeps both.
fn put_back(tx: &Transaction, coder: &str, undo: &Undo) -> Result<(), StoreError> {
    for (row, stream, before) in undo.codings.iter().rev() {
        match before {
            Some((code, source)) => {
                let source = match source.as_str() {
                    "machine" => Source::Machine,
                    "adjudicated" => Source::Adjudicated,
                    _ => Source::Person,
                };
                record(
                    tx,
                    NewCoding {
                        row: *row,
                        coder: stream,
                        actor: if stream == MACHINE { MACHINE } else { coder },
                        code: *code,
                        source,
                    },
                    None,
                )?;
            }
            None => forget(tx, *row, stream, coder)?,
        }
    }
    for c in &undo.codes {
        tx.execute(
            "UPDATE codes SET key = ?1, label = ?2, description = ?3, grp = ?4, nonanswers = ?5,
             deleted = ?6, merged_into = ?7 WHERE code = ?8",
            params![
                c.key,
                c.label,
                c.description,
                c.group,
                c.nonanswers,
                c.deleted,
                c.merged_into,
                c.code
            ],
        )?;
    }
    for &code in &undo.created_codes {
        tx.execute("UPDATE codes SET deleted = 1 WHERE code = ?1", [code])?;
    }
    for g in &undo.groups {
        tx.execute(
            "UPDATE topic_groups SET label = ?1, description = ?2, deleted = ?3 WHERE grp = ?4",
            params![g.label, g.description, g.deleted, g.group],
        )?;
    }
    for &g in &undo.created_groups {
        tx.execute("UPDATE topic_groups SET deleted = 1 WHERE grp = ?1", [g])?;
        tx.execute("UPDATE codes SET grp = NULL WHERE grp = ?1", [g])?;
    }
    for (row, suggestion) in &undo.suggestions {
        tx.execute(
            "UPDATE answers SET suggestion = ?1 WHERE row = ?2",
            params![suggestion, row],
        )?;
    }
    for (candidate, accepted) in &undo.candidates {
        tx.execute(
            "UPDATE candidates SET accepted_as = ?1 WHERE candidate = ?2",
            params![accepted, candidate],
        )?;
    }
    Ok(())
}
