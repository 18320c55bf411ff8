//! The tables of a run, computed once from its typed results: the frequency table (the same
//! rows and base in frequencies.csv, the workbook, the console and the page), assignments,
//! drift and the map. Pure: results in, rows out.

use std::collections::BTreeMap;
use std::fmt;

use super::Sheet;
use crate::describe::Discovery;
use crate::frame::apply::Application;
use crate::status::Status;

/// What the shares of a frequency table are shares of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Every input row (discover: a report's annex counts every answer, blanks included).
    AllAnswers,
    /// The answers apply coded (passing their code's threshold).
    CodedAnswers,
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base::AllAnswers => "all answers",
            Base::CodedAnswers => "coded answers",
        })
    }
}

/// What a frequency row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A discovered group (or its frame name).
    Group,
    /// A code of the frame.
    Code,
    /// Rows with this status, not counted under any group or code.
    Status(Status),
}

impl RowKind {
    fn word(self) -> &'static str {
        match self {
            RowKind::Group => "group",
            RowKind::Code => "code",
            RowKind::Status(_) => "status",
        }
    }
}

/// One row of a frequency table.
#[derive(Debug, Clone, PartialEq)]
pub struct FreqRow {
    /// Group or code name, or the status word.
    pub name: String,
    /// What it counts.
    pub kind: RowKind,
    /// The code's id (apply).
    pub code_id: Option<String>,
    /// The code's topic group (apply).
    pub topic_group: Option<String>,
    /// Answers counted (coded answers for a code; rows for a status).
    pub count: usize,
    /// Of them, answers set aside and counted here because the frame says non-answers belong
    /// here (discover).
    pub set_aside: usize,
    /// Answers below threshold whose best code this is (apply).
    pub suggested: Option<usize>,
    /// `count` over the base; `None` for rows outside the base.
    pub share: Option<f64>,
}

/// A run's frequency table.
#[derive(Debug, Clone, PartialEq)]
pub struct Frequencies {
    /// What shares are shares of.
    pub base: Base,
    /// The number of answers in the base.
    pub base_n: usize,
    /// Every input row.
    pub rows_total: usize,
    /// Groups or codes first, then statuses.
    pub rows: Vec<FreqRow>,
    /// The same counts weighted, when the run read weights.
    pub weighted: Option<Weighted>,
}

/// A frequency table's weighted counts ([`super::survey::weigh`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted {
    /// The weight column.
    pub column: String,
    /// Per row of the table, the sum of its answers' weights.
    pub counts: Vec<f64>,
    /// The sum of weights over the base.
    pub base: f64,
    /// Kish's effective sample size of the base, `(Σw)² / Σw²`.
    pub n_eff: f64,
}

fn share(n: usize, base: usize) -> Option<f64> {
    Some(n as f64 / base.max(1) as f64)
}

/// Discover's table: answers per group name (groups sharing a name added up), largest first
/// (ties by name), then set-aside answers by status — or, when the frame has a code for
/// non-answers, counted under it. Base: all answers.
pub fn discover_frequencies(d: &Discovery) -> Frequencies {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for g in &d.groups {
        counts.entry(g.name.as_str()).or_insert((0, 0)).0 += g.size;
    }
    // Rows not answered stay outside the base and outside the frame's code for non-answers.
    let base = d.base();
    let set_aside: usize = d
        .set_aside
        .iter()
        .filter(|(s, _)| **s != Status::NoAnswer)
        .map(|(_, n)| n)
        .sum();
    if let Some(name) = &d.set_aside_as {
        let e = counts.entry(name.as_str()).or_insert((0, 0));
        e.0 += set_aside;
        e.1 += set_aside;
    }
    let mut named: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
    named.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let mut rows: Vec<FreqRow> = named
        .into_iter()
        .map(|(name, (n, aside))| FreqRow {
            name: name.to_string(),
            kind: RowKind::Group,
            code_id: None,
            topic_group: None,
            count: n,
            set_aside: aside,
            suggested: None,
            share: share(n, base),
        })
        .collect();
    let listed = d
        .set_aside
        .iter()
        .filter(|(s, _)| d.set_aside_as.is_none() || **s == Status::NoAnswer);
    rows.extend(listed.map(|(&status, &n)| FreqRow {
        name: status.to_string(),
        kind: RowKind::Status(status),
        code_id: None,
        topic_group: None,
        count: n,
        set_aside: n,
        suggested: None,
        share: (status != Status::NoAnswer).then(|| n as f64 / base.max(1) as f64),
    }));
    Frequencies {
        base: Base::AllAnswers,
        base_n: base,
        rows_total: d.rows,
        rows,
        weighted: None,
    }
}

