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
            "<p class=\"base\">Shares on this page are of {}.</p>\n",
            esc(&r.base)
        );
    }
    for n in &r.notes {
        put!(out, "<p class=\"note warn\">{}</p>\n", esc(n));
    }
    if !r.status_counts.is_empty() {
        out.push_str("<ul class=\"status\" aria-label=\"Rows by status\">");
        for (name, n) in &r.status_counts {
            put!(
                out,
                "<li><span>{}</span> <b>{}</b> <small>{}</small></li>",
                esc(name),
                n,
                pct(share_of(*n, r.rows_total))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n");
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
    let bar_max = W - label_w - 140.0;
    let max_size = groups
        .iter()
        .map(|g| g.size + g.suggested.unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let any_suggested = groups.iter().any(|g| g.suggested.unwrap_or(0) > 0);
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

/// Scatter plot: points grouped into one `<g>` per group so the colour is
/// written once; each mark carries its answer in a `<title>` (no-JS tooltip).
fn render_map(out: &mut String, r: &RunReport) {
    const W: f64 = 960.0;
    const H: f64 = 560.0;
    const PAD: f64 = 18.0;
    const MAX_TIP: usize = 280; // long answers would bloat a 5000-point page

    let pts: Vec<(f64, f64, Option<usize>, &str)> = r
        .points
        .iter()
        .filter_map(|p| {
            finite_point(p).map(|(x, y)| {
                let g = p.group.filter(|&g| g < r.groups.len());
                (x, y, g, p.text.as_str())
            })
        })
        .collect();

    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y, _, _) in &pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    // One scale for both axes keeps the embedding's shape; zero spans (one
    // point, identical points) collapse to the centre instead of dividing by 0.
    let sx = if x1 > x0 {
        (W - 2.0 * PAD) / (x1 - x0)
    } else {
        f64::INFINITY
    };
    let sy = if y1 > y0 {
        (H - 2.0 * PAD) / (y1 - y0)
    } else {
        f64::INFINITY
    };
    let s = if sx.min(sy).is_finite() {
        sx.min(sy)
    } else {
        0.0
    };
    let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let radius = if pts.len() > 2000 { 2.5 } else { 3.5 };

    put!(
        out,
        "<section id=\"map\">\n<h2>Map of answers</h2>\n<figure class=\"chart\">\n\
         <svg id=\"cf-map\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" \
         aria-label=\"Map of {} answers coloured by group\">\n\
         <rect class=\"plot\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\"/>\n",
        pts.len(),
        W - 1.0,
        H - 1.0
    );

    // Ungrouped first so the coloured groups sit on top of them; then groups
    // in the given (largest-first) order so small groups stay visible.
    let mut order: Vec<Option<usize>> = vec![None];
    order.extend((0..r.groups.len()).map(Some));
    let mut counts = vec![0usize; r.groups.len() + 1];
    for key in order {
        let members: Vec<_> = pts.iter().filter(|p| p.2 == key).collect();
        if members.is_empty() {
            continue;
        }
        counts[key.map_or(0, |g| g + 1)] = members.len();
        let gid = key.map_or(-1, |g| g as i64);
        put!(out, "<g data-g=\"{gid}\" fill=\"{}\">", colour(key));
        let shape = key.map_or(0, |g| (g / PALETTE.len()) % 3);
        for &&(x, y, _, text) in &members {
            let px = W / 2.0 + (x - mx) * s;
            let py = H / 2.0 - (y - my) * s; // SVG y grows downwards
            let tip = esc(&truncate(text, MAX_TIP));
            mark(out, shape, px, py, radius);
            put!(out, "<title>{tip}</title>{}\n", close_tag(shape));
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n<ul class=\"legend\" aria-label=\"Legend\">");
    for (i, g) in r.groups.iter().enumerate() {
        legend_item(out, Some(i), &g.name, counts[i + 1]);
    }
    if counts[0] > 0 {
        legend_item(out, None, "no group", counts[0]);
    }
    out.push_str(
        "</ul>\n<figcaption>Each mark is one answer; nearby answers are similar. \
         Hover a mark to read the answer.</figcaption>\n</figure>\n</section>\n",
    );
}

fn mark(out: &mut String, shape: usize, x: f64, y: f64, r: f64) {
    match shape {
        1 => put!(
            out,
            "<path d=\"M{} {}h{d}v{d}h-{d}z\">",
            f1(x - r),
            f1(y - r),
            d = f1(2.0 * r)
        ),
        2 => put!(
            out,
            "<path d=\"M{} {}l{} {}h-{}z\">",
            f1(x),
            f1(y - r * 1.2),
            f1(r * 1.2),
            f1(r * 2.1),
            f1(r * 2.4)
        ),
        _ => put!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\">", f1(x), f1(y)),
    }
}

fn close_tag(shape: usize) -> &'static str {
    if shape == 0 {
        "</circle>"
    } else {
        "</path>"
    }
}

fn legend_item(out: &mut String, g: Option<usize>, name: &str, n: usize) {
    let shape = g.map_or(0, |g| (g / PALETTE.len()) % 3);
    put!(
        out,
        "<li><svg class=\"sw\" viewBox=\"0 0 12 12\" width=\"12\" height=\"12\" aria-hidden=\"true\"><g fill=\"{}\">",
        colour(g)
    );
    mark(out, shape, 6.0, 6.5, 5.0);
    put!(
        out,
        "{}</g></svg>{} <small>({n})</small></li>",
        close_tag(shape),
        esc(or_dash(name))
    );
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

const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header,nav,main,footer{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:28px}
.kicker{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px}
h1{margin:4px 0 12px;font-size:26px;line-height:1.25}
h2{margin:36px 0 12px;font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{margin:0 0 2px;font-size:16px}
h4{margin:10px 0 4px;font-size:13px;color:var(--muted);font-weight:600}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0}
.meta div{display:flex;gap:6px}.meta dt{color:var(--muted)}.meta dd{margin:0;font-weight:600}
.status{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:12px 0 0}
.status li{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:2px 12px;font-size:13px}
.status small{color:var(--muted)}
nav{display:flex;flex-wrap:wrap;gap:4px 16px;padding-top:14px;padding-bottom:6px;font-size:14px}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
figcaption,.note{color:var(--muted);font-size:13px;margin-top:6px}
svg text{font-family:inherit;font-size:13px;fill:var(--ink)}
.bars .val tspan{fill:var(--muted)}
.bar:hover rect{opacity:.8}
.bars rect.sug{fill-opacity:.35}
.sugn{color:var(--muted)}
.base{margin:10px 0 0;font-size:14px}
.warn{color:#a33a00}
.plot{fill:#fff;stroke:var(--line)}
#cf-map circle,#cf-map path{fill-opacity:.82}
#cf-map circle:hover,#cf-map path:hover{stroke:#000;stroke-width:1.5}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;list-style:none;padding:0;margin:8px 0 0;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}.legend small{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--accent);border-radius:8px;padding:12px 14px}
.topic{margin:0;color:var(--muted);font-size:13px}
.size{margin:2px 0 6px;font-size:14px}
.kw{display:flex;flex-wrap:wrap;gap:4px;list-style:none;padding:0;margin:0}
.kw li{background:#eef3f8;border-radius:4px;padding:0 7px;font-size:12.5px}
.typical{margin:0;padding-left:18px;font-size:14px}
.typical li{margin:2px 0}
table{border-collapse:collapse;background:var(--card);font-size:14px;min-width:50%}
th,td{border:1px solid var(--line);padding:5px 10px;text-align:left;vertical-align:top}
thead th{background:#eef1f5}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}
.heat td{text-align:center;min-width:48px;font-variant-numeric:tabular-nums}
.heat td.diag{outline:2px solid #1d2330;outline-offset:-2px}
.heat caption{text-align:left;color:var(--muted);padding:4px 0;caption-side:top}
td.flag{font-weight:600;color:#a33a00}
.mini{vertical-align:middle}
.empty{color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding-top:32px;padding-bottom:28px}
#cf-tip{position:fixed;z-index:10;max-width:360px;background:#1d2330;color:#fff;font-size:13px;padding:6px 9px;border-radius:6px;pointer-events:none;box-shadow:0 2px 8px rgba(0,0,0,.25)}
#cf-tip[hidden]{display:none}
@media print{
  @page{margin:14mm}
  body{background:#fff;font-size:11pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
  header,nav,main,footer{max-width:none;padding:0}
  nav,#cf-tip{display:none}
  figure,.card,tr{break-inside:avoid;page-break-inside:avoid}
  h2,h3{break-after:avoid;page-break-after:avoid}
  .cards{grid-template-columns:1fr 1fr}
  .scroll{overflow:visible}
  a{color:inherit}
}
"#;

/// The only script. It moves each mark's `<title>` into an attribute (so the
/// browser's native tooltip does not double up) and shows a styled tooltip.
/// Answer text only ever travels through `textContent`, never `innerHTML`.
const SCRIPT: &str = r#"
(function () {
  var data = {groups: [], ungrouped: "no group"};
  var src = document.getElementById("cf-data");
  if (src) { data = JSON.parse(src.textContent); }
  var map = document.getElementById("cf-map");
  var tip = document.getElementById("cf-tip");
  if (map && tip) {
    var marks = map.querySelectorAll("[data-g] > *");
    for (var i = 0; i < marks.length; i++) {
      var t = marks[i].querySelector("title");
      if (t) { marks[i].setAttribute("data-t", t.textContent); t.remove(); }
    }
    map.addEventListener("mousemove", function (ev) {
      var m = ev.target;
      var text = m && m.getAttribute ? m.getAttribute("data-t") : null;
      if (text === null) { tip.hidden = true; return; }
      var g = parseInt(m.parentNode.getAttribute("data-g"), 10);
      var name = g >= 0 && g < data.groups.length ? data.groups[g] : data.ungrouped;
      tip.textContent = "";
      var b = document.createElement("strong");
      b.textContent = name;
      tip.appendChild(b);
      tip.appendChild(document.createElement("br"));
      tip.appendChild(document.createTextNode(text));
      tip.hidden = false;
      var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      var y = ev.clientY + 14;
      if (y + tip.offsetHeight > window.innerHeight - 8) { y = ev.clientY - tip.offsetHeight - 10; }
      tip.style.left = Math.max(4, x) + "px";
      tip.style.top = Math.max(4, y) + "px";
    });
    map.addEventListener("mouseleave", function () { tip.hidden = true; });
  }
  document.documentElement.setAttribute("data-cf-js", "ok");
})();
"#;

/// CSP source for [`SCRIPT`]: base64 SHA-256 of its exact text. A unit test
/// recomputes it, so editing the script without updating this fails tests.
const SCRIPT_HASH: &str = "sha256-Gj2fMhgfjMP1+R9p3Pl1Pt6bEMxgKwGgKTIdboBRZk4=";

#[cfg(test)]
mod tests {
    use super::*;

    const XSS1: &str = "<script>alert(1)</script>";
    const XSS2: &str = "\"><img src=x onerror=alert(1)>";
    const XSS3: &str = "</script><script>alert(2)</script>";
    const ESC1: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
    const ESC2: &str = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
    const ESC3: &str = "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;";

    fn group(name: &str, size: usize, share: f64) -> ReportGroup {
        ReportGroup {
            name: name.into(),
            topic_group: Some("Content".into()),
            size,
            share,
            keywords: vec!["ai".into(), "data".into()],
            typical: vec![format!("typical answer for {name}")],
            ..ReportGroup::default()
        }
    }

    fn small() -> RunReport {
        RunReport {
            title: "Q7 — Please suggest topics for future webinars".into(),
            command: "discover".into(),
            source: "webinar.csv".into(),
            generated_by: "codeframe 0.1.0".into(),
            rows_total: 10,
            status_counts: vec![("clustered".into(), 8), ("non-substantive".into(), 2)],
            groups: vec![group("AI tools", 5, 0.5), group("Statistics", 3, 0.3)],
            points: vec![
                MapPoint {
                    x: 0.0,
                    y: 0.0,
                    group: Some(0),
                    text: "chatgpt".into(),
                },
                MapPoint {
                    x: 1.0,
                    y: 2.0,
                    group: Some(1),
                    text: "regression".into(),
                },
                MapPoint {
                    x: 2.0,
                    y: 1.0,
                    group: None,
                    text: "n/a".into(),
                },
            ],
            evaluation: vec![Metric {
                name: "NMI".into(),
                value: Some(0.61234),
                note: "vs gold".into(),
            }],
            agreement: vec![AgreementRow {
                name: "Krippendorff's alpha".into(),
                value: Some(0.7),
                ci_low: Some(0.6),
                ci_high: Some(0.8),
                reading: "acceptable".into(),
            }],
            confusion: Some(Confusion {
                title: "gold × predicted".into(),
                rows: vec!["a".into(), "b".into()],
                cols: vec!["a".into(), "b".into()],
                counts: vec![vec![5, 1], vec![0, 4]],
            }),
            drift: vec![DriftRow {
                code: "AI tools".into(),
                baseline_share: Some(0.2),
                wave_share: Some(0.35),
                change_pp: Some(15.0),
                p_value: Some(0.0004),
                flag: "up".into(),
            }],
            candidates: vec![group("Careers", 2, 0.2)],
            base: "all 10 answers".into(),
            notes: vec![],
        }
    }

    fn hostile() -> RunReport {
        let mut r = small();
        r.title = XSS1.into();
        r.source = XSS2.into();
        r.status_counts.push((XSS3.into(), 1));
        r.groups[0].name = XSS1.into();
        r.groups[0].topic_group = Some(XSS2.into());
        r.groups[1].keywords.push(XSS2.into());
        r.groups[1].typical.push(XSS3.into());
        r.points[0].text = XSS1.into();
        r.points[1].text = XSS2.into();
        r.points[2].text = XSS3.into();
        r.evaluation[0].note = XSS3.into();
        r.agreement[0].name = XSS2.into();
        if let Some(c) = r.confusion.as_mut() {
            c.title = XSS3.into();
            c.rows[0] = XSS1.into();
            c.cols[1] = XSS2.into();
        }
        r.drift[0].code = XSS2.into();
        r.drift[0].flag = XSS1.into();
        r.base = XSS1.into();
        r.notes.push(XSS3.into());
        r.candidates[0].name = XSS3.into();
        r.candidates[0].keywords.push(XSS1.into());
        r
    }

    #[test]
    fn hostile_strings_never_appear_raw() {
        let html = render(&hostile());
        for raw in [
            XSS1,
            XSS2,
            XSS3,
            "<img",
            "alert(1)</script>",
            "onerror=alert(1)>",
        ] {
            assert!(!html.contains(raw), "raw {raw:?} leaked");
        }
        for escaped in [ESC1, ESC2, ESC3] {
            assert!(html.contains(escaped), "escaped {escaped:?} missing");
        }
        // Only our own two script elements may open or close.
        assert_eq!(html.matches("<script").count(), 2);
        assert_eq!(html.matches("</script").count(), 2);
    }

    #[test]
    fn hostile_strings_escaped_in_each_place() {
        let html = render(&hostile());
        // Group name in the card heading, the bar chart tooltip and the legend.
        assert!(html.contains(&format!("<h3>{ESC1}</h3>")));
        assert!(html.contains(&format!("<title>{ESC1}: 5 (50.0%)</title>")));
        assert!(html.contains(&format!("{ESC1} <small>(1)</small></li>")));
        // Keyword chip, typical answer, code name (candidate card), drift code.
        assert!(html.contains(&format!("<li>{ESC2}</li>")));
        assert!(html.contains(&format!("<li>{ESC3}</li>")));
        assert!(html.contains(&format!("<h3>{ESC3}</h3>")));
        assert!(html.contains(&format!("<tr><th scope=\"row\">{ESC2}</th>")));
        // Confusion labels and caption.
        assert!(html.contains(&format!("<caption>{ESC3}</caption>")));
        assert!(html.contains(&format!("<th scope=\"row\">{ESC1}</th>")));
        assert!(html.contains(&format!("<th scope=\"col\">{ESC2}</th>")));
        // Map answer texts inside SVG <title>.
        for e in [ESC1, ESC2, ESC3] {
            assert!(html.contains(&format!("<title>{e}</title>")), "{e}");
        }
        // The page <title> and the JSON block (unicode-escaped, not entities).
        assert!(html.contains(&format!("<title>{ESC1}</title>\n<style>")));
        assert!(html.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    }

    #[test]
    fn esc_covers_all_five_and_attributes_are_safe() {
        assert_eq!(esc("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
        assert_eq!(esc("a\u{0}b\r\n"), "a\u{FFFD}b\r\n");
        // Share is printed as a number, never from input, but names reach
        // `aria-label`/`title`: every `"` in the output must close our own attrs.
        let html = render(&hostile());
        let markup = html.split("<script").next().unwrap_or_default();
        assert!(!markup.contains("\"\""), "an attribute was broken open");
    }

    #[test]
    fn json_for_script_escapes_breakout_chars() {
        let v = serde_json::json!({ "s": "</script>&\u{2028}\u{2029}" });
        let j = json_for_script(&v);
        assert_eq!(j, r#"{"s":"\u003c/script\u003e\u0026\u2028\u2029"}"#);
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn empty_report_renders_without_nan() {
        let html = render(&RunReport::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        assert!(html.contains("<h1>codeframe report</h1>"));
        assert!(html.contains("no groups, map or tables"));
        for absent in ["NaN", "inf", "id=\"map\"", "id=\"frequencies\"", "<nav"] {
            assert!(!html.contains(absent), "{absent}");
        }
    }

    #[test]
    fn bad_numbers_print_as_dash() {
        let mut r = small();
        r.groups[0].share = f64::NAN;
        r.evaluation[0].value = Some(f64::INFINITY);
        r.agreement[0].value = None;
        r.agreement[0].ci_low = Some(f64::NAN);
        r.agreement[0].ci_high = None;
        r.drift[0] = DriftRow {
            code: "x".into(),
            ..DriftRow::default()
        };
        r.points = vec![
            MapPoint {
                x: f32::NAN,
                y: 1.0,
                group: Some(0),
                text: "skip-nan".into(),
            },
            MapPoint {
                x: f32::INFINITY,
                y: 1.0,
                group: Some(0),
                text: "skip-inf".into(),
            },
            MapPoint {
                x: 3.0,
                y: 3.0,
                group: Some(99),
                text: "kept".into(),
            },
        ];
        let html = render(&r);
        assert!(!html.contains("NaN") && !html.contains("inf<") && !html.contains("Infinity"));
        assert!(!html.contains("skip-nan") && !html.contains("skip-inf"));
        assert!(html.contains("<b>5</b> answers · –"));
        assert!(html.contains("<td class=\"num\">–</td><td>vs gold</td>"));
        // Out-of-range group index falls back to "no group" (grey).
        assert!(html.contains("<g data-g=\"-1\" fill=\"#9a9a9a\">"));
    }

    #[test]
    fn map_handles_single_and_identical_points() {
        let mut r = small();
        r.points = vec![MapPoint {
            x: 5.0,
            y: 5.0,
            group: Some(0),
            text: "only".into(),
        }];
        let html = render(&r);
        assert!(html.contains("<circle cx=\"480\" cy=\"280\" r=\"3.5\"><title>only</title>"));
        r.points = vec![r.points[0].clone(); 3];
        let html = render(&r);
        assert_eq!(html.matches("<circle cx=\"480\" cy=\"280\"").count(), 3);
        r.points.clear();
        assert!(!render(&r).contains("id=\"map\""));
    }

    #[test]
    fn large_map_is_complete_and_compact() {
        let mut r = small();
        r.points = (0..6000)
            .map(|i| MapPoint {
                x: (i as f32 * 0.37).sin() * 10.0,
                y: (i as f32 * 0.11).cos() * 7.0,
                group: Some(i % 2),
                text: format!("a{i}"),
            })
            .collect();
        let html = render(&r);
        assert_eq!(html.matches("<circle ").count(), 6000 + 2); // + 2 legend swatches
                                                                // Coordinates carry at most one decimal.
        let cx = html.split("cx=\"").skip(1).take(500);
        for c in cx {
            let v = &c[..c.find('"').unwrap()];
            assert!(v.split('.').nth(1).is_none_or(|d| d.len() == 1), "{v}");
        }
        assert!(html.len() < 6000 * 80, "{} bytes", html.len());
    }

    #[test]
    fn many_groups_cycle_colours_and_shapes() {
        let mut r = small();
        r.groups = (0..16)
            .map(|i| group(&format!("g{i}"), 16 - i, 0.01))
            .collect();
        r.points = (0..16)
            .map(|i| MapPoint {
                x: i as f32,
                y: 0.0,
                group: Some(i),
                text: String::new(),
            })
            .collect();
        let html = render(&r);
        assert!(html.contains("<g data-g=\"7\" fill=\"#0072B2\"><path d=\"M"));
        assert!(html.contains("<g data-g=\"14\" fill=\"#0072B2\"><path d=\"M"));
        assert_eq!(html.matches("<g class=\"bar\">").count(), 16);
    }

    #[test]
    fn snapshot_of_small_report() {
        let r = small();
        let html = render(&r);
        for frag in [
            "<h1>Q7 — Please suggest topics for future webinars</h1>",
            "<dt>Source</dt><dd>webinar.csv</dd>",
            "<dt>Rows</dt><dd>10</dd>",
            "<li><span>clustered</span> <b>8</b> <small>80.0%</small></li>",
            "<h2>Frequencies</h2>",
            "<h2>Groups</h2>",
            "<h2>Map of answers</h2>",
            "<h2>Evaluation</h2>",
            "<h2>Agreement</h2>",
            "<h2>Confusion matrix</h2>",
            "<h2>Drift</h2>",
            "<h2>Candidate new codes</h2>",
            ">AI tools</text>",
            ">5 <tspan>(50.0%)</tspan></text>",
            ">3 <tspan>(30.0%)</tspan></text>",
            "<ul class=\"legend\" aria-label=\"Legend\">",
            "AI tools <small>(1)</small></li>",
            "no group <small>(1)</small></li>",
            "<p class=\"topic\">Topic group: Content</p>",
            "<td class=\"num\">0.612</td><td>vs gold</td>",
            "<td class=\"num\">0.700</td><td class=\"num\">[0.600, 0.800]</td><td>acceptable</td>",
            "<td class=\"diag\" style=\"background:rgba(0,114,178,0.90);color:#fff\">5</td>",
            "<td class=\"num\">20.0%</td><td class=\"num\">35.0%</td><td class=\"num\">+15.0</td>",
            "<td class=\"num\">&lt;0.001</td><td class=\"flag\">up</td>",
            "<h3>Careers</h3>",
            "@media print",
        ] {
            assert!(html.contains(frag), "missing {frag:?}");
        }
        assert_eq!(html.matches("<g class=\"bar\">").count(), r.groups.len());
        assert_eq!(html, render(&r.clone()), "render must be deterministic");
        // "apply" runs call them codes.
        let mut a = r;
        a.command = "apply".into();
        assert!(render(&a).contains("<h2>Codes</h2>"));
    }

    #[test]
    fn no_network_references() {
        let html = render(&small());
        for s in ["http://", "https://", "src=", "<link", "@import", "url("] {
            assert!(!html.contains(s), "{s}");
        }
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn csp_hash_matches_script() {
        let digest = sha256(SCRIPT.as_bytes());
        assert_eq!(SCRIPT_HASH, format!("sha256-{}", base64(&digest)));
        assert!(render(&small()).contains(&format!("<script>{SCRIPT}</script>")));
        assert!(!SCRIPT.contains("NaN") && !SCRIPT.contains("innerHTML"));
    }

    #[test]
    fn report_round_trips_through_json() {
        let r = small();
        let s = serde_json::to_string(&r).unwrap();
        let back: RunReport = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
    }

    // Minimal SHA-256 + base64 so the CSP test needs no extra dependency.
    fn sha256(msg: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut data = msg.to_vec();
        data.push(0x80);
        while data.len() % 64 != 56 {
            data.push(0);
        }
        data.extend_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
        for block in data.chunks(64) {
            let mut w = [0u32; 64];
            for i in 0..16 {
                w[i] = u32::from_be_bytes([
                    block[4 * i],
                    block[4 * i + 1],
                    block[4 * i + 2],
                    block[4 * i + 3],
                ]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                hh = g;
                g = f;
                f = e;
                e = d.wrapping_add(t1);
                d = c;
                c = b;
                b = a;
                a = t1.wrapping_add(t2);
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *x = x.wrapping_add(y);
            }
        }
        let mut out = [0u8; 32];
        for (i, v) in h.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    fn base64(bytes: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(T[(n >> (18 - 6 * k)) as usize & 63] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    #[test]
    fn sha256_self_check() {
        assert_eq!(
            base64(&sha256(b"abc")),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
