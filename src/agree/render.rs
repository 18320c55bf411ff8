//! Readings and the plain-text report: conventional interpretation bands and a terminal table.

use std::fmt::Write;

use super::{Agreement, Coefficient, Scale};

/// Conventional interpretation: Landis & Koch (1977) for kappa-type
/// coefficients, Krippendorff's (2004) bounds for alpha.
pub(super) fn reading(value: Option<f64>, scale: Scale) -> &'static str {
    let Some(v) = value else {
        return "undefined";
    };
    match scale {
        Scale::Raw => "not chance-corrected",
        Scale::Alpha if v >= 0.800 => "reliable",
        Scale::Alpha if v >= 0.667 => "tentative conclusions only",
        Scale::Alpha => "unreliable",
        Scale::Kappa if v < 0.0 => "poor",
        Scale::Kappa if v <= 0.20 => "slight",
        Scale::Kappa if v <= 0.40 => "fair",
        Scale::Kappa if v <= 0.60 => "moderate",
        Scale::Kappa if v <= 0.80 => "substantial",
        Scale::Kappa => "almost perfect",
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

fn interval(c: &Coefficient) -> String {
    match (c.ci_low, c.ci_high) {
        (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
        _ => String::new(),
    }
}

/// The reading, or why there is no value.
fn note(c: &Coefficient) -> String {
    match &c.undefined {
        Some(reason) => format!("undefined: {reason}"),
        None => c.reading.clone(),
    }
}

/// Aligned columns separated by two spaces, a dashed rule under the header;
/// `right[i]` right-aligns column i (numbers).
fn grid(rows: &[Vec<String>], right: &[bool]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = width[i].saturating_sub(cell.chars().count());
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        out.push_str(&line(row.clone()));
        out.push('\n');
        if r == 0 {
            out.push_str(&line(width.iter().map(|&w| "-".repeat(w)).collect()));
            out.push('\n');
        }
    }
    out
}

fn strings<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// A readable plain-text report of `a` for a terminal.
pub fn render_table(a: &Agreement) -> String {
    let mut out = String::new();
    let ci_title = if a.bootstrap.resamples > 0 {
        format!("{:.0}% CI", a.bootstrap.confidence * 100.0)
    } else {
        "CI".to_string()
    };
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "Inter-coder agreement: {} coders, {} units ({} used, {} skipped: fewer than 2 codings)",
        a.coders.len(),
        a.units_total,
        a.units_used,
        a.skipped_units,
    );
    let _ = writeln!(
        out,
        "Codes used: {}, pairable values: {}, units with disagreement: {}",
        a.codes_used, a.pairable_values, a.disagreement_units
    );
    if a.bootstrap.resamples > 0 {
        let _ = writeln!(
            out,
            "Intervals: {} bootstrap, {} resamples of units, seed {}",
            a.bootstrap.method, a.bootstrap.resamples, a.bootstrap.seed
        );
    } else {
        out.push_str("Intervals: none (no bootstrap)\n");
    }
    out.push('\n');

    let o = &a.overall;
    let mut rows = vec![strings(["Coefficient", "Value", &ci_title, "Reading"])];
    for (name, c) in [
        ("Percent agreement", &o.percent_agreement),
        ("Krippendorff's alpha", &o.krippendorff_alpha),
        ("Fleiss' kappa", &o.fleiss_kappa),
        ("Gwet's AC1", &o.gwet_ac1),
        ("Brennan-Prediger", &o.brennan_prediger),
    ] {
        rows.push(vec![name.to_string(), num(c.value), interval(c), note(c)]);
    }
    out.push_str(&grid(&rows, &[false, true, false, false]));

    out.push('\n');
    let mut rows = vec![strings([
        "Coder pair",
        "Units",
        "Agreement",
        "Cohen kappa",
        &ci_title,
        "Scott pi",
        "Reading (kappa)",
    ])];
    for p in &a.pairs {
        rows.push(vec![
            format!("{} / {}", p.coder_a, p.coder_b),
            p.units.to_string(),
            num(p.percent_agreement.value),
            num(p.cohen_kappa.value),
            interval(&p.cohen_kappa),
            num(p.scott_pi.value),
            note(&p.cohen_kappa),
        ]);
    }
    out.push_str(&grid(&rows, &[false, true, true, true, false, true, false]));

    out.push('\n');
    let kappa_title = match a.per_code.first().map(|c| c.kappa_kind.as_str()) {
        Some("cohen") => "Cohen kappa",
        _ => "Fleiss kappa",
    };
    let mut header = strings(["Code (vs rest)", "Alpha", kappa_title, "Reading (alpha)"]);
    header.extend(a.coders.iter().map(|c| format!("uses {c}")));
    let mut rows = vec![header];
    for code in &a.per_code {
        let mut row = vec![
            code.code.clone(),
            num(code.krippendorff_alpha.value),
            num(code.kappa.value),
            note(&code.krippendorff_alpha),
        ];
        row.extend(
            a.coders
                .iter()
                .map(|c| code.uses_by_coder.get(c).copied().unwrap_or(0).to_string()),
        );
        rows.push(row);
    }
    let mut right = vec![false, true, true, false];
    right.extend(a.coders.iter().map(|_| true));
    out.push_str(&grid(&rows, &right));
    out
}
