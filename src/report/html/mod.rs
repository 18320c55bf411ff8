//! HTML run report: renders one self-contained, offline, printable page
//! (inline CSS, JS and SVG) summarising a codeframe `discover` or `apply` run.
//!
//! Everything taken from the input model is untrusted (survey answers are
//! free text), so every string goes through [`esc`] before reaching markup and
//! the only data handed to JavaScript is JSON inside a non-executable
//! `<script type="application/json">` block with `<`, `>`, `&`, U+2028 and
//! U+2029 escaped. A Content-Security-Policy pins the one inline script by hash
//! and forbids all network access, as a second line of defence.
//!
//! Conventions: `ReportGroup::share`, `DriftRow::baseline_share` and
//! `DriftRow::wave_share` are fractions in `[0, 1]` (printed as percentages);
//! `DriftRow::change_pp` is already in percentage points.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Everything the page shows about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunReport {
    /// e.g. "Q7 — Please suggest topics for future webinars".
    pub title: String,
    /// "discover" or "apply".
    pub command: String,
    /// Input file name.
    pub source: String,
    /// e.g. "codeframe 0.1.0".
    pub generated_by: String,
    pub rows_total: usize,
    /// e.g. `[("clustered", 76), ("non-substantive", 3)]`.
    pub status_counts: Vec<(String, usize)>,
    /// Answers per language, e.g. `[("en", 63), ("de", 3), ("undetermined", 9)]`; shown when
    /// any language was told.
    pub languages: Vec<(String, usize)>,
    /// Groups (discover) or codes (apply), largest first.
    pub groups: Vec<ReportGroup>,
    /// 2-D map of answers.
    pub points: Vec<MapPoint>,
    /// Optional metric rows; empty = no section.
    pub evaluation: Vec<Metric>,
    /// Optional agreement rows; empty = no section.
    pub agreement: Vec<AgreementRow>,
    pub confusion: Option<Confusion>,
    /// Optional drift rows; empty = no section.
    pub drift: Vec<DriftRow>,
    /// Candidate new codes (apply); empty = no section.
    pub candidates: Vec<ReportGroup>,
    /// What every share on the page is a share of, e.g. "all 79 answers".
    pub base: String,
    /// Things the reader should know about this page (e.g. a stale evaluation left out).
    pub notes: Vec<String>,
}

/// One group (discover), code (apply) or candidate code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReportGroup {
    pub name: String,
    pub topic_group: Option<String>,
    /// Answers grouped or coded here (set-aside answers counted here included).
    pub size: usize,
    /// Fraction in `[0, 1]` of [`RunReport::base`].
    pub share: f64,
    /// Of `size`, answers set aside (blank or non-substantive) that the frame counts here.
    pub set_aside: usize,
    /// Answers below threshold suggested for this code (apply), beside `size`.
    pub suggested: Option<usize>,
    pub keywords: Vec<String>,
    pub typical: Vec<String>,
    /// Why the name should be checked before it is reported (discover with a frame): the
    /// group mixes topics, the name matches weakly, or several groups share it.
    #[serde(default)]
    pub caution: Option<String>,
}

