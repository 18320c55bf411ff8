//! Respondent variables: the columns carried beside each answer (country, role, …), survey
//! weights, and what to do with a respondent id that appears twice.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Table;
use crate::error::InputError;

/// What to do with a row whose id an earlier row already has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Refuse the file, naming both lines.
    #[default]
    Error,
    /// Keep the first row of each id; the later ones go to dropped.csv.
    First,
    /// Keep the last row of each id; the earlier ones go to dropped.csv.
    Last,
}

impl Duplicates {
    /// The word a manifest records.
    pub fn as_str(self) -> &'static str {
        match self {
            Duplicates::Error => "error",
            Duplicates::First => "first",
            Duplicates::Last => "last",
        }
    }
}

/// A row left out because its id was used by the row that was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// 1-based line of the dropped row.
    pub line: u64,
    /// Its id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// The line of the row kept for that id.
    pub kept_line: u64,
}

/// The respondent columns read beside the answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Respondents {
    /// Names of the kept columns, in the order asked.
    pub columns: Vec<String>,
    /// Per answer row, the value of each kept column.
    pub values: Vec<Vec<String>>,
    /// The weight column's name, when weights were read.
    pub weight_column: Option<String>,
    /// Per answer row, its weight (empty without a weight column).
    pub weights: Vec<f64>,
    /// Rows left out as repeated ids.
    pub dropped: Vec<Dropped>,
    /// How repeated ids were handled.
    pub duplicates: Duplicates,
}

impl Respondents {
    /// The weight of row `i` (1 without weights).
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.get(i).copied().unwrap_or(1.0)
    }

    /// Whether weights were read.
    pub fn weighted(&self) -> bool {
        self.weight_column.is_some()
    }
}

/// Which record of the table each answer row comes from, and the rows left out: with
/// [`Duplicates::Error`] a repeated id is refused with today's message; otherwise the first or
/// last row of each id is kept (in file order) and the others are dropped.
pub fn dedup(
    table: &Table,
    id_idx: usize,
    text_idx: usize,
    mode: Duplicates,
) -> Result<(Vec<usize>, Vec<Dropped>), InputError> {
    let id_of = |i: usize| {
        table.records[i]
            .fields
            .get(id_idx)
            .map(|s| s.trim())
            .unwrap_or("")
    };
    // The record kept for each id.
    let mut chosen: HashMap<&str, usize> = HashMap::new();
    for (i, r) in table.records.iter().enumerate() {
        let id = super::record_id(table, r, id_idx)?;
        match chosen.get(id) {
            Some(&first) if mode == Duplicates::Error => {
                return Err(InputError::file(
                    &table.path,
                    Some(r.line),
                    format!(
                        "id \"{id}\" is used again (first on line {})",
                        table.records[first].line
                    ),
                    "make the ids unique, or leave out the id column to use row numbers; \
                     --duplicates first (or last) keeps one row per id and lists the others in \
                     dropped.csv",
                ));
            }
            Some(_) if mode == Duplicates::First => {}
            _ => {
                chosen.insert(id, i);
            }
        }
    }
    let mut kept = Vec::with_capacity(chosen.len());
    let mut dropped = Vec::new();
    for (i, r) in table.records.iter().enumerate() {
        let keep = chosen[id_of(i)];
        if keep == i {
            kept.push(i);
        } else {
            dropped.push(Dropped {
                line: r.line,
                id: id_of(i).to_string(),
                text: r.fields.get(text_idx).cloned().unwrap_or_default(),
                kept_line: table.records[keep].line,
            });
        }
    }
    Ok((kept, dropped))
}

/// Output columns a kept column may not take the name of.
const TAKEN: [&str; 14] = [
    "id",
    "text",
    "group",
    "group_name",
    "score",
    "status",
    "language",
    "code",
    "code_id",
    "confidence",
    "codes",
    "candidate",
    "row",
    "line",
];

