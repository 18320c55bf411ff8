//! Candidate new codes: the answers below every threshold, grouped (k-means, k by silhouette)
//! and described like discovered groups, each with the frame code it came closest to.

use super::keywords::{keywords, typical};
use crate::cluster::{ClusterParams, KChoice, Method};
use crate::error::{Error, Result};
use crate::frame::apply::CandidateCode;
use crate::ingest::Answers;
use crate::vector::{cosine, l2_normalise};

/// Below-threshold answers sampled to find candidate new codes (the rest join the nearest).
pub const CANDIDATE_SAMPLE: usize = 2000;

/// Candidate new codes from the below-threshold answers (indices into `keep`): k-means with k
/// chosen by silhouette (2 to 8, about one group per 5 answers), or one group when few.
/// `best_codes` holds each kept answer's best code. Returns the candidates and, per
/// below-threshold answer, (index into keep, candidate).
#[allow(clippy::type_complexity)]
pub fn candidate_codes(
    code_labels: &[String],
    answers: &Answers,
    keep: &[usize],
    (data, dim): (&[f32], usize),
    (below, best_codes): (&[usize], &[usize]),
    seed: u64,
) -> Result<(Vec<CandidateCode>, Vec<(usize, usize)>)> {
    if below.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // Canonical order (by text) so row order cannot change the candidates.
    let mut order: Vec<usize> = below.to_vec();
    order.sort_by(|&a, &b| {
        answers.rows[keep[a]]
            .text
            .cmp(&answers.rows[keep[b]].text)
            .then(a.cmp(&b))
    });
    let sub: Vec<f32> = order
        .iter()
        .flat_map(|&j| data[j * dim..(j + 1) * dim].iter().copied())
        .collect();
    let texts: Vec<&str> = order
        .iter()
        .map(|&j| answers.rows[keep[j]].text.as_str())
        .collect();
    let labels = group_below((&sub, dim), &texts, seed)?;
    // Groups no answer joined are dropped; the rest are numbered densely.
    let mut used: Vec<usize> = labels.clone();
    used.sort_unstable();
    used.dedup();
    let labels: Vec<usize> = labels
        .iter()
        .map(|g| used.binary_search(g).unwrap_or(0))
        .collect();
    let k = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &g) in labels.iter().enumerate() {
        members[g].push(i);
    }
    let group_texts: Vec<Vec<&str>> = members
        .iter()
        .map(|m| m.iter().map(|&i| texts[i]).collect())
        .collect();
    let kw = keywords(&group_texts, 8);
    let best: Vec<usize> = order.iter().map(|&j| best_codes[j]).collect();
    let mut out: Vec<(usize, CandidateCode)> = members
        .iter()
        .zip(kw)
        .enumerate()
        .map(|(g, (m, keywords))| {
            let mut c = describe(m, (&sub, dim), &texts, (&best, code_labels));
            c.keywords = keywords;
            c.share = m.len() as f64 / keep.len().max(1) as f64;
            (g, c)
        })
        .collect();
    // Largest first, ties by first member.
    out.sort_by(|a, b| {
        b.1.size
            .cmp(&a.1.size)
            .then(members[a.0].first().cmp(&members[b.0].first()))
    });
    let mut number = vec![0usize; k];
    for (n, (g, c)) in out.iter_mut().enumerate() {
        c.candidate = n + 1;
        number[*g] = n + 1;
    }
    let rows = labels
        .iter()
        .enumerate()
        .map(|(i, &g)| (order[i], number[g]))
        .collect();
    Ok((out.into_iter().map(|(_, c)| c).collect(), rows))
}

/// The below-threshold answers (`texts[i]` is the text of the i-th row of `sub`, in canonical
/// order) grouped by k-means on an evenly spaced sample of at most [`CANDIDATE_SAMPLE`]
/// answers, every answer then joining the nearest centroid; one group when there are few.
fn group_below((sub, dim): (&[f32], usize), texts: &[&str], seed: u64) -> Result<Vec<usize>> {
    let n = texts.len();
    let mut distinct = texts.to_vec();
    distinct.dedup();
    let max_k = (n / 5).min(8);
    let picks: Vec<usize> = if n > CANDIDATE_SAMPLE {
        (0..CANDIDATE_SAMPLE)
            .map(|i| i * n / CANDIDATE_SAMPLE)
            .collect()
    } else {
        (0..n).collect()
    };
    let mut sample_texts: Vec<&str> = picks.iter().map(|&i| texts[i]).collect();
    sample_texts.dedup();
    if max_k < 2 || distinct.len() <= max_k || sample_texts.len() < 3 {
        return Ok(vec![0; n]);
    }
    let sample: Vec<f32> = picks
        .iter()
        .flat_map(|&i| sub[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let params = ClusterParams {
        k: KChoice::Auto {
            min: 2,
            max: max_k.min(sample_texts.len().saturating_sub(1)).max(2),
        },
        method: Method::KMeans,
        n_runs: 3,
        seed,
        ..ClusterParams::default()
    }
    .check(sample_texts.len(), picks.len())
    .map_err(|e| Error::Cluster(format!("candidate codes: {e}")))?;
    let centroids = params.fit(&sample, dim)?.centroids;
    Ok((0..n)
        .map(|i| {
            let x = &sub[i * dim..(i + 1) * dim];
            let mut best = (0usize, f32::NEG_INFINITY);
            for (g, c) in centroids.iter().enumerate() {
                let v = cosine(x, c);
                if v > best.1 {
                    best = (g, v);
                }
            }
            best.0
        })
        .collect())
}

/// One candidate from its members (rows of `sub`): typical answers nearest its centroid and
/// the frame code most of them came closest to (`best[i]`, named by `code_labels`). Number,
/// keywords and share are filled in by the caller.
fn describe(
    members: &[usize],
    (sub, dim): (&[f32], usize),
    texts: &[&str],
    (best, code_labels): (&[usize], &[String]),
) -> CandidateCode {
    let row = |i: usize| &sub[i * dim..(i + 1) * dim];
    let mut centroid = vec![0f32; dim];
    for &i in members {
        for (c, v) in centroid.iter_mut().zip(row(i)) {
            *c += v;
        }
    }
    l2_normalise(&mut centroid, dim);
    let scored: Vec<(usize, &str, f32)> = members
        .iter()
        .map(|&i| (i, texts[i], cosine(row(i), &centroid)))
        .collect();
    let mut nearest = vec![0usize; code_labels.len()];
    for &i in members {
        if let Some(n) = nearest.get_mut(best[i]) {
            *n += 1;
        }
    }
    let nearest_code = (0..nearest.len())
        .max_by(|&a, &b| nearest[a].cmp(&nearest[b]).then(b.cmp(&a)))
        .map(|c| format!("{} ({} of {})", code_labels[c], nearest[c], members.len()))
        .unwrap_or_default();
    CandidateCode {
        candidate: 0,
        size: members.len(),
        share: 0.0,
        keywords: Vec::new(),
        typical: typical(&scored, 5)
            .into_iter()
            .map(|i| texts[i].to_string())
            .collect(),
        nearest_code,
    }
}
