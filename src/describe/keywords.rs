//! Keywords and typical answers: what a group of answers is about, in its own words.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::embed::tfidf::tokens;

/// Common words of the languages survey answers arrive in (English, German, French, Spanish,
/// Italian, Dutch), left out of keywords.
const STOP_WORDS: &str = "a about above after again all also am an and any are as at be because been before being \
below between both but by can could did do does doing down during each few for from further had has have having he \
her here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or \
other our out over own same she should so some such than that the their them then there these they this those \
through to too under until up very was we were what when where which while who whom why will with would you your \
would like maybe etc eg ie please think also lot lots get need want really much many well good better new \
der die das den dem des ein eine einer eines einem und oder aber auch als am an auf aus bei bin bis da dass durch \
für hat haben ich ihr im in ist mit nach nicht noch nur oder sich sie sind so über um und uns vom von vor war \
wie wir zu zum zur mehr sehr wäre gerne \
le la les un une des du de et ou mais aussi avec dans en est être je il elle nous vous ils pour par pas plus sur \
au aux ce ces cette qui que quoi se sont très comment \
el la los las un una unos unas y o pero con de del en es para por que se su sus al lo más muy como \
il lo gli di da per con su che non una uno \
het een en van op te dat die voor met zijn niet ook";

/// Keywords of each group by class-based TF-IDF: a term's frequency in the group times
/// `ln(1 + A / f)`, where `A` is the mean number of terms per group and `f` the term's
/// frequency over all groups. A keyword is a word found in at least two answers, so one
/// respondent's typo never describes a group — unless no word of the group is.
pub fn keywords(groups: &[Vec<&str>], top: usize) -> Vec<Vec<String>> {
    let stop: HashSet<&str> = STOP_WORDS.split_whitespace().collect();
    let mut answers_with: HashMap<String, usize> = HashMap::new();
    for t in groups.iter().flatten() {
        let words: HashSet<String> = tokens(t).collect();
        for w in words {
            *answers_with.entry(w).or_insert(0) += 1;
        }
    }
    let shared = |w: &str| answers_with.get(w).copied().unwrap_or(0) >= 2;
    let counts: Vec<BTreeMap<String, usize>> = groups
        .iter()
        .map(|texts| {
            let mut m = BTreeMap::new();
            for t in texts {
                for w in tokens(t) {
                    if !stop.contains(w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()) {
                        *m.entry(w).or_insert(0) += 1;
                    }
                }
            }
            m
        })
        .collect();
    let mut overall: HashMap<&str, usize> = HashMap::new();
    for m in &counts {
        for (w, c) in m {
            *overall.entry(w.as_str()).or_insert(0) += c;
        }
    }
    let total: usize = overall.values().sum();
    let mean = total as f64 / groups.len().max(1) as f64;
    counts
        .iter()
        .map(|m| {
            let size: usize = m.values().sum();
            let mut scored: Vec<(f64, &str)> = m
                .iter()
                .map(|(w, &c)| {
                    let f = overall.get(w.as_str()).copied().unwrap_or(1) as f64;
                    let tf = c as f64 / size.max(1) as f64;
                    (tf * (1.0 + mean / f).ln(), w.as_str())
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            let common: Vec<String> = scored
                .iter()
                .filter(|(_, w)| shared(w))
                .take(top)
                .map(|(_, w)| w.to_string())
                .collect();
            if !common.is_empty() {
                return common;
            }
            scored
                .into_iter()
                .take(top)
                .map(|(_, w)| w.to_string())
                .collect()
        })
        .collect()
}

/// Indices of up to `top` members closest to the centroid, one per distinct text
/// (ties by text). `members` are (index, text, cosine to centroid).
pub fn typical(members: &[(usize, &str, f32)], top: usize) -> Vec<usize> {
    let mut sorted: Vec<&(usize, &str, f32)> = members.iter().collect();
    sorted.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(b.1)).then(a.0.cmp(&b.0)));
    let mut seen = HashSet::new();
    sorted
        .into_iter()
        .filter(|m| seen.insert(m.1.trim().to_lowercase()))
        .take(top)
        .map(|m| m.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_favour_words_particular_to_a_group() {
        let g = vec![
            vec!["funding calls for clusters", "EU funding and grants"],
            vec!["slides of the presentations", "the presentations please"],
        ];
        let k = keywords(&g, 2);
        assert_eq!(k[0][0], "funding");
        assert_eq!(k[1][0], "presentations");
    }

    #[test]
    fn a_word_of_one_answer_is_no_keyword() {
        let g = vec![
            vec!["funding calls", "funding and grants thye", "grants"],
            vec!["slides bettter", "slides please", "the slides"],
        ];
        let k = keywords(&g, 5);
        assert!(!k[0].contains(&"thye".to_string()), "{k:?}");
        assert!(!k[1].contains(&"bettter".to_string()), "{k:?}");
        assert!(k[0].contains(&"funding".to_string()));
        // A group whose words are all unique still gets some.
        let k = keywords(&[vec!["recordings"], vec!["slides"]], 3);
        assert_eq!(k[0], vec!["recordings"]);
    }

    #[test]
    fn typical_answers_are_distinct_and_closest_first() {
        let m = [(0, "a", 0.5), (1, "b", 0.9), (2, "B", 0.9), (3, "c", 0.7)];
        assert_eq!(typical(&m, 3), vec![2, 3, 0]);
    }
}