/// Apply's table: every code in frame order with its coded and suggested answers, then the
/// rows not coded, by status. Base: coded answers.
pub fn apply_frequencies(app: &Application) -> Frequencies {
    let s = &app.summary;
    let coded: usize = s.coded.values().sum();
    let mut rows: Vec<FreqRow> = s
        .codes
        .iter()
        .map(|c| {
            let n = s.coded.get(&c.label).copied().unwrap_or(0);
            FreqRow {
                name: c.label.clone(),
                kind: RowKind::Code,
                code_id: Some(c.id.clone()),
                topic_group: c.group.clone(),
                count: n,
                set_aside: 0,
                suggested: Some(s.suggested.get(&c.label).copied().unwrap_or(0)),
                share: share(n, coded),
            }
        })
        .collect();
    for (&status, &n) in s.status.iter().filter(|(st, _)| **st != Status::Coded) {
        rows.push(FreqRow {
            name: status.to_string(),
            kind: RowKind::Status(status),
            code_id: None,
            topic_group: None,
            count: n,
            set_aside: 0,
            suggested: None,
            share: None,
        });
    }
    Frequencies {
        base: Base::CodedAnswers,
        base_n: coded,
        rows_total: app.rows.len(),
        rows,
        weighted: None,
    }
}

/// Column names as a sheet holds them.
fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn f4(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_default()
}

impl Frequencies {
    /// frequencies.csv / .xlsx. Discover: `response, count, share_of_answers, kind`; apply:
    /// `response, code_id, group, count, share_of_coded, suggested, kind`.
    pub fn sheet(&self) -> Sheet {
        let (header, rows) = match self.base {
            Base::AllAnswers => (
                vec!["response", "count", "share_of_answers", "kind"],
                self.rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            r.count.to_string(),
                            f4(r.share),
                            r.kind.word().to_string(),
                        ]
                    })
                    .collect(),
            ),
            Base::CodedAnswers => (
                vec![
                    "response",
                    "code_id",
                    "group",
                    "count",
                    "share_of_coded",
                    "suggested",
                    "kind",
                ],
                self.rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            r.code_id.clone().unwrap_or_default(),
                            r.topic_group.clone().unwrap_or_default(),
                            r.count.to_string(),
                            f4(r.share),
                            r.suggested.map(|n| n.to_string()).unwrap_or_default(),
                            r.kind.word().to_string(),
                        ]
                    })
                    .collect(),
            ),
        };
        let mut sheet = Sheet::new("frequencies", &header, rows);
        if let Some(w) = &self.weighted {
            sheet
                .header
                .extend(["weighted_count".into(), "weighted_share".into()]);
            for ((cells, row), n) in sheet.rows.iter_mut().zip(&self.rows).zip(&w.counts) {
                cells.push(format!("{n:.4}"));
                cells.push(f4(row.share.map(|_| n / w.base.max(f64::MIN_POSITIVE))));
            }
        }
        sheet
    }

    /// The group or code rows (what the chart shows).
    pub fn categories(&self) -> impl Iterator<Item = &FreqRow> {
        self.rows
            .iter()
            .filter(|r| !matches!(r.kind, RowKind::Status(_)))
    }
}

