//! Writers of a crosstab: the wide sheet of crosstab-COL.csv/.xlsx and the console table.
//! Pure: the typed table in, cells or text out.

use std::fmt::Write as _;

use super::Crosstab;
use crate::report::Sheet;

fn f4(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_default()
}

/// One row per group, code or status, then the bases; per value of the variable its count and
/// column share (then the weighted count and share, when weighted), and the total.
pub fn sheet(x: &Crosstab) -> Sheet {
    let mut header = vec!["response".to_string(), "kind".to_string()];
    for c in &x.columns {
        header.push(format!("{c}: n"));
        header.push(format!("{c}: share"));
    }
    if x.weight_column.is_some() {
        for c in &x.columns {
            header.push(format!("{c}: weighted n"));
            header.push(format!("{c}: weighted share"));
        }
    }
    let mut rows = Vec::new();
    for r in &x.rows {
        let mut cells = vec![r.category.name.clone(), r.category.kind.to_string()];
        for (n, s) in r.counts.iter().zip(&r.shares) {
            cells.push(n.to_string());
            cells.push(f4(*s));
        }
        if let (Some(w), Some(ws)) = (&r.weighted, &r.weighted_shares) {
            for (n, s) in w.iter().zip(ws) {
                cells.push(format!("{n:.4}"));
                cells.push(f4(*s));
            }
        }
        rows.push(cells);
    }
    let base_row = |name: &str, values: Vec<String>, weighted: Option<Vec<String>>| {
        let mut cells = vec![name.to_string(), "base".to_string()];
        for v in values {
            cells.push(v);
            cells.push(String::new());
        }
        for v in weighted.into_iter().flatten() {
            cells.push(v);
            cells.push(String::new());
        }
        cells
    };
    let ints = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>();
    let floats = |v: &Option<Vec<f64>>| {
        v.as_ref()
            .map(|v| v.iter().map(|n| format!("{n:.4}")).collect::<Vec<_>>())
    };
    let blanks = || {
        x.weight_column
            .as_ref()
            .map(|_| vec![String::new(); x.columns.len()])
    };
    rows.push(base_row(
        "Base: respondents",
        ints(&x.respondents),
        floats(&x.weighted_respondents),
    ));
    if x.several_codes {
        rows.push(base_row("Base: mentions", ints(&x.mentions), blanks()));
    }
    if x.weight_column.is_some() {
        rows.push(base_row(
            "Effective sample size (Kish)",
            vec![String::new(); x.columns.len()],
            floats(&x.effective_n),
        ));
    }
    Sheet {
        name: "crosstab",
        header,
        rows,
    }
}

/// The table as the console shows it: counts with column shares, the bases, the test and the
/// notes.
pub fn text(x: &Crosstab) -> String {
    let width = x
        .rows
        .iter()
        .map(|r| r.category.name.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 40);
    let mut s = format!("crosstab by {}\n", x.by);
    let _ = write!(s, "  {:width$}", "");
    for c in &x.columns {
        let _ = write!(s, " {:>14}", clip(c, 14));
    }
    s.push('\n');
    for r in &x.rows {
        let _ = write!(s, "  {:width$}", clip(&r.category.name, width));
        for (n, sh) in r.counts.iter().zip(&r.shares) {
            let cell = match sh {
                Some(v) => format!("{n} ({:.1}%)", 100.0 * v),
                None => n.to_string(),
            };
            let _ = write!(s, " {cell:>14}");
        }
        s.push('\n');
    }
    let _ = write!(s, "  {:width$}", "base: respondents");
    for n in &x.respondents {
        let _ = write!(s, " {n:>14}");
    }
    s.push('\n');
    if x.several_codes {
        let _ = write!(s, "  {:width$}", "base: mentions");
        for n in &x.mentions {
            let _ = write!(s, " {n:>14}");
        }
        s.push('\n');
    }
    if let (Some(w), Some(e)) = (&x.weighted_respondents, &x.effective_n) {
        let _ = write!(s, "  {:width$}", "weighted base (eff. n)");
        for (w, e) in w.iter().zip(e) {
            let _ = write!(s, " {:>14}", format!("{w:.1} ({e:.1})"));
        }
        s.push('\n');
    }
    if let Some(t) = &x.test {
        let _ = writeln!(
            s,
            "  chi-square {:.3}, df {}, p {}, Cramér's V {:.3} (n = {})",
            t.chi_square,
            t.df,
            p_text(t.p_value),
            t.cramers_v,
            t.n
        );
    }
    for n in &x.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s.trim_end().to_string()
}

/// A p-value as a report writes it.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
