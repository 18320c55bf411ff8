//! Language of each answer: lingua over the languages of European surveys. An answer too short
//! or too close between two languages to tell stays undetermined rather than guessed, so a
//! one-word English answer is never sent away as German.

use std::collections::{BTreeMap, HashMap};

use lingua::{LanguageDetector, LanguageDetectorBuilder};
use serde::{Deserialize, Serialize};

/// Fewest letters an answer needs before its language is guessed: below this, n-gram
/// statistics are noise ("Webinars", "ok", "N/A").
pub const MIN_LETTERS: usize = 12;

/// How far ahead of the runner-up the best language's confidence must be (lingua's minimum
/// relative distance): close calls stay undetermined.
pub const MIN_DISTANCE: f64 = 0.25;

/// Texts per call between two updates of the progress bar.
const CHUNK: usize = 4096;

/// The languages it tells apart, as ISO 639-1 codes: the official languages of the EU that
/// lingua knows (all but Maltese) and those of the neighbouring countries.
pub fn known() -> Vec<String> {
    let mut v: Vec<String> = lingua::Language::all()
        .into_iter()
        .map(|l| l.iso_code_639_1().to_string())
        .collect();
    v.sort();
    v
}

/// Tells each answer's language.
pub struct Detector {
    inner: LanguageDetector,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// A detector over every language compiled in ([`known`]).
    pub fn new() -> Self {
        Detector {
            inner: LanguageDetectorBuilder::from_all_languages()
                .with_minimum_relative_distance(MIN_DISTANCE)
                .build(),
        }
    }

    /// The ISO 639-1 code of each text's language, `None` where it cannot be told. Each
    /// distinct text is looked at once; the result does not depend on the order of the texts.
    pub fn detect(&self, texts: &[&str]) -> Vec<Option<String>> {
        self.detect_with(texts, &indicatif::ProgressBar::hidden())
    }

    /// [`Detector::detect`], advancing `bar` by the distinct texts looked at.
    pub fn detect_with(&self, texts: &[&str], bar: &indicatif::ProgressBar) -> Vec<Option<String>> {
        let mut distinct: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| letters(t) >= MIN_LETTERS)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        bar.set_length(distinct.len() as u64);
        let mut found = Vec::with_capacity(distinct.len());
        for chunk in distinct.chunks(CHUNK) {
            found.extend(self.inner.detect_languages_in_parallel_of(chunk));
            bar.inc(chunk.len() as u64);
        }
        let by_text: HashMap<&str, String> = distinct
            .iter()
            .zip(found)
            .filter_map(|(t, l)| Some((*t, l?.iso_code_639_1().to_string())))
            .collect();
        texts.iter().map(|t| by_text.get(t).cloned()).collect()
    }
}

fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

/// How many answers are in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageCount {
    /// ISO 639-1 code; `None` for answers whose language could not be told.
    pub language: Option<String>,
    /// Answers.
    pub answers: usize,
}

/// Answers per language, most frequent first (ties by code), the undetermined last.
pub fn tally(languages: &[Option<String>]) -> Vec<LanguageCount> {
    let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for l in languages {
        *counts.entry(l.clone()).or_default() += 1;
    }
    let mut v: Vec<LanguageCount> = counts
        .into_iter()
        .map(|(language, answers)| LanguageCount { language, answers })
        .collect();
    v.sort_by(|a, b| {
        (a.language.is_none(), b.answers, &a.language).cmp(&(
            b.language.is_none(),
            a.answers,
            &b.language,
        ))
    });
    v
}

/// `de 3, fr 2, es 1`: the languages of some answers, most frequent first.
pub fn summary(languages: &[&str]) -> String {
    let owned: Vec<Option<String>> = languages.iter().map(|l| Some(l.to_string())).collect();
    describe(&tally(&owned))
}

/// `en 63, de 3, undetermined 9`.
pub fn describe(counts: &[LanguageCount]) -> String {
    counts
        .iter()
        .map(|c| {
            let l = c.language.as_deref().unwrap_or("undetermined");
            format!("{l} {}", c.answers)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a model trained on `model_languages` (empty: many languages) covers `language`.
pub fn covers(model_languages: &[String], language: &str) -> bool {
    model_languages.is_empty() || model_languages.iter().any(|l| l == language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_languages_and_leaves_short_answers_alone() {
        let d = Detector::new();
        let texts = [
            "Finanzierungsmöglichkeiten für Cluster und ihre Mitglieder",
            "more information about funding opportunities for clusters",
            "financement des clusters et des petites entreprises",
            "Webinars",
            "ok",
        ];
        let got = d.detect(&texts);
        assert_eq!(got[0].as_deref(), Some("de"));
        assert_eq!(got[1].as_deref(), Some("en"));
        assert_eq!(got[2].as_deref(), Some("fr"));
        assert_eq!(got[3], None);
        assert_eq!(got[4], None);
    }

    #[test]
    fn order_does_not_matter_and_tallies_are_sorted() {
        let d = Detector::new();
        let a = [
            "the recording of the webinar please",
            "la grabación del seminario web",
        ];
        let b = [a[1], a[0]];
        let (x, y) = (d.detect(&a), d.detect(&b));
        assert_eq!(x[0], y[1]);
        assert_eq!(x[1], y[0]);
        let t = tally(&[
            None,
            Some("en".into()),
            None,
            None,
            Some("en".into()),
            Some("de".into()),
        ]);
        assert_eq!(describe(&t), "en 2, de 1, undetermined 3");
        assert!(covers(&[], "de"));
        assert!(!covers(&["en".into()], "de"));
        assert!(known().contains(&"sl".to_string()));
    }
}
