//! The report page's model, built from a run's typed results: the frequency chart is the run's
//! frequency table ([`super::tables`]) row for row, so the page and the tables always agree.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::html::{AgreementRow, Confusion, DriftRow, MapPoint, Metric, ReportGroup, RunReport};
use super::tables::{apply_frequencies, discover_frequencies, drift_flag, Base, Frequencies};
use crate::agree::AgreeReport;
use crate::describe::{keywords, typical, Discovery};
use crate::frame::apply::{Application, ApplySummary, CandidateCode};
use crate::manifest::Manifest;
use crate::status::Status;

/// The figures of an `evaluation.json` the page shows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EvaluationView {
    /// The evaluate run (its inputs' hashes tie it to a run's assignments).
    pub manifest: Manifest,
    /// Answers scored.
    pub n: usize,
    /// The scores.
    pub report: EvalScores,
}

/// Scores of an evaluation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EvalScores {
    /// Clustering scores.
    pub cluster: ClusterFigures,
    /// Classification scores, when predictions were codes.
    pub classification: Option<ClassFigures>,
    /// Frequency comparison.
    pub frequencies: TvdFigure,
}

/// Clustering scores.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ClusterFigures {
    /// Matched accuracy.
    pub acc: f64,
    /// Normalised mutual information.
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
}

/// Classification scores.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ClassFigures {
    /// Accuracy.
    pub accuracy: f64,
    /// Macro-F1.
    pub macro_f1: f64,
    /// Cohen's kappa, when defined.
    pub kappa: Option<f64>,
}

/// The frequency comparison's distance.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TvdFigure {
    /// Total variation distance.
    pub tvd: f64,
}

/// Files placed in a run's folder beside its outputs, already checked to belong to the run.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    /// evaluation.json.
    pub evaluation: Option<EvaluationView>,
    /// agreement.json.
    pub agreement: Option<AgreeReport>,
    /// What the reader should know (e.g. a stale file left out).
    pub notes: Vec<String>,
}

pub(super) fn title(manifest: &Manifest, what: &str) -> (String, String) {
    let param = |k: &str| {
        manifest
            .parameters
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let input = param("input");
    let source = Path::new(&input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(input);
    let question = param("question");
    let title = if question.is_empty() {
        format!("{source}: {what}")
    } else {
        format!("{source} ({question}): {what}")
    };
    (title, source)
}

pub(super) fn base_text(f: &Frequencies) -> String {
    match f.base {
        Base::AllAnswers => format!("all {} answers", f.base_n),
        Base::CodedAnswers => format!("the {} coded answers", f.base_n),
    }
}

pub(super) fn status_counts<'a>(
    statuses: impl Iterator<Item = &'a Status>,
) -> Vec<(String, usize)> {
    let mut m: BTreeMap<Status, usize> = BTreeMap::new();
    for s in statuses {
        *m.entry(*s).or_insert(0) += 1;
    }
    m.into_iter().map(|(s, n)| (s.to_string(), n)).collect()
}

/// Answers per language, most frequent first, the undetermined last; none when no answer's
/// language was told (a run from before languages were told). A blank cell of a survey
/// question (`no answer`) has no language to tell, so it is left out rather than counted as
/// undetermined.
fn language_counts<'a>(
    rows: impl Iterator<Item = (&'a Status, &'a Option<String>)>,
) -> Vec<(String, usize)> {
    let all: Vec<Option<String>> = rows
        .filter(|(status, _)| **status != Status::NoAnswer)
        .map(|(_, language)| language.clone())
        .collect();
    if all.iter().all(Option::is_none) {
        return Vec::new();
    }
    crate::language::tally(&all)
        .into_iter()
        .map(|c| {
            (
                c.language.unwrap_or_else(|| "undetermined".into()),
                c.answers,
            )
        })
        .collect()
}

