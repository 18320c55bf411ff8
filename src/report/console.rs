//! The summaries commands print on stderr: pure text from typed results.

use std::fmt::Write as _;

use super::tables::Frequencies;
use crate::cluster::KScore;
use crate::describe::Discovery;
use crate::frame::apply::Application;
use crate::frame::learned::TrainingSummary;
use crate::status::Status;

/// The silhouette curve `--k auto` chose from, with the chosen k marked.
pub fn k_curve(curve: &[KScore], chosen: usize, stable: f64) -> String {
    let mut s = format!(
        "discover: --k auto: best mean silhouette (cosine) among k with stability >= {stable} \
         (adjusted Rand index across seeds):\n     k  silhouette  stability\n"
    );
    for p in curve {
        let mark = if p.k == chosen { "  <- chosen" } else { "" };
        let stability = p
            .stability
            .map(|v| format!("{v:.3}"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "  {:>4}  {:>10.4}  {:>9}{mark}",
            p.k, p.silhouette, stability
        );
    }
    s.trim_end().to_string()
}

/// Discover's closing table: each group with its size, share of all answers and keywords.
pub fn discover_summary(d: &Discovery) -> String {
    let not_answered = d.rows - d.base();
    let aside: usize = d.set_aside.values().sum::<usize>() - not_answered;
    let mut s = if d.k == 0 {
        format!(
            "discover: nothing to group — none of the {} answers is substantive ({aside} set aside)\n",
            d.rows
        )
    } else {
        format!(
            "discover: {} groups over {} answers ({aside} set aside); shares are of all {} answers\n",
            d.k,
            d.grouped,
            d.base()
        )
    };
    for (status, n) in d.set_aside.iter().filter(|(s, _)| **s != Status::NoAnswer) {
        let _ = writeln!(s, "  set aside as {status}: {n}");
    }
    if not_answered > 0 {
        let _ = writeln!(
            s,
            "  no answer (blank; outside the base and every group): {not_answered}"
        );
    }
    if let Some(name) = &d.set_aside_as {
        let _ = writeln!(
            s,
            "  set-aside answers are counted under \"{name}\", the frame's code for non-answers"
        );
    }
    for g in &d.groups {
        let score = g
            .naming
            .as_ref()
            .map(|n| {
                format!(
                    " [votes {:.0}%, match {:.2}{}{}]",
                    100.0 * n.votes,
                    n.score,
                    if n.weak { ", weak" } else { "" },
                    if n.mixed { ", mixed topics" } else { "" }
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:>3}  {:>5.1}%  {}{}\n       keywords: {}",
            g.size,
            100.0 * g.share,
            g.name,
            score,
            g.keywords.join(", ")
        );
    }
    s
}

/// Apply's closing table: rows by status, then each code's coded and suggested answers, share
/// of the coded answers and change against the baseline, then the candidate new codes.
pub fn apply_summary(
    app: &Application,
    freq: &Frequencies,
    estimate: Option<&TrainingSummary>,
) -> String {
    let s = &app.summary;
    let mut out = format!(
        "apply: {} rows — {}\n",
        app.rows.len(),
        s.status
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let classified: usize = s
        .status
        .iter()
        .filter(|(st, _)| matches!(st, Status::Coded | Status::BelowThreshold))
        .map(|(_, n)| n)
        .sum();
    if let (Some(t), true) = (estimate, classified > 0) {
        let share = freq.base_n as f64 / classified as f64;
        let _ = write!(
            out,
            "  coded automatically: {} of {classified} classified answers ({:.0}%)",
            freq.base_n,
            100.0 * share
        );
        // The estimate's own error and this wave's sampling error both count.
        let range = t
            .auto_coded_share
            .and_then(|e| Some((e, crate::fit::prediction_interval(e, t.n, classified)?)));
        if let Some((e, (lo, hi))) = range {
            let _ = write!(
                out,
                "; the frame's out-of-fold estimate was {:.0}%, so between {:.0}% and {:.0}% for \
                 {classified} answers like its training answers{}",
                100.0 * e,
                100.0 * lo,
                100.0 * hi,
                if share < lo || share > hi {
                    " — outside it: this wave's answers are not like the training answers, \
                     or the frame is surer of them than cross-validation was"
                } else {
                    ""
                }
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "  {:<44} {:>7} {:>9} {:>8} {:>10} {:>9}",
        "code", "coded", "suggested", "share", "vs base", "p"
    );
    for (c, row) in s.drift.codes.iter().zip(freq.categories()) {
        let _ = writeln!(
            out,
            "  {:<44} {:>7} {:>9} {:>7.1}% {:>+9.1}pp {:>9}",
            row.name.chars().take(44).collect::<String>(),
            row.count,
            row.suggested.unwrap_or(0),
            100.0 * row.share.unwrap_or(0.0),
            c.change_pp.unwrap_or(0.0),
            c.p_value
                .map(|p| format!("{p:.3}"))
                .unwrap_or_else(|| "-".into())
        );
    }
    let _ = writeln!(
        out,
        "  shares are of the {} coded answers; baseline: {}",
        freq.base_n, s.drift_baseline
    );
    if !s.candidates.is_empty() {
        out.push_str("  candidate new codes (answers below every threshold):\n");
        for c in &s.candidates {
            let _ = writeln!(
                out,
                "    {}. {} answers: {} — nearest code {}",
                c.candidate,
                c.size,
                c.keywords
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                c.nearest_code
            );
        }
    }
    out
}
