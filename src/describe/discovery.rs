//! What discover found: the groups (name, keywords, typical answers, size) and every input
//! row's group or reason — built from a clustering, pure but for embedding a frame's labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keywords::{keywords, typical};
use super::naming::{name_groups, Naming};
use crate::cluster::{Clustering, KScore};
use crate::embed::{embed_texts, Embedder};
use crate::error::Result;
use crate::frame::Frame;
use crate::ingest::substantive::set_aside;
use crate::ingest::Answers;
use crate::progress::Progress;
use crate::status::Status;
use crate::vector::cosine;

/// One discovered group, as written to groups.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    /// 1-based group number, largest group first.
    pub group: usize,
    /// The frame name (with a frame) or the top keywords.
    pub name: String,
    /// How the frame name was chosen, with a frame.
    pub naming: Option<Naming>,
    /// The topic group of the chosen code, when the frame has one.
    pub topic_group: Option<String>,
    /// Answers in the group.
    pub size: usize,
    /// Share of all answers (every input row): the base of every table of a discover run.
    pub share: f64,
    /// Class-based TF-IDF keywords.
    pub keywords: Vec<String>,
    /// Most typical answers, closest to the centroid first.
    pub typical: Vec<String>,
}

/// One row of assignments.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Row id.
    pub id: String,
    /// Answer text.
    pub text: String,
    /// 1-based group, when grouped.
    pub group: Option<usize>,
    /// Group name; for a set-aside answer, the frame's code for non-answers, if any.
    pub group_name: String,
    /// Cosine to the group's centroid, when grouped.
    pub score: Option<f32>,
    /// Clustered, unsupported language, empty or non-substantive.
    pub status: Status,
    /// The answer's language (ISO 639-1), when it could be told.
    pub language: Option<String>,
}

/// Everything discover found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Discovery {
    /// Input rows: the base of every share.
    pub rows: usize,
    /// Groups found (0 when no answer was substantive).
    pub k: usize,
    /// Silhouette curve `--k auto` chose from.
    pub k_curve: Vec<KScore>,
    /// Answers grouped.
    pub grouped: usize,
    /// Answers set aside, by reason.
    pub set_aside: BTreeMap<Status, usize>,
    /// The frame's code for non-answers (`nonanswers = true`, or its topic group at
    /// `--level groups`): set-aside answers are reported under it.
    pub set_aside_as: Option<String>,
    /// The groups.
    pub groups: Vec<Group>,
    /// Answers per language, most frequent first.
    #[serde(default)]
    pub languages: Vec<crate::language::LanguageCount>,
    /// Every input row, in input order (assignments.csv).
    #[serde(skip)]
    pub assignments: Vec<Assignment>,
}

/// Names a discovered group can take from a frame, with their vectors.
#[derive(Debug, Clone)]
pub struct LabelSet {
    /// Code labels, or topic-group labels.
    pub labels: Vec<String>,
    /// Unit vectors of each label's text (label and description).
    pub vectors: Vec<Vec<f32>>,
}

/// The frame's labels for the question (codes, or topic groups), embedded. The caller checks
/// beforehand that there are some ([`Frame::candidates`]).
pub fn frame_labels(
    frame: &Frame,
    question: Option<&str>,
    topic_groups: bool,
    embedder: &mut dyn Embedder,
) -> Result<LabelSet> {
    let candidates = frame.candidates(question, topic_groups);
    let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).collect();
    let (v, _) = embed_texts(embedder, &texts, None, &Progress::silent())?;
    Ok(LabelSet {
        labels: candidates.into_iter().map(|c| c.label).collect(),
        vectors: (0..v.rows()).map(|i| v.row(i).to_vec()).collect(),
    })
}

/// Frame names for each group by member votes ([`name_groups`]); groups seeded one per code
/// take one code each.
pub fn frame_names(
    clustering: &Clustering,
    (data, dim): (&[f32], usize),
    labels: &LabelSet,
    seeded: bool,
) -> Vec<Naming> {
    let mut members: Vec<Vec<&[f32]>> = vec![Vec::new(); clustering.k];
    for (j, &g) in clustering.labels.iter().enumerate() {
        members[g].push(&data[j * dim..(j + 1) * dim]);
    }
    name_groups(
        &clustering.centroids,
        &members,
        &labels.labels,
        &labels.vectors,
        seeded,
    )
}

/// How groups get their names.
pub struct Names<'a> {
    /// Frame naming per group, when a frame was given.
    pub namings: Option<Vec<Naming>>,
    /// The frame and question.
    pub frame: Option<(&'a Frame, Option<&'a str>)>,
    /// Report each group under its code's topic group.
    pub rollup: bool,
}

