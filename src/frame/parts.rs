//! The parts of an answer that names several things ("slides and the recording, plus a list of
//! links"): `apply --multi` codes each part too, so every part's topic can get its code.

/// Parts of one answer coded at most (the first ones): long stories are not cut into dozens.
pub const MAX_PARTS: usize = 8;

/// Words that join two topics in the survey languages seen most, matched whole and
/// case-blind: "plus", "as well as", "and also", "also", "und", "sowie", "et", "ainsi que", "y".
const JOINERS: [&str; 9] = [
    "plus",
    "as well as",
    "and also",
    "also",
    "und",
    "sowie",
    "et",
    "ainsi que",
    "y",
];

/// A part needs this many letters to be coded on its own.
const MIN_LETTERS: usize = 3;

fn letters(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphabetic()).count()
}

/// Splits at sentence ends, semicolons, commas, line breaks, `+`, `&`, `/` between spaces and
/// the joining words; parts with fewer than three letters are dropped. An answer of one part
/// gives no parts (its whole text is coded anyway).
pub fn split_parts(text: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let spaced = |j: usize| chars.get(j).is_none_or(|c| c.is_whitespace());
        let cut = match c {
            '.' | '!' | '?' => spaced(i + 1),
            ';' | ',' | '\n' | '\r' | '+' => true,
            '&' | '/' => i > 0 && spaced(i - 1) && spaced(i + 1),
            _ => false,
        };
        if cut {
            pieces.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    pieces.push(cur);
    let mut parts: Vec<String> = pieces.iter().flat_map(|p| split_joiners(p)).collect();
    parts.retain(|p| letters(p) >= MIN_LETTERS);
    parts.truncate(MAX_PARTS);
    if parts.len() < 2 {
        return Vec::new();
    }
    parts
}

/// Splits one piece at the joining words.
fn split_joiners(piece: &str) -> Vec<String> {
    let words: Vec<&str> = piece.split_whitespace().collect();
    let mut out = vec![String::new()];
    let mut i = 0;
    while i < words.len() {
        let joiner = JOINERS.iter().find_map(|j| {
            let n = j.split(' ').count();
            let here = words.get(i..i + n)?;
            let same = here
                .iter()
                .zip(j.split(' '))
                .all(|(w, jw)| w.eq_ignore_ascii_case(jw));
            same.then_some(n)
        });
        match joiner {
            Some(n) => {
                out.push(String::new());
                i += n;
            }
            None => {
                if let Some(last) = out.last_mut() {
                    if !last.is_empty() {
                        last.push(' ');
                    }
                    last.push_str(words[i]);
                }
                i += 1;
            }
        }
    }
    out.into_iter().map(|p| p.trim().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_two_topic_answer() {
        assert_eq!(
            split_parts("slides and the recording, plus a list of links"),
            vec!["slides and the recording", "a list of links"]
        );
        assert_eq!(
            split_parts("the presentations + recording"),
            vec!["the presentations", "recording"]
        );
        assert_eq!(
            split_parts("Präsentationen und Aufzeichnung"),
            vec!["Präsentationen", "Aufzeichnung"]
        );
    }

    #[test]
    fn one_part_or_fragments_give_none() {
        assert!(split_parts("funding opportunities for clusters").is_empty());
        assert!(split_parts("n/a").is_empty());
        assert!(split_parts("ok, -").is_empty());
        // Decimal points and abbreviations without a following space do not cut.
        assert!(split_parts("industry 4.0 for SMEs").is_empty());
    }

    #[test]
    fn keeps_at_most_the_first_parts() {
        let long = (0..20)
            .map(|i| format!("topic{i}"))
            .collect::<Vec<_>>()
            .join("; ");
        assert_eq!(split_parts(&long).len(), MAX_PARTS);
    }
}
