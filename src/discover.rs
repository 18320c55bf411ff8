//! Discover: the `codeframe discover` flow — ingest, set aside non-substantive answers, embed,
//! cluster in a canonical order, describe and name each group, write every row.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::app::build_embedder;
use crate::cluster::{Clustering, KChoice, KScore};
use crate::config::DiscoverSettings;
use crate::describe::{keywords, name_groups, typical, Naming};
use crate::embed::{embed_texts, Embedder};
use crate::error::{InputError, Result};
use crate::frame::Frame;
use crate::fsio;
use crate::ingest::substantive::set_aside;
use crate::ingest::Answers;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report;

/// One discovered group, as written to groups.json.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// Share of the grouped answers.
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
    /// Group name, when grouped.
    pub group_name: String,
    /// Cosine to the group's centroid, when grouped.
    pub score: Option<f32>,
    /// clustered, empty or non-substantive.
    pub status: &'static str,
}

/// Everything discover found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Discovery {
    /// Groups found.
    pub k: usize,
    /// Silhouette curve `--k auto` chose from.
    pub k_curve: Vec<KScore>,
    /// Answers grouped.
    pub grouped: usize,
    /// Answers set aside, by reason.
    pub set_aside: BTreeMap<String, usize>,
    /// The frame's code for non-answers (`nonanswers = true`, or its topic group at
    /// `--level groups`): set-aside answers are reported under it.
    pub set_aside_as: Option<String>,
    /// The groups.
    pub groups: Vec<Group>,
    /// Every input row, in input order.
    #[serde(skip)]
    pub assignments: Vec<Assignment>,
}

