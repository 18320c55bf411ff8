//! A zero-shot frame: each code recognised from its label and description alone (their
//! embedded text is the code's centroid), with one fixed cosine threshold.

use super::learned::{FrameModel, LearnedFrame, FORMAT, FORMAT_VERSION};
use super::Frame;
use crate::fit::{Classifier, FitError, Thresholds, ZERO_SHOT_THRESHOLD};
use crate::manifest::Manifest;

/// The frame's codes for `question`, coded from `label_vectors` (one unit vector per code, in
/// frame order: the embedded label and description).
pub fn zero_shot(
    frame: &Frame,
    question: Option<&str>,
    label_vectors: Vec<Vec<f32>>,
    model: FrameModel,
) -> Result<LearnedFrame, FitError> {
    let codes = frame.frame_codes(question);
    let classifier = Classifier::from_descriptions(label_vectors)?;
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
        manifest: Manifest::new("apply"),
        classifier,
    })
}
