//! Disagreements: the units coders coded differently, ordered for an adjudicator, and their CSV export.

use std::cmp::{Ordering, Reverse};

use serde::Serialize;

use super::Codings;

/// One unit on which the coders who coded it did not all give the same code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// Unit id.
    pub unit: String,
    /// Row of the unit in [`Codings::units`] (to look up e.g. its text).
    pub row: usize,
    /// Code given by each coder, in coder order; `None` = not coded.
    pub codes: Vec<Option<String>>,
    /// Number of distinct codes given to the unit.
    pub n_codes: usize,
    /// The two codes with the most coder pairs split between them
    /// (ties: the pair that comes first in code order).
    pub main_dispute: [String; 2],
}

/// Every unit where the coders' codes differ (uncoded cells ignored), ordered
/// so an adjudicator sees the most contested first and similar disputes together:
/// by number of distinct codes (descending), then by the main disputed pair of
/// codes, then by unit id (numerically when both ids are integers).
pub fn disagreements(c: &Codings) -> Vec<Disagreement> {
    let label = |k: u32| {
        c.codes
            .get(k as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{k}"))
    };
    let mut found: Vec<((usize, [u32; 2]), Disagreement)> = Vec::new();
    for (row, values) in c.values.iter().enumerate() {
        // (code, how many coders gave it), in code order
        let mut counts: Vec<(u32, usize)> = Vec::new();
        for &k in values.iter().flatten() {
            match counts.binary_search_by_key(&k, |&(code, _)| code) {
                Ok(i) => counts[i].1 += 1,
                Err(i) => counts.insert(i, (k, 1)),
            }
        }
        if counts.len() < 2 {
            continue;
        }
        let mut best = (0, [0, 0]);
        for (i, &(a, ra)) in counts.iter().enumerate() {
            for &(b, rb) in &counts[i + 1..] {
                // strict > keeps the first pair in code order on ties
                if ra * rb > best.0 {
                    best = (ra * rb, [a, b]);
                }
            }
        }
        let pair = best.1;
        found.push((
            (counts.len(), pair),
            Disagreement {
                unit: c.units.get(row).cloned().unwrap_or_default(),
                row,
                codes: values.iter().map(|v| v.map(label)).collect(),
                n_codes: counts.len(),
                main_dispute: [label(pair[0]), label(pair[1])],
            },
        ));
    }
    found.sort_by(|(ka, da), (kb, db)| {
        (Reverse(ka.0), ka.1)
            .cmp(&(Reverse(kb.0), kb.1))
            .then_with(|| compare_ids(&da.unit, &db.unit))
            .then(da.row.cmp(&db.row))
    });
    found.into_iter().map(|(_, d)| d).collect()
}

/// Integer ids in numeric order before any other ids in text order.
fn compare_ids(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<u128>(), b.trim().parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// CSV for adjudication: `id`, one column per coder, `n_codes`, and `text` when
/// `texts` (indexed like [`Codings::units`]) is given. Cells that a spreadsheet
/// would run as a formula get a leading apostrophe.
pub fn disagreements_csv(
    d: &[Disagreement],
    coders: &[String],
    texts: Option<&[String]>,
) -> Vec<u8> {
    let mut out = String::new();
    let mut header: Vec<&str> = vec!["id"];
    header.extend(coders.iter().map(String::as_str));
    header.push("n_codes");
    if texts.is_some() {
        header.push("text");
    }
    push_record(&mut out, header.iter().map(|s| s.to_string()));
    for dis in d {
        let mut record = vec![dis.unit.clone()];
        record.extend(dis.codes.iter().map(|c| c.clone().unwrap_or_default()));
        record.push(dis.n_codes.to_string());
        if let Some(texts) = texts {
            record.push(texts.get(dis.row).cloned().unwrap_or_default());
        }
        push_record(&mut out, record.into_iter());
    }
    out.into_bytes()
}

fn push_record(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(&cell));
    }
    out.push('\n');
}

/// RFC 4180 quoting plus spreadsheet formula-injection guard.
fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}
