//! Language alignment: multilingual sentence vectors carry a direction per language, and a
//! spread that differs by language, strong enough that groups form by language instead of
//! topic. Before grouping answers written in several languages, each language's answers are
//! centred on their own mean and the vectors are whitened with the spread the languages share,
//! so that what is left to group them by is what they say.
//!
//! On the same sentences in four languages (`sib200_eu`, multilingual-e5-small), centring alone
//! leaves the groups by topic as weak as on one language (NMI 0.42 with k-means, 0.45 on the UMAP
//! layout); whitening on top lifts it to about 0.53 with k-means (BENCHMARKS.md). Whitening does
//! not help answers in one language (it costs English sets 0.02–0.09 NMI), so it is done only
//! for answers that are substantially multilingual.

use std::collections::BTreeMap;

use linfa_linalg::eigh::{EigSort, EighInto};
use linfa_linalg::Order;
use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::error::{Error, Result};

/// Fewest answers a language needs before its mean is trusted: below this, the mean of a few
/// answers is mostly their topics, and removing it would remove the topics.
pub const MIN_ANSWERS: usize = 30;

/// Share of the answers whose language was told that must be in other languages than the most
/// common one before answers count as multilingual: a few answers in a second language (or
/// misread as one) do not change how the rest group.
pub const MIN_OTHER_SHARE: f64 = 0.1;

/// Principal axes kept by the whitening (at most the vectors' width).
pub const COMPONENTS: usize = 128;

/// Answer vectors aligned across languages, for grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    /// Row-major unit vectors, one per answer, `dim` wide.
    pub data: Vec<f32>,
    /// Width: [`COMPONENTS`] or the input's width if smaller.
    pub dim: usize,
    /// The languages centred on their own mean, with their answers.
    pub languages: Vec<(String, usize)>,
}

/// The languages with at least [`MIN_ANSWERS`] answers, when answers are multilingual enough to
/// align: two such languages, and at least [`MIN_OTHER_SHARE`] of the told answers outside the
/// most common language.
fn languages_to_align<'a>(languages: &[Option<&'a str>]) -> Option<BTreeMap<&'a str, Vec<usize>>> {
    let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in languages.iter().enumerate() {
        if let Some(l) = l {
            rows_of.entry(l).or_default().push(i);
        }
    }
    let told: usize = rows_of.values().map(Vec::len).sum();
    let largest = rows_of.values().map(Vec::len).max().unwrap_or(0);
    rows_of.retain(|_, rows| rows.len() >= MIN_ANSWERS);
    let other = (told - largest) as f64;
    (rows_of.len() >= 2 && other >= MIN_OTHER_SHARE * told as f64).then_some(rows_of)
}

/// Aligns the answers' vectors (`data`, row-major, `dim` wide) across `languages` (one per
/// answer, `None` where not told): each language with enough answers is centred on its own mean,
/// the other answers on the mean of all; the centred vectors are projected on the
/// [`COMPONENTS`] leading axes of their shared covariance, each axis scaled to unit spread (plus
/// the mean spread over all axes, so that axes of noise are not blown up), and set to unit
/// length. `None` when the answers are not multilingual enough ([`MIN_OTHER_SHARE`]).
pub fn align_languages(
    data: &[f32],
    dim: usize,
    languages: &[Option<&str>],
) -> Result<Option<Aligned>> {
    let Some(rows_of) = languages_to_align(languages) else {
        return Ok(None);
    };
    let n = languages.len();
    if dim == 0 || data.len() != n * dim {
        return Err(Error::Cluster(
            "vectors and languages do not match".to_string(),
        ));
    }
    let x = ArrayView2::from_shape((n, dim), data)
        .map_err(|e| Error::Cluster(format!("aligning languages: {e}")))?;
    let mean_of = |rows: &mut dyn Iterator<Item = usize>| {
        let mut m = Array1::<f64>::zeros(dim);
        let mut k = 0usize;
        for i in rows {
            m += &x.row(i).mapv(f64::from);
            k += 1;
        }
        m / k.max(1) as f64
    };
    let all = mean_of(&mut (0..n));
    // Each answer's centre: its language's mean, or the mean of all answers.
    let mut centre_of = vec![usize::MAX; n];
    let mut centres = Vec::with_capacity(rows_of.len());
    for (c, rows) in rows_of.values().enumerate() {
        centres.push(mean_of(&mut rows.iter().copied()));
        rows.iter().for_each(|&i| centre_of[i] = c);
    }
    let centred = |i: usize| -> Array1<f64> {
        let c = centres.get(centre_of[i]).unwrap_or(&all);
        x.row(i).mapv(f64::from) - c
    };
    let axes = whitening(n, dim, &centred)?;
    let out_dim = axes.ncols();
    let mut out = vec![0f32; n * out_dim];
    for (i, row) in out.chunks_mut(out_dim).enumerate() {
        let p = centred(i).dot(&axes);
        let norm = p.dot(&p).sqrt().max(1e-12);
        row.iter_mut()
            .zip(p.iter())
            .for_each(|(o, v)| *o = (v / norm) as f32);
    }
    Ok(Some(Aligned {
        data: out,
        dim: out_dim,
        languages: rows_of
            .into_iter()
            .map(|(l, rows)| (l.to_string(), rows.len()))
            .collect(),
    }))
}

