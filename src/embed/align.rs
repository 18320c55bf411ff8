//! Language alignment: multilingual sentence vectors carry a direction per language, strong
//! enough that groups form by language instead of topic. Moving each language's answers so that
//! their mean sits on the mean of all answers removes it, before grouping.

use std::collections::BTreeMap;

/// Fewest answers a language needs before its mean is trusted: below this, the mean of a few
/// answers is mostly their topics, and removing it would remove the topics.
pub const MIN_ANSWERS: usize = 30;

/// Shifts the rows of each language with at least [`MIN_ANSWERS`] answers by (mean of all rows
/// − mean of the language's rows) and renormalises them; rows of other or undetermined
/// languages stay as they are. Does nothing unless two languages qualify. Returns the languages
/// moved, with their answers.
pub fn center_languages(
    data: &mut [f32],
    dim: usize,
    languages: &[Option<&str>],
) -> Vec<(String, usize)> {
    let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in languages.iter().enumerate() {
        if let Some(l) = l {
            rows_of.entry(l).or_default().push(i);
        }
    }
    rows_of.retain(|_, rows| rows.len() >= MIN_ANSWERS);
    if rows_of.len() < 2 || dim == 0 {
        return Vec::new();
    }
    let n = data.len() / dim;
    let mean = |rows: &mut dyn Iterator<Item = usize>| {
        let mut m = vec![0f64; dim];
        let mut k = 0usize;
        for i in rows {
            for (a, &v) in m.iter_mut().zip(&data[i * dim..(i + 1) * dim]) {
                *a += f64::from(v);
            }
            k += 1;
        }
        m.iter_mut().for_each(|a| *a /= k.max(1) as f64);
        m
    };
    let all = mean(&mut (0..n));
    let shifts: Vec<(Vec<usize>, Vec<f64>)> = rows_of
        .values()
        .map(|rows| {
            let own = mean(&mut rows.iter().copied());
            let shift = all.iter().zip(&own).map(|(a, o)| a - o).collect();
            (rows.clone(), shift)
        })
        .collect();
    for (rows, shift) in &shifts {
        for &i in rows {
            let row = &mut data[i * dim..(i + 1) * dim];
            let mut norm = 0f64;
            for (v, s) in row.iter_mut().zip(shift) {
                *v = (f64::from(*v) + s) as f32;
                norm += f64::from(*v) * f64::from(*v);
            }
            let norm = norm.sqrt().max(1e-12);
            row.iter_mut()
                .for_each(|v| *v = (f64::from(*v) / norm) as f32);
        }
    }
    rows_of
        .into_iter()
        .map(|(l, rows)| (l.to_string(), rows.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_meet_in_the_middle() {
        // Two topics (x, y) in two languages (offset +z / -z).
        let mut data = Vec::new();
        let mut langs = Vec::new();
        for i in 0..120 {
            let topic = if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] };
            let lang = if i < 60 { 1.0 } else { -1.0 };
            let v: [f32; 3] = [topic[0], topic[1], lang];
            let n: f32 = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            data.extend(v.iter().map(|x| x / n));
            langs.push(Some(if i < 60 { "en" } else { "de" }));
        }
        let moved = center_languages(&mut data, 3, &langs);
        assert_eq!(moved, vec![("de".into(), 60), ("en".into(), 60)]);
        // The language axis is gone; the topic axes remain.
        for row in data.chunks(3) {
            assert!(row[2].abs() < 1e-5, "{row:?}");
            assert!((row[0] - 1.0).abs() < 1e-5 || (row[1] - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn a_few_answers_in_a_language_are_left_alone() {
        let mut data = vec![1.0, 0.0, 0.0, 1.0];
        let before = data.clone();
        assert!(center_languages(&mut data, 2, &[Some("en"), Some("de")]).is_empty());
        assert_eq!(data, before);
    }
}
