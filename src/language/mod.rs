//! Language of each answer: lingua over the languages of European surveys. An answer too short
//! or too close between two languages to tell stays undetermined rather than guessed, so a
//! one-word English answer is never sent away as German. A big survey gets a quick first look
//! ([`quick`]) so that lingua tells only the answers it leaves.

pub mod cache;
mod quick;

use std::collections::{BTreeMap, HashMap};

use lingua::{LanguageDetector, LanguageDetectorBuilder};

use crate::embed::cache::Cache;
use crate::error::Result;
use crate::progress::Progress;
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
    /// Distinct texts above which the quick first look ([`quick`]) is taken.
    quick_above: usize,
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
            quick_above: quick::QUICK_ABOVE,
        }
    }

    /// The same detector taking the quick first look above `n` distinct texts.
    pub fn with_quick_above(self, n: usize) -> Self {
        Detector {
            quick_above: n,
            ..self
        }
    }

    /// The ISO 639-1 code of each text's language, `None` where it cannot be told. Each
    /// distinct text is looked at once; the result does not depend on the order of the texts.
    pub fn detect(&self, texts: &[&str]) -> Vec<Option<String>> {
        self.detect_with(texts, &indicatif::ProgressBar::hidden())
    }

    /// [`Detector::detect`], advancing `bar` by the distinct texts looked at.
    pub fn detect_with(&self, texts: &[&str], bar: &indicatif::ProgressBar) -> Vec<Option<String>> {
        let distinct = distinct_long(texts);
        bar.set_length(distinct.len() as u64);
        let (quick, rest) = self.quick_look(&distinct, bar);
        let mut told = Vec::with_capacity(rest.len());
        for chunk in rest.chunks(CHUNK) {
            told.extend(self.tell(chunk));
            bar.inc(chunk.len() as u64);
        }
        by_text(texts, &distinct, merge(quick, told))
    }

    /// [`Detector::detect_with`], taking the languages of texts told before from `cache` and
    /// storing the new ones there, chunk by chunk (a stopped run keeps what it told). What the
    /// quick look tells is not stored: it is told again as quickly, and a text's language
    /// then never depends on what the cache held.
    pub fn detect_cached(
        &self,
        texts: &[&str],
        store: &mut Cache,
        bar: &indicatif::ProgressBar,
        progress: &Progress,
    ) -> Result<Vec<Option<String>>> {
        let distinct = distinct_long(texts);
        bar.set_length(distinct.len() as u64);
        let (quick, rest) = self.quick_look(&distinct, bar);
        let told = self.tell_cached(&rest, store, bar, progress)?;
        Ok(by_text(texts, &distinct, merge(quick, told)))
    }

    /// For a big survey, whatlang's sure answers and the texts left for lingua; otherwise
    /// nothing told and every text left.
    fn quick_look<'t>(
        &self,
        distinct: &[&'t str],
        bar: &indicatif::ProgressBar,
    ) -> (Vec<Option<String>>, Vec<&'t str>) {
        if distinct.len() <= self.quick_above {
            return (vec![None; distinct.len()], distinct.to_vec());
        }
        let quick = quick::reliable(distinct);
        let rest: Vec<&str> = distinct
            .iter()
            .zip(&quick)
            .filter(|(_, q)| q.is_none())
            .map(|(t, _)| *t)
            .collect();
        bar.inc((distinct.len() - rest.len()) as u64);
        (quick, rest)
    }

    /// lingua's verdict on each of `distinct`, read from `store` where told before.
    fn tell_cached(
        &self,
        distinct: &[&str],
        store: &mut Cache,
        bar: &indicatif::ProgressBar,
        progress: &Progress,
    ) -> Result<Vec<Option<String>>> {
        let codes = known();
        let (ns, undetermined) = (cache::namespace(), codes.len());
        let mut found: Vec<Option<Option<String>>> = vec![None; distinct.len()];
        store.take_each(&ns, cache::DIM, distinct, progress, |i, v, _| {
            if let Some(index) = cache::decode(v, undetermined) {
                found[i] = Some(codes.get(index).cloned());
            }
        })?;
        bar.inc(found.iter().filter(|f| f.is_some()).count() as u64);
        let missing: Vec<usize> = (0..distinct.len())
            .filter(|&i| found[i].is_none())
            .collect();
        for part in missing.chunks(CHUNK) {
            let chunk: Vec<&str> = part.iter().map(|&i| distinct[i]).collect();
            let told = self.tell(&chunk);
            let points: Vec<[f32; cache::DIM]> = told
                .iter()
                .map(|l| {
                    let index = l.as_ref().and_then(|c| codes.iter().position(|k| k == c));
                    cache::encode(index.unwrap_or(undetermined))
                })
                .collect();
            let entries: Vec<(&str, &[f32], bool)> = chunk
                .iter()
                .zip(&points)
                .map(|(t, p)| (*t, p.as_slice(), false))
                .collect();
            bar.suspend(|| store.put(&ns, cache::DIM, &entries, progress))?;
            for (&i, l) in part.iter().zip(told) {
                found[i] = Some(l);
            }
            bar.inc(part.len() as u64);
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// The ISO 639-1 code of each text's language, `None` where it cannot be told.
    fn tell(&self, texts: &[&str]) -> Vec<Option<String>> {
        self.inner
            .detect_languages_in_parallel_of(texts)
            .into_iter()
            .map(|l| Some(l?.iso_code_639_1().to_string()))
            .collect()
    }
}

/// The distinct texts long enough to be told, sorted.
fn distinct_long<'t>(texts: &[&'t str]) -> Vec<&'t str> {
    let mut distinct: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| letters(t) >= MIN_LETTERS)
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
}