/// The kept columns' values and the weights of the records `rows`.
pub fn respondents(
    table: &Table,
    rows: &[usize],
    keep: &[String],
    weight: Option<&str>,
) -> Result<Respondents, InputError> {
    let mut idx = Vec::with_capacity(keep.len());
    for (n, col) in keep.iter().enumerate() {
        if keep[..n].contains(col) {
            return Err(InputError::flag(
                format!("--keep-column {col} is given twice"),
                "name each column once",
            ));
        }
        if TAKEN.contains(&col.as_str()) || Some(col.as_str()) == weight {
            return Err(InputError::flag(
                format!("--keep-column {col}: the outputs already have a column of that name"),
                "rename the column in the file, or leave it out",
            ));
        }
        idx.push(table.column(col, "--keep-column")?);
    }
    let values = rows
        .iter()
        .map(|&i| {
            let r = &table.records[i];
            idx.iter()
                .map(|&c| {
                    r.fields
                        .get(c)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let weights = match weight {
        Some(col) => {
            if TAKEN.contains(&col) {
                return Err(InputError::flag(
                    format!(
                        "--weight-column {col}: the outputs already have a column of that name"
                    ),
                    "rename the column in the file",
                ));
            }
            let c = table.column(col, "--weight-column")?;
            rows.iter()
                .map(|&i| parse_weight(table, i, c, col))
                .collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    Ok(Respondents {
        columns: keep.to_vec(),
        values,
        weight_column: weight.map(str::to_string),
        weights,
        dropped: Vec::new(),
        duplicates: Duplicates::Error,
    })
}

/// A weight: a finite number ≥ 0, with a decimal point or (as many European exports write it)
/// a decimal comma.
pub fn read_weight(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let text = if raw.matches(',').count() == 1 && !raw.contains('.') {
        raw.replace(',', ".")
    } else {
        raw.to_string()
    };
    text.parse::<f64>()
        .ok()
        .filter(|w| w.is_finite() && *w >= 0.0)
}

/// The weight of record `i`, refused with its line when it is not a weight.
fn parse_weight(table: &Table, i: usize, c: usize, col: &str) -> Result<f64, InputError> {
    let r = &table.records[i];
    let raw = r.fields.get(c).map(|s| s.trim()).unwrap_or("");
    match read_weight(raw) {
        Some(w) => Ok(w),
        None => Err(InputError::file(
            &table.path,
            Some(r.line),
            if raw.is_empty() {
                format!("the weight column \"{col}\" is empty")
            } else {
                format!("the weight \"{raw}\" in column \"{col}\" is not a number ≥ 0")
            },
            "give every row a weight (a number such as 1 or 0.85), or leave out --weight-column",
        )),
    }
}

/// Weighted totals: the sum of weights and Kish's effective sample size `(Σw)² / Σw²`.
pub fn kish(weights: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut sum, mut sq) = (0.0, 0.0);
    for w in weights {
        sum += w;
        sq += w * w;
    }
    (sum, if sq > 0.0 { sum * sum / sq } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse_table;
    use std::path::Path;

    fn table(csv: &str) -> Table {
        parse_table(Path::new("s.csv"), csv.as_bytes()).unwrap()
    }

    #[test]
    fn an_empty_id_names_its_line_in_either_path() {
        let t = table("id,text\na,one\n  ,two\n");
        for e in [
            dedup(&t, 0, 1, Duplicates::First).unwrap_err(),
            crate::ingest::unique_ids(&t, 0).unwrap_err(),
        ] {
            assert_eq!(e.line, Some(3));
            assert!(e.problem.contains("the id column \"id\" is empty"), "{e}");
        }
    }

    #[test]
    fn repeated_ids_keep_the_first_or_the_last_row_and_list_the_others() {
        let t = table("id,text\na,one\nb,two\na,three\na,four\n");
        let e = dedup(&t, 0, 1, Duplicates::Error).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.problem.contains("first on line 2"), "{e}");
        let (kept, dropped) = dedup(&t, 0, 1, Duplicates::First).unwrap();
        assert_eq!(kept, vec![0, 1]);
        assert_eq!(
            dropped
                .iter()
                .map(|d| (d.line, d.kept_line))
                .collect::<Vec<_>>(),
            vec![(4, 2), (5, 2)]
        );
        assert_eq!(dropped[0].text, "three");
        let (kept, dropped) = dedup(&t, 0, 1, Duplicates::Last).unwrap();
        assert_eq!(kept, vec![1, 3], "file order is kept");
        assert_eq!(
            dropped
                .iter()
                .map(|d| (d.line, d.kept_line))
                .collect::<Vec<_>>(),
            vec![(2, 5), (4, 5)]
        );
    }

    #[test]
    fn kept_columns_and_weights_are_read_per_row() {
        let t = table("id,text,country,w\n1,x, DE ,\"1,5\"\n2,y,FR,0.5\n");
        let r = respondents(&t, &[1, 0], &["country".into()], Some("w")).unwrap();
        assert_eq!(r.values, vec![vec!["FR".to_string()], vec!["DE".into()]]);
        assert_eq!(r.weights, vec![0.5, 1.5]);
        let (sum, n_eff) = kish(r.weights.iter().copied());
        assert!((sum - 2.0).abs() < 1e-12 && (n_eff - 1.6).abs() < 1e-12);
    }

    #[test]
    fn bad_weights_and_clashing_columns_are_refused() {
        let t = table("id,text,language,w\n1,x,en,abc\n2,y,de,-1\n");
        let e = respondents(&t, &[0], &[], Some("w")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.problem.contains("\"abc\""), "{e}");
        assert!(respondents(&t, &[1], &[], Some("w")).is_err());
        let e = respondents(&t, &[0], &["language".into()], None).unwrap_err();
        assert!(e.problem.contains("already"), "{e}");
        let e = respondents(&t, &[0], &["nope".into()], None).unwrap_err();
        assert!(e.fix.contains("--keep-column"), "{e}");
    }
}