/// `codeframe discover`.
pub fn discover_command(s: &DiscoverSettings, progress: &Progress) -> Result<Discovery> {
    let frame = match &s.frame {
        Some(path) => Some(Frame::read_for(path, s.question.as_deref(), &s.input)?),
        None => None,
    };
    let answers = crate::app::read_answers_warned(&s.input, &s.columns, progress)?;
    // Grouped answers in canonical order (by text, then row) so row order cannot matter.
    let mut keep: Vec<usize> = (0..answers.rows.len())
        .filter(|&i| set_aside(&answers.rows[i].text).is_none())
        .collect();
    keep.sort_by(|&a, &b| {
        answers.rows[a]
            .text
            .cmp(&answers.rows[b].text)
            .then(a.cmp(&b))
    });
    let distinct = {
        let mut t: Vec<&str> = keep
            .iter()
            .map(|&i| answers.rows[i].text.as_str())
            .collect();
        t.dedup();
        t.len()
    };
    let params = s.cluster.check(distinct, keep.len()).map_err(|e| {
        let mut e = e;
        e.problem = format!(
            "{} ({} of {} rows are substantive)",
            e.problem,
            keep.len(),
            answers.rows.len()
        );
        e
    })?;
    let seeded = s.cluster.k == KChoice::FromFrame;
    if let (true, Some((f, q))) = (seeded, &frame) {
        let codes = f.candidates(q.as_deref(), false).len();
        if codes > distinct {
            return Err(InputError::flag(
                format!(
                    "--k frame asks for {codes} groups but there are {distinct} distinct answers"
                ),
                "pass a smaller numeric --k",
            )
            .into());
        }
    }
    fsio::create_dir_all(&s.out)?;

    let mut manifest = Manifest::new("discover");
    let (mut embedder, mut cache) = build_embedder(&s.embedding, &mut manifest)?;
    let texts: Vec<&str> = keep
        .iter()
        .map(|&i| answers.rows[i].text.as_str())
        .collect();
    let (vectors, summary) = embed_texts(embedder.as_mut(), &texts, cache.as_mut(), progress)?;
    progress.say(format!("discover: embedded {summary}"));
    // With --k frame: one group per code, k-means started from the codes' vectors, each group
    // named after its code (and, at --level groups, reported under the code's topic group).
    let spin = progress.spinner(&format!("clustering {} answers", keep.len()));
    let (clustering, namings) = match &frame {
        Some((f, q)) => {
            let codes = seeded || !s.topic_groups;
            let (labels, label_vectors) =
                frame_vectors(f, q.as_deref(), !codes, embedder.as_mut())?;
            let clustering = if seeded {
                params.fit_seeded(&vectors.data, vectors.dim, &label_vectors)?
            } else {
                params.fit(&vectors.data, vectors.dim)?
            };
            let mut members: Vec<Vec<&[f32]>> = vec![Vec::new(); clustering.k];
            for (j, &g) in clustering.labels.iter().enumerate() {
                members[g].push(&vectors.data[j * vectors.dim..(j + 1) * vectors.dim]);
            }
            let mut namings = name_groups(&clustering.centroids, &members, &labels, &label_vectors);
            if seeded {
                // A seeded group keeps its seed's name.
                for (g, n) in namings.iter_mut().enumerate() {
                    let seed = clustering.source[g];
                    let score: f32 = clustering.centroids[g]
                        .iter()
                        .zip(&label_vectors[seed])
                        .map(|(a, b)| a * b)
                        .sum();
                    n.label = labels[seed].clone();
                    n.score = score;
                    n.weak = score < crate::describe::WEAK_MATCH;
                }
            }
            progress.say(format!(
                "discover: named groups from {} frame labels",
                labels.len()
            ));
            (clustering, Some(namings))
        }
        None => (params.fit(&vectors.data, vectors.dim)?, None),
    };
    spin.finish_and_clear();
    if !clustering.curve.is_empty() {
        progress.say(format!(
            "discover: --k auto: best mean silhouette (cosine) among k with stability >= {} \
             (adjusted Rand index across seeds):",
            crate::cluster::STABLE
        ));
        progress.say("     k  silhouette  stability");
        for p in &clustering.curve {
            let mark = if p.k == clustering.k {
                "  <- chosen"
            } else {
                ""
            };
            let stability = p
                .stability
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "-".into());
            progress.say(format!(
                "  {:>4}  {:>10.4}  {:>9}{mark}",
                p.k, p.silhouette, stability
            ));
        }
    }
    let rollup = seeded && s.topic_groups;
    let discovery = describe(
        &answers,
        &keep,
        &vectors.data,
        vectors.dim,
        &clustering,
        Names {
            namings,
            frame: frame.as_ref(),
            rollup,
        },
    );

    manifest
        .inputs
        .insert(s.input.display().to_string(), answers.sha256.clone());
    if let Some(path) = &s.frame {
        manifest.inputs.insert(
            path.display().to_string(),
            crate::manifest::sha256_hex(&fsio::read(path)?),
        );
    }
    manifest.seed = Some(s.cluster.seed);
    manifest
        .param("input", s.input.display().to_string())
        .param("text_column", s.columns.text_column.as_str())
        .param("id_column", s.columns.id_column.clone())
        .param("k", format!("{:?}", s.cluster.k))
        .param("k_chosen", clustering.k)
        .param("restarts", s.cluster.n_runs)
        .param("method", s.cluster.method.name())
        .param("max_iter", s.cluster.max_iter)
        .param("question", frame.as_ref().and_then(|(_, q)| q.clone()))
        .param("level", if s.topic_groups { "groups" } else { "codes" });
    let map = crate::cluster::map_2d(&vectors.data, vectors.dim)?;
    let files = [
        "assignments.csv",
        "groups.json",
        "frequencies.csv",
        "map.csv",
        "manifest.json",
        "assignments.xlsx",
        "frequencies.xlsx",
    ];
    manifest.outputs = files
        .iter()
        .map(|f| s.out.join(f).display().to_string())
        .collect();
    let (assignments, frequencies) = (assignments_sheet(&discovery), frequencies_sheet(&discovery));
    fsio::write_atomic(&s.out.join(files[0]), &assignments.csv())?;
    fsio::write_atomic(&s.out.join(files[5]), &assignments.xlsx()?)?;
    fsio::write_atomic(&s.out.join(files[6]), &frequencies.xlsx()?)?;
    fsio::write_atomic(&s.out.join(files[1]), &report::json("groups", &discovery)?)?;
    fsio::write_atomic(&s.out.join(files[2]), &frequencies.csv())?;
    fsio::write_atomic(
        &s.out.join(files[3]),
        &report::map_csv(
            keep.iter()
                .map(|&i| answers.rows[i].id.as_str())
                .zip(map.iter().copied()),
        ),
    )?;
    fsio::write_atomic(&s.out.join(files[4]), &report::json("manifest", &manifest)?)?;
    progress.say(summary_table(&discovery));
    progress.say(format!("discover: wrote {}", s.out.display()));
    Ok(discovery)
}

