//! Learned code frame: the versioned JSON file `codeframe fit` writes and `codeframe apply`
//! reads — codes, embedding model, classifier, thresholds and how well it did in training.
//!
//! Layout: every field a person reads comes first, pretty-printed; the classifier's numbers come
//! last, on one line, so the file stays readable and its bytes stay the same when it is read and
//! written again.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Result};
use crate::fit::{CandidateReport, Classifier, MultiRule, Thresholds};
use crate::manifest::Manifest;

/// The `format` field of every learned frame.
pub const FORMAT: &str = "codeframe-frame";
/// The layout version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// One code of a learned frame; its position is the classifier's code index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameCode {
    /// Stable code id (from the frame, or made from the label).
    pub id: String,
    /// The label coders use.
    pub label: String,
    /// Topic group label, when the frame has one.
    pub group: Option<String>,
    /// What the code covers (from the frame; empty when learned from labels alone).
    pub description: String,
    /// Training answers with this code (0 for a zero-shot frame).
    pub n_train: usize,
    /// The code for non-answers (`nonanswers = true` in the TOML frame): answers `apply` sets
    /// aside as empty or non-substantive carry it, with their status kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nonanswers: bool,
}

/// The embedding model the frame's vectors come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameModel {
    /// Model name.
    pub name: String,
    /// Checksum over the model's files; `apply` refuses any other.
    pub checksum: String,
    /// f32, bf16 or int8.
    pub precision: String,
    /// Prompt prefix put before every text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

/// Cross-validated figures of the chosen classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Answers learned from.
    pub n: usize,
    /// Cross-validation folds.
    pub folds: usize,
    /// The chosen classifier's name.
    pub chosen: String,
    /// Out-of-fold accuracy.
    pub accuracy: Option<f64>,
    /// Out-of-fold macro-F1.
    pub macro_f1: Option<f64>,
    /// Out-of-fold Cohen's kappa against the human codes.
    pub kappa: Option<f64>,
    /// Out-of-fold accuracy of the 80% most confident answers.
    pub accuracy_at_80: Option<f64>,
    /// Share of out-of-fold answers the thresholds code automatically, each part of the answers
    /// judged by thresholds calibrated on the other parts (so the estimate never sees the
    /// answers its thresholds were chosen on).
    pub auto_coded_share: Option<f64>,
    /// Accuracy of those automatically coded answers, estimated the same way.
    pub auto_coded_accuracy: Option<f64>,
    /// 95% Wilson interval of `auto_coded_share`.
    #[serde(default)]
    pub auto_coded_share_ci: Option<(f64, f64)>,
    /// 95% Wilson interval of `auto_coded_accuracy`.
    #[serde(default)]
    pub auto_coded_accuracy_ci: Option<(f64, f64)>,
    /// Answers learned from per told language (ISO 639-1). Empty in frames that did not
    /// record it: then no answer is held back for its language.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, usize>,
    /// Every candidate tried, in order.
    pub candidates: Vec<CandidateReport>,
}

/// A learned (or zero-shot) code frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedFrame {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Frame name.
    pub name: String,
    /// The question the frame codes, when known.
    pub question: Option<String>,
    /// The codes, in classifier order.
    pub codes: Vec<FrameCode>,
    /// The embedding model.
    pub model: FrameModel,
    /// Training figures (absent for a zero-shot frame).
    pub training: Option<TrainingSummary>,
    /// Whether placeholders such as "nothing" or "n/a" get a code: true when the coders coded
    /// some in the training answers, false otherwise (they are then set aside).
    pub codes_placeholders: bool,
    /// Per-code confidence thresholds.
    pub thresholds: Thresholds,
    /// How `apply --multi` gives further codes, learned when the coders gave some answers
    /// several codes (absent: a fixed rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi: Option<MultiRule>,
    /// The run that made the frame: inputs' hashes, parameters, seed, tool version.
    pub manifest: Manifest,
    /// The classifier (last: its numbers are long).
    pub classifier: Classifier,
}

