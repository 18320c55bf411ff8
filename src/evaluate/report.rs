//! Evaluation report: all scores for one run, serialisable and printable as text.

use super::{ClassScores, ClusterScores, Contingency, EvalError, FrequencyTable};
use serde::Serialize;
use std::fmt::Write as _;

/// Everything computed for one comparison of predictions with gold labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub n: u64,
    pub cluster: ClusterScores,
    /// Present when predictions are code names (see [`EvalReport::for_codes`]).
    pub classification: Option<ClassScores>,
    pub frequencies: FrequencyTable,
    pub contingency: Contingency,
}

impl EvalReport {
    /// Predictions are code names: clustering and classification scores,
    /// frequencies compared by name.
    pub fn for_codes(pred: &[&str], gold: &[&str]) -> Result<EvalReport, EvalError> {
        let contingency = Contingency::new(pred, gold)?;
        Ok(EvalReport {
            n: contingency.n(),
            cluster: ClusterScores::from_contingency(&contingency),
            classification: Some(ClassScores::from_contingency(&contingency)),
            frequencies: FrequencyTable::from_contingency(&contingency),
            contingency,
        })
    }

    /// Predictions are arbitrary group ids: clustering scores only;
    /// frequencies after renaming groups via the Hungarian `mapping`
    /// (unmatched groups pooled, see [`FrequencyTable::from_mapping`]).
    pub fn for_clusters(pred: &[&str], gold: &[&str]) -> Result<EvalReport, EvalError> {
        let contingency = Contingency::new(pred, gold)?;
        let cluster = ClusterScores::from_contingency(&contingency);
        let frequencies = FrequencyTable::from_mapping(&contingency, &cluster.mapping);
        Ok(EvalReport {
            n: contingency.n(),
            cluster,
            classification: None,
            frequencies,
            contingency,
        })
    }
}

/// Width of label columns; longer labels are cut with `…`.
const LABEL_W: usize = 24;
/// Width of each contingency column.
const CELL_W: usize = 10;

/// Terminal columns taken by `c`: 2 for East Asian wide/fullwidth and
/// emoji blocks, else 1. A coarse table (no combining marks, no full
/// Unicode width data) that keeps CJK and emoji labels aligned without a
/// dependency.
fn char_width(c: char) -> usize {
    let wide = matches!(c as u32,
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD);
    if wide {
        2
    } else {
        1
    }
}

fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Fit `s` into exactly `w` display columns, cutting with `…` if too long.
fn fit(s: &str, w: usize) -> String {
    let len = width(s);
    if len <= w {
        return format!("{s}{}", " ".repeat(w - len));
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = char_width(c);
        // Leave one column for the ellipsis.
        if used + cw > w.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    used += 1;
    out.push_str(&" ".repeat(w.saturating_sub(used)));
    out
}

fn right(s: &str, w: usize) -> String {
    let len = width(s);
    if len >= w {
        s.to_string()
    } else {
        format!("{}{s}", " ".repeat(w - len))
    }
}

/// Human-readable fixed-width rendering of a report. Pure: same report, same text.
pub fn render_text(r: &EvalReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored deliberately.
    let _ = writeln!(out, "Evaluation on {} items", r.n);
    let _ = writeln!(out);

    let c = &r.cluster;
    let _ = writeln!(out, "Clustering");
    for (name, v) in [
        ("accuracy (matched)", c.acc),
        ("NMI (arithmetic)", c.nmi),
        ("ARI", c.ari),
        ("homogeneity", c.homogeneity),
        ("completeness", c.completeness),
        ("V-measure", c.v_measure),
        ("purity", c.purity),
    ] {
        let _ = writeln!(out, "  {} {:>8.4}", fit(name, 20), v);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Group -> label mapping");
    for (group, label) in &c.mapping {
        let target = label.as_deref().unwrap_or("-");
        let _ = writeln!(out, "  {} -> {}", fit(group, LABEL_W), target);
    }

    if let Some(cls) = &r.classification {
        let _ = writeln!(out);
        let _ = writeln!(out, "Classification");
        let _ = writeln!(out, "  {} {:>8.4}", fit("accuracy", 20), cls.accuracy);
        let _ = writeln!(out, "  {} {:>8.4}", fit("macro F1", 20), cls.macro_f1);
        let kappa = match (cls.kappa, &cls.kappa_reason) {
            (Some(k), _) => format!("{k:>8.4}"),
            (None, Some(why)) => format!("     n/a ({why})"),
            (None, None) => "     n/a".to_string(),
        };
        let _ = writeln!(out, "  {} {}", fit("Cohen's kappa", 20), kappa);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {} {:>9} {:>9} {:>9} {:>8} {:>9}",
            fit("code", LABEL_W),
            "precision",
            "recall",
            "f1",
            "support",
            "predicted"
        );
        // Natural order, as a code book lists its codes (2 before 10).
        let mut per_code: Vec<_> = cls.per_code.iter().collect();
        per_code.sort_by(|a, b| crate::frame::learned::natural_cmp(a.0, b.0));
        for (code, p) in per_code {
            let _ = writeln!(
                out,
                "  {} {:>9.4} {:>9.4} {:>9.4} {:>8} {:>9}",
                fit(code, LABEL_W),
                p.precision,
                p.recall,
                p.f1,
                p.support,
                p.predicted
            );
        }
    }

    let f = &r.frequencies;
    let _ = writeln!(out);
    let _ = writeln!(out, "Frequencies (TVD {:.4})", f.tvd);
    let _ = writeln!(
        out,
        "  {} {:>8} {:>8} {:>8} {:>8}",
        fit("label", LABEL_W),
        "pred",
        "pred %",
        "gold",
        "gold %"
    );
    for row in &f.rows {
        let _ = writeln!(
            out,
            "  {} {:>8} {:>7.1}% {:>8} {:>7.1}%",
            fit(&row.label, LABEL_W),
            row.pred_count,
            100.0 * row.pred_share,
            row.gold_count,
            100.0 * row.gold_share
        );
    }

    let t = &r.contingency;
    let _ = writeln!(out);
    let _ = writeln!(out, "Contingency (rows: predicted, columns: gold)");
    let mut header = format!("  {}", fit("", LABEL_W));
    for g in t.gold_labels() {
        header.push(' ');
        header.push_str(&right(fit(g, CELL_W).trim_end(), CELL_W));
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for (p, row) in t.pred_labels().iter().zip(t.counts()) {
        let mut line = format!("  {}", fit(p, LABEL_W));
        for x in row {
            line.push(' ');
            line.push_str(&right(&x.to_string(), CELL_W));
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_report_renders_all_sections() {
        let pred = ["Preis", "Qualität", "Preis", "Service", "Qualität"];
        let gold = ["Preis", "Qualität", "Service", "Service", "Preis"];
        let r = EvalReport::for_codes(&pred, &gold).unwrap();
        let text = render_text(&r);
        for needle in [
            "Evaluation on 5 items",
            "Clustering",
            "Classification",
            "Cohen's kappa",
            "Frequencies (TVD",
            "Contingency",
            "Qualität",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
        assert_eq!(render_text(&r), text, "rendering must be deterministic");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["n"], 5);
        assert!(json["classification"]["per_code"]["Preis"]["f1"].is_f64());
        assert_eq!(json["contingency"]["pred_labels"][0], "Preis");
    }

    #[test]
    fn cluster_report_maps_groups_and_has_no_classification() {
        let pred = ["0", "0", "1", "1", "2", "2"];
        let gold = ["a", "a", "b", "b", "b", "a"];
        let r = EvalReport::for_clusters(&pred, &gold).unwrap();
        assert!(r.classification.is_none());
        let text = render_text(&r);
        assert!(!text.contains("Classification"));
        assert!(text.contains("(unmatched)"));
        // Groups 0->a, 1->b matched; group 2 pooled as unmatched.
        assert!((r.frequencies.tvd - 1.0 / 3.0).abs() < 1e-12);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["classification"].is_null());
        assert_eq!(json["cluster"]["mapping"]["2"], serde_json::Value::Null);
    }

    #[test]
    fn undefined_kappa_is_explained_in_text() {
        let r = EvalReport::for_codes(&["x", "x"], &["x", "x"]).unwrap();
        let text = render_text(&r);
        assert!(text.contains("n/a (undefined"), "{text}");
    }

    #[test]
    fn long_labels_are_truncated() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("äb", 4), "äb  ");
        assert_eq!(right("7", 3), "  7");
        // Wide glyphs take two columns, also when cutting.
        assert_eq!(fit("服务", 6), "服务  ");
        assert_eq!(fit("服务服务", 6), "服务… ");
        assert_eq!(width(&fit("😀x服", 3)), 3);
    }

    #[test]
    fn errors_propagate() {
        assert_eq!(EvalReport::for_codes(&[], &[]), Err(EvalError::Empty));
        assert!(EvalReport::for_clusters(&["a"], &[]).is_err());
    }
}