/// The frame's labels for the question (codes, or topic groups) and their embeddings.
fn frame_vectors(
    frame: &Frame,
    question: Option<&str>,
    topic_groups: bool,
    embedder: &mut dyn Embedder,
) -> Result<(Vec<String>, Vec<Vec<f32>>)> {
    let candidates = frame.candidates(question, topic_groups);
    if candidates.is_empty() {
        return Err(InputError::flag(
            format!(
                "the frame has no {} for question {}",
                if topic_groups {
                    "topic groups"
                } else {
                    "codes"
                },
                question.unwrap_or("(none)")
            ),
            "use --level codes, or add the groups to the frame",
        )
        .into());
    }
    let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).collect();
    let (v, _) = embed_texts(embedder, &texts, None, &Progress::silent())?;
    let labels = candidates.iter().map(|c| c.label.clone()).collect();
    Ok((labels, (0..v.rows()).map(|i| v.row(i).to_vec()).collect()))
}

/// How groups get their names.
pub struct Names<'a> {
    /// Frame naming per group, when a frame was given.
    pub namings: Option<Vec<Naming>>,
    /// The frame and question.
    pub frame: Option<&'a (Frame, Option<String>)>,
    /// Report each group under its code's topic group.
    pub rollup: bool,
}

/// Builds groups and per-row assignments; pure.
pub fn describe(
    answers: &Answers,
    keep: &[usize],
    data: &[f32],
    dim: usize,
    clustering: &Clustering,
    names: Names,
) -> Discovery {
    let Names {
        namings,
        frame,
        rollup,
    } = names;
    let k = clustering.k;
    let cos = |j: usize, g: usize| -> f32 {
        data[j * dim..(j + 1) * dim]
            .iter()
            .zip(&clustering.centroids[g])
            .map(|(a, b)| a * b)
            .sum()
    };
    let mut members: Vec<Vec<(usize, &str, f32)>> = vec![Vec::new(); k];
    for (j, &row) in keep.iter().enumerate() {
        let g = clustering.labels[j];
        members[g].push((row, answers.rows[row].text.as_str(), cos(j, g)));
    }
    let texts: Vec<Vec<&str>> = members
        .iter()
        .map(|m| m.iter().map(|x| x.1).collect())
        .collect();
    let kw = keywords(&texts, 8);
    let grouped = keep.len();
    let groups: Vec<Group> = (0..k)
        .map(|g| {
            let naming = namings.as_ref().and_then(|n| n.get(g).cloned());
            let name = match &naming {
                Some(n) => n.label.clone(),
                None => format!(
                    "Group {}: {}",
                    g + 1,
                    kw[g].iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                ),
            };
            let topic_group = match (&naming, frame) {
                (Some(n), Some((f, q))) => f.group_of(&n.label, q.as_deref()).map(str::to_string),
                _ => None,
            };
            let name = match (&topic_group, rollup) {
                (Some(t), true) => t.clone(),
                _ => name,
            };
            Group {
                group: g + 1,
                name,
                naming,
                topic_group,
                size: members[g].len(),
                share: members[g].len() as f64 / grouped.max(1) as f64,
                keywords: kw[g].clone(),
                typical: typical(&members[g], 5)
                    .into_iter()
                    .map(|row| answers.rows[row].text.clone())
                    .collect(),
            }
        })
        .collect();
    let mut by_row: Vec<Option<(usize, f32)>> = vec![None; answers.rows.len()];
    for (j, &row) in keep.iter().enumerate() {
        let g = clustering.labels[j];
        by_row[row] = Some((g, cos(j, g)));
    }
    let set_aside_as: Option<String> = frame.and_then(|(f, q)| {
        let code = f.nonanswer_code(q.as_deref())?;
        let topic = f.group_of(&code.label, q.as_deref());
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
                status: "clustered",
            },
            None => {
                let status = set_aside(&a.text)
                    .map(|r| r.status())
                    .unwrap_or("non-substantive");
                *set_aside_counts.entry(status.to_string()).or_insert(0) += 1;
                Assignment {
                    id: a.id.clone(),
                    text: a.text.clone(),
                    group: None,
                    group_name: set_aside_as.clone().unwrap_or_default(),
                    score: None,
                    status,
                }
            }
        })
        .collect();
    Discovery {
        k,
        k_curve: clustering.curve.clone(),
        grouped,
        set_aside: set_aside_counts,
        set_aside_as,
        groups,
        assignments,
    }
}