/// The fields a person reads, in file order (everything but the classifier).
#[derive(Serialize)]
struct Head<'a> {
    format: &'a str,
    format_version: u32,
    name: &'a str,
    question: &'a Option<String>,
    codes: &'a [FrameCode],
    model: &'a FrameModel,
    training: &'a Option<TrainingSummary>,
    codes_placeholders: bool,
    thresholds: &'a Thresholds,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi: &'a Option<MultiRule>,
    manifest: &'a Manifest,
}

/// Training answers in a language that let a frame code that language's answers on its own
/// (or a tenth of the training answers whose language was told, for small frames): below it,
/// its thresholds were calibrated on (next to) none of them.
pub const FITTED_LANGUAGE_MIN: usize = 10;

impl LearnedFrame {
    /// Whether answers in `language` (ISO 639-1; `None`: not told) may be coded without a
    /// person: always for a zero-shot frame or one that recorded no languages, otherwise when
    /// [`FITTED_LANGUAGE_MIN`] training answers, or a tenth of those whose language was told,
    /// were in it.
    pub fn fitted_on(&self, language: Option<&str>) -> bool {
        match (&self.training, language) {
            (Some(t), Some(l)) if !t.languages.is_empty() => {
                let n = t.languages.get(l).copied().unwrap_or(0);
                let told: usize = t.languages.values().sum();
                n >= FITTED_LANGUAGE_MIN || n * 10 >= told
            }
            _ => true,
        }
    }

    /// The file's bytes: the head pretty-printed, the classifier compact on the last line.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let head = Head {
            format: &self.format,
            format_version: self.format_version,
            name: &self.name,
            question: &self.question,
            codes: &self.codes,
            model: &self.model,
            training: &self.training,
            codes_placeholders: self.codes_placeholders,
            thresholds: &self.thresholds,
            multi: &self.multi,
            manifest: &self.manifest,
        };
        let json = |e| Error::Json {
            what: "code frame",
            source: e,
        };
        let mut out = serde_json::to_vec_pretty(&head).map_err(json)?;
        // Drop the closing brace and append the classifier inside the same object.
        while out.last().is_some_and(u8::is_ascii_whitespace) {
            out.pop();
        }
        if out.last() == Some(&b'}') {
            out.pop();
        }
        while out.last().is_some_and(u8::is_ascii_whitespace) {
            out.pop();
        }
        out.extend_from_slice(b",\n  \"classifier\": ");
        out.extend(serde_json::to_vec(&self.classifier).map_err(json)?);
        out.extend_from_slice(b"\n}\n");
        Ok(out)
    }

    /// Reads and checks a learned frame.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<LearnedFrame, InputError> {
        let frame: LearnedFrame = serde_json::from_slice(bytes).map_err(|e| {
            InputError::file(
                path,
                Some(e.line() as u64),
                format!("not a codeframe frame: {e}"),
                "pass a FRAME.json written by `codeframe fit`, or a frame .toml to code zero-shot",
            )
        })?;
        if frame.format != FORMAT || frame.format_version != FORMAT_VERSION {
            return Err(InputError::file(
                path,
                None,
                format!(
                    "frame format {} version {} is not {FORMAT} version {FORMAT_VERSION}",
                    frame.format, frame.format_version
                ),
                "refit the frame with this version of codeframe",
            ));
        }
        if frame.codes.len() != frame.classifier.n_codes()
            || frame.thresholds.codes.len() != frame.codes.len()
        {
            return Err(InputError::file(
                path,
                None,
                "the frame's codes, classifier and thresholds do not match",
                "refit the frame; it was edited or is damaged",
            ));
        }
        Ok(frame)
    }
}

