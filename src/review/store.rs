//! The coding store: one SQLite file beside a run. Every decision is a row of `codings` (answer,
//! coder, who decided, code, source, previous code, time); `current` and `finals` keep the
//! latest state of each coder and of each answer beside that history, updated in the same
//! transaction, so the history is never lost and the state never disagrees with it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use super::schema::migrate;
use super::StoreError;

/// The coder name under which the machine's codes are recorded.
pub const MACHINE: &str = "codeframe";
/// The coder stream adjudications are recorded under (the adjudicator is the actor).
pub const ADJUDICATION: &str = "adjudication";

/// Where a coding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The machine (discover's group, apply's code).
    Machine,
    /// A person coding an answer.
    Person,
    /// A person deciding between coders who disagree.
    Adjudicated,
}

impl Source {
    /// The word stored and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Machine => "machine",
            Source::Person => "person",
            Source::Adjudicated => "adjudicated",
        }
    }

    fn parse(s: &str) -> Source {
        match s {
            "machine" => Source::Machine,
            "adjudicated" => Source::Adjudicated,
            _ => Source::Person,
        }
    }
}

/// Milliseconds since 1970, the time every row records.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An open store.
pub struct Store {
    pub(super) conn: Connection,
}

/// One coding to record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewCoding<'a> {
    /// The answer's row.
    pub row: i64,
    /// The coding stream (a coder's name, [`MACHINE`] or [`ADJUDICATION`]).
    pub coder: &'a str,
    /// The person (or machine) who decided.
    pub actor: &'a str,
    /// The code; `None` clears the coding.
    pub code: Option<i64>,
    /// Where it comes from.
    pub source: Source,
}

/// A coding as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coding {
    /// The code, `None` when cleared.
    pub code: Option<i64>,
    /// The coding stream.
    pub coder: String,
    /// Where it comes from.
    pub source: Source,
    /// Its sequence number (the store's clock).
    pub seq: i64,
}

impl Store {
    /// Opens (creating when absent) the store at `path`, bringing its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        // Readers never wait for the writer, and a second server on the same file (a second
        // coder) waits for a lock instead of failing.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Records the frame's name and question (for the exported frame file).
    pub fn set_frame_meta(
        &mut self,
        name: &str,
        question: Option<&str>,
        text: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for (k, v) in [
            ("frame_name", Some(name)),
            ("question", question),
            ("question_text", text),
        ] {
            if let Some(v) = v {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = ?2",
                    params![k, v],
                )?;
            }
        }
        tx.commit()?;
        self.save_frame_version(None)
    }

    /// Whether answers were imported.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM answers", [], |r| r.get(0))?;
        Ok(n == 0)
    }

    /// The frame's version: it grows with every edit of codes or topic groups.
    pub fn frame_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta("frame_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Registers a coder (primary unless a sample makes them a second coder).
    pub fn ensure_coder(&self, name: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO coders(name, role) VALUES (?1, 'primary')",
            [name],
        )?;
        Ok(())
    }

    /// A coder's role: `primary` or `second`.
    pub fn role(&self, name: &str) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT role FROM coders WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or_else(|| "primary".to_string()))
    }

    /// Every coding stream with at least one coding: people, the machine, adjudication.
    pub fn coders(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT coder FROM current ORDER BY coder")?;
        let names = st
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    /// The history of one answer, oldest first.
    pub fn history(&self, row: i64) -> Result<Vec<HistoryItem>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT c.seq, c.coder, c.actor, c.code, c.source, c.previous, c.at_ms, o.kind
             FROM codings c LEFT JOIN ops o ON o.op = c.op WHERE c.row = ?1 ORDER BY c.seq",
        )?;
        let items = st
            .query_map([row], |r| {
                Ok(HistoryItem {
                    seq: r.get(0)?,
                    coder: r.get(1)?,
                    actor: r.get(2)?,
                    code: r.get(3)?,
                    source: Source::parse(&r.get::<_, String>(4)?),
                    previous: r.get(5)?,
                    at_ms: r.get(6)?,
                    by: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(items)
    }
}

/// One entry of an answer's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryItem {
    /// Sequence number.
    pub seq: i64,
    /// Coding stream.
    pub coder: String,
    /// Who decided.
    pub actor: String,
    /// The code (none: cleared).
    pub code: Option<i64>,
    /// Where it comes from.
    pub source: Source,
    /// The stream's code before.
    pub previous: Option<i64>,
    /// When.
    pub at_ms: i64,
    /// The frame edit that made it, if one did.
    pub by: Option<String>,
}

/// The latest coding of `coder` for `row`.
pub(super) fn current(
    tx: &Transaction,
    row: i64,
    coder: &str,
) -> Result<Option<(Option<i64>, Source)>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT code, source FROM current WHERE row = ?1 AND coder = ?2",
            params![row, coder],
            |r| Ok((r.get(0)?, Source::parse(&r.get::<_, String>(1)?))),
        )
        .optional()?)
}

/// Records one coding inside a transaction: the history row, the coder's current coding and
/// the answer's final code. Returns the coding's sequence number.
pub(super) fn record(tx: &Transaction, c: NewCoding, op: Option<i64>) -> Result<i64, StoreError> {
    let previous = current(tx, c.row, c.coder)?.and_then(|p| p.0);
    tx.execute(
        "INSERT INTO codings(row, coder, actor, code, source, previous, op, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            c.row,
            c.coder,
            c.actor,
            c.code,
            c.source.as_str(),
            previous,
            op,
            now_ms()
        ],
    )?;
    let seq = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO current(row, coder, code, source, seq) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(row, coder) DO UPDATE SET code = ?3, source = ?4, seq = ?5",
        params![c.row, c.coder, c.code, c.source.as_str(), seq],
    )?;
    refresh_final(tx, c.row)?;
    Ok(seq)
}

