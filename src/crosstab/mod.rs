//! Crosstabs: a run's groups or codes by a respondent variable — counts and column shares on a
//! respondent base and a mention base, weighted beside unweighted, and Pearson's chi-square
//! test of independence with Cramér's V.

pub mod sheet;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::fit::stats::regularized_gamma_q;
use crate::ingest::respondent::kish;

/// The column of answers whose variable is empty or that a joined file does not have.
pub const MISSING: &str = "(missing)";

/// A row of the table: a group or code, or a status outside the base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    /// Group or code name, or the status word.
    pub name: String,
    /// "group", "code" or "status".
    pub kind: &'static str,
    /// Whether its answers are in the base (shares and the test are over these).
    pub in_base: bool,
}

/// One answer as the table counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The categories it names (several with `--multi`), indices into the categories.
    pub categories: Vec<usize>,
    /// Its value of the variable; `None` when missing.
    pub by: Option<String>,
    /// Its weight (1 without weights).
    pub weight: f64,
}

/// One row of a crosstab.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossRow {
    /// The category.
    #[serde(flatten)]
    pub category: Category,
    /// Answers naming it, per column.
    pub counts: Vec<usize>,
    /// Its share of each column's respondents (base rows only).
    pub shares: Vec<Option<f64>>,
    /// Sum of weights per column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted: Option<Vec<f64>>,
    /// Weighted share of each column's respondents (base rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_shares: Option<Vec<Option<f64>>>,
}

/// Pearson's chi-square test of independence over the base rows and the non-missing columns
/// that hold answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquare {
    /// The statistic.
    pub chi_square: f64,
    /// Degrees of freedom, `(rows − 1)(columns − 1)`.
    pub df: usize,
    /// Upper tail of the chi-square distribution at the statistic.
    pub p_value: f64,
    /// `sqrt(χ² / (n · (min(rows, columns) − 1)))`.
    pub cramers_v: f64,
    /// Answers in the test.
    pub n: usize,
    /// Cells in the test.
    pub cells: usize,
    /// Of them, cells whose expected count is under 5.
    pub cells_expected_under_5: usize,
    /// The smallest expected count.
    pub min_expected: f64,
}

/// A crosstab of a run by one variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crosstab {
    /// The variable.
    pub by: String,
    /// Its values, in natural order (numbers by value), the missing column last; then "Total".
    pub columns: Vec<String>,
    /// Base rows first (in the run's frequency order), then the statuses outside the base.
    pub rows: Vec<CrossRow>,
    /// Respondent base per column: answers in the base.
    pub respondents: Vec<usize>,
    /// Mention base per column: codes named by those answers (equal to the respondent base
    /// when each answer has one code).
    pub mentions: Vec<usize>,
    /// The weight column, when weighted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_column: Option<String>,
    /// Weighted respondent base per column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_respondents: Option<Vec<f64>>,
    /// Kish's effective sample size per column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_n: Option<Vec<f64>>,
    /// Whether some answer names several codes (shares then add up to more than 100%).
    pub several_codes: bool,
    /// The test, when it can be computed.
    pub test: Option<ChiSquare>,
    /// Why there is no test, or what to keep in mind reading it.
    pub notes: Vec<String>,
}

impl Crosstab {
    /// Index of the "Total" column.
    pub fn total(&self) -> usize {
        self.columns.len() - 1
    }
}