/// Natural order of labels: runs of digits compare as numbers, so a numeric code book reads
/// 1, 2, 10, 13, 20 and not 1, 10, 13, 2, 20 (ties: plain text order).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a, b);
    loop {
        let (dx, dy) = (
            x.len() - x.trim_start_matches(|c: char| c.is_ascii_digit()).len(),
            y.len() - y.trim_start_matches(|c: char| c.is_ascii_digit()).len(),
        );
        let ord = match (dx, dy) {
            (0, 0) => {
                let (cx, cy) = (x.chars().next(), y.chars().next());
                match (cx, cy) {
                    (None, None) => return a.cmp(b),
                    (None, _) => return Ordering::Less,
                    (_, None) => return Ordering::Greater,
                    (Some(p), Some(q)) => {
                        x = &x[p.len_utf8()..];
                        y = &y[q.len_utf8()..];
                        p.cmp(&q)
                    }
                }
            }
            (0, _) => Ordering::Greater,
            (_, 0) => Ordering::Less,
            _ => {
                let (nx, ny) = (
                    x[..dx].trim_start_matches('0'),
                    y[..dy].trim_start_matches('0'),
                );
                x = &x[dx..];
                y = &y[dy..];
                nx.len().cmp(&ny.len()).then(nx.cmp(ny))
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// A code id made from a label: lower case, runs of other characters as `-`.
pub fn slug(label: &str) -> String {
    let mut s = String::new();
    for c in label.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        "code".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::ThresholdSource;

    fn frame() -> LearnedFrame {
        LearnedFrame {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            name: "t".into(),
            question: Some("q7".into()),
            codes: vec![
                FrameCode {
                    id: "a".into(),
                    label: "A".into(),
                    group: None,
                    description: String::new(),
                    n_train: 2,
                    nonanswers: false,
                },
                FrameCode {
                    id: "b".into(),
                    label: "B".into(),
                    group: Some("G".into()),
                    description: "bee".into(),
                    n_train: 1,
                    nonanswers: false,
                },
            ],
            model: FrameModel {
                name: "m".into(),
                checksum: "c".into(),
                precision: "f32".into(),
                prefix: String::new(),
            },
            training: None,
            codes_placeholders: false,
            thresholds: Thresholds::uniform(2, 0.3),
            multi: None,
            manifest: Manifest::new("fit"),
            classifier: Classifier::from_descriptions(
                vec![vec![0.6, 0.8], vec![1.0 / 3.0, (8.0f32 / 9.0).sqrt()]],
                0.0,
            )
            .unwrap(),
        }
    }

    #[test]
    fn bytes_are_stable_under_rereading() {
        let f = frame();
        let bytes = f.to_bytes().unwrap();
        let back = LearnedFrame::parse(Path::new("f.json"), &bytes).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.to_bytes().unwrap(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[lines.len() - 2].starts_with("  \"classifier\": {"));
        assert_eq!(lines[lines.len() - 1], "}");
        assert_eq!(f.thresholds.codes[0].source, ThresholdSource::Fixed);
    }

    #[test]
    fn refuses_other_files() {
        let p = Path::new("f.json");
        assert!(LearnedFrame::parse(p, b"{}").is_err());
        let mut f = frame();
        f.format_version = 99;
        let e = LearnedFrame::parse(p, &f.to_bytes().unwrap()).unwrap_err();
        assert!(e.fix.contains("refit"));
        let mut f = frame();
        f.codes.pop();
        assert!(LearnedFrame::parse(p, &f.to_bytes().unwrap()).is_err());
    }

    #[test]
    fn numeric_code_books_sort_as_numbers() {
        let mut codes = vec!["10", "2", "1", "13", "20", "Other", "3a", "3", "03"];
        codes.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            codes,
            ["1", "2", "03", "3", "3a", "10", "13", "20", "Other"]
        );
        assert_eq!(natural_cmp("Code 9", "Code 10"), std::cmp::Ordering::Less);
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Financing and funding opportunities"),
            "financing-and-funding-opportunities"
        );
        assert_eq!(slug("(List of) resources/links"), "list-of-resources-links");
        assert_eq!(slug("??"), "code");
    }
}