/// Builds the groups and every row's assignment; pure. `keep` are the rows clustered, in the
/// order of `data` (row-major unit vectors of width `dim`) and of `clustering.labels`.
pub fn discovery(
    answers: &Answers,
    keep: &[usize],
    (data, dim): (&[f32], usize),
    clustering: &Clustering,
    names: Names,
) -> Discovery {
    let (frame, rollup) = (names.frame, names.rollup);
    let k = clustering.k;
    let rows = answers.rows.len();
    let cos = |j: usize, g: usize| cosine(&data[j * dim..(j + 1) * dim], &clustering.centroids[g]);
    let mut members: Vec<Vec<(usize, &str, f32)>> = vec![Vec::new(); k];
    for (j, &row) in keep.iter().enumerate() {
        let g = clustering.labels[j];
        members[g].push((row, answers.rows[row].text.as_str(), cos(j, g)));
    }
    let groups = describe_groups(answers, &members, rows, &names);
    let mut by_row: Vec<Option<(usize, f32)>> = vec![None; rows];
    for (j, &row) in keep.iter().enumerate() {
        let g = clustering.labels[j];
        by_row[row] = Some((g, cos(j, g)));
    }
    let set_aside_as: Option<String> = frame.and_then(|(f, q)| {
        let code = f.nonanswer_code(q)?;
        let topic = f.group_of(&code.label, q);
        Some(match (topic, rollup) {
            (Some(t), true) => t.to_string(),
            _ => code.label.clone(),
        })
    });
    let mut set_aside_counts = BTreeMap::new();
    let assignments = answers
        .rows
        .iter()
        .zip(&by_row)
        .map(|(a, slot)| match slot {
            Some((g, score)) => Assignment {
                id: a.id.clone(),
                text: a.text.clone(),
                group: Some(g + 1),
                group_name: groups[*g].name.clone(),
                score: Some(*score),
                status: Status::Clustered,
                language: a.language.clone(),
            },
            None => {
                let status = set_aside(&a.text)
                    .map(|r| r.status())
                    .unwrap_or(Status::NonSubstantive);
                *set_aside_counts.entry(status).or_insert(0) += 1;
                Assignment {
                    id: a.id.clone(),
                    text: a.text.clone(),
                    group: None,
                    group_name: set_aside_as.clone().unwrap_or_default(),
                    score: None,
                    status,
                    language: a.language.clone(),
                }
            }
        })
        .collect();
    Discovery {
        rows,
        k,
        k_curve: clustering.curve.clone(),
        grouped: keep.len(),
        set_aside: set_aside_counts,
        set_aside_as,
        groups,
        languages: crate::language::tally(
            &answers
                .rows
                .iter()
                .map(|a| a.language.clone())
                .collect::<Vec<_>>(),
        ),
        assignments,
    }
}

/// Each group's name (the frame's naming, or its first keywords; its topic group's name when
/// rolled up), keywords and typical answers, from its members (row, text, cosine to centroid).
fn describe_groups(
    answers: &Answers,
    members: &[Vec<(usize, &str, f32)>],
    rows: usize,
    names: &Names,
) -> Vec<Group> {
    let texts: Vec<Vec<&str>> = members
        .iter()
        .map(|m| m.iter().map(|x| x.1).collect())
        .collect();
    let kw = keywords(&texts, 8);
    (0..members.len())
        .map(|g| {
            let naming = names.namings.as_ref().and_then(|n| n.get(g).cloned());
            let name = match &naming {
                Some(n) => n.label.clone(),
                None => format!(
                    "Group {}: {}",
                    g + 1,
                    kw[g].iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                ),
            };
            let topic_group = match (&naming, names.frame) {
                (Some(n), Some((f, q))) => f.group_of(&n.label, q).map(str::to_string),
                _ => None,
            };
            let name = match (&topic_group, names.rollup) {
                (Some(t), true) => t.clone(),
                _ => name,
            };
            Group {
                group: g + 1,
                name,
                naming,
                topic_group,
                size: members[g].len(),
                share: members[g].len() as f64 / rows.max(1) as f64,
                keywords: kw[g].clone(),
                typical: typical(&members[g], 5)
                    .into_iter()
                    .map(|row| answers.rows[row].text.clone())
                    .collect(),
            }
        })
        .collect()
}

impl Discovery {
    /// Blank answers become `no answer` — in a survey file a blank cell means the respondent
    /// did not answer the question — so they leave the base and the frame's code for
    /// non-answers; placeholders such as "n/a" keep theirs.
    pub fn blanks_not_answered(&mut self) {
        let mut moved = 0;
        for a in &mut self.assignments {
            if a.status == Status::Empty {
                a.status = Status::NoAnswer;
                a.group_name.clear();
                moved += 1;
            }
        }
        if moved > 0 {
            self.set_aside.remove(&Status::Empty);
            self.set_aside.insert(Status::NoAnswer, moved);
            let base = self.base().max(1) as f64;
            for g in &mut self.groups {
                g.share = g.size as f64 / base;
            }
        }
    }

    /// Rows in the base of the shares: every row but those not answered.
    pub fn base(&self) -> usize {
        self.rows - self.set_aside.get(&Status::NoAnswer).copied().unwrap_or(0)
    }
}
