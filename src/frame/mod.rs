//! Code frames: the TOML file a person writes (questions, topic groups, codes with labels and
//! descriptions; format in data/eccp-2020/README.md), the learned JSON frame, and the stages
//! that fit one from coded answers and apply it to a new wave.

pub mod apply;
pub mod fit;
pub mod learned;
pub mod parts;
pub mod zero_shot;

use std::path::Path;

use serde::Deserialize;

use crate::error::{InputError, Result};
use crate::fsio;

use learned::FrameCode;

/// A code frame.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Frame {
    /// Name and source.
    #[serde(default)]
    pub frame: FrameInfo,
    /// Questions the frame covers.
    #[serde(default)]
    pub questions: Vec<Question>,
    /// Topic groups that codes belong to.
    #[serde(default)]
    pub groups: Vec<TopicGroup>,
    /// The codes.
    #[serde(default)]
    pub codes: Vec<Code>,
}

/// `[frame]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct FrameInfo {
    /// Name of the frame.
    #[serde(default)]
    pub name: String,
    /// Where it comes from.
    #[serde(default)]
    pub source: String,
}

/// `[[questions]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Question {
    /// Short id, e.g. `q7`.
    pub id: String,
    /// Question text.
    #[serde(default)]
    pub text: String,
    /// Answers file name, used to pick the question for an input.
    #[serde(default)]
    pub file: Option<String>,
}

/// `[[groups]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TopicGroup {
    /// Id.
    pub id: String,
    /// Question id.
    #[serde(default)]
    pub question: Option<String>,
    /// Label.
    pub label: String,
    /// What belongs here.
    #[serde(default)]
    pub description: String,
}

/// `[[codes]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Code {
    /// Id.
    pub id: String,
    /// Question id.
    #[serde(default)]
    pub question: Option<String>,
    /// Label (what coders write).
    pub label: String,
    /// Topic group id.
    #[serde(default)]
    pub group: Option<String>,
    /// What belongs here.
    #[serde(default)]
    pub description: String,
    /// The code coders give non-answers (blank, "n/a", "no idea"): answers codeframe sets aside
    /// as empty or non-substantive are reported under it. At most one per question.
    #[serde(default)]
    pub nonanswers: bool,
}

/// A name a discovered group can take: a code or a topic group.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Label.
    pub label: String,
    /// Text embedded to match answers against: label and description.
    pub text: String,
}

