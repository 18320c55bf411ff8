//! Names from a code frame: each discovered group takes the frame label its answers vote for,
//! with the match score and flags when the match is weak or the group mixes topics.

use serde::{Deserialize, Serialize};

use crate::vector::cosine;

/// Cosine below which a frame name is reported as a weak match.
pub const WEAK_MATCH: f32 = 0.35;

/// The frame name a group takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Naming {
    /// Best-matching label.
    pub label: String,
    /// Its cosine to the group's centroid.
    pub score: f32,
    /// Share of the group's answers whose own nearest label it is.
    pub votes: f32,
    /// Whether the match is weak (score below [`WEAK_MATCH`]).
    pub weak: bool,
    /// Whether fewer than half of the group's answers are closest to this label: the group
    /// mixes topics and the name covers only part of it.
    #[serde(default)]
    pub mixed: bool,
    /// Runner-up label and score, to show how clear the choice was.
    pub runner_up: Option<(String, f32)>,
}

/// Index of the label vector closest to `v` (ties: the first).
fn nearest(v: &[f32], vectors: &[Vec<f32>]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, l) in vectors.iter().enumerate() {
        let s = cosine(v, l);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

/// Names each group from the frame's labels: every member answer votes for the label nearest to
/// it. With `distinct` (groups seeded one per code) each label names exactly one group, chosen
/// to give the most votes in all (ties: closer centroids), so a group that drifted from its
/// seed takes the name its answers vote for; otherwise each group takes the label with most
/// votes (ties: closer to the centroid, then by label). `members` holds each group's member
/// vectors. A name is weak when its cosine to the centroid is below [`WEAK_MATCH`], mixed when
/// fewer than half of the group's answers vote for it.
pub fn name_groups(
    centroids: &[Vec<f32>],
    members: &[Vec<&[f32]>],
    labels: &[String],
    vectors: &[Vec<f32>],
    distinct: bool,
) -> Vec<Naming> {
    let votes: Vec<Vec<usize>> = members
        .iter()
        .map(|m| {
            let mut v = vec![0usize; labels.len()];
            for x in m {
                if let Some(i) = nearest(x, vectors) {
                    v[i] += 1;
                }
            }
            v
        })
        .collect();
    let cos: Vec<Vec<f32>> = centroids
        .iter()
        .map(|c| vectors.iter().map(|v| cosine(c, v)).collect())
        .collect();
    // Each group's labels, best first: most votes, then closest, then by label.
    let ranked: Vec<Vec<usize>> = (0..centroids.len())
        .map(|g| {
            let mut order: Vec<usize> = (0..labels.len()).collect();
            order.sort_by(|&a, &b| {
                votes[g][b]
                    .cmp(&votes[g][a])
                    .then(cos[g][b].total_cmp(&cos[g][a]))
                    .then(labels[a].cmp(&labels[b]))
            });
            order
        })
        .collect();
    let chosen: Vec<Option<usize>> = if distinct {
        let cost: Vec<Vec<f64>> = (0..centroids.len())
            .map(|g| {
                (0..labels.len())
                    .map(|l| -(votes[g][l] as f64) - 1e-3 * f64::from(cos[g][l]))
                    .collect()
            })
            .collect();
        crate::evaluate::hungarian(&cost)
    } else {
        ranked.iter().map(|r| r.first().copied()).collect()
    };
    (0..centroids.len())
        .map(|g| {
            let total = members[g].len().max(1) as f32;
            let Some(l) = chosen[g].or_else(|| ranked[g].first().copied()) else {
                return Naming {
                    label: String::new(),
                    score: 0.0,
                    votes: 0.0,
                    weak: true,
                    mixed: true,
                    runner_up: None,
                };
            };
            let share = votes[g][l] as f32 / total;
            Naming {
                label: labels[l].clone(),
                score: cos[g][l],
                votes: share,
                weak: cos[g][l] < WEAK_MATCH,
                mixed: share < 0.5,
                runner_up: ranked[g]
                    .iter()
                    .find(|&&o| o != l)
                    .map(|&o| (labels[o].clone(), cos[g][o])),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_closest_label() {
        let (a, b, c) = ([1.0f32, 0.0], [0.0f32, 1.0], [0.1f32, -1.0]);
        let n = name_groups(
            &[a.to_vec(), b.to_vec(), c.to_vec()],
            &[vec![&a[..], &a[..]], vec![&b[..]], vec![&c[..]]],
            &["x".into(), "y".into()],
            &[a.to_vec(), b.to_vec()],
            false,
        );
        assert_eq!(n[0].votes, 1.0);
        assert_eq!(n[0].label, "x");
        assert_eq!(n[1].label, "y");
        assert!(n[2].weak);
    }

    #[test]
    fn seeded_groups_take_the_name_their_answers_vote_for() {
        // Group 0 was seeded from "x" but its answers are all "y" answers, and group 1 the
        // other way round: the names follow the answers, one per group.
        let (x, y) = ([1.0f32, 0.0], [0.0f32, 1.0]);
        let n = name_groups(
            &[vec![0.6, 0.8], vec![0.8, 0.6]],
            &[vec![&y[..], &y[..]], vec![&x[..], &x[..], &y[..]]],
            &["x".into(), "y".into()],
            &[x.to_vec(), y.to_vec()],
            true,
        );
        assert_eq!((n[0].label.as_str(), n[1].label.as_str()), ("y", "x"));
        assert!(!n[1].mixed);
        // Votes tie at 2 of 4 (not mixed): the label closer to the centroid wins.
        let mixed = name_groups(
            &[vec![0.8, 0.6]],
            &[vec![&x[..], &y[..], &y[..], &[0.7, 0.7][..]]],
            &["x".into(), "y".into()],
            &[x.to_vec(), y.to_vec()],
            false,
        );
        assert_eq!(mixed[0].label, "x");
        assert!(!mixed[0].mixed, "2 of 4 votes is half");
        let mixed = name_groups(
            &[vec![0.8, 0.6]],
            &[vec![&x[..], &y[..], &[0.6, -0.8][..]]],
            &["x".into(), "y".into(), "z".into()],
            &[x.to_vec(), y.to_vec(), vec![0.6, -0.8]],
            false,
        );
        assert!(mixed[0].mixed, "1 of 3 votes");
    }
}
