//! What the page reads: the frame with its counts, and pages of answers — all of them, the
//! uncertain ones, a second coder's blind sample, or the disagreements to adjudicate.

use rusqlite::{params_from_iter, types::Value};
use serde::{Deserialize, Serialize};

use super::store::{Source, Store, ADJUDICATION, MACHINE};
use super::StoreError;

/// A code with its counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeInfo {
    /// Number.
    pub code: i64,
    /// Id in the frame file.
    pub key: String,
    /// Label.
    pub label: String,
    /// Description.
    pub description: String,
    /// Topic group.
    pub group: Option<i64>,
    /// The code for non-answers.
    pub nonanswers: bool,
    /// Answers whose final code it is.
    pub count: i64,
    /// Answers a person (or adjudication) gave it.
    pub by_people: i64,
    /// Answers the machine suggests it for but nobody has coded yet.
    pub suggested: i64,
    /// The machine's score from which it codes this code itself (apply runs; none when it
    /// never does or the run did not record it).
    pub threshold: Option<f64>,
}

/// A topic group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInfo {
    /// Number.
    pub group: i64,
    /// Label.
    pub label: String,
}

/// A candidate new code of apply, not accepted yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateInfo {
    /// Number.
    pub candidate: i64,
    /// Keywords.
    pub keywords: String,
    /// Typical answers, one per line.
    pub typical: String,
    /// Answers.
    pub size: i64,
    /// The nearest code.
    pub nearest: String,
}

/// The frame and the counts the page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameState {
    /// Frame version (sent back with every edit).
    pub version: i64,
    /// Live codes in creation order.
    pub codes: Vec<CodeInfo>,
    /// Live topic groups.
    pub groups: Vec<GroupInfo>,
    /// Candidate new codes.
    pub candidates: Vec<CandidateInfo>,
    /// Answers.
    pub rows: i64,
    /// Answers with a final code.
    pub coded: i64,
    /// Coding streams (people, the machine, adjudication).
    pub coders: Vec<String>,
    /// Second coders with a sample (whose sheets can be exported).
    pub second_coders: Vec<String>,
    /// Languages of the answers, when known.
    pub languages: Vec<String>,
    /// Whether the codes' thresholds were recorded (a store made from an apply run), so a
    /// code without one is never coded by the machine alone.
    pub thresholds: bool,
}

/// Which answers to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Every answer, in input order.
    #[default]
    All,
    /// Not yet coded by a person, lowest machine confidence first (below threshold first).
    Uncertain,
    /// The coder's sample (blind for a second coder).
    Sample,
    /// Answers people coded differently, not adjudicated yet.
    Disagreements,
}

/// A page of answers.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AnswerQuery {
    /// Which answers.
    #[serde(default)]
    pub view: View,
    /// Only this final code (-1: uncoded).
    pub code: Option<i64>,
    /// Only this status.
    pub status: Option<String>,
    /// Only answers containing this text (case-insensitive).
    pub q: Option<String>,
    /// Only answers in this language.
    pub language: Option<String>,
    /// Only machine confidence at most this.
    pub max_confidence: Option<f64>,
    /// First answer of the page.
    #[serde(default)]
    pub offset: i64,
    /// Answers per page (at most 500).
    pub limit: Option<i64>,
}

/// One answer as the page lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerRow {
    /// Row (0-based input order).
    pub row: i64,
    /// Id.
    pub id: String,
    /// Text (the page shows it as text, never as markup).
    pub text: String,
    /// Status from the run.
    pub status: String,
    /// The machine's code (hidden from a second coder).
    pub suggestion: Option<i64>,
    /// Its confidence.
    pub confidence: Option<f64>,
    /// Candidate new code.
    pub candidate: Option<i64>,
    /// Language, when known.
    pub language: Option<String>,
    /// The asking coder's own code.
    pub mine: Option<i64>,
    /// The final code (hidden from a second coder).
    pub final_code: Option<i64>,
    /// Where the final code comes from.
    pub final_source: Option<Source>,
    /// Whose it is.
    pub final_coder: Option<String>,
    /// Every coding stream's code (hidden from a second coder).
    pub codings: Vec<(String, Option<i64>)>,
    /// What a write must send back as having seen.
    pub base: i64,
}