impl Frame {
    /// Reads and checks a frame file.
    pub fn read(path: &Path) -> Result<Frame> {
        let bytes = fsio::read(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            InputError::file(
                path,
                None,
                "the frame is not UTF-8",
                "save the frame file as UTF-8",
            )
        })?;
        Ok(Frame::parse(path, text)?)
    }

    /// Parses frame TOML; `path` names the file in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Frame, InputError> {
        let frame: Frame = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count() as u64);
            InputError::file(
                path,
                line,
                format!("not a valid code frame: {}", e.message()),
                "follow the frame format in data/eccp-2020/README.md",
            )
        })?;
        if frame.codes.is_empty() {
            return Err(InputError::file(
                path,
                None,
                "the frame has no [[codes]]",
                "list the codes, each with id, label and description",
            ));
        }
        for c in &frame.codes {
            if let Some(g) = &c.group {
                if !frame.groups.iter().any(|t| &t.id == g) {
                    return Err(InputError::file(
                        path,
                        None,
                        format!(
                            "code \"{}\" names group \"{g}\", which is not defined",
                            c.id
                        ),
                        "add the [[groups]] entry or fix the code's group",
                    ));
                }
            }
        }
        check_unique(path, text, &frame)?;
        let mut seen: Vec<Option<&str>> = Vec::new();
        for c in frame.codes.iter().filter(|c| c.nonanswers) {
            let q = c.question.as_deref();
            if seen.contains(&q) {
                return Err(InputError::file(
                    path,
                    None,
                    format!(
                        "more than one code of question \"{}\" has nonanswers = true (\"{}\" is the second)",
                        q.unwrap_or("(none)"),
                        c.id
                    ),
                    "mark one code per question as the code for non-answers",
                ));
            }
            seen.push(q);
        }
        Ok(frame)
    }

    /// Reads a frame and finds the question `input` answers ([`Frame::question_for`]).
    pub fn read_for(
        path: &Path,
        wanted: Option<&str>,
        input: &Path,
    ) -> Result<(Frame, Option<String>)> {
        let f = Frame::read(path)?;
        let q = f.question_for(path, wanted, input)?;
        Ok((f, q))
    }

    /// The question an answers file belongs to: `wanted` if given, else the one whose `file`
    /// is the input's file name, else the only one.
    pub fn question_for(
        &self,
        path: &Path,
        wanted: Option<&str>,
        input: &Path,
    ) -> Result<Option<String>, InputError> {
        let ids: Vec<&str> = self.questions.iter().map(|q| q.id.as_str()).collect();
        if let Some(w) = wanted {
            return if ids.contains(&w)
                || (ids.is_empty() && self.codes.iter().any(|c| c.question.as_deref() == Some(w)))
            {
                Ok(Some(w.to_string()))
            } else {
                Err(InputError::file(
                    path,
                    None,
                    format!("the frame has no question \"{w}\""),
                    format!("pass --question with one of: {}", ids.join(", ")),
                ))
            };
        }
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(q) = self
            .questions
            .iter()
            .find(|q| q.file.as_deref() == Some(name))
        {
            return Ok(Some(q.id.clone()));
        }
        match ids.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.to_string())),
            _ => Err(InputError::file(
                path,
                None,
                format!("the frame covers several questions ({})", ids.join(", ")),
                "pass --question to say which one the answers belong to",
            )),
        }
    }

    /// Names for discovered groups: the question's codes, or its topic groups.
    pub fn candidates(&self, question: Option<&str>, topic_groups: bool) -> Vec<Candidate> {
        let of_question = |q: &Option<String>| question.is_none() || q.as_deref() == question;
        let describe = |label: &str, description: &str| {
            if description.is_empty() {
                label.to_string()
            } else {
                format!("{label}. {description}")
            }
        };
        if topic_groups {
            self.groups
                .iter()
                .filter(|g| of_question(&g.question))
                .map(|g| Candidate {
                    label: g.label.clone(),
                    text: describe(&g.label, &g.description),
                })
                .collect()
        } else {
            self.codes
                .iter()
                .filter(|c| of_question(&c.question))
                .map(|c| Candidate {
                    label: c.label.clone(),
                    text: describe(&c.label, &c.description),
                })
                .collect()
        }
    }

    /// The question's codes as a learned frame lists them (frame order; no training counts).
    pub fn frame_codes(&self, question: Option<&str>) -> Vec<FrameCode> {
        self.codes
            .iter()
            .filter(|c| question.is_none() || c.question.as_deref() == question)
            .map(|c| FrameCode {
                id: c.id.clone(),
                label: c.label.clone(),
                group: self.group_of(&c.label, question).map(str::to_string),
                description: c.description.clone(),
                n_train: 0,
                nonanswers: c.nonanswers,
            })
            .collect()
    }

    /// The code the frame gives non-answers for `question` (`nonanswers = true`), if any.
    pub fn nonanswer_code(&self, question: Option<&str>) -> Option<&Code> {
        self.codes
            .iter()
            .find(|c| c.nonanswers && (question.is_none() || c.question.as_deref() == question))
    }

    /// The topic group label of a code label, when it has one.
    pub fn group_of(&self, code_label: &str, question: Option<&str>) -> Option<&str> {
        let code = self.codes.iter().find(|c| {
            c.label == code_label && (question.is_none() || c.question.as_deref() == question)
        })?;
        let gid = code.group.as_deref()?;
        self.groups
            .iter()
            .find(|g| g.id == gid)
            .map(|g| g.label.as_str())
    }
}

/// Refuses a code id used twice, or a label used twice within one question: coders, fit and
/// apply tell codes apart by them.
fn check_unique(path: &Path, text: &str, frame: &Frame) -> Result<(), InputError> {
    let mut ids: Vec<&str> = Vec::new();
    let mut labels: Vec<(Option<&str>, &str)> = Vec::new();
    for c in &frame.codes {
        if ids.contains(&c.id.as_str()) {
            return Err(InputError::file(
                path,
                line_of_entry(text, "id", &c.id, 2),
                format!("the code id \"{}\" is used twice", c.id),
                "give every [[codes]] entry its own id",
            ));
        }
        ids.push(&c.id);
        let key = (c.question.as_deref(), c.label.as_str());
        if labels.contains(&key) {
            return Err(InputError::file(
                path,
                line_of_entry(text, "label", &c.label, 2),
                format!(
                    "the label \"{}\" is used by two codes of question \"{}\"",
                    c.label,
                    c.question.as_deref().unwrap_or("(none)")
                ),
                "give each code of a question its own label",
            ));
        }
        labels.push(key);
    }
    Ok(())
}