/// Removes a coder's current coding (undoing the first coding of a stream), keeping history.
pub(super) fn forget(
    tx: &Transaction,
    row: i64,
    coder: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let previous = current(tx, row, coder)?.and_then(|p| p.0);
    tx.execute(
        "INSERT INTO codings(row, coder, actor, code, source, previous, op, at_ms)
         VALUES (?1, ?2, ?3, NULL, 'person', ?4, NULL, ?5)",
        params![row, coder, actor, previous, now_ms()],
    )?;
    tx.execute(
        "DELETE FROM current WHERE row = ?1 AND coder = ?2",
        params![row, coder],
    )?;
    refresh_final(tx, row)
}

/// The final code of an answer: the latest adjudication, else the latest coding of a primary
/// coder, else the machine's; a cleared coding counts (a person may take a code away).
pub(super) fn refresh_final(tx: &Transaction, row: i64) -> Result<(), StoreError> {
    let best: Option<(Option<i64>, String, String, i64)> = tx
        .query_row(
            "SELECT c.code, c.coder, c.source, c.seq FROM current c
             LEFT JOIN coders k ON k.name = c.coder
             WHERE c.row = ?1 AND (
                 c.source = 'adjudicated'
                 OR c.coder = ?2
                 OR (c.source = 'person' AND COALESCE(k.role, 'primary') = 'primary'))
             ORDER BY CASE c.source WHEN 'adjudicated' THEN 0 WHEN 'person' THEN 1 ELSE 2 END,
                      c.seq DESC
             LIMIT 1",
            params![row, MACHINE],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match best {
        Some((code, coder, source, seq)) => tx.execute(
            "INSERT INTO finals(row, code, coder, source, seq) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(row) DO UPDATE SET code = ?2, coder = ?3, source = ?4, seq = ?5",
            params![row, code, coder, source, seq],
        )?,
        None => tx.execute("DELETE FROM finals WHERE row = ?1", [row])?,
    };
    Ok(())
}

/// The sequence number a write must have seen for `row`: the latest coding that decides its
/// final code, or, for a second coder, the latest of their own.
pub(super) fn base_of(tx: &Transaction, row: i64, coder: &str) -> Result<i64, StoreError> {
    let second = tx
        .query_row(
            "SELECT role = 'second' FROM coders WHERE name = ?1",
            [coder],
            |r| r.get::<_, bool>(0),
        )
        .optional()?
        .unwrap_or(false);
    let seq: Option<i64> = if second {
        tx.query_row(
            "SELECT seq FROM current WHERE row = ?1 AND coder = ?2",
            params![row, coder],
            |r| r.get(0),
        )
        .optional()?
    } else {
        tx.query_row(
            "SELECT MAX(c.seq) FROM current c LEFT JOIN coders k ON k.name = c.coder
             WHERE c.row = ?1 AND c.coder != ?2
               AND (c.source = 'adjudicated' OR COALESCE(k.role, 'primary') = 'primary')",
            params![row, MACHINE],
            |r| r.get(0),
        )
        .optional()?
        .flatten()
    };
    Ok(seq.unwrap_or(0))
}

impl Store {
    /// A person's codes for rows, each write refused when the row changed since `base` (the
    /// sequence number the person's page showed): the conflict names the rows, nothing is
    /// written. Returns the new sequence numbers.
    pub fn code_rows(
        &mut self,
        coder: &str,
        writes: &[(i64, i64)],
        code: Option<i64>,
        source: Source,
    ) -> Result<Vec<i64>, StoreError> {
        self.ensure_coder(coder)?;
        let tx = self.conn.transaction()?;
        if let Some(c) = code {
            super::edit::live_code(&tx, c)?;
        }
        let mut stale = Vec::new();
        for &(row, base) in writes {
            let exists: bool = tx
                .query_row("SELECT 1 FROM answers WHERE row = ?1", [row], |_| Ok(true))
                .optional()?
                .unwrap_or(false);
            if !exists {
                return Err(StoreError::Invalid(format!("no answer at row {row}")));
            }
            if base_of(&tx, row, coder)? != base {
                stale.push(row);
            }
        }
        if !stale.is_empty() {
            let mut ids = Vec::new();
            for &row in stale.iter().take(5) {
                ids.push(
                    tx.query_row("SELECT id FROM answers WHERE row = ?1", [row], |r| {
                        r.get::<_, String>(0)
                    })?,
                );
            }
            let more = if stale.len() > ids.len() { ", …" } else { "" };
            let ids = ids.join(", ");
            return Err(StoreError::Conflict(format!(
                "someone coded {ids}{more} since your page showed it; nothing was written — the \
                 page now shows the current codes, code again if you still disagree"
            )));
        }
        let stream = match source {
            Source::Adjudicated => ADJUDICATION,
            _ => coder,
        };
        let mut seqs = Vec::with_capacity(writes.len());
        for &(row, _) in writes {
            seqs.push(record(
                &tx,
                NewCoding {
                    row,
                    coder: stream,
                    actor: coder,
                    code,
                    source,
                },
                None,
            )?);
        }
        tx.commit()?;
        Ok(seqs)
    }
}