/// assignments.csv: every input row, in input order.
pub fn assignments_csv(d: &Discovery) -> Vec<u8> {
    assignments_sheet(d).csv()
}

/// The assignments table (CSV and Excel).
pub fn assignments_sheet(d: &Discovery) -> report::Sheet {
    report::Sheet {
        name: "assignments",
        header: vec!["id", "text", "group", "group_name", "score", "status"],
        rows: d
            .assignments
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.text.clone(),
                    a.group.map(|g| g.to_string()).unwrap_or_default(),
                    a.group_name.clone(),
                    a.score.map(|s| format!("{s:.4}")).unwrap_or_default(),
                    a.status.to_string(),
                ]
            })
            .collect(),
    }
}

/// frequencies.csv: answers per group name (groups sharing a name are added up), largest
/// first, then the set-aside rows — a table like the report's annex. When the frame has a code
/// for non-answers, set-aside answers are counted under it instead.
pub fn frequencies_csv(d: &Discovery) -> Vec<u8> {
    frequencies_sheet(d).csv()
}

/// The frequency table (CSV and Excel).
pub fn frequencies_sheet(d: &Discovery) -> report::Sheet {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &d.groups {
        *counts.entry(g.name.as_str()).or_insert(0) += g.size;
    }
    if let Some(name) = &d.set_aside_as {
        *counts.entry(name.as_str()).or_insert(0) += d.set_aside.values().sum::<usize>();
    }
    let total: usize = d.assignments.len();
    let mut rows: Vec<(&str, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let share = |n: usize| format!("{:.4}", n as f64 / total.max(1) as f64);
    let mut out: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(name, n)| vec![name.to_string(), n.to_string(), share(n)])
        .collect();
    for (reason, n) in d.set_aside.iter().filter(|_| d.set_aside_as.is_none()) {
        out.push(vec![
            format!("(set aside: {reason})"),
            n.to_string(),
            share(*n),
        ]);
    }
    report::Sheet {
        name: "frequencies",
        header: vec!["response", "count", "share"],
        rows: out,
    }
}

/// The human summary printed at the end.
pub fn summary_table(d: &Discovery) -> String {
    let mut s = format!(
        "discover: {} groups over {} answers ({} set aside)\n",
        d.k,
        d.grouped,
        d.set_aside.values().sum::<usize>()
    );
    if let Some(name) = &d.set_aside_as {
        s.push_str(&format!(
            "  set-aside answers are counted under \"{name}\", the frame's code for non-answers\n"
        ));
    }
    for g in &d.groups {
        let score = g
            .naming
            .as_ref()
            .map(|n| {
                format!(
                    " [votes {:.0}%, match {:.2}{}]",
                    100.0 * n.votes,
                    n.score,
                    if n.weak { ", weak" } else { "" }
                )
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "  {:>3}  {:>5.1}%  {}{}\n       keywords: {}\n",
            g.size,
            100.0 * g.share,
            g.name,
            score,
            g.keywords.join(", ")
        ));
    }
    s
}
