//! Joining predictions to gold labels by id, refusing label files that do not match.

use std::collections::HashMap;

use crate::error::InputError;
use crate::ingest::{unique_ids, Table};

/// The label given to an answer whose prediction cell is empty (e.g. set aside as non-substantive).
pub const NO_PREDICTION: &str = "(none)";

/// Predictions and gold labels aligned on the answers that have a gold label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// Ids of the scored answers, in gold-file order.
    pub ids: Vec<String>,
    /// Predicted label per scored answer.
    pub pred: Vec<String>,
    /// Gold label per scored answer.
    pub gold: Vec<String>,
    /// Gold rows whose label cell is empty (not coded), left out.
    pub gold_uncoded: usize,
    /// Predictions for ids the gold file does not have, left out.
    pub pred_without_gold: usize,
}

/// Columns to join on.
#[derive(Debug, Clone, Copy)]
pub struct JoinColumns {
    /// Id column in the predictions.
    pub pred_id: usize,
    /// Label column in the predictions.
    pub pred_label: usize,
    /// Id column in the gold file.
    pub gold_id: usize,
    /// Label column in the gold file.
    pub gold_label: usize,
}

/// Aligns `pred` to `gold` by id. Every coded gold answer must have a prediction row.
pub fn join(pred: &Table, gold: &Table, c: JoinColumns) -> Result<Joined, InputError> {
    let pred_ids = unique_ids(pred, c.pred_id)?;
    let gold_ids = unique_ids(gold, c.gold_id)?;
    let by_id: HashMap<&str, usize> = pred_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut out = Joined {
        ids: Vec::new(),
        pred: Vec::new(),
        gold: Vec::new(),
        gold_uncoded: 0,
        pred_without_gold: 0,
    };
    let mut matched = vec![false; pred_ids.len()];
    for (id, record) in gold_ids.iter().zip(&gold.records) {
        let label = record
            .fields
            .get(c.gold_label)
            .map(|s| s.trim())
            .unwrap_or("");
        let Some(&i) = by_id.get(id.as_str()) else {
            if label.is_empty() {
                out.gold_uncoded += 1;
                continue;
            }
            return Err(InputError::file(
                &gold.path,
                Some(record.line),
                format!(
                    "id \"{id}\" has a gold label but no row in {}",
                    pred.path.display()
                ),
                "compare predictions made for the same answers, with the same ids (--id-column)",
            ));
        };
        matched[i] = true;
        if label.is_empty() {
            out.gold_uncoded += 1;
            continue;
        }
        let p = pred.records[i]
            .fields
            .get(c.pred_label)
            .map(|s| s.trim())
            .unwrap_or("");
        out.ids.push(id.clone());
        out.pred
            .push(if p.is_empty() { NO_PREDICTION } else { p }.to_string());
        out.gold.push(label.to_string());
    }
    out.pred_without_gold = matched.iter().filter(|m| !**m).count();
    if out.ids.is_empty() {
        return Err(InputError::file(
            &gold.path,
            None,
            "no answer has both a gold label and a prediction",
            "check that --gold-column holds the human codes and that the ids match",
        ));
    }
    Ok(out)
}

/// How many predictions are gold labels: what tells codes from group ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOverlap {
    /// Predictions with a label (not [`NO_PREDICTION`]).
    pub predicted: usize,
    /// Of them, predictions whose label is also a gold label.
    pub gold_labels: usize,
    /// Predicted labels that are not gold labels, with how often each was predicted, most
    /// frequent first (ties by label).
    pub unknown: Vec<(String, usize)>,
}

impl LabelOverlap {
    /// Share of the labelled predictions that are gold labels.
    pub fn share(&self) -> f64 {
        self.gold_labels as f64 / self.predicted.max(1) as f64
    }

    /// Predictions are codes when most of them (at least half) are gold labels: a few labels
    /// a frame has and the coders never used do not turn codes into groups.
    pub fn mostly_codes(&self) -> bool {
        self.predicted > 0 && 2 * self.gold_labels >= self.predicted
    }
}

/// Counts the predictions that are gold labels and names the others.
pub fn label_overlap(joined: &Joined) -> LabelOverlap {
    let gold: std::collections::HashSet<&str> = joined.gold.iter().map(String::as_str).collect();
    let mut unknown: std::collections::BTreeMap<&str, usize> = Default::default();
    let (mut predicted, mut known) = (0, 0);
    for p in joined.pred.iter().filter(|p| p.as_str() != NO_PREDICTION) {
        predicted += 1;
        if gold.contains(p.as_str()) {
            known += 1;
        } else {
            *unknown.entry(p.as_str()).or_insert(0) += 1;
        }
    }
    let mut unknown: Vec<(String, usize)> = unknown
        .into_iter()
        .map(|(l, n)| (l.to_string(), n))
        .collect();
    unknown.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    LabelOverlap {
        predicted,
        gold_labels: known,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse_table;
    use std::path::Path;

    fn tables(pred: &str, gold: &str) -> (Table, Table) {
        (
            parse_table(Path::new("pred.csv"), pred.as_bytes()).unwrap(),
            parse_table(Path::new("gold.csv"), gold.as_bytes()).unwrap(),
        )
    }

    const COLS: JoinColumns = JoinColumns {
        pred_id: 0,
        pred_label: 1,
        gold_id: 0,
        gold_label: 1,
    };

    #[test]
    fn aligns_by_id_and_counts_what_is_left_out() {
        let (p, g) = tables("id,g\nb,2\na,1\nz,9\nc,\n", "id,code\na,x\nb,y\nc,x\nd,\n");
        let j = join(&p, &g, COLS).unwrap();
        assert_eq!(j.ids, vec!["a", "b", "c"]);
        assert_eq!(j.pred, vec!["1", "2", NO_PREDICTION]);
        assert_eq!(j.gold, vec!["x", "y", "x"]);
        assert_eq!((j.gold_uncoded, j.pred_without_gold), (1, 1));
        let o = label_overlap(&j);
        assert!(!o.mostly_codes());
        assert_eq!(o.unknown, vec![("1".to_string(), 1), ("2".to_string(), 1)]);
    }

    #[test]
    fn a_few_unknown_labels_do_not_make_codes_groups() {
        let (p, g) = tables(
            "id,code\na,x\nb,y\nc,x\nd,zzz\n",
            "id,code\na,x\nb,y\nc,y\nd,x\n",
        );
        let o = label_overlap(&join(&p, &g, COLS).unwrap());
        assert!(o.mostly_codes());
        assert_eq!((o.predicted, o.gold_labels), (4, 3));
        assert_eq!(o.unknown, vec![("zzz".to_string(), 1)]);
    }

    #[test]
    fn a_coded_answer_without_prediction_is_refused() {
        let (p, g) = tables("id,g\na,1\n", "id,code\na,x\nb,y\n");
        let e = join(&p, &g, COLS).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.problem.contains("\"b\""));
    }

    #[test]
    fn no_overlap_is_refused() {
        let (p, g) = tables("id,g\na,1\n", "id,code\na,\n");
        assert!(join(&p, &g, COLS)
            .unwrap_err()
            .problem
            .contains("no answer"));
    }
}