/// Discover's assignments.csv: `id, text, group, group_name, score, status`, input order.
pub fn discover_assignments(d: &Discovery) -> Sheet {
    Sheet {
        name: "assignments",
        header: cols(&[
            "id",
            "text",
            "group",
            "group_name",
            "score",
            "status",
            "language",
        ]),
        rows: d
            .assignments
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.text.clone(),
                    a.group.map(|g| g.to_string()).unwrap_or_default(),
                    a.group_name.clone(),
                    a.score.map(|s| format!("{s:.4}")).unwrap_or_default(),
                    a.status.to_string(),
                    a.language.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

/// The columns of an apply's assignments.csv.
pub const APPLY_ASSIGNMENT_COLUMNS: [&str; 10] = [
    "id",
    "text",
    "code",
    "code_id",
    "group",
    "confidence",
    "status",
    "codes",
    "candidate",
    "language",
];

/// Apply's assignments.csv: every row, input order.
pub fn apply_assignments(app: &Application) -> Sheet {
    let codes = &app.summary.codes;
    Sheet {
        name: "assignments",
        header: APPLY_ASSIGNMENT_COLUMNS.map(String::from).to_vec(),
        rows: app
            .rows
            .iter()
            .map(|r| {
                let code = r.code.and_then(|c| codes.get(c));
                vec![
                    r.id.clone(),
                    r.text.clone(),
                    code.map(|c| c.label.clone()).unwrap_or_default(),
                    code.map(|c| c.id.clone()).unwrap_or_default(),
                    code.and_then(|c| c.group.clone()).unwrap_or_default(),
                    r.confidence.map(|v| format!("{v:.4}")).unwrap_or_default(),
                    r.status.to_string(),
                    r.codes
                        .iter()
                        .filter_map(|&c| codes.get(c).map(|c| c.label.clone()))
                        .collect::<Vec<_>>()
                        .join("; "),
                    r.candidate.map(|c| c.to_string()).unwrap_or_default(),
                    r.language.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

/// drift.csv: share per code in the baseline and this wave.
pub fn drift_sheet(app: &Application) -> Sheet {
    let d = &app.summary.drift;
    let f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    Sheet {
        name: "drift",
        header: cols(&[
            "code",
            "baseline_count",
            "baseline_share",
            "wave_count",
            "wave_share",
            "change_pp",
            "z",
            "p_value",
            "flag",
        ]),
        rows: d
            .codes
            .iter()
            .map(|c| {
                vec![
                    app.summary
                        .codes
                        .get(c.code)
                        .map(|c| c.label.clone())
                        .unwrap_or_default(),
                    c.prev_count.to_string(),
                    f(c.prev_share),
                    c.cur_count.to_string(),
                    f(c.cur_share),
                    f(c.change_pp),
                    f(c.z),
                    f(c.p_value),
                    drift_flag(c.p_value, c.change_pp).to_string(),
                ]
            })
            .collect(),
    }
}

/// `up` or `down` when the change is significant at 0.05, else empty.
pub fn drift_flag(p_value: Option<f64>, change_pp: Option<f64>) -> &'static str {
    match p_value {
        Some(p) if p < 0.05 && change_pp.unwrap_or(0.0) > 0.0 => "up",
        Some(p) if p < 0.05 => "down",
        _ => "",
    }
}

/// map.csv: each mapped answer's id and its place on the report's 2-D map.
pub fn map_sheet<'a>(points: impl IntoIterator<Item = (&'a str, [f32; 2])>) -> Sheet {
    Sheet {
        name: "map",
        header: cols(&["id", "x", "y"]),
        rows: points
            .into_iter()
            .map(|(id, [x, y])| vec![id.to_string(), format!("{x:.5}"), format!("{y:.5}")])
            .collect(),
    }
}

/// What `embed` did with one row (the `status` of FILE.ids.csv).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedStatus {
    /// Embedded whole.
    Embedded,
    /// Longer than the model's window: cut, then embedded.
    Truncated,
    /// Nothing but white space (embedded as the empty text).
    Empty,
}

impl EmbedStatus {
    /// The status of a row.
    pub fn of(text: &str, truncated: bool) -> Self {
        if text.trim().is_empty() {
            EmbedStatus::Empty
        } else if truncated {
            EmbedStatus::Truncated
        } else {
            EmbedStatus::Embedded
        }
    }

    /// The word written in FILE.ids.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            EmbedStatus::Embedded => "embedded",
            EmbedStatus::Truncated => "truncated",
            EmbedStatus::Empty => "empty",
        }
    }
}

/// FILE.ids.csv of `embed`: one line per input row, in matrix order.
pub fn ids_sheet(answers: &crate::ingest::Answers, truncated: &[bool]) -> Sheet {
    Sheet {
        name: "ids",
        header: cols(&["row", "id", "line", "status"]),
        rows: answers
            .rows
            .iter()
            .zip(truncated)
            .map(|(a, &cut)| {
                vec![
                    a.row.to_string(),
                    a.id.clone(),
                    a.line.to_string(),
                    EmbedStatus::of(&a.text, cut).as_str().to_string(),
                ]
            })
            .collect(),
    }
}