/// The page of a discover run. `map` holds (row, place) for each grouped answer.
pub fn discover_page(
    d: &Discovery,
    manifest: &Manifest,
    map: &[(usize, [f32; 2])],
    att: &Attachments,
) -> RunReport {
    let freq = discover_frequencies(d);
    let (title, source) = title(manifest, "topic groups found");
    // One bar and one card per name, as in the table; keywords and typical answers of groups
    // sharing a name are taken in turn from the largest down.
    let groups: Vec<ReportGroup> = freq
        .categories()
        .map(|row| {
            let members: Vec<_> = d.groups.iter().filter(|g| g.name == row.name).collect();
            // A group reported under its topic group already bears that name.
            let topic_group = match members.as_slice() {
                [one] => one.topic_group.clone().filter(|t| *t != row.name),
                _ => None,
            };
            ReportGroup {
                name: row.name.clone(),
                topic_group,
                size: row.count,
                share: row.share.unwrap_or(0.0),
                set_aside: row.set_aside,
                suggested: None,
                keywords: interleave(members.iter().map(|g| &g.keywords), 8),
                typical: interleave(members.iter().map(|g| &g.typical), 5),
                caution: caution(&members),
            }
        })
        .collect();
    let index: BTreeMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect();
    let points = map
        .iter()
        .filter_map(|&(row, [x, y])| {
            let a = d.assignments.get(row)?;
            Some(MapPoint {
                x,
                y,
                group: a
                    .group
                    .and_then(|_| index.get(a.group_name.as_str()).copied()),
                text: a.text.clone(),
            })
        })
        .collect();
    let mut page = RunReport {
        title,
        command: "discover".into(),
        source,
        generated_by: format!("codeframe {}", manifest.version),
        rows_total: d.rows,
        status_counts: status_counts(d.assignments.iter().map(|a| &a.status)),
        languages: language_counts(d.assignments.iter().map(|a| (&a.status, &a.language))),
        groups,
        points,
        base: base_text(&freq),
        ..RunReport::default()
    };
    attach(&mut page, att);
    page
}

