//! `codeframe fit`: coded answers in, a learned frame (classifier, thresholds, figures) out.

use super::BuildEmbedder;
use crate::config::FitSettings;
use crate::error::{Error, InputError, Result};
use crate::fit::FitError;
use crate::frame::fit::{learn, training_set, FitOptions, TrainingError};
use crate::frame::learned::{FrameModel, LearnedFrame, FORMAT, FORMAT_VERSION};
use crate::frame::Frame;
use crate::fsio;
use crate::ingest;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::rundir;

fn fit_error(path: &std::path::Path, e: FitError) -> Error {
    InputError::file(
        path,
        None,
        format!("cannot learn a frame: {e}"),
        "code at least two different codes, each on some answers",
    )
    .into()
}

/// "37% [30%, 44%]" (percent) or "0.912 [0.880, 0.936]".
pub fn share_with_interval(v: Option<f64>, ci: Option<(f64, f64)>, percent: bool) -> String {
    let f = |x: f64| {
        if percent {
            format!("{:.0}%", 100.0 * x)
        } else {
            format!("{x:.3}")
        }
    };
    match (v, ci) {
        (Some(v), Some((lo, hi))) => format!("{} [{}, {}]", f(v), f(lo), f(hi)),
        (Some(v), None) => f(v),
        _ => "-".into(),
    }
}

fn f3(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}

/// Reads the coded answers (one read gives answers and codes), embeds them, cross-validates
/// the candidate classifiers, calibrates thresholds and writes the frame.
pub fn run(s: &FitSettings, build: BuildEmbedder, progress: &Progress) -> Result<LearnedFrame> {
    let frame = match &s.frame {
        Some(path) => Some(Frame::read_for(path, s.question.as_deref(), &s.input)?),
        None => None,
    };
    let table = rundir::read_table(&s.input)?;
    let label_idx = table.column(&s.label_column, "--label-column")?;
    let labels: Vec<String> = table
        .records
        .iter()
        .map(|r| {
            r.fields
                .get(label_idx)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        })
        .collect();
    let answers = ingest::answers_from_table(table, &s.columns)?;
    for w in &answers.warnings {
        progress.warn(w);
    }
    let set = training_set(
        frame.as_ref().map(|(f, q)| (f, q.as_deref())),
        &answers,
        &labels,
    )
    .map_err(|e| match e {
        TrainingError::UnknownCode { line, .. } => InputError::file(
            &s.input,
            Some(line),
            e.to_string(),
            "add it to the frame's [[codes]], or correct the label",
        ),
        TrainingError::TooFewCodes => InputError::file(
            &s.input,
            None,
            format!("{e} in column \"{}\"", s.label_column),
            "check --label-column; a frame needs answers coded with at least two codes",
        ),
    })?;

    let mut loaded = build(&s.embedding)?;
    let mut manifest = Manifest::new("fit");
    loaded.record(&mut manifest);
    let model = loaded.model.clone().ok_or_else(|| {
        Error::from(InputError::flag(
            "a frame needs the sentence-embedding model",
            "use --embedder minilm",
        ))
    })?;
    let texts: Vec<&str> = set
        .rows
        .iter()
        .map(|&i| answers.rows[i].text.as_str())
        .collect();
    let (vectors, summary) = loaded.embed(&texts, progress)?;
    progress.say(format!("fit: embedded {summary}"));
    let opts = FitOptions {
        folds: s.folds,
        target_precision: s.target_precision,
        seed: s.seed,
    };
    let folds = s.folds.min(set.rows.len());
    progress.say(format!(
        "fit: {} coded answers ({} of them placeholders such as \"nothing\"; {} uncoded and {} \
         empty left out), {} codes; {folds}-fold cross-validation of each classifier:",
        set.rows.len(),
        set.placeholders,
        set.uncoded,
        set.empty,
        set.codes.len()
    ));
    let spin = progress.spinner("cross-validating classifiers");
    let learned = learn(&set, (&vectors.data, vectors.dim), opts, &mut |r, t| {
        progress.say(format!(
            "  {:<34} accuracy {}  macro-F1 {}  kappa {}  ({:.1} s)",
            r.name,
            f3(r.accuracy),
            f3(r.macro_f1),
            f3(r.kappa),
            t.as_secs_f64()
        ));
    })
    .map_err(|e| fit_error(&s.input, e))?;
    spin.finish_and_clear();

    manifest.input(&s.input, &answers.sha256);
    if let Some(p) = &s.frame {
        manifest.input_file(p)?;
    }
    manifest.seed = Some(s.seed);
    manifest
        .param("text_column", s.columns.text_column.as_str())
        .param("label_column", s.label_column.as_str())
        .param("folds", folds)
        .param("target_precision", s.target_precision);
    manifest.outputs.push(s.out.display().to_string());
    let name = match &frame {
        Some((f, _)) => f.frame.name.clone(),
        None => s
            .input
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "frame".into()),
    };
    let t = learned.training.clone();
    let frame_file = LearnedFrame {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name,
        question: frame.as_ref().and_then(|(_, q)| q.clone()),
        codes: set.codes,
        model: FrameModel {
            name: model.name,
            checksum: model.checksum,
            precision: s.embedding.precision().to_string(),
        },
        training: Some(learned.training),
        codes_placeholders: set.placeholders > 0,
        thresholds: learned.thresholds,
        manifest,
        classifier: learned.classifier,
    };
    fsio::create_parent_dir(&s.out)?;
    fsio::write_output(&s.out, &frame_file.to_bytes()?)?;
    progress.say(format!(
        "fit: chose {} — cross-validated accuracy {}, macro-F1 {}, kappa {}, accuracy of the \
         80% most confident {}; thresholds (precision {:.2}) code {} of answers automatically \
         at accuracy {} (estimated out of fold, 95% intervals)",
        t.chosen,
        f3(t.accuracy),
        f3(t.macro_f1),
        f3(t.kappa),
        f3(t.accuracy_at_80),
        s.target_precision,
        share_with_interval(t.auto_coded_share, t.auto_coded_share_ci, true),
        share_with_interval(t.auto_coded_accuracy, t.auto_coded_accuracy_ci, false),
    ));
    progress.say(format!("fit: wrote {}", s.out.display()));
    Ok(frame_file)
}
