//! Errors: the cases where no agreement coefficient can be computed at all.

use thiserror::Error;

/// Why [`agree`](super::agree) or [`Codings::from_columns`](super::Codings::from_columns)
/// could not produce a result. A coefficient that merely cannot be computed
/// (e.g. only one code in use) is not an error: it is reported as `undefined`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AgreeError {
    #[error("agreement needs at least 2 coders, found {found}")]
    TooFewCoders { found: usize },

    #[error("no unit was coded by two or more coders, so there is nothing to compare")]
    NoPairableUnits,

    #[error("coder {name:?} appears more than once")]
    DuplicateCoder { name: String },

    #[error("invalid codings: {0}")]
    InvalidCodings(String),

    #[error("confidence must be strictly between 0 and 1, got {0}")]
    InvalidConfidence(f64),
}