/// The whitening matrix (`dim × components`): the leading eigenvectors of the covariance of
/// the `n` centred rows, each divided by the square root of its eigenvalue plus the mean
/// eigenvalue. Eigenvectors' signs are fixed (largest loading positive) so the result is the
/// same on every run.
fn whitening(n: usize, dim: usize, centred: &dyn Fn(usize) -> Array1<f64>) -> Result<Array2<f64>> {
    const ROWS: usize = 4096;
    let mut cov = Array2::<f64>::zeros((dim, dim));
    let mut block = Array2::<f64>::zeros((ROWS.min(n), dim));
    for start in (0..n).step_by(ROWS) {
        let end = (start + ROWS).min(n);
        for i in start..end {
            block.row_mut(i - start).assign(&centred(i));
        }
        let b = block.slice_axis(Axis(0), ndarray::Slice::from(0..end - start));
        cov += &b.t().dot(&b);
    }
    cov /= (n.max(2) - 1) as f64;
    let shrink = cov.diag().sum() / dim as f64;
    let (vals, vecs) = cov
        .eigh_into()
        .map_err(|e| Error::Cluster(format!("aligning languages: {e}")))?
        .sort_eig(Order::Largest);
    let keep = COMPONENTS.min(dim);
    let mut axes = vecs
        .slice_axis(Axis(1), ndarray::Slice::from(0..keep))
        .to_owned();
    for (j, mut col) in axes.columns_mut().into_iter().enumerate() {
        let big = col
            .iter()
            .copied()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        let scale = (vals[j].max(0.0) + shrink).max(1e-12).sqrt();
        let sign = if big < 0.0 { -1.0 } else { 1.0 };
        col.mapv_inplace(|v| sign * v / scale);
    }
    Ok(axes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two topics (axes 0 and 1, with some spread on axes 3..) in two languages (offset +/- on
    /// axis 2), `per` answers per language.
    fn two_languages(per: usize) -> (Vec<f32>, Vec<Option<&'static str>>, Vec<usize>) {
        let (mut data, mut langs, mut topic) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..2 * per {
            let t = i % 2;
            let lang = if i < per { 1.0 } else { -1.0 };
            let mut v = [0f32; 6];
            v[t] = 1.0;
            v[2] = lang;
            v[3 + i % 3] = 0.1 * ((i % 7) as f32 - 3.0);
            let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            data.extend(v.iter().map(|a| a / norm));
            langs.push(Some(if i < per { "en" } else { "de" }));
            topic.push(t);
        }
        (data, langs, topic)
    }

    #[test]
    fn languages_meet_and_topics_stay_apart() {
        let (data, langs, topic) = two_languages(60);
        let a = align_languages(&data, 6, &langs).unwrap().unwrap();
        assert_eq!(a.languages, vec![("de".into(), 60), ("en".into(), 60)]);
        assert_eq!(a.dim, 6);
        let row = |i: usize| &a.data[i * a.dim..(i + 1) * a.dim];
        let cos = |i: usize, j: usize| row(i).iter().zip(row(j)).map(|(x, y)| x * y).sum::<f32>();
        for i in 0..120 {
            let norm: f32 = row(i).iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        // The same topic in the two languages is now closer than two topics in one language.
        let (en0, en1, de0) = (0, 1, 60);
        assert_eq!((topic[en0], topic[en1], topic[de0]), (0, 1, 0));
        assert!(
            cos(en0, de0) > cos(en0, en1) + 0.5,
            "{} {}",
            cos(en0, de0),
            cos(en0, en1)
        );
        // Deterministic: the same input gives the same bits.
        assert_eq!(align_languages(&data, 6, &langs).unwrap().unwrap(), a);
    }

    #[test]
    fn one_language_or_a_few_answers_in_another_are_left_alone() {
        let (data, mut langs, _) = two_languages(60);
        // 25 German answers: too few to trust their mean.
        for l in langs.iter_mut().skip(85) {
            *l = Some("en");
        }
        assert!(align_languages(&data, 6, &langs).unwrap().is_none());
        // Enough German answers, but under a tenth of the told ones.
        let (data, _, _) = two_languages(600);
        let langs: Vec<Option<&str>> = (0..1200)
            .map(|i| Some(if i < 1100 { "en" } else { "de" }))
            .collect();
        assert!(align_languages(&data, 6, &langs).unwrap().is_none());
    }
}
