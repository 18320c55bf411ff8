//! Non-substantive answers: blanks, dashes, "n/a", "none", "no idea", "?" and the same in the
//! main European languages are set aside with a reason instead of being grouped.

use crate::status::Status;

/// Why an answer was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAside {
    /// Nothing but white space.
    Empty,
    /// A placeholder that says nothing ("n/a", "-", "no idea", …).
    NonSubstantive,
}

impl SetAside {
    /// The status it gives the answer in outputs.
    pub fn status(self) -> Status {
        match self {
            SetAside::Empty => Status::Empty,
            SetAside::NonSubstantive => Status::NonSubstantive,
        }
    }
}

/// Placeholders, lower-cased, with punctuation and spacing folded away.
const PLACEHOLDERS: &[&str] = &[
    // English
    "na",
    "n a",
    "none",
    "nothing",
    "no",
    "nope",
    "nil",
    "null",
    "no idea",
    "dont know",
    "don t know",
    "do not know",
    "not sure",
    "unsure",
    "no comment",
    "no comments",
    "not applicable",
    "nothing specific",
    "nothing in particular",
    "no suggestions",
    "no suggestion",
    // Survey tools' and coders' codes for a missing answer: <DK>, <RF>, DK/NA, "refused", …
    "dk",
    "rf",
    "dk rf",
    "dk na",
    "dkna",
    "na dk",
    "nr",
    "refused",
    "refuse",
    "refused to answer",
    "refused to say",
    "prefer not to say",
    "prefer not to answer",
    "rather not say",
    "don t know refused",
    "dont know refused",
    "dunno",
    "no answer",
    "no response",
    "skipped",
    "missing",
    "i don t know",
    "i dont know",
    "i do not know",
    "not known",
    "none at the moment",
    "nothing at the moment",
    "no idea at the moment",
    "idk",
    "tbd",
    "x",
    "xx",
    "xxx",
    // German
    "keine",
    "keiner",
    "keins",
    "nichts",
    "k a",
    "ka",
    "keine ahnung",
    "weiss nicht",
    "weiß nicht",
    "keine angabe",
    "keine angaben",
    "nein",
    // French
    "aucun",
    "aucune",
    "rien",
    "je ne sais pas",
    "sans avis",
    "sans objet",
    "non",
    "pas d idee",
    "pas d idée",
    // Spanish
    "ninguno",
    "ninguna",
    "nada",
    "no se",
    "no sé",
    "ns nc",
    "sin comentarios",
    // Italian
    "nessuno",
    "nessuna",
    "niente",
    "non so",
    // Dutch
    "geen",
    "niets",
    "nvt",
    "geen idee",
    "weet niet",
    // Polish, Portuguese
    "brak",
    "nie wiem",
    "nenhum",
    "nenhuma",
    "não sei",
];

/// Lower-cases and replaces every run of non-alphanumeric characters by one space.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            space = false;
        } else {
            space = true;
        }
    }
    out
}

/// Whether an answer is set aside, and why; `None` for an answer to group.
pub fn set_aside(text: &str) -> Option<SetAside> {
    if text.trim().is_empty() {
        return Some(SetAside::Empty);
    }
    let folded = fold(text);
    if folded.is_empty() || PLACEHOLDERS.contains(&folded.as_str()) {
        return Some(SetAside::NonSubstantive);
    }
    None
}

/// The rows to group or code — every answer not set aside — in a canonical order (by text,
/// then row) so that row order cannot change the result, and how many distinct texts they hold.
pub fn substantive_rows(texts: &[&str]) -> (Vec<usize>, usize) {
    let mut keep: Vec<usize> = (0..texts.len())
        .filter(|&i| set_aside(texts[i]).is_none())
        .collect();
    keep.sort_by(|&a, &b| texts[a].cmp(texts[b]).then(a.cmp(&b)));
    let mut distinct = keep.len();
    for w in keep.windows(2) {
        if texts[w[0]] == texts[w[1]] {
            distinct -= 1;
        }
    }
    (keep, distinct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_set_aside() {
        for t in [
            "",
            "  ",
            "-",
            "?",
            "n/a",
            "N/A.",
            "None",
            "no idea",
            "Keine Ahnung",
            "rien",
            "nada",
            "...",
            "k.A.",
            "<DK>",
            "<RF>",
            "DK",
            "rf",
            "DK/RF",
            "Refused",
            "Don’t know",
            "I don't know",
            "prefer not to say",
        ] {
            assert!(set_aside(t).is_some(), "{t:?}");
        }
        assert_eq!(set_aside(" "), Some(SetAside::Empty));
        assert_eq!(set_aside("n/a"), Some(SetAside::NonSubstantive));
    }

    #[test]
    fn short_real_answers_are_kept() {
        for t in [
            "Recordings",
            "slides",
            "no more webinars on funding",
            "AI",
            "Finanzierung",
        ] {
            assert_eq!(set_aside(t), None, "{t:?}");
        }
    }
}