/// What a reader should check about a name given to `members` (the groups reported under
/// it) from a frame: that several groups took it, that fewer than half of a group's answers
/// are closest to it, or that it matches weakly.
fn caution(members: &[&crate::describe::Group]) -> Option<String> {
    let mut notes = Vec::new();
    if members.len() > 1 {
        notes.push(format!(
            "{} groups took this name, and are counted together",
            members.len()
        ));
    }
    for g in members {
        let Some(n) = &g.naming else { continue };
        let of = if members.len() > 1 {
            format!(" of group {}", g.group)
        } else {
            String::new()
        };
        if n.mixed {
            notes.push(format!(
                "only {:.0}% of the answers{of} are closest to it: the group mixes topics",
                100.0 * n.votes
            ));
        } else if n.weak {
            notes.push(format!("a weak match{of} (cosine {:.2})", n.score));
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// The page of an apply run. `map` holds (row, place) for each classified answer.
pub fn apply_page(
    app: &Application,
    manifest: &Manifest,
    map: &[(usize, [f32; 2])],
    att: &Attachments,
) -> RunReport {
    let freq = apply_frequencies(app);
    let (title, source) = title(manifest, "answers coded with a frame");
    let s = &app.summary;
    let mut coded = coded_groups(app, &freq);
    let notes = chart_order(&mut coded);
    let position: BTreeMap<usize, usize> = coded
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (*c, i))
        .collect();
    let groups: Vec<ReportGroup> = coded.into_iter().map(|(_, g)| g).collect();
    let points = map
        .iter()
        .filter_map(|&(row, [x, y])| {
            let r = app.rows.get(row)?;
            Some(MapPoint {
                x,
                y,
                group: r
                    .code
                    .filter(|_| r.status == Status::Coded)
                    .and_then(|c| position.get(&c).copied()),
                text: r.text.clone(),
            })
        })
        .collect();
    let (candidates, drift) = (candidate_groups(&s.candidates), drift_rows(s));
    let mut page = RunReport {
        notes,
        title,
        command: "apply".into(),
        source,
        generated_by: format!("codeframe {}", manifest.version),
        rows_total: app.rows.len(),
        status_counts: status_counts(app.rows.iter().map(|r| &r.status)),
        languages: language_counts(app.rows.iter().map(|r| (&r.status, &r.language))),
        groups,
        points,
        candidates,
        drift,
        base: base_text(&freq),
        ..RunReport::default()
    };
    attach(&mut page, att);
    page
}

/// Each code of the frame with keywords and its most confident answers, from this wave's coded
/// answers, in table order; the index is the code's.
fn coded_groups(app: &Application, freq: &Frequencies) -> Vec<(usize, ReportGroup)> {
    let s = &app.summary;
    // Keywords and the most confident answers of each code, from this wave's coded answers.
    let mut members: Vec<Vec<(f32, usize)>> = vec![Vec::new(); s.codes.len()];
    for (row, r) in app.rows.iter().enumerate() {
        if let (Some(c), Status::Coded) = (r.code, r.status) {
            members[c].push((r.confidence.unwrap_or(0.0), row));
        }
    }
    let texts: Vec<Vec<&str>> = members
        .iter()
        .map(|m| m.iter().map(|&(_, r)| app.rows[r].text.as_str()).collect())
        .collect();
    let kw = keywords(&texts, 8);
    freq.categories()
        .zip(members.iter_mut().zip(kw))
        .enumerate()
        .map(|(c, (row, (m, k)))| {
            m.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let member_texts: Vec<(usize, &str, f32)> = m
                .iter()
                .map(|&(score, r)| (r, app.rows[r].text.as_str(), score))
                .collect();
            let group = ReportGroup {
                name: row.name.clone(),
                topic_group: row.topic_group.clone(),
                size: row.count,
                share: row.share.unwrap_or(0.0),
                set_aside: 0,
                suggested: row.suggested,
                keywords: k,
                typical: typical(&member_texts, 5)
                    .into_iter()
                    .map(|r| app.rows[r].text.clone())
                    .collect(),
                caution: None,
            };
            (c, group)
        })
        .collect()
}

/// The candidate new codes, as groups of the page.
fn candidate_groups(candidates: &[CandidateCode]) -> Vec<ReportGroup> {
    candidates
        .iter()
        .map(|c| ReportGroup {
            name: format!(
                "Candidate {} (nearest code: {})",
                c.candidate, c.nearest_code
            ),
            size: c.size,
            share: c.share,
            keywords: c.keywords.clone(),
            typical: c.typical.clone(),
            ..ReportGroup::default()
        })
        .collect()
}

/// The drift table: each code's share in the earlier wave and this one.
fn drift_rows(s: &ApplySummary) -> Vec<DriftRow> {
    s.drift
        .codes
        .iter()
        .map(|c| DriftRow {
            code: s
                .codes
                .get(c.code)
                .map(|c| c.label.clone())
                .unwrap_or_default(),
            baseline_share: c.prev_share,
            wave_share: c.cur_share,
            change_pp: c.change_pp,
            p_value: c.p_value,
            flag: drift_flag(c.p_value, c.change_pp).to_string(),
        })
        .collect()
}

/// Puts the chart in frequency order (most coded answers first, then most suggested; ties keep
/// the table's order) and
/// moves codes with no answer at all off it, into a note naming them.
fn chart_order(groups: &mut Vec<(usize, ReportGroup)>) -> Vec<String> {
    groups.sort_by(|a, b| {
        (b.1.size, b.1.suggested)
            .cmp(&(a.1.size, a.1.suggested))
            .then(a.0.cmp(&b.0))
    });
    let empty: Vec<String> = groups
        .iter()
        .filter(|(_, g)| g.size == 0 && g.suggested.unwrap_or(0) == 0)
        .map(|(_, g)| g.name.clone())
        .collect();
    groups.retain(|(_, g)| g.size > 0 || g.suggested.unwrap_or(0) > 0);
    match empty.len() {
        0 => Vec::new(),
        n => vec![format!(
            "{n} code{} of the frame got no answer in this wave and {} left off the chart: {}.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" },
            empty.join("; ")
        )],
    }
}

/// Up to `max` distinct items taken in turn from each list.
fn interleave<'a>(lists: impl Iterator<Item = &'a Vec<String>>, max: usize) -> Vec<String> {
    let lists: Vec<&Vec<String>> = lists.collect();
    let mut out: Vec<String> = Vec::new();
    let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for l in &lists {
            if let Some(v) = l.get(i) {
                if out.len() < max && !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
    out
}

fn attach(page: &mut RunReport, att: &Attachments) {
    page.notes.extend(att.notes.iter().cloned());
    if let Some(e) = &att.evaluation {
        add_evaluation(page, e);
    }
    if let Some(a) = &att.agreement {
        add_agreement(page, a);
    }
}

fn add_evaluation(r: &mut RunReport, e: &EvaluationView) {
    let metric = |name: &str, value: Option<f64>, note: &str| Metric {
        name: name.into(),
        value: value.filter(|v| v.is_finite()),
        note: note.into(),
    };
    r.evaluation
        .push(metric("answers scored", Some(e.n as f64), ""));
    if let Some(c) = &e.report.classification {
        r.evaluation.extend([
            metric(
                "accuracy",
                Some(c.accuracy),
                "codes as the human coders gave them",
            ),
            metric("macro-F1", Some(c.macro_f1), "mean over codes"),
            metric("Cohen's kappa", c.kappa, "chance-corrected agreement"),
        ]);
    }
    let c = &e.report.cluster;
    r.evaluation.extend([
        metric("ACC", Some(c.acc), "groups matched one-to-one to codes"),
        metric("NMI", Some(c.nmi), "normalised mutual information"),
        metric("ARI", Some(c.ari), "adjusted Rand index"),
        metric(
            "TVD of the frequency table",
            Some(e.report.frequencies.tvd),
            "0 = the same shares as the human coding",
        ),
    ]);
}

fn add_agreement(r: &mut RunReport, a: &AgreeReport) {
    let row = |name: String, c: &crate::agree::Coefficient| AgreementRow {
        name,
        value: c.value,
        ci_low: c.ci_low,
        ci_high: c.ci_high,
        reading: c.reading.clone(),
    };
    let o = &a.agreement.overall;
    for (c, name) in [
        (&o.percent_agreement, "Percent agreement"),
        (&o.krippendorff_alpha, "Krippendorff's alpha"),
        (&o.fleiss_kappa, "Fleiss' kappa"),
        (&o.gwet_ac1, "Gwet's AC1"),
        (&o.brennan_prediger, "Brennan–Prediger"),
    ] {
        r.agreement.push(row(name.into(), c));
    }
    for p in &a.agreement.pairs {
        r.agreement.push(row(
            format!("{} / {}: Cohen's kappa", p.coder_a, p.coder_b),
            &p.cohen_kappa,
        ));
    }
    // The heatmap shows the last pair: the coder joined last (usually codeframe) against the
    // others.
    if let Some(p) = a.agreement.pairs.last() {
        r.confusion = Some(Confusion {
            title: format!("{} (rows) against {} (columns)", p.coder_a, p.coder_b),
            rows: a.agreement.codes.clone(),
            cols: a.agreement.codes.clone(),
            counts: p
                .confusion
                .iter()
                .map(|row| row.iter().map(|&n| n as u64).collect())
                .collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_takes_in_turn_without_repeats() {
        let a = vec!["x".to_string(), "y".to_string(), "z".to_string()];
        let b = vec!["y".to_string(), "w".to_string()];
        assert_eq!(interleave([&a, &b].into_iter(), 3), vec!["x", "y", "w"]);
        assert_eq!(
            interleave([&a, &b].into_iter(), 9),
            vec!["x", "y", "w", "z"]
        );
    }

    #[test]
    fn blank_cells_are_not_undetermined_languages() {
        let rows = [
            (Status::Coded, Some("en".to_string())),
            (Status::Coded, Some("de".to_string())),
            (Status::Coded, Some("en".to_string())),
            (Status::NoAnswer, None),
            (Status::NoAnswer, None),
            (Status::Coded, None),
        ];
        let counts = language_counts(rows.iter().map(|(s, l)| (s, l)));
        assert_eq!(
            counts,
            vec![
                ("en".to_string(), 2),
                ("de".to_string(), 1),
                ("undetermined".to_string(), 1)
            ]
        );
        // Only blank cells and no told language: nothing to show.
        let blank = [(Status::NoAnswer, None::<String>)];
        assert!(language_counts(blank.iter().map(|(s, l)| (s, l))).is_empty());
    }

    fn named(group: usize, votes: f32, mixed: bool, weak: bool) -> crate::describe::Group {
        crate::describe::Group {
            group,
            name: "Funding".into(),
            naming: Some(crate::describe::Naming {
                label: "Funding".into(),
                score: 0.69,
                votes,
                weak,
                mixed,
                runner_up: None,
            }),
            topic_group: None,
            size: 10,
            share: 0.1,
            keywords: Vec::new(),
            typical: Vec::new(),
        }
    }

    #[test]
    fn names_to_check_say_why() {
        let clear = named(1, 0.8, false, false);
        assert_eq!(caution(&[&clear]), None);
        let mixed = named(2, 0.13, true, false);
        let c = caution(&[&mixed]).unwrap();
        assert!(
            c.contains("only 13% of the answers are closest to it"),
            "{c}"
        );
        let c = caution(&[&clear, &mixed]).unwrap();
        assert!(c.starts_with("2 groups took this name"), "{c}");
        assert!(c.contains("of group 2"), "{c}");
        let weak = named(3, 0.9, false, true);
        assert!(caution(&[&weak]).unwrap().contains("weak match"));
    }
}
