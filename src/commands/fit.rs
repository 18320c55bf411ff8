//! `codeframe fit`: coded answers in, a learned frame (classifier, thresholds, figures) out.

use std::path::Path;

use super::BuildEmbedder;
use crate::config::{FitSettings, QuestionRun};
use crate::error::{Error, InputError, Result};
use crate::fit::{CandidateReport, MultiRule};
use crate::frame::fit::{learn, training_set, FitOptions, TrainingError, TrainingSet};
use crate::frame::learned::{FrameModel, LearnedFrame, TrainingSummary, FORMAT, FORMAT_VERSION};
use crate::frame::Frame;
use crate::fsio;
use crate::ingest::Answers;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::rundir;

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

/// Fits one frame per question of a survey file, each written as `out/FOLDER.json`: the
/// frames folder `apply` takes for the same questions. Every question's columns and labels are
/// checked before the first is embedded.
pub fn run_all(
    out: &Path,
    questions: &[QuestionRun<FitSettings>],
    build: BuildEmbedder,
    progress: &Progress,
) -> Result<()> {
    let Some(first) = questions.first() else {
        return Ok(());
    };
    let table = rundir::read_table(&first.settings.input)?;
    for q in questions {
        table.column(&q.column, "--text-column")?;
        table.column(&q.settings.label_column, "--label-column")?;
        if let Some(c) = &q.settings.keep_together {
            table.column(c, "--keep-together")?;
        }
    }
    drop(table);
    for q in questions {
        progress.say(format!(
            "fit: question {} (labels in {}) → {}",
            q.column,
            q.settings.label_column,
            q.settings.out.display()
        ));
        run(&q.settings, build, progress)?;
    }
    let columns: Vec<String> = questions
        .iter()
        .map(|q| format!("--text-column {}", q.column))
        .collect();
    progress.say(format!(
        "fit: wrote {} frames in {}; code the next wave with `codeframe apply {} WAVE {}`",
        questions.len(),
        out.display(),
        out.display(),
        columns.join(" ")
    ));
    Ok(())
}

/// Reads the coded answers, embeds them, cross-validates the candidate classifiers, calibrates
/// thresholds and writes the frame.
pub fn run(s: &FitSettings, build: BuildEmbedder, progress: &Progress) -> Result<LearnedFrame> {
    let frame = match &s.frame {
        Some(path) => Some(Frame::read_for(path, s.question.as_deref(), &s.input)?),
        None => None,
    };
    let (mut answers, labels, keys) = read_coded(s, progress)?;
    let embedding = super::tell_languages(&mut answers, &s.embedding, "fit", progress);
    let mut set = training_set(
        frame.as_ref().map(|(f, q)| (f, q.as_deref())),
        &answers,
        &labels,
    )
    .map_err(|e| training_error(s, e))?;
    if let (Some(keys), Some(column)) = (&keys, &s.keep_together) {
        let blocks = set.keep_together(keys);
        progress.say(format!(
            "fit: answers sharing a value of \"{column}\" stay in one cross-validation fold \
             ({blocks} values shared by two answers or more)"
        ));
    }

    let mut loaded = build(&embedding)?;
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
    progress.say(training_line(&set, s.folds.min(set.rows.len())));
    let spin = progress.spinner("cross-validating classifiers");
    // Answers with several codes: their parts are embedded so that the rule for further codes
    // can learn what the parts' codes are worth.
    let several = set.also.iter().any(|a| !a.is_empty());
    let (owner, part_vectors) = super::embed_parts(&mut loaded, &texts, several, "fit", progress)?;
    let parts = (owner.as_slice(), part_vectors.as_slice());
    let learned = learn(
        &set,
        (&vectors.data, vectors.dim),
        parts,
        opts,
        &mut |r, t| {
            progress.say(format!(
                "  {:<34} accuracy {}  macro-F1 {}  kappa {}  ({:.1} s)",
                r.name,
                f3(r.accuracy),
                f3(r.macro_f1),
                f3(r.kappa),
                t.as_secs_f64()
            ));
        },
    )
    .map_err(|e| {
        Error::from(InputError::file(
            &s.input,
            None,
            format!("cannot learn a frame: {e}"),
            "code at least two different codes, each on some answers",
        ))
    })?;
    spin.finish_and_clear();

    record(&mut manifest, s, &answers, set.rows.len())?;
    let name = match &frame {
        Some((f, _)) => f.frame.name.clone(),
        None => s
            .input
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "frame".into()),
    };
    let training = learned.training.clone();
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
            prefix: model.prefix,
        },
        training: Some(learned.training),
        codes_placeholders: set.placeholders > 0,
        thresholds: learned.thresholds,
        multi: learned.multi,
        manifest,
        classifier: learned.classifier,
    };
    fsio::create_parent_dir(&s.out)?;
    fsio::write_output(&s.out, &frame_file.to_bytes()?)?;
    progress.say(chosen_line(&training, s.target_precision));
    if let Some(m) = &frame_file.multi {
        progress.say(multi_line(m));
    }
    progress.say(format!("fit: wrote {}", s.out.display()));
    Ok(frame_file)
}