/// Numbers by value, then text; ties by text.
fn natural(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal).then(a.cmp(b)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// Tabulates `units` by their variable; `weight_column` names the weights when there are any.
pub fn crosstab(
    by: &str,
    categories: &[Category],
    units: &[Unit],
    weight_column: Option<&str>,
) -> Crosstab {
    let mut values: Vec<&str> = units
        .iter()
        .filter_map(|u| u.by.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    values.sort_by(|a, b| natural(a, b));
    let has_missing = units.iter().any(|u| u.by.is_none());
    let mut columns: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    if has_missing {
        columns.push(MISSING.into());
    }
    columns.push("Total".into());
    let col_of: BTreeMap<&str, usize> = values.iter().enumerate().map(|(i, v)| (*v, i)).collect();
    let missing_col = values.len();
    let total = columns.len() - 1;
    let nc = columns.len();
    let mut counts = vec![vec![0usize; nc]; categories.len()];
    let mut weighted = vec![vec![0.0; nc]; categories.len()];
    let (mut respondents, mut mentions) = (vec![0usize; nc], vec![0usize; nc]);
    let mut base_weights: Vec<Vec<f64>> = vec![Vec::new(); nc];
    let mut several = false;
    for u in units {
        let col = u.by.as_deref().map_or(missing_col, |v| col_of[v]);
        let named = u
            .categories
            .iter()
            .filter(|&&c| categories[c].in_base)
            .count();
        for &c in &u.categories {
            for at in [col, total] {
                counts[c][at] += 1;
                weighted[c][at] += u.weight;
            }
        }
        if named > 0 {
            several |= named > 1;
            for at in [col, total] {
                respondents[at] += 1;
                mentions[at] += named;
                base_weights[at].push(u.weight);
            }
        }
    }
    let (weighted_respondents, effective_n): (Vec<f64>, Vec<f64>) =
        base_weights.into_iter().map(kish).unzip();
    let share = |n: f64, base: f64| (base > 0.0).then(|| n / base);
    let is_weighted = weight_column.is_some();
    let mut rows: Vec<CrossRow> = categories
        .iter()
        .enumerate()
        .map(|(i, cat)| CrossRow {
            category: cat.clone(),
            shares: (0..nc)
                .map(|c| {
                    cat.in_base
                        .then(|| share(counts[i][c] as f64, respondents[c] as f64))
                        .flatten()
                })
                .collect(),
            weighted_shares: is_weighted.then(|| {
                (0..nc)
                    .map(|c| {
                        cat.in_base
                            .then(|| share(weighted[i][c], weighted_respondents[c]))
                            .flatten()
                    })
                    .collect()
            }),
            counts: counts[i].clone(),
            weighted: is_weighted.then(|| weighted[i].clone()),
        })
        .collect();
    rows.sort_by_key(|r| !r.category.in_base);
    let (test, notes) = test_and_notes(&rows, values.len(), several, has_missing, is_weighted);
    Crosstab {
        by: by.to_string(),
        columns,
        rows,
        respondents,
        mentions,
        weight_column: weight_column.map(str::to_string),
        weighted_respondents: is_weighted.then_some(weighted_respondents),
        effective_n: is_weighted.then_some(effective_n),
        several_codes: several,
        test,
        notes,
    }
}

/// The chi-square test over the codes in the base and the variable's values (`n_values`
/// columns, without the missing and total columns), and the notes that say what the table
/// and the test leave out.
fn test_and_notes(
    rows: &[CrossRow],
    n_values: usize,
    several: bool,
    has_missing: bool,
    is_weighted: bool,
) -> (Option<ChiSquare>, Vec<String>) {
    let mut notes = Vec::new();
    let test = if several {
        notes.push(
            "no chi-square test: some answers name several codes, so mentions are not \
             independent; column shares are of respondents and add up to more than 100%"
                .to_string(),
        );
        None
    } else {
        let test_cols: Vec<usize> = (0..n_values).collect();
        let table: Vec<Vec<usize>> = rows
            .iter()
            .filter(|r| r.category.in_base)
            .map(|r| test_cols.iter().map(|&c| r.counts[c]).collect())
            .collect();
        let t = chi_square(&table);
        if t.is_none() {
            notes.push(
                "no chi-square test: it needs at least two groups or codes and two values of \
                 the variable with answers"
                    .to_string(),
            );
        }
        t
    };
    if has_missing {
        notes.push(format!(
            "the {MISSING} column holds answers without a value; the test leaves it out"
        ));
    }
    if let Some(t) = &test {
        if t.cells_expected_under_5 > 0 {
            notes.push(format!(
                "{} of {} cells have an expected count under 5 (smallest {:.2}): the p-value \
                 is approximate; merge small groups or values before relying on it",
                t.cells_expected_under_5, t.cells, t.min_expected
            ));
        }
    }
    if is_weighted {
        notes.push(
            "the test uses the unweighted counts; weighted shares are shown beside them"
                .to_string(),
        );
    }
    (test, notes)
}

/// Pearson's chi-square over the rows and columns of `table` that hold answers; `None` with
/// fewer than two of either.
pub fn chi_square(table: &[Vec<usize>]) -> Option<ChiSquare> {
    let ncols = table.first().map_or(0, Vec::len);
    let row_sums: Vec<usize> = table.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<usize> = (0..ncols)
        .map(|c| table.iter().map(|r| r[c]).sum())
        .collect();
    let rows: Vec<usize> = (0..table.len()).filter(|&r| row_sums[r] > 0).collect();
    let cols: Vec<usize> = (0..ncols).filter(|&c| col_sums[c] > 0).collect();
    if rows.len() < 2 || cols.len() < 2 {
        return None;
    }
    let n: usize = row_sums.iter().sum();
    let (mut stat, mut under, mut min_expected) = (0.0, 0, f64::INFINITY);
    for &r in &rows {
        for &c in &cols {
            let expected = row_sums[r] as f64 * col_sums[c] as f64 / n as f64;
            stat += (table[r][c] as f64 - expected).powi(2) / expected;
            under += usize::from(expected < 5.0);
            min_expected = min_expected.min(expected);
        }
    }
    let df = (rows.len() - 1) * (cols.len() - 1);
    let k = rows.len().min(cols.len()) - 1;
    Some(ChiSquare {
        chi_square: stat,
        df,
        p_value: regularized_gamma_q(df as f64 / 2.0, stat / 2.0),
        cramers_v: (stat / (n as f64 * k as f64)).sqrt(),
        n,
        cells: rows.len() * cols.len(),
        cells_expected_under_5: under,
        min_expected,
    })
}

#[cfg(test)]
mod tests;
