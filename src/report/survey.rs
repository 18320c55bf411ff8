//! Respondent variables in a run's tables: kept columns and weights beside each answer,
//! weighted frequencies with the effective sample size, and the rows left out as repeated ids.

use std::collections::HashMap;

use super::tables::{Frequencies, Weighted};
use super::Sheet;
use crate::describe::Discovery;
use crate::frame::apply::Application;
use crate::ingest::respondent::kish;
use crate::ingest::Respondents;
use crate::status::Status;

/// The frequency row each discover answer is counted under: its group's name (or the frame's
/// code for non-answers), else its status.
pub fn discover_keys(d: &Discovery) -> Vec<String> {
    d.assignments
        .iter()
        .map(|a| match a.group_name.is_empty() {
            false => a.group_name.clone(),
            true => a.status.to_string(),
        })
        .collect()
}

/// The frequency row each apply answer is counted under: its code when coded, else its status.
pub fn apply_keys(app: &Application) -> Vec<String> {
    app.rows
        .iter()
        .map(
            |r| match (r.status, r.code.and_then(|c| app.summary.codes.get(c))) {
                (Status::Coded, Some(c)) => c.label.clone(),
                (s, _) => s.to_string(),
            },
        )
        .collect()
}

/// Adds the weighted counts to a frequency table: each answer's weight under its row (`keys`,
/// as [`discover_keys`] / [`apply_keys`] give them); shares and Kish's effective sample size
/// over the rows in the table's base.
pub fn weigh(freq: &mut Frequencies, keys: &[String], r: &Respondents) {
    let Some(column) = &r.weight_column else {
        return;
    };
    let at: HashMap<&str, usize> = freq
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.name.as_str(), i))
        .collect();
    let mut counts = vec![0.0; freq.rows.len()];
    let mut in_base = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if let Some(&j) = at.get(k.as_str()) {
            counts[j] += r.weight(i);
            if freq.rows[j].share.is_some() {
                in_base.push(r.weight(i));
            }
        }
    }
    let (base, n_eff) = kish(in_base);
    freq.weighted = Some(Weighted {
        column: column.clone(),
        counts,
        base,
        n_eff,
    });
}

/// Appends the kept columns and the weight to a sheet with one row per answer.
pub fn with_respondents(mut sheet: Sheet, r: &Respondents) -> Sheet {
    sheet.header.extend(r.columns.iter().cloned());
    if let Some(w) = &r.weight_column {
        sheet.header.push(w.clone());
    }
    for (i, row) in sheet.rows.iter_mut().enumerate() {
        if let Some(v) = r.values.get(i) {
            row.extend(v.iter().cloned());
        }
        if r.weighted() {
            row.push(format_weight(r.weight(i)));
        }
    }
    sheet
}

/// A weight as written: the shortest form that reads back as the same number.
fn format_weight(w: f64) -> String {
    format!("{w}")
}

/// dropped.csv: the rows left out as repeated ids, and the line kept for each.
pub fn dropped_sheet(r: &Respondents) -> Sheet {
    Sheet::new(
        "dropped",
        &["id", "line", "text", "reason", "kept_line"],
        r.dropped
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.line.to_string(),
                    d.text.clone(),
                    format!("repeated id (--duplicates {})", r.duplicates.as_str()),
                    d.kept_line.to_string(),
                ]
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tables::{Base, FreqRow, RowKind};

    fn row(name: &str, count: usize, share: Option<f64>) -> FreqRow {
        FreqRow {
            name: name.into(),
            kind: RowKind::Code,
            code_id: None,
            topic_group: None,
            count,
            set_aside: 0,
            suggested: None,
            share,
        }
    }

    #[test]
    fn weighted_counts_follow_each_answer_and_the_base_gives_kish_n() {
        let mut f = Frequencies {
            base: Base::CodedAnswers,
            base_n: 3,
            rows_total: 4,
            rows: vec![row("a", 2, Some(2.0 / 3.0)), row("b", 1, Some(1.0 / 3.0))],
            weighted: None,
        };
        f.rows.push(FreqRow {
            kind: RowKind::Status(Status::Empty),
            ..row("empty", 1, None)
        });
        let r = Respondents {
            weight_column: Some("w".into()),
            weights: vec![2.0, 1.0, 1.0, 5.0],
            ..Default::default()
        };
        let keys: Vec<String> = ["a", "b", "a", "empty"].map(String::from).to_vec();
        weigh(&mut f, &keys, &r);
        let w = f.weighted.as_ref().unwrap();
        assert_eq!(w.counts, vec![3.0, 1.0, 5.0]);
        assert_eq!(w.base, 4.0, "the empty answer is outside the base");
        assert!((w.n_eff - 16.0 / 6.0).abs() < 1e-12);
        let sheet = f.sheet();
        assert!(sheet
            .header
            .ends_with(&["weighted_count".into(), "weighted_share".into()]));
        assert_eq!(sheet.rows[0][sheet.header.len() - 1], "0.7500");
        assert_eq!(sheet.rows[2][sheet.header.len() - 1], "");
    }

    #[test]
    fn kept_columns_and_weights_follow_the_sheet() {
        let s = Sheet::new("t", &["id"], vec![vec!["1".into()], vec!["2".into()]]);
        let r = Respondents {
            columns: vec!["country".into()],
            values: vec![vec!["DE".into()], vec!["FR".into()]],
            weight_column: Some("w".into()),
            weights: vec![0.5, 1.25],
            ..Default::default()
        };
        let s = with_respondents(s, &r);
        assert_eq!(s.header, vec!["id", "country", "w"]);
        assert_eq!(s.rows[1], vec!["2", "FR", "1.25"]);
    }
}