/// A page of answers and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerPage {
    /// Matching answers.
    pub total: i64,
    /// This page of them.
    pub rows: Vec<AnswerRow>,
    /// Whether codes of others are hidden (a second coder's blind view).
    pub blind: bool,
}

impl Store {
    /// The strings of a one-column query.
    fn column(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare(sql)?;
        let out = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(out)
    }

    /// The frame and its counts.
    pub fn frame_state(&self) -> Result<FrameState, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT c.code, c.key, c.label, c.description, c.grp, c.nonanswers,
               (SELECT COUNT(*) FROM finals f WHERE f.code = c.code),
               (SELECT COUNT(*) FROM finals f WHERE f.code = c.code AND f.source != 'machine'),
               (SELECT COUNT(*) FROM answers a LEFT JOIN finals f ON f.row = a.row
                  WHERE a.suggestion = c.code AND f.code IS NULL),
               c.threshold
             FROM codes c WHERE c.deleted = 0 ORDER BY c.code",
        )?;
        let codes = st
            .query_map([], |r| {
                Ok(CodeInfo {
                    code: r.get(0)?,
                    key: r.get(1)?,
                    label: r.get(2)?,
                    description: r.get(3)?,
                    group: r.get(4)?,
                    nonanswers: r.get(5)?,
                    count: r.get(6)?,
                    by_people: r.get(7)?,
                    suggested: r.get(8)?,
                    threshold: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = self
            .conn
            .prepare("SELECT grp, label FROM topic_groups WHERE deleted = 0 ORDER BY grp")?;
        let groups = st
            .query_map([], |r| {
                Ok(GroupInfo {
                    group: r.get(0)?,
                    label: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = self.conn.prepare(
            "SELECT candidate, keywords, typical, size, nearest FROM candidates
             WHERE accepted_as IS NULL ORDER BY candidate",
        )?;
        let candidates = st
            .query_map([], |r| {
                Ok(CandidateInfo {
                    candidate: r.get(0)?,
                    keywords: r.get(1)?,
                    typical: r.get(2)?,
                    size: r.get(3)?,
                    nearest: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let rows: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM answers", [], |r| r.get(0))?;
        let coded: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM finals WHERE code IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(FrameState {
            version: self.frame_version()?,
            codes,
            groups,
            candidates,
            rows,
            coded,
            coders: self.coders()?,
            second_coders: self.column("SELECT DISTINCT coder FROM samples ORDER BY coder")?,
            thresholds: self.meta("thresholds")?.is_some(),
            languages: self.column(
                "SELECT DISTINCT language FROM answers WHERE language IS NOT NULL ORDER BY language",
            )?,
        })
    }

    /// A page of answers for `coder`. A second coder sees their sample only, without anyone
    /// else's codes or the machine's.
    pub fn answers(&self, coder: &str, q: &AnswerQuery) -> Result<AnswerPage, StoreError> {
        let blind = self.role(coder)? == "second";
        let view = if blind { View::Sample } else { q.view };
        let (filter, order, args) = answer_filter(coder, view, blind, q);
        let from = "FROM answers a LEFT JOIN finals f ON f.row = a.row";
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) {from} {filter}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let limit = q.limit.unwrap_or(100).clamp(1, 500);
        let mut page_args = args.clone();
        page_args.push(Value::Integer(limit));
        page_args.push(Value::Integer(q.offset.max(0)));
        let mut st = self.conn.prepare(&format!(
            "SELECT a.row, a.id, a.text, a.status, a.suggestion, a.confidence, a.candidate,
                    a.language, f.code, f.source, f.coder,
                    (SELECT code FROM current m WHERE m.row = a.row AND m.coder = ?)
             {from} {filter} ORDER BY {order} LIMIT ? OFFSET ?"
        ))?;
        let mut all_args = vec![Value::Text(coder.to_string())];
        all_args.extend(page_args);
        let mut rows = st
            .query_map(params_from_iter(all_args.iter()), |r| {
                let source: Option<String> = r.get(9)?;
                Ok(AnswerRow {
                    row: r.get(0)?,
                    id: r.get(1)?,
                    text: r.get(2)?,
                    status: r.get(3)?,
                    suggestion: r.get(4)?,
                    confidence: r.get(5)?,
                    candidate: r.get(6)?,
                    language: r.get(7)?,
                    final_code: r.get(8)?,
                    final_source: source.map(|s| match s.as_str() {
                        "machine" => Source::Machine,
                        "adjudicated" => Source::Adjudicated,
                        _ => Source::Person,
                    }),
                    final_coder: r.get(10)?,
                    mine: r.get(11)?,
                    codings: Vec::new(),
                    base: 0,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let tx = self.conn.unchecked_transaction()?;
        for r in &mut rows {
            r.base = super::store::base_of(&tx, r.row, coder)?;
            if blind {
                r.suggestion = None;
                r.confidence = None;
                r.candidate = None;
                r.final_code = None;
                r.final_source = None;
                r.final_coder = None;
            } else {
                let mut st = tx.prepare_cached(
                    "SELECT coder, code FROM current WHERE row = ?1 ORDER BY coder",
                )?;
                r.codings = st
                    .query_map([r.row], |x| Ok((x.get(0)?, x.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
            }
        }
        tx.finish()?;
        Ok(AnswerPage { total, rows, blind })
    }
}

/// The WHERE clause, ORDER BY and arguments that list `view`'s answers for `coder`; a blind
/// second coder filters by status, language and text only.
fn answer_filter(
    coder: &str,
    view: View,
    blind: bool,
    q: &AnswerQuery,
) -> (String, &'static str, Vec<Value>) {
    let mut wheres: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let order = match view {
        View::All => "a.row",
        View::Uncertain => {
            wheres.push(
                "a.suggestion IS NOT NULL AND COALESCE(f.source, 'machine') = 'machine'".into(),
            );
            "CASE WHEN a.status IN ('below threshold', 'unsupported language', 'new language') THEN 0 ELSE 1 END, a.confidence, a.row"
        }
        View::Sample => {
            wheres.push(
                "a.row IN (SELECT row FROM sample_rows WHERE sample =
                   (SELECT MAX(sample) FROM samples WHERE coder = ?))"
                    .into(),
            );
            args.push(Value::Text(coder.to_string()));
            "a.row"
        }
        View::Disagreements => {
            wheres.push(format!(
                "a.row IN (SELECT row FROM current WHERE coder NOT IN ('{MACHINE}', '{ADJUDICATION}')
                   GROUP BY row HAVING COUNT(*) >= 2 AND COUNT(DISTINCT COALESCE(code, -1)) > 1)
                 AND a.row NOT IN (SELECT row FROM current WHERE coder = '{ADJUDICATION}')"
            ));
            "a.row"
        }
    };
    if !blind {
        if let Some(c) = q.code {
            if c < 0 {
                wheres.push("f.code IS NULL".into());
            } else {
                wheres.push("f.code = ?".into());
                args.push(Value::Integer(c));
            }
        }
        if let Some(c) = q.max_confidence {
            wheres.push("a.confidence <= ?".into());
            args.push(Value::Real(c));
        }
    }
    if let Some(s) = q.status.as_ref().filter(|s| !s.is_empty()) {
        wheres.push("a.status = ?".into());
        args.push(Value::Text(s.clone()));
    }
    if let Some(l) = q.language.as_ref().filter(|s| !s.is_empty()) {
        wheres.push("a.language = ?".into());
        args.push(Value::Text(l.clone()));
    }
    if let Some(t) = q.q.as_ref().filter(|s| !s.trim().is_empty()) {
        wheres.push("instr(lower(a.text), lower(?)) > 0".into());
        args.push(Value::Text(t.trim().to_string()));
    }
    let filter = if wheres.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wheres.join(" AND "))
    };
    (filter, order, args)
}
