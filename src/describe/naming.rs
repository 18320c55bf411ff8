//! Names from a code frame: each discovered group takes the frame label its answers vote for,
//! with the match score and a flag when the match is weak.

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

/// Names each group: every member answer votes for the label nearest to it, and the group
/// takes the label with most votes (ties: closer to the centroid, then by label). `members`
/// holds each group's member vectors.
pub fn name_groups(
    centroids: &[Vec<f32>],
    members: &[Vec<&[f32]>],
    labels: &[String],
    vectors: &[Vec<f32>],
) -> Vec<Naming> {
    centroids
        .iter()
        .zip(members)
        .map(|(c, m)| {
            let mut votes = vec![0usize; labels.len()];
            for v in m {
                if let Some(i) = nearest(v, vectors) {
                    votes[i] += 1;
                }
            }
            let mut scored: Vec<(usize, f32, &String)> = labels
                .iter()
                .zip(vectors)
                .zip(&votes)
                .map(|((l, v), &n)| (n, cosine(c, v), l))
                .collect();
            scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(b.2)));
            let total = m.len().max(1) as f32;
            let (n, score, label) = scored
                .first()
                .map(|(n, s, l)| (*n, *s, (*l).clone()))
                .unwrap_or((0, 0.0, String::new()));
            Naming {
                label,
                score,
                votes: n as f32 / total,
                weak: score < WEAK_MATCH,
                runner_up: scored.get(1).map(|(_, s, l)| ((*l).clone(), *s)),
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
        );
        assert_eq!(n[0].votes, 1.0);
        assert_eq!(n[0].label, "x");
        assert_eq!(n[1].label, "y");
        assert!(n[2].weak);
    }
}
