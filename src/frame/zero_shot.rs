//! A zero-shot frame: each code recognised from its label and description alone (their
//! embedded text is the code's centroid), coded when the best code stands out from the rest
//! (a margin share, the same for every model) and clears the model's cosine floor.

use super::learned::{FrameModel, LearnedFrame, FORMAT, FORMAT_VERSION};
use super::Frame;
use crate::fit::{Classifier, FitError, Thresholds, ZERO_SHOT_THRESHOLD};
use crate::manifest::Manifest;

/// The frame's codes for `question`, coded from `label_vectors` (one unit vector per code, in
/// frame order: the embedded label and description); `min_cosine` is the model's floor
/// ([`crate::embed::spec::ModelSpec::zero_shot_min_cosine`]).
pub fn zero_shot(
    frame: &Frame,
    question: Option<&str>,
    label_vectors: Vec<Vec<f32>>,
    model: FrameModel,
    min_cosine: f32,
) -> Result<LearnedFrame, FitError> {
    let codes = frame.frame_codes(question);
    let classifier = Classifier::from_descriptions(label_vectors, min_cosine)?;
    let n = codes.len();
    Ok(LearnedFrame {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: frame.frame.name.clone(),
        question: question.map(str::to_string),
        codes,
        model,
        training: None,
        codes_placeholders: false,
        thresholds: Thresholds::uniform(n, ZERO_SHOT_THRESHOLD),
        multi: None,
        manifest: Manifest::new("apply"),
        classifier,
    })
}