/// The answers, each row's human code ("" = not coded) and, with `--keep-together`, each
/// row's key, from one read of the file (codeframe's own CSV files as written).
fn read_coded(s: &FitSettings, progress: &Progress) -> Result<Coded> {
    let table = rundir::read_table(&s.input)?;
    let label_idx = table.column(&s.label_column, "--label-column")?;
    let key_idx = match &s.keep_together {
        Some(c) => Some(table.column(c, "--keep-together")?),
        None => None,
    };
    // Rows left out as repeated ids take their labels with them: labels follow the lines kept.
    let cell = |r: &crate::ingest::Record, i: usize| {
        r.fields
            .get(i)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let by_line: std::collections::HashMap<u64, (String, String)> = table
        .records
        .iter()
        .map(|r| {
            let key = key_idx.map(|i| cell(r, i)).unwrap_or_default();
            (r.line, (cell(r, label_idx), key))
        })
        .collect();
    let answers = super::answers_of(table, &s.columns, progress)?;
    let of_row = |a: &crate::ingest::Answer| by_line.get(&a.line).cloned().unwrap_or_default();
    let labels = answers.rows.iter().map(|a| of_row(a).0).collect();
    let keys = key_idx.map(|_| answers.rows.iter().map(|a| of_row(a).1).collect());
    Ok((answers, labels, keys))
}

/// What [`read_coded`] reads: answers, human codes, keep-together keys.
type Coded = (Answers, Vec<String>, Option<Vec<String>>);

fn training_error(s: &FitSettings, e: TrainingError) -> Error {
    match e {
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
    }
    .into()
}

fn training_line(set: &TrainingSet, folds: usize) -> String {
    format!(
        "fit: {} coded answers ({} with several codes, {} placeholders such as \"nothing\"; {} uncoded and {} \
         empty left out), {} codes; {folds}-fold cross-validation of each classifier:",
        set.rows.len(),
        set.also.iter().filter(|a| !a.is_empty()).count(),
        set.placeholders,
        set.uncoded,
        set.empty,
        set.codes.len()
    )
}

fn multi_line(m: &MultiRule) -> String {
    format!(
        "fit: {} of {} answers carry several codes ({:.2} per answer); apply --multi gives {}, \
         and {}: per-answer F1 {:.3} out of fold, against {:.3} with the best code alone",
        m.several,
        m.answers,
        m.codes_per_answer,
        if m.ratio <= 1.0 {
            format!("every code within {:.2} of the best code's score", m.ratio)
        } else {
            "no further code from the answer's scores".to_string()
        },
        match m.part_ratio {
            Some(q) => format!("each part's best code within {q:.2} of it"),
            None => "no codes from the answer's parts".to_string(),
        },
        m.sample_f1,
        m.single_sample_f1
    )
}

/// Why the chosen classifier (of kappa `own`) won when another had a higher kappa: "" otherwise.
fn tie_note(candidates: &[CandidateReport], own: Option<f64>) -> String {
    let top = candidates.iter().filter(|c| c.kappa > own).max_by(|a, b| {
        a.kappa
            .partial_cmp(&b.kappa)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match (top, top.and_then(|c| c.kappa), own) {
        (Some(c), Some(k), Some(own)) => format!(
            " (within {:.3} kappa of {}, so tied; the higher kappa + macro-F1 decided)",
            k - own,
            c.name
        ),
        _ => String::new(),
    }
}

fn chosen_line(t: &TrainingSummary, target_precision: f64) -> String {
    format!(
        "fit: chose {}{} — cross-validated accuracy {}, macro-F1 {}, kappa {}, accuracy of the \
         80% most confident {}; thresholds (precision {:.2}) code {} of answers automatically \
         at accuracy {} (estimated out of fold, 95% intervals)",
        t.chosen,
        tie_note(&t.candidates, t.kappa),
        f3(t.accuracy),
        f3(t.macro_f1),
        f3(t.kappa),
        f3(t.accuracy_at_80),
        target_precision,
        share_with_interval(t.auto_coded_share, t.auto_coded_share_ci, true),
        share_with_interval(t.auto_coded_accuracy, t.auto_coded_accuracy_ci, false),
    )
}

/// The run's inputs, parameters and the frame file it writes.
fn record(manifest: &mut Manifest, s: &FitSettings, answers: &Answers, n: usize) -> Result<()> {
    manifest.input(&s.input, &answers.sha256);
    if let Some(p) = &s.frame {
        manifest.input_file(p)?;
    }
    manifest.seed = Some(s.seed);
    manifest
        .param("text_column", s.columns.text_column.as_str())
        .param("label_column", s.label_column.as_str())
        .param("folds", s.folds.min(n))
        .param("keep_together", s.keep_together.as_deref())
        .param("target_precision", s.target_precision);
    super::record_respondents(manifest, answers);
    manifest.outputs.push(s.out.display().to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::ClassifierSpec;

    fn candidate(name: &str, kappa: Option<f64>) -> CandidateReport {
        CandidateReport {
            spec: ClassifierSpec::NearestCentroid,
            name: name.into(),
            folds: 5,
            evaluated: 10,
            accuracy: None,
            macro_f1: None,
            kappa,
            accuracy_at_80: None,
        }
    }

    #[test]
    fn a_tie_on_kappa_is_said() {
        let c = [
            candidate("logistic", Some(0.5383)),
            candidate("blend", Some(0.5376)),
        ];
        assert_eq!(
            tie_note(&c, Some(0.5376)),
            " (within 0.001 kappa of logistic, so tied; the higher kappa + macro-F1 decided)"
        );
        assert_eq!(tie_note(&c, Some(0.5383)), "");
        assert_eq!(tie_note(&c, None), "");
    }
}
