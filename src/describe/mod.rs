//! Describe: what answers are about — class-based TF-IDF keywords and typical answers, names
//! from a code frame with their match scores, the groups discover reports, and candidate new
//! codes among the answers a frame could not code.

pub mod candidates;
pub mod discovery;
pub mod keywords;
pub mod naming;

pub use candidates::candidate_codes;
pub use discovery::{
    discovery, frame_labels, frame_names, Assignment, Discovery, Group, LabelSet, Names,
};
pub use keywords::{keywords, typical};
pub use naming::{name_groups, Naming, WEAK_MATCH};