/// One answer on the 2-D map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MapPoint {
    pub x: f32,
    pub y: f32,
    /// Index into `RunReport::groups`; `None` (or out of range) = no group.
    pub group: Option<usize>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Metric {
    pub name: String,
    pub value: Option<f64>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AgreementRow {
    /// e.g. "Krippendorff's alpha" or "coder_a / codeframe: Cohen's kappa".
    pub name: String,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub reading: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Confusion {
    pub title: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// `counts[row][col]`; ragged or short rows are padded with blanks.
    pub counts: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DriftRow {
    pub code: String,
    /// Fraction in `[0, 1]`.
    pub baseline_share: Option<f64>,
    /// Fraction in `[0, 1]`.
    pub wave_share: Option<f64>,
    /// Percentage points.
    pub change_pp: Option<f64>,
    pub p_value: Option<f64>,
    pub flag: String,
}

/// Printed for every missing or non-finite number, so "NaN" never shows.
const MISSING: &str = "–";

/// Okabe–Ito palette (colour-blind safe), minus black (reads as text) and
/// reordered so the weak yellow comes last. Cycles change marker shape.
const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
];
const UNGROUPED: &str = "#9a9a9a";

// `write!` into a String cannot fail; this keeps the call sites short.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Renders the whole page. Pure: no I/O, deterministic for a given input.
pub fn render(r: &RunReport) -> String {
    let mut out = String::with_capacity(16 * 1024 + r.points.len() * 96);
    let group_word = if r.command == "apply" {
        "Codes"
    } else {
        "Groups"
    };

    // Which sections exist decides both the nav and the body.
    let has_points = r.points.iter().any(|p| finite_point(p).is_some());
    let mut sections: Vec<(&str, &str)> = Vec::new();
    if !r.groups.is_empty() {
        sections.push(("frequencies", "Frequencies"));
        sections.push(("groups", group_word));
    }
    if has_points {
        sections.push(("map", "Map"));
    }
    if !r.evaluation.is_empty() {
        sections.push(("evaluation", "Evaluation"));
    }
    if !r.agreement.is_empty() {
        sections.push(("agreement", "Agreement"));
    }
    if r.confusion.is_some() {
        sections.push(("confusion", "Confusion"));
    }
    if !r.drift.is_empty() {
        sections.push(("drift", "Drift"));
    }
    if !r.candidates.is_empty() {
        sections.push(("candidates", "Candidate new codes"));
    }

    let title = if r.title.is_empty() {
        "codeframe report"
    } else {
        r.title.as_str()
    };
    put!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; img-src data:; \
         base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"generator\" content=\"{}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&r.generated_by),
        esc(title)
    );

    render_header(&mut out, r, title);
    if !sections.is_empty() {
        out.push_str("<nav aria-label=\"Sections\">");
        for (id, label) in &sections {
            put!(out, "<a href=\"#{id}\">{label}</a>");
        }
        out.push_str("</nav>\n");
    }
    out.push_str("<main>\n");
    if !r.groups.is_empty() {
        render_frequencies(&mut out, &r.groups, group_word, &r.base);
        render_cards(&mut out, "groups", group_word, &r.groups, false);
    }
    if has_points {
        render_map(&mut out, r);
    }
    if !r.evaluation.is_empty() {
        render_evaluation(&mut out, &r.evaluation);
    }
    if !r.agreement.is_empty() {
        render_agreement(&mut out, &r.agreement);
    }
    if let Some(c) = &r.confusion {
        render_confusion(&mut out, c);
    }
    if !r.drift.is_empty() {
        render_drift(&mut out, &r.drift);
    }
    if !r.candidates.is_empty() {
        render_cards(
            &mut out,
            "candidates",
            "Candidate new codes",
            &r.candidates,
            true,
        );
    }
    if sections.is_empty() {
        out.push_str("<p class=\"empty\">This run produced no groups, map or tables.</p>\n");
    }
    out.push_str("</main>\n");
    put!(
        out,
        "<footer>Generated by {} · self-contained report, no network access needed.</footer>\n",
        esc(or_dash(&r.generated_by))
    );

    // Data for the tooltip script: JSON only, never spliced into code.
    let names: Vec<&str> = r.groups.iter().map(|g| g.name.as_str()).collect();
    let data = serde_json::json!({ "groups": names, "ungrouped": "no group" });
    put!(
        out,
        "<div id=\"cf-tip\" role=\"tooltip\" hidden></div>\n\
         <script type=\"application/json\" id=\"cf-data\">{}</script>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        json_for_script(&data)
    );
    out
}

fn render_header(out: &mut String, r: &RunReport, title: &str) {
    put!(
        out,
        "<header>\n<p class=\"kicker\">codeframe · {}</p>\n<h1>{}</h1>\n<dl class=\"meta\">",
        esc(or_dash(&r.command)),
        esc(title)
    );
    put!(
        out,
        "<div><dt>Source</dt><dd>{}</dd></div>\
         <div><dt>Command</dt><dd>{}</dd></div>\
         <div><dt>Rows</dt><dd>{}</dd></div>\
         <div><dt>Generated by</dt><dd>{}</dd></div></dl>\n",
        esc(or_dash(&r.source)),
        esc(or_dash(&r.command)),
        r.rows_total,
        esc(or_dash(&r.generated_by))
    );
    if !r.base.is_empty() {
        put!(
            out,
            "<p class=\"base\">Shares in the table and charts are of {}.</p>\n",
            esc(&r.base)
        );
    }
    for n in &r.notes {
        put!(out, "<p class=\"note warn\">{}</p>\n", esc(n));
    }
    // Each list says what its shares are of, since neither is the table's base: statuses are
    // of every row, languages of the answers (blank cells of a survey question have none).
    render_status_counts(out, &r.status_counts, r.rows_total);
    if !r.languages.is_empty() {
        let answers = r.languages.iter().map(|(_, n)| n).sum();
        let label = format!("Languages (of {answers} answers)");
        render_counts(out, "Answers by language", &label, &r.languages, answers);
    }
    out.push_str("</header>\n");
}

/// The rows by status as a count list, shares of all `rows`; nothing when there are none.
fn render_status_counts(out: &mut String, counts: &[(String, usize)], rows: usize) {
    if !counts.is_empty() {
        let label = format!("Status (of {rows} rows)");
        render_counts(out, "Rows by status", &label, counts, rows);
    }
}

/// A count list: its label, then each item's name, count and share of `total`.
fn render_counts(
    out: &mut String,
    aria: &str,
    label: &str,
    counts: &[(String, usize)],
    total: usize,
) {
    put!(
        out,
        "<ul class=\"status\" aria-label=\"{}\"><li><span>{}</span></li>",
        esc(aria),
        esc(label)
    );
    for (name, n) in counts {
        put!(
            out,
            "<li><span>{}</span> <b>{}</b> <small>{}</small></li>",
            esc(name),
            n,
            pct(share_of(*n, total))
        );
    }
    out.push_str("</ul>\n");
}

/// Horizontal bar chart in the style of a survey report figure. All labels
/// are SVG `<text>`, so the figure reads without JS and prints as is.
fn render_frequencies(out: &mut String, groups: &[ReportGroup], group_word: &str, base: &str) {
    const W: f64 = 960.0;
    const ROW: f64 = 28.0;
    const BAR: f64 = 18.0;
    const CHAR_W: f64 = 8.0; // generous width of one 13px glyph, to size the label column
    let longest = groups
        .iter()
        .map(|g| g.name.chars().count())
        .max()
        .unwrap_or(0);
    let label_w = (longest as f64 * CHAR_W + 16.0).clamp(120.0, 360.0);
    let max_chars = ((label_w - 16.0) / CHAR_W).floor() as usize;
    let any_suggested = groups.iter().any(|g| g.suggested.unwrap_or(0) > 0);
    // Room right of the longest bar for its value: "12 (3.4%)", or "0 (0.0%) · 14 suggested".
    let value_w = if any_suggested { 200.0 } else { 140.0 };
    let bar_max = W - label_w - value_w;
    let max_size = groups
        .iter()
        .map(|g| g.size + g.suggested.unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let h = groups.len() as f64 * ROW + 8.0;

    put!(
        out,
        "<section id=\"frequencies\">\n<h2>Frequencies</h2>\n<figure class=\"chart\">\n\
         <svg class=\"bars\" viewBox=\"0 0 {W} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"{group_word} by number of answers\">\n"
    );
    for (i, g) in groups.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let bw = (g.size as f64 / max_size * bar_max).max(if g.size > 0 { 1.5 } else { 0.0 });
        let sug = g.suggested.unwrap_or(0);
        let sw = sug as f64 / max_size * bar_max;
        let ty = y + ROW / 2.0 + 4.5;
        let by = f1(y + (ROW - BAR) / 2.0);
        let extra = if sug > 0 {
            format!(" · {sug} suggested")
        } else {
            String::new()
        };
        put!(
            out,
            "<g class=\"bar\"><title>{name}: {size} ({share}){extra}</title>\
             <text class=\"lbl\" x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{short}</text>\
             <rect x=\"{label_w}\" y=\"{by}\" width=\"{bw}\" height=\"{BAR}\" rx=\"2\" fill=\"{c}\"/>",
            name = esc(&g.name),
            size = g.size,
            share = pct(Some(g.share)),
            lx = f1(label_w - 8.0),
            ty = f1(ty),
            short = esc(&truncate(&g.name, max_chars)),
            bw = f1(bw),
            c = colour(Some(i)),
        );
        if sug > 0 {
            put!(
                out,
                "<rect class=\"sug\" x=\"{}\" y=\"{by}\" width=\"{}\" height=\"{BAR}\" rx=\"2\" fill=\"{}\"/>",
                f1(label_w + bw),
                f1(sw),
                colour(Some(i))
            );
        }
        put!(
            out,
            "<text class=\"val\" x=\"{vx}\" y=\"{ty}\">{size} <tspan>({share}){extra}</tspan></text></g>\n",
            size = g.size,
            share = pct(Some(g.share)),
            vx = f1(label_w + bw + sw + 6.0),
            ty = f1(ty),
        );
    }
    let suggested_note = if any_suggested {
        " The lighter part of a bar counts answers below the code's threshold that the code is suggested for; they are not in the counts or shares."
    } else {
        ""
    };
    put!(
        out,
        "</svg>\n<figcaption>Number of answers per {}; shares are of {}.{suggested_note}</figcaption>\n</figure>\n</section>\n",
        group_word.to_lowercase().trim_end_matches('s'),
        esc(or_dash(base))
    );
}

fn render_cards(
    out: &mut String,
    id: &str,
    heading: &str,
    groups: &[ReportGroup],
    candidate: bool,
) {
    put!(
        out,
        "<section id=\"{id}\">\n<h2>{heading}</h2>\n<div class=\"cards\">\n"
    );
    for (i, g) in groups.iter().enumerate() {
        // Candidates are not on the map, so they get a neutral stripe.
        let stripe = if candidate {
            UNGROUPED
        } else {
            colour(Some(i))
        };
        put!(
            out,
            "<article class=\"card\" style=\"border-left-color:{stripe}\">\n<h3>{}</h3>",
            esc(or_dash(&g.name))
        );
        if let Some(t) = &g.topic_group {
            put!(out, "<p class=\"topic\">Topic group: {}</p>", esc(t));
        }
        if let Some(c) = &g.caution {
            put!(out, "<p class=\"caution\">Check the name: {}</p>", esc(c));
        }
        put!(
            out,
            "<p class=\"size\"><b>{}</b> answers · {}",
            g.size,
            pct(Some(g.share))
        );
        if g.set_aside > 0 {
            put!(
                out,
                " · {} of them blank or non-substantive, counted here by the frame",
                g.set_aside
            );
        }
        if let Some(n) = g.suggested.filter(|&n| n > 0) {
            put!(
                out,
                " · <span class=\"sugn\">{n} more suggested below threshold</span>"
            );
        }
        out.push_str("</p>\n");
        if !g.keywords.is_empty() {
            out.push_str("<ul class=\"kw\" aria-label=\"Keywords\">");
            for k in &g.keywords {
                put!(out, "<li>{}</li>", esc(k));
            }
            out.push_str("</ul>\n");
        }
        if !g.typical.is_empty() {
            out.push_str("<h4>Typical answers</h4><ul class=\"typical\">");
            for t in &g.typical {
                put!(out, "<li>{}</li>", esc(t));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</article>\n");
    }
    out.push_str("</div>\n</section>\n");
}

fn render_evaluation(out: &mut String, rows: &[Metric]) {
    out.push_str(
        "<section id=\"evaluation\">\n<h2>Evaluation</h2>\n<table>\n\
         <thead><tr><th scope=\"col\">Metric</th><th scope=\"col\" class=\"num\">Value</th>\
         <th scope=\"col\">Note</th></tr></thead>\n<tbody>\n",
    );
    for m in rows {
        put!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td>{}</td></tr>\n",
            esc(&m.name),
            num(m.value, 3),
            esc(&m.note)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn render_agreement(out: &mut String, rows: &[AgreementRow]) {
    out.push_str(
        "<section id=\"agreement\">\n<h2>Agreement</h2>\n<table>\n\
         <thead><tr><th scope=\"col\">Measure</th><th scope=\"col\" class=\"num\">Value</th>\
         <th scope=\"col\" class=\"num\">95% CI</th><th scope=\"col\">Reading</th></tr></thead>\n<tbody>\n",
    );
    for a in rows {
        let ci = match (fin(a.ci_low), fin(a.ci_high)) {
            (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
            (Some(lo), None) => format!("[{lo:.3}, {MISSING}]"),
            (None, Some(hi)) => format!("[{MISSING}, {hi:.3}]"),
            (None, None) => MISSING.to_string(),
        };
        put!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{ci}</td><td>{}</td></tr>\n",
            esc(&a.name),
            num(a.value, 3),
            esc(&a.reading)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Heatmap as a plain table: intensity is an inline background, the count
/// stays as text, so it survives print and screen readers.
fn render_confusion(out: &mut String, c: &Confusion) {
    let max = c.counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let ncols = c
        .cols
        .len()
        .max(c.counts.iter().map(Vec::len).max().unwrap_or(0));
    let nrows = c.rows.len().max(c.counts.len());
    put!(
        out,
        "<section id=\"confusion\">\n<h2>Confusion matrix</h2>\n<div class=\"scroll\"><table class=\"heat\">\n<caption>{}</caption>\n\
         <thead><tr><th></th>",
        esc(or_dash(&c.title))
    );
    for j in 0..ncols {
        put!(
            out,
            "<th scope=\"col\">{}</th>",
            esc(c.cols.get(j).map_or(MISSING, String::as_str))
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for i in 0..nrows {
        let row_label = c.rows.get(i).map_or(MISSING, String::as_str);
        put!(out, "<tr><th scope=\"row\">{}</th>", esc(row_label));
        for j in 0..ncols {
            match c.counts.get(i).and_then(|r| r.get(j)) {
                Some(&n) => {
                    let a = n as f64 / max;
                    let fg = if a > 0.55 { ";color:#fff" } else { "" };
                    // Same label on both axes = agreement cell; outline it.
                    let diag = c.cols.get(j).is_some_and(|cl| cl == row_label);
                    put!(
                        out,
                        "<td{} style=\"background:rgba(0,114,178,{:.2}){fg}\">{n}</td>",
                        if diag { " class=\"diag\"" } else { "" },
                        a * 0.9
                    );
                }
                None => put!(out, "<td>{MISSING}</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn render_drift(out: &mut String, rows: &[DriftRow]) {
    let max_abs = rows
        .iter()
        .filter_map(|d| fin(d.change_pp))
        .map(f64::abs)
        .fold(0.0, f64::max);
    out.push_str(
        "<section id=\"drift\">\n<h2>Drift</h2>\n<table>\n\
         <thead><tr><th scope=\"col\">Code</th><th scope=\"col\" class=\"num\">Baseline</th>\
         <th scope=\"col\" class=\"num\">Wave</th><th scope=\"col\" class=\"num\">Change (pp)</th>\
         <th scope=\"col\" aria-hidden=\"true\"></th><th scope=\"col\" class=\"num\">p-value</th>\
         <th scope=\"col\">Flag</th></tr></thead>\n<tbody>\n",
    );
    for d in rows {
        let change = match fin(d.change_pp) {
            Some(c) => format!("{c:+.1}"),
            None => MISSING.to_string(),
        };
        let p = match fin(d.p_value) {
            Some(p) if p < 0.001 => "&lt;0.001".to_string(),
            Some(p) => format!("{p:.3}"),
            None => MISSING.to_string(),
        };
        // Small diverging bar: centre line is "no change".
        let bar = match fin(d.change_pp) {
            Some(c) if max_abs > 0.0 => {
                let w = c.abs() / max_abs * 58.0;
                let x = if c < 0.0 { 60.0 - w } else { 60.0 };
                let fill = if c < 0.0 { "#0072B2" } else { "#D55E00" };
                format!(
                    "<svg class=\"mini\" viewBox=\"0 0 120 12\" width=\"120\" height=\"12\" aria-hidden=\"true\">\
                     <rect x=\"{}\" y=\"2\" width=\"{}\" height=\"8\" fill=\"{fill}\"/>\
                     <line x1=\"60\" y1=\"0\" x2=\"60\" y2=\"12\" stroke=\"#555\"/></svg>",
                    f1(x),
                    f1(w)
                )
            }
            _ => String::new(),
        };
        let flagged = if d.flag.trim().is_empty() {
            ""
        } else {
            " class=\"flag\""
        };
        put!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{change}</td><td>{bar}</td><td class=\"num\">{p}</td><td{flagged}>{}</td></tr>\n",
            esc(&d.code),
            pct(d.baseline_share),
            pct(d.wave_share),
            esc(&d.flag)
        );
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"note\">Shares are percentages of each wave; change is in percentage points.</p>\n</section>\n",
    );
}

/// HTML-escapes text for both element content and quoted attributes.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Control chars other than whitespace are invalid in HTML text.
            c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// JSON that is safe inside `<script type="application/json">`: nothing can
/// close the element or open a comment, and line separators stay escaped.
fn json_for_script(v: &serde_json::Value) -> String {
    let raw = serde_json::to_string(v).unwrap_or_else(|_| "{\"groups\":[]}".to_string());
    let mut o = String::with_capacity(raw.len() + 16);
    for ch in raw.chars() {
        match ch {
            '<' => o.push_str("\\u003c"),
            '>' => o.push_str("\\u003e"),
            '&' => o.push_str("\\u0026"),
            '\u{2028}' => o.push_str("\\u2028"),
            '\u{2029}' => o.push_str("\\u2029"),
            c => o.push(c),
        }
    }
    o
}

fn finite_point(p: &MapPoint) -> Option<(f64, f64)> {
    (p.x.is_finite() && p.y.is_finite()).then_some((f64::from(p.x), f64::from(p.y)))
}

fn fin(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn num(v: Option<f64>, decimals: usize) -> String {
    match fin(v) {
        Some(x) => format!("{x:.decimals$}"),
        None => MISSING.to_string(),
    }
}

/// Fraction → "35.2%".
fn pct(v: Option<f64>) -> String {
    match fin(v) {
        Some(x) => format!("{:.1}%", x * 100.0),
        None => MISSING.to_string(),
    }
}

fn share_of(n: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| n as f64 / total as f64)
}

/// Coordinates with one decimal and no trailing ".0", to keep big maps small.
fn f1(v: f64) -> String {
    let s = format!("{:.1}", if v.is_finite() { v } else { 0.0 });
    match s.strip_suffix(".0") {
        Some("-0") => "0".to_string(),
        Some(t) => t.to_string(),
        None => s,
    }
}

fn colour(g: Option<usize>) -> &'static str {
    g.map_or(UNGROUPED, |i| PALETTE[i % PALETTE.len()])
}

fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() {
        MISSING
    } else {
        s
    }
}

/// Cuts on char boundaries (never inside a UTF-8 sequence) and marks the cut.
fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('…');
    t
}

mod assets;
mod index;
mod map;
use map::render_map;

pub use index::{render_index, IndexRow, QuestionSection, SurveyIndex};
#[cfg(test)]
mod tests;

use assets::{CSS, SCRIPT, SCRIPT_HASH};