/// The 1-based line of the `nth` line of the form `key = "value"` (either quote), if found.
fn line_of_entry(text: &str, key: &str, value: &str, nth: usize) -> Option<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let Some((k, v)) = l.split_once('=') else {
                return false;
            };
            let v = v.trim();
            k.trim() == key
                && [format!("\"{value}\""), format!("'{value}'")].contains(&v.to_string())
        })
        .nth(nth.saturating_sub(1))
        .map(|(i, _)| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[frame]
name = "t"
[[questions]]
id = "q1"
file = "a.csv"
[[questions]]
id = "q2"
[[groups]]
id = "g"
question = "q1"
label = "Money matters"
description = "All about money."
[[codes]]
id = "fin"
question = "q1"
label = "Financing"
group = "g"
description = "Funding."
[[codes]]
id = "rec"
question = "q2"
label = "Recordings"
[[codes]]
id = "none"
question = "q2"
label = "No answer"
nonanswers = true
"#;

    #[test]
    fn parses_and_picks_questions() {
        let f = Frame::parse(Path::new("f.toml"), TOML).unwrap();
        assert_eq!(f.codes.len(), 3);
        assert_eq!(f.nonanswer_code(Some("q1")), None);
        assert_eq!(
            f.nonanswer_code(Some("q2")).map(|c| c.label.as_str()),
            Some("No answer")
        );
        let q = f
            .question_for(Path::new("f.toml"), None, Path::new("dir/a.csv"))
            .unwrap();
        assert_eq!(q.as_deref(), Some("q1"));
        assert!(f
            .question_for(Path::new("f.toml"), None, Path::new("b.csv"))
            .is_err());
        assert!(f
            .question_for(Path::new("f.toml"), Some("q9"), Path::new("b.csv"))
            .is_err());
        let c = f.candidates(Some("q1"), false);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].text, "Financing. Funding.");
        assert_eq!(f.candidates(Some("q1"), true)[0].label, "Money matters");
        assert_eq!(f.group_of("Financing", Some("q1")), Some("Money matters"));
    }

    #[test]
    fn bad_frames_name_the_line() {
        let e = Frame::parse(Path::new("f.toml"), "[[codes]]\nid = 3\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = Frame::parse(Path::new("f.toml"), "[frame]\nname='x'\n").unwrap_err();
        assert!(e.problem.contains("no [[codes]]"));
        let e = Frame::parse(
            Path::new("f.toml"),
            "[[codes]]\nid='a'\nlabel='A'\ngroup='nope'\n",
        )
        .unwrap_err();
        assert!(e.problem.contains("nope"));
        let e = Frame::parse(
            Path::new("f.toml"),
            "[[codes]]\nid='a'\nlabel='A'\nnonanswers=true\n[[codes]]\nid='b'\nlabel='B'\nnonanswers=true\n",
        )
        .unwrap_err();
        assert!(e.problem.contains("more than one code"), "{}", e.problem);
        let e = Frame::parse(
            Path::new("f.toml"),
            "[[codes]]\nid = \"financing\"\nlabel='A'\n[[codes]]\nid = \"financing\"\nlabel='B'\n",
        )
        .unwrap_err();
        assert!(e.problem.contains("used twice"), "{}", e.problem);
        assert_eq!(e.line, Some(5));
        let e = Frame::parse(
            Path::new("f.toml"),
            "[[codes]]\nid='a'\nlabel = 'A'\n[[codes]]\nid='b'\nlabel = 'A'\n",
        )
        .unwrap_err();
        assert!(e.problem.contains("two codes"), "{}", e.problem);
        assert_eq!(e.line, Some(6));
        // The same label under two questions is fine (Q7 and Q8 both have "Other").
        assert!(Frame::parse(
            Path::new("f.toml"),
            "[[codes]]\nid='a'\nquestion='q1'\nlabel='Other'\n[[codes]]\nid='b'\nquestion='q2'\nlabel='Other'\n",
        )
        .is_ok());
    }

    #[test]
    fn the_bundled_eccp_frame_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/eccp-2020/frame.toml");
        let f = Frame::read(&path).unwrap();
        assert_eq!(f.candidates(Some("q7"), false).len(), 15);
        assert_eq!(f.candidates(Some("q7"), true).len(), 6);
        assert_eq!(f.candidates(Some("q8"), false).len(), 9);
        assert_eq!(
            f.nonanswer_code(Some("q7")).map(|c| c.id.as_str()),
            Some("q7-other")
        );
        assert_eq!(
            f.nonanswer_code(Some("q8")).map(|c| c.id.as_str()),
            Some("q8-other")
        );
    }
}