/// The quick look's verdicts with lingua's, in order, filling the texts the quick look left.
fn merge(quick: Vec<Option<String>>, told: Vec<Option<String>>) -> Vec<Option<String>> {
    let mut told = told.into_iter();
    quick
        .into_iter()
        .map(|q| q.or_else(|| told.next().flatten()))
        .collect()
}

/// Each text's language from those of the distinct texts.
fn by_text(texts: &[&str], distinct: &[&str], found: Vec<Option<String>>) -> Vec<Option<String>> {
    let map: HashMap<&str, String> = distinct
        .iter()
        .zip(found)
        .filter_map(|(t, l)| Some((*t, l?)))
        .collect();
    texts.iter().map(|t| map.get(t).cloned()).collect()
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
    fn told_languages_are_kept_and_read_back_from_the_cache() {
        let d = Detector::new();
        let dir = tempfile::tempdir().unwrap();
        let quiet = Progress::silent();
        let bar = indicatif::ProgressBar::hidden();
        let texts = [
            "Finanzierungsmöglichkeiten für Cluster und ihre Mitglieder",
            "more information about funding opportunities for clusters",
            "ok",
            "more information about funding opportunities for clusters",
        ];
        let mut c = Cache::open(dir.path()).unwrap();
        let first = d.detect_cached(&texts, &mut c, &bar, &quiet).unwrap();
        assert_eq!(first, d.detect(&texts));
        // What is stored is believed: a change of settings changes the namespace.
        let mut c = Cache::open(dir.path()).unwrap();
        let ns = cache::namespace();
        let fr = known().iter().position(|k| k == "fr").unwrap();
        let other = "a text never told before but stored as French";
        let p = cache::encode(fr);
        c.put(&ns, cache::DIM, &[(other, &p, false)], &quiet)
            .unwrap();
        let again = d
            .detect_cached(&[texts[0], other], &mut c, &bar, &quiet)
            .unwrap();
        assert_eq!(again, vec![Some("de".to_string()), Some("fr".to_string())]);
    }

    #[test]
    fn big_surveys_take_the_quick_look_whatever_the_cache_holds() {
        let big = Detector::new().with_quick_above(0);
        let texts = [
            "Finanzierungsmöglichkeiten für Cluster und ihre Mitglieder",
            "more information about funding opportunities for clusters",
            "The staff were very kind and the food was hot and tasty every single day",
            "ok",
        ];
        let plain = big.detect(&texts);
        assert_eq!(plain, Detector::new().detect(&texts));
        let dir = tempfile::tempdir().unwrap();
        let (quiet, bar) = (Progress::silent(), indicatif::ProgressBar::hidden());
        for _ in 0..2 {
            let mut c = Cache::open(dir.path()).unwrap();
            assert_eq!(
                big.detect_cached(&texts, &mut c, &bar, &quiet).unwrap(),
                plain
            );
        }
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
