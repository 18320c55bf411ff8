//! Status of an answer in every output: coded, grouped, or why it was not.
//!
//! One closed set, written as the same words in every table (`assignments.csv`, the summaries,
//! the report) and read back as the enum, never recognised by a label convention.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What happened to one input row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Grouped by discover.
    #[serde(rename = "clustered")]
    Clustered,
    /// Coded by apply with a code whose threshold it passed.
    #[serde(rename = "coded")]
    Coded,
    /// Scored by apply below its best code's threshold: the code is a suggestion.
    #[serde(rename = "below threshold")]
    BelowThreshold,
    /// In a language the model does not cover: its group or code is only a suggestion, for a
    /// person to check.
    #[serde(rename = "unsupported language")]
    UnsupportedLanguage,
    /// In a language the frame's training answers (almost) never used: its thresholds were
    /// never checked on that language, so its code is only a suggestion, for a person to check.
    #[serde(rename = "new language")]
    NewLanguage,
    /// Nothing but white space.
    #[serde(rename = "empty")]
    Empty,
    /// A placeholder that says nothing ("n/a", "-", "no idea", …).
    #[serde(rename = "non-substantive")]
    NonSubstantive,
    /// A blank cell of a survey file with several questions: the respondent did not answer
    /// this question, so the row stays out of the question's base and of any code.
    #[serde(rename = "no answer")]
    NoAnswer,
}

impl Status {
    /// Every status, in the order tables list them.
    pub const ALL: [Status; 8] = [
        Status::Clustered,
        Status::Coded,
        Status::BelowThreshold,
        Status::UnsupportedLanguage,
        Status::NewLanguage,
        Status::Empty,
        Status::NonSubstantive,
        Status::NoAnswer,
    ];

    /// The word written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Clustered => "clustered",
            Status::Coded => "coded",
            Status::BelowThreshold => "below threshold",
            Status::UnsupportedLanguage => "unsupported language",
            Status::NewLanguage => "new language",
            Status::Empty => "empty",
            Status::NonSubstantive => "non-substantive",
            Status::NoAnswer => "no answer",
        }
    }

    /// Whether the answer was set aside before grouping or coding (no code of its own).
    pub fn is_set_aside(self) -> bool {
        matches!(
            self,
            Status::Empty | Status::NonSubstantive | Status::NoAnswer
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("\"{s}\" is not a status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_text_and_json() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
        assert!("(coded)".parse::<Status>().is_err());
    }
}
