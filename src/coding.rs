//! Coding waves: `codeframe fit` learns a code frame from coded answers; `codeframe apply` codes
//! a new wave with it, sets aside what fits no code as candidate new codes, and reports drift.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

use crate::app::build_embedder;
use crate::cluster::{ClusterParams, KChoice, Method};
use crate::config::EmbedderSettings;
use crate::describe::{keywords, typical};
use crate::embed::{embed_texts, Embedder, Precision};
use crate::error::{Error, InputError, Result};
use crate::fit::{
    accuracy_at_coverage, drift, select_observed, Classifier, ClassifierSpec, Drift, FitError,
    ThresholdRule, Thresholds, Training, ZERO_SHOT_THRESHOLD,
};
use crate::frame::learned::{
    slug, FrameCode, FrameModel, LearnedFrame, TrainingSummary, FORMAT, FORMAT_VERSION,
};
use crate::frame::Frame;
use crate::fsio;
use crate::ingest::substantive::{set_aside, SetAside};
use crate::ingest::{self, Answers, ReadOptions};
use crate::manifest::{sha256_hex, Manifest, ModelRecord};
use crate::progress::Progress;
use crate::report;

/// Below-threshold answers sampled to find candidate new codes (the rest join the nearest).
pub const CANDIDATE_SAMPLE: usize = 2000;

/// With `--multi`, further codes need at least this share of the best code's score.
pub const MULTI_RATIO: f32 = 0.9;

/// Checked settings of `codeframe fit`.
#[derive(Debug, Clone)]
pub struct FitSettings {
    /// Coded answers.
    pub input: PathBuf,
    /// Answer text and id columns.
    pub columns: ReadOptions,
    /// Human code column.
    pub label_column: String,
    /// Code frame (TOML) giving ids, groups and descriptions.
    pub frame: Option<PathBuf>,
    /// The frame's question.
    pub question: Option<String>,
    /// Cross-validation folds (the number of answers for leave-one-out).
    pub folds: usize,
    /// Precision the automatically coded answers must reach.
    pub target_precision: f64,
    /// Seed of the folds.
    pub seed: u64,
    /// Embedding settings.
    pub embedding: EmbedderSettings,
    /// The frame file to write.
    pub out: PathBuf,
}

/// Checked settings of `codeframe apply`.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    /// A learned frame (.json) or a code frame (.toml, zero-shot).
    pub frame: PathBuf,
    /// The frame's question (zero-shot .toml frames).
    pub question: Option<String>,
    /// The wave's answers.
    pub input: PathBuf,
    /// Answer text and id columns.
    pub columns: ReadOptions,
    /// An earlier apply's output folder to compare shares with.
    pub previous: Option<PathBuf>,
    /// Give every code whose score passes its threshold.
    pub multi: bool,
    /// Seed of the candidate-code clustering.
    pub seed: u64,
    /// Embedding settings (the precision comes from the frame).
    pub embedding: EmbedderSettings,
    /// Output folder.
    pub out: PathBuf,
}

fn fit_error(path: &Path, e: FitError) -> Error {
    InputError::file(
        path,
        None,
        format!("cannot learn a frame: {e}"),
        "code at least two different codes, each on some answers",
    )
    .into()
}

/// `codeframe fit`.
pub fn fit_command(s: &FitSettings, progress: &Progress) -> Result<LearnedFrame> {
    let frame = match &s.frame {
        Some(path) => Some(Frame::read_for(path, s.question.as_deref(), &s.input)?),
        None => None,
    };
    // One read of the file gives both the answers and the human codes.
    let table = ingest::read_table(&s.input)?;
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
    // The codes: the frame's (in frame order) or the labels seen (sorted).
    let mut codes: Vec<FrameCode> = match &frame {
        Some((f, q)) => f
            .codes
            .iter()
            .filter(|c| q.is_none() || c.question == *q)
            .map(|c| FrameCode {
                id: c.id.clone(),
                label: c.label.clone(),
                group: f.group_of(&c.label, q.as_deref()).map(str::to_string),
                description: c.description.clone(),
                n_train: 0,
                nonanswers: c.nonanswers,
            })
            .collect(),
        None => {
            let mut seen: Vec<&str> = labels
                .iter()
                .map(String::as_str)
                .filter(|l| !l.is_empty())
                .collect();
            seen.sort_unstable();
            seen.dedup();
            seen.iter()
                .map(|l| FrameCode {
                    id: slug(l),
                    label: l.to_string(),
                    group: None,
                    description: String::new(),
                    n_train: 0,
                    nonanswers: false,
                })
                .collect()
        }
    };
    let index: BTreeMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.label.as_str(), i))
        .collect();
    let mut keep = Vec::new();
    let mut code_of = Vec::new();
    let (mut uncoded, mut aside, mut placeholders) = (0usize, 0usize, 0usize);
    for (row, a) in answers.rows.iter().enumerate() {
        let label = labels[row].as_str();
        if label.is_empty() {
            uncoded += 1;
            continue;
        }
        let Some(&c) = index.get(label) else {
            return Err(InputError::file(
                &s.input,
                Some(a.line),
                format!("the code \"{label}\" is not in the frame"),
                "add it to the frame's [[codes]], or correct the label",
            )
            .into());
        };
        match set_aside(&a.text) {
            Some(SetAside::Empty) => {
                aside += 1;
                continue;
            }
            // Coders who code answers like "nothing" (e.g. as "no improvement needed") teach
            // the frame to code them too.
            Some(SetAside::NonSubstantive) => placeholders += 1,
            None => {}
        }
        keep.push(row);
        code_of.push(c);
    }
    let mut n_train = vec![0usize; codes.len()];
    for &c in &code_of {
        n_train[c] += 1;
    }
    for (c, n) in codes.iter_mut().zip(&n_train) {
        c.n_train = *n;
    }
    if n_train.iter().filter(|&&n| n > 0).count() < 2 {
        return Err(InputError::file(
            &s.input,
            None,
            format!(
                "fewer than two codes have substantive answers in column \"{}\"",
                s.label_column
            ),
            "check --label-column; a frame needs answers coded with at least two codes",
        )
        .into());
    }
    fsio::create_parent_dir(&s.out)?;

    let mut manifest = Manifest::new("fit");
    let (mut embedder, mut cache) = build_embedder(&s.embedding, &mut manifest)?;
    let model = manifest.model.clone().ok_or_else(|| {
        Error::from(InputError::flag(
            "a frame needs the sentence-embedding model",
            "use --embedder minilm",
        ))
    })?;
    let texts: Vec<&str> = keep
        .iter()
        .map(|&i| answers.rows[i].text.as_str())
        .collect();
    let (vectors, summary) = embed_texts(embedder.as_mut(), &texts, cache.as_mut(), progress)?;
    progress.say(format!("fit: embedded {summary}"));
    let training = Training {
        vectors: &vectors.data,
        dim: vectors.dim,
        labels: &code_of,
        n_codes: codes.len(),
    };
    let folds = s.folds.min(keep.len());
    progress.say(format!(
        "fit: {} coded answers ({placeholders} of them placeholders such as \"nothing\"; \
         {uncoded} uncoded and {aside} empty left out), {} codes; {folds}-fold cross-validation \
         of each classifier:",
        keep.len(),
        codes.len()
    ));
    let candidates = ClassifierSpec::default_candidates();
    let spin = progress.spinner("cross-validating classifiers");
    let selection = select_observed(&training, &candidates, folds, s.seed, &mut |_, r, t| {
        let f = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
        progress.say(format!(
            "  {:<34} accuracy {}  macro-F1 {}  kappa {}  ({:.1} s)",
            r.name,
            f(r.accuracy),
            f(r.macro_f1),
            f(r.kappa),
            t.as_secs_f64()
        ));
    })
    .map_err(|e| fit_error(&s.input, e))?;
    spin.finish_and_clear();
    let rule = ThresholdRule {
        target_precision: s.target_precision,
        ..ThresholdRule::default()
    };
    let thresholds = Thresholds::calibrate(&selection.cv.oof, codes.len(), rule)
        .map_err(|e| fit_error(&s.input, e))?;
    let auto: Vec<bool> = selection
        .cv
        .oof
        .iter()
        .map(|p| thresholds.passes(p.predicted, p.score))
        .collect();
    let n_auto = auto.iter().filter(|&&a| a).count();
    let auto_right = selection
        .cv
        .oof
        .iter()
        .zip(&auto)
        .filter(|(p, &a)| a && p.predicted == p.truth)
        .count();
    let oof_n = selection.cv.oof.len();
    let best = &selection.candidates[selection.best];
    let training_summary = TrainingSummary {
        n: keep.len(),
        folds: selection.cv.folds,
        chosen: best.name.clone(),
        accuracy: best.accuracy,
        macro_f1: best.macro_f1,
        kappa: best.kappa,
        accuracy_at_80: accuracy_at_coverage(&selection.cv.oof, 0.8).map(|p| p.accuracy),
        auto_coded_share: (oof_n > 0).then(|| n_auto as f64 / oof_n as f64),
        auto_coded_accuracy: (n_auto > 0).then(|| auto_right as f64 / n_auto as f64),
        candidates: selection.candidates.clone(),
    };
    manifest
        .inputs
        .insert(s.input.display().to_string(), answers.sha256.clone());
    if let Some(p) = &s.frame {
        manifest
            .inputs
            .insert(p.display().to_string(), sha256_hex(&fsio::read(p)?));
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
    let learned = LearnedFrame {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name,
        question: frame.as_ref().and_then(|(_, q)| q.clone()),
        codes,
        model: FrameModel {
            name: model.name,
            checksum: model.checksum,
            precision: s.embedding.precision.to_string(),
        },
        training: Some(training_summary),
        codes_placeholders: placeholders > 0,
        thresholds,
        manifest,
        classifier: selection.classifier,
    };
    fsio::write_atomic(&s.out, &learned.to_bytes()?)?;
    if let Some(t) = &learned.training {
        let f = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
        progress.say(format!(
            "fit: chose {} — cross-validated accuracy {}, macro-F1 {}, kappa {}, accuracy of the \
             80% most confident {}; thresholds (precision {:.2}) code {} of answers automatically \
             at accuracy {}",
            t.chosen,
            f(t.accuracy),
            f(t.macro_f1),
            f(t.kappa),
            f(t.accuracy_at_80),
            s.target_precision,
            t.auto_coded_share
                .map(|v| format!("{:.0}%", 100.0 * v))
                .unwrap_or_else(|| "-".into()),
            f(t.auto_coded_accuracy)
        ));
    }
    progress.say(format!("fit: wrote {}", s.out.display()));
    Ok(learned)
}

/// A zero-shot frame from a code frame (.toml): each code's vector is its label and description,
/// embedded; one fixed threshold on the cosine.
fn zero_shot_frame(
    (f, q): (Frame, Option<String>),
    path: &Path,
    embedder: &mut dyn Embedder,
    model: Option<ModelRecord>,
    precision: Precision,
) -> Result<LearnedFrame> {
    let codes: Vec<FrameCode> = f
        .codes
        .iter()
        .filter(|c| q.is_none() || c.question == q)
        .map(|c| FrameCode {
            id: c.id.clone(),
            label: c.label.clone(),
            group: f.group_of(&c.label, q.as_deref()).map(str::to_string),
            description: c.description.clone(),
            n_train: 0,
            nonanswers: c.nonanswers,
        })
        .collect();
    let texts: Vec<String> = f
        .candidates(q.as_deref(), false)
        .into_iter()
        .map(|c| c.text)
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (v, _) = embed_texts(embedder, &refs, None, &Progress::silent())?;
    let classifier = Classifier::from_descriptions(
        (0..v.rows()).map(|i| v.row(i).to_vec()).collect(),
    )
    .map_err(|e| {
        InputError::file(
            path,
            None,
            format!("cannot code from this frame's descriptions: {e}"),
            "give the question at least one code with a label",
        )
    })?;
    let model = model.ok_or_else(|| {
        Error::from(InputError::flag(
            "zero-shot coding needs the sentence-embedding model",
            "use --embedder minilm",
        ))
    })?;
    let n = codes.len();
    Ok(LearnedFrame {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: f.frame.name.clone(),
        question: q,
        codes,
        model: FrameModel {
            name: model.name,
            checksum: model.checksum,
            precision: precision.to_string(),
        },
        training: None,
        codes_placeholders: false,
        thresholds: Thresholds::uniform(n, ZERO_SHOT_THRESHOLD),
        manifest: Manifest::new("apply"),
        classifier,
    })
}

/// One row of an apply's assignments.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    /// Row id.
    pub id: String,
    /// Answer text.
    pub text: String,
    /// Best code index for classified answers; for set-aside ones, the frame's code for
    /// non-answers, if any.
    pub code: Option<usize>,
    /// Its score.
    pub confidence: Option<f32>,
    /// coded, below threshold, empty or non-substantive.
    pub status: &'static str,
    /// With --multi: every code passing its threshold, best first.
    pub codes: Vec<usize>,
    /// Candidate new code (1-based) of a below-threshold answer.
    pub candidate: Option<usize>,
}

/// A candidate new code: below-threshold answers that group together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateCode {
    /// 1-based, largest first.
    pub candidate: usize,
    /// Answers in it.
    pub size: usize,
    /// Share of the wave's substantive answers.
    pub share: f64,
    /// Class-based TF-IDF keywords.
    pub keywords: Vec<String>,
    /// Most typical answers.
    pub typical: Vec<String>,
    /// The frame code its answers came closest to, and how many of them.
    pub nearest_code: String,
}

/// What apply found, besides the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplySummary {
    /// Rows by status.
    pub status: BTreeMap<String, usize>,
    /// Coded answers per code label.
    pub coded: BTreeMap<String, usize>,
    /// Candidate new codes.
    pub candidates: Vec<CandidateCode>,
    /// What the drift table compares with: "training" or the previous folder.
    pub drift_baseline: String,
    /// Shares per code against the baseline.
    pub drift: Drift,
}

/// Everything apply produced.
#[derive(Debug, Clone)]
pub struct Application {
    /// The frame used.
    pub frame: LearnedFrame,
    /// Every input row, in input order.
    pub rows: Vec<Coded>,
    /// Counts, candidates and drift.
    pub summary: ApplySummary,
    /// The run's manifest.
    pub manifest: Manifest,
    /// Each coded answer's row and place on the report's 2-D map.
    pub map: Vec<(usize, [f32; 2])>,
}

/// Coded answers per code in an earlier apply's assignments.csv.
fn previous_counts(dir: &Path, frame: &LearnedFrame) -> Result<Vec<usize>> {
    let path = dir.join("assignments.csv");
    if !path.is_file() {
        return Err(InputError::file(
            &path,
            None,
            "no assignments.csv in the --previous folder",
            "pass the output folder of an earlier `codeframe apply`",
        )
        .into());
    }
    let table = ingest::read_table(&path)?;
    let code = table.column("code", "--previous")?;
    let status = table.column("status", "--previous")?;
    let mut counts = vec![0usize; frame.codes.len()];
    for r in &table.records {
        if r.fields.get(status).map(String::as_str) != Some("coded") {
            continue;
        }
        let label = r.fields.get(code).map(String::as_str).unwrap_or("");
        match frame.codes.iter().position(|c| c.label == label) {
            Some(i) => counts[i] += 1,
            None => {
                return Err(InputError::file(
                    &path,
                    Some(r.line),
                    format!("the code \"{label}\" is not in this frame"),
                    "compare waves coded with the same frame",
                )
                .into())
            }
        }
    }
    Ok(counts)
}

/// What `apply` was given to code with.
enum FrameSource {
    /// A frame written by `codeframe fit`.
    Learned(Box<LearnedFrame>),
    /// A code frame and its question, coded from the descriptions alone.
    ZeroShot((Frame, Option<String>)),
}

/// `codeframe apply`.
pub fn apply_command(s: &ApplySettings, progress: &Progress) -> Result<Application> {
    // Both kinds of frame are read and checked before the model loads. A learned frame fixes
    // the precision its thresholds were calibrated at.
    let mut embedding = s.embedding.clone();
    let is_toml = s
        .frame
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let source = if is_toml {
        FrameSource::ZeroShot(Frame::read_for(&s.frame, s.question.as_deref(), &s.input)?)
    } else {
        let f = LearnedFrame::parse(&s.frame, &fsio::read(&s.frame)?)?;
        embedding.precision = match f.model.precision.as_str() {
            "bf16" => Precision::Bf16,
            _ => Precision::F32,
        };
        FrameSource::Learned(Box::new(f))
    };
    let answers = crate::app::read_answers_warned(&s.input, &s.columns, progress)?;
    fsio::create_dir_all(&s.out)?;
    let mut manifest = Manifest::new("apply");
    let (mut embedder, mut cache) = build_embedder(&embedding, &mut manifest)?;
    let model = manifest.model.clone();
    let frame = match source {
        FrameSource::Learned(f) => *f,
        FrameSource::ZeroShot(f) => zero_shot_frame(
            f,
            &s.frame,
            embedder.as_mut(),
            model.clone(),
            embedding.precision,
        )?,
    };
    let baseline = match &s.previous {
        Some(dir) => Some(previous_counts(dir, &frame)?),
        None => None,
    };
    if model.as_ref().map(|m| m.checksum.as_str()) != Some(frame.model.checksum.as_str()) {
        return Err(InputError::file(
            &s.frame,
            None,
            format!(
                "the frame was built with model checksum {}; the model in use has {}",
                frame.model.checksum,
                model.map(|m| m.checksum).unwrap_or_else(|| "none".into())
            ),
            "refit the frame with this model (codeframe fit), or install the model it was built with",
        )
        .into());
    }
    let codable = |text: &str| match set_aside(text) {
        None => true,
        Some(SetAside::NonSubstantive) => frame.codes_placeholders,
        Some(SetAside::Empty) => false,
    };
    let keep: Vec<usize> = (0..answers.rows.len())
        .filter(|&i| codable(&answers.rows[i].text))
        .collect();
    let texts: Vec<&str> = keep
        .iter()
        .map(|&i| answers.rows[i].text.as_str())
        .collect();
    let t_embed = Instant::now();
    let (vectors, summary) = embed_texts(embedder.as_mut(), &texts, cache.as_mut(), progress)?;
    let embed_secs = t_embed.elapsed().as_secs_f64();
    progress.say(format!("apply: embedded {summary}"));
    let dim = vectors.dim;
    // Answers set aside carry the frame's code for non-answers, if it has one; their status
    // still says why they were not classified.
    let nonanswer = frame.codes.iter().position(|c| c.nonanswers);
    let mut rows: Vec<Coded> = answers
        .rows
        .iter()
        .map(|a| Coded {
            id: a.id.clone(),
            text: a.text.clone(),
            code: nonanswer,
            confidence: None,
            status: set_aside(&a.text)
                .map(|r| r.status())
                .unwrap_or("non-substantive"),
            codes: Vec::new(),
            candidate: None,
        })
        .collect();
    let bad = |e: FitError| -> Error {
        InputError::file(
            &s.frame,
            None,
            format!("cannot code with this frame: {e}"),
            "refit the frame with this model",
        )
        .into()
    };
    let t_code = Instant::now();
    // Scores do not depend on which answers share a batch, so coding one answer alone gives
    // the result it gets here.
    let all_scores = frame.classifier.scores_batch(&vectors.data).map_err(bad)?;
    let scored: Vec<(usize, f32, Vec<usize>)> = all_scores
        .par_iter()
        .map(|scores| {
            let (code, score) = best_code(scores);
            let mut multi: Vec<(usize, f32)> = Vec::new();
            if s.multi {
                // A second code must pass its own threshold and come close to the best score:
                // thresholds are calibrated for the best code, and cosine scores of unrelated
                // codes can pass them too.
                multi = scores
                    .iter()
                    .enumerate()
                    .filter(|&(c, &v)| frame.thresholds.passes(c, v) && v >= MULTI_RATIO * score)
                    .map(|(c, &v)| (c, v))
                    .collect();
                multi.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            }
            (code, score, multi.into_iter().map(|(c, _)| c).collect())
        })
        .collect();
    let mut below = Vec::new();
    for (j, (&row, (code, score, multi))) in keep.iter().zip(scored).enumerate() {
        let passes = frame.thresholds.passes(code, score);
        let r = &mut rows[row];
        r.code = Some(code);
        r.confidence = Some(score);
        r.status = if passes { "coded" } else { "below threshold" };
        r.codes = multi;
        if !passes {
            below.push(j);
        }
    }
    let coding_secs = t_code.elapsed().as_secs_f64();
    let t_cand = Instant::now();
    let best_codes: Vec<usize> = keep
        .iter()
        .map(|&row| rows[row].code.unwrap_or(0))
        .collect();
    let candidates = candidate_codes(
        &frame,
        &answers,
        &keep,
        (&vectors.data, dim),
        (&below, &best_codes),
        s.seed,
    )?;
    for c in &candidates.1 {
        rows[keep[c.0]].candidate = Some(c.1);
    }
    let candidate_secs = t_cand.elapsed().as_secs_f64();
    let mut counts = vec![0usize; frame.codes.len()];
    for r in &rows {
        if let (Some(c), "coded") = (r.code, r.status) {
            counts[c] += 1;
        }
    }
    let (base, baseline_name) = match (&baseline, &s.previous) {
        (Some(b), Some(dir)) => (b.clone(), dir.display().to_string()),
        _ if frame.training.is_some() => (
            frame.codes.iter().map(|c| c.n_train).collect(),
            "training".to_string(),
        ),
        _ => (
            vec![0; frame.codes.len()],
            "none (a zero-shot frame has no training answers; pass --previous)".to_string(),
        ),
    };
    let drift = drift(&base, &counts).map_err(bad)?;
    let mut status = BTreeMap::new();
    for r in &rows {
        *status.entry(r.status.to_string()).or_insert(0) += 1;
    }
    let summary = ApplySummary {
        status,
        coded: frame
            .codes
            .iter()
            .zip(&counts)
            .map(|(c, &n)| (c.label.clone(), n))
            .collect(),
        candidates: candidates.0,
        drift_baseline: baseline_name,
        drift,
    };
    manifest
        .inputs
        .insert(s.input.display().to_string(), answers.sha256.clone());
    manifest.inputs.insert(
        s.frame.display().to_string(),
        sha256_hex(&fsio::read(&s.frame)?),
    );
    if let Some(dir) = &s.previous {
        let p = dir.join("assignments.csv");
        manifest
            .inputs
            .insert(p.display().to_string(), sha256_hex(&fsio::read(&p)?));
    }
    manifest.seed = Some(s.seed);
    let app_question = frame.question.clone();
    manifest
        .param("input", s.input.display().to_string())
        .param("question", app_question.clone())
        .param("text_column", s.columns.text_column.as_str())
        .param("id_column", s.columns.id_column.clone())
        .param("multi", s.multi);
    let map = crate::cluster::map_2d(&vectors.data, dim)?
        .into_iter()
        .zip(&keep)
        .map(|(xy, &row)| (row, xy))
        .collect();
    let app = Application {
        frame,
        rows,
        summary,
        manifest,
        map,
    };
    let t_write = Instant::now();
    write_outputs(&app, &s.out)?;
    progress.say(summary_text(&app));
    progress.say(format!(
        "apply: seconds — embedding {embed_secs:.2}, coding {coding_secs:.2}, candidate codes \
         {candidate_secs:.2}, writing {:.2}",
        t_write.elapsed().as_secs_f64()
    ));
    progress.say(format!("apply: wrote {}", s.out.display()));
    Ok(app)
}

/// The best code and its score; ties go to the lowest code.
fn best_code(scores: &[f32]) -> (usize, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (c, &v) in scores.iter().enumerate() {
        if v > best.1 {
            best = (c, v);
        }
    }
    best
}

/// Candidate new codes from the below-threshold answers (indices into `keep`): k-means with k
/// chosen by silhouette (2 to 8, about one group per 5 answers), or one group when few.
/// `best_codes` holds each kept answer's best code. Returns the candidates and, per
/// below-threshold answer, (index into keep, candidate).
#[allow(clippy::type_complexity)]
fn candidate_codes(
    frame: &LearnedFrame,
    answers: &Answers,
    keep: &[usize],
    (data, dim): (&[f32], usize),
    (below, best_codes): (&[usize], &[usize]),
    seed: u64,
) -> Result<(Vec<CandidateCode>, Vec<(usize, usize)>)> {
    if below.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // Canonical order (by text) so row order cannot change the candidates.
    let mut order: Vec<usize> = below.to_vec();
    order.sort_by(|&a, &b| {
        answers.rows[keep[a]]
            .text
            .cmp(&answers.rows[keep[b]].text)
            .then(a.cmp(&b))
    });
    let sub: Vec<f32> = order
        .iter()
        .flat_map(|&j| data[j * dim..(j + 1) * dim].iter().copied())
        .collect();
    let mut distinct: Vec<&str> = order
        .iter()
        .map(|&j| answers.rows[keep[j]].text.as_str())
        .collect();
    distinct.dedup();
    let distinct_text = |i: usize| answers.rows[keep[order[i]]].text.as_str();
    let max_k = (order.len() / 5).min(8);
    // Candidates are found on an evenly spaced sample (in the canonical order) of at most
    // CANDIDATE_SAMPLE answers; every below-threshold answer then joins the nearest one.
    let n = order.len();
    let picks: Vec<usize> = if n > CANDIDATE_SAMPLE {
        (0..CANDIDATE_SAMPLE)
            .map(|i| i * n / CANDIDATE_SAMPLE)
            .collect()
    } else {
        (0..n).collect()
    };
    let mut sample_texts: Vec<&str> = picks.iter().map(|&i| distinct_text(i)).collect();
    sample_texts.dedup();
    let labels: Vec<usize> = if max_k >= 2 && distinct.len() > max_k && sample_texts.len() >= 3 {
        let sample: Vec<f32> = picks
            .iter()
            .flat_map(|&i| sub[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let params = ClusterParams {
            k: KChoice::Auto {
                min: 2,
                max: max_k.min(sample_texts.len().saturating_sub(1)).max(2),
            },
            method: Method::KMeans,
            n_runs: 3,
            seed,
            ..ClusterParams::default()
        }
        .check(sample_texts.len(), picks.len())?;
        let centroids = params.fit(&sample, dim)?.centroids;
        (0..n)
            .map(|i| {
                let x = &sub[i * dim..(i + 1) * dim];
                let cos = |c: &Vec<f32>| x.iter().zip(c).map(|(a, b)| a * b).sum::<f32>();
                let mut best = (0usize, f32::NEG_INFINITY);
                for (g, c) in centroids.iter().enumerate() {
                    let v = cos(c);
                    if v > best.1 {
                        best = (g, v);
                    }
                }
                best.0
            })
            .collect()
    } else {
        vec![0; order.len()]
    };
    // Groups no answer joined are dropped; the rest are numbered densely.
    let mut used: Vec<usize> = labels.clone();
    used.sort_unstable();
    used.dedup();
    let labels: Vec<usize> = labels
        .iter()
        .map(|g| used.binary_search(g).unwrap_or(0))
        .collect();
    let k = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &g) in labels.iter().enumerate() {
        members[g].push(i);
    }
    let texts: Vec<Vec<&str>> = members
        .iter()
        .map(|m| {
            m.iter()
                .map(|&i| answers.rows[keep[order[i]]].text.as_str())
                .collect()
        })
        .collect();
    let kw = keywords(&texts, 8);
    let mut out = Vec::with_capacity(k);
    for (g, m) in members.iter().enumerate() {
        let dimv = |i: usize| &sub[i * dim..(i + 1) * dim];
        let mut centroid = vec![0f32; dim];
        for &i in m {
            for (c, v) in centroid.iter_mut().zip(dimv(i)) {
                *c += v;
            }
        }
        let norm = centroid
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt()
            .max(1e-12);
        let scored: Vec<(usize, &str, f32)> = m
            .iter()
            .map(|&i| {
                let cos: f32 = dimv(i)
                    .iter()
                    .zip(&centroid)
                    .map(|(a, b)| a * b / norm)
                    .sum();
                (i, answers.rows[keep[order[i]]].text.as_str(), cos)
            })
            .collect();
        let mut nearest = vec![0usize; frame.codes.len()];
        for &i in m {
            if let Some(n) = nearest.get_mut(best_codes[order[i]]) {
                *n += 1;
            }
        }
        let best = (0..nearest.len())
            .max_by(|&a, &b| nearest[a].cmp(&nearest[b]).then(b.cmp(&a)))
            .map(|c| format!("{} ({} of {})", frame.codes[c].label, nearest[c], m.len()))
            .unwrap_or_default();
        out.push((
            g,
            CandidateCode {
                candidate: 0,
                size: m.len(),
                share: m.len() as f64 / keep.len().max(1) as f64,
                keywords: kw[g].clone(),
                typical: typical(&scored, 5)
                    .into_iter()
                    .map(|i| answers.rows[keep[order[i]]].text.clone())
                    .collect(),
                nearest_code: best,
            },
        ));
    }
    // Largest first, ties by first member.
    out.sort_by(|a, b| {
        b.1.size
            .cmp(&a.1.size)
            .then(members[a.0].first().cmp(&members[b.0].first()))
    });
    let mut number = vec![0usize; k];
    for (n, (g, c)) in out.iter_mut().enumerate() {
        c.candidate = n + 1;
        number[*g] = n + 1;
    }
    let rows = labels
        .iter()
        .enumerate()
        .map(|(i, &g)| (order[i], number[g]))
        .collect();
    Ok((out.into_iter().map(|(_, c)| c).collect(), rows))
}

/// assignments.csv of an apply run.
pub fn assignments_csv(app: &Application) -> Vec<u8> {
    assignments_sheet(app).csv()
}

/// The assignments table of an apply run (CSV and Excel).
pub fn assignments_sheet(app: &Application) -> report::Sheet {
    let label = |c: usize| app.frame.codes[c].label.clone();
    report::Sheet {
        name: "assignments",
        header: vec![
            "id",
            "text",
            "code",
            "code_id",
            "group",
            "confidence",
            "status",
            "codes",
            "candidate",
        ],
        rows: app
            .rows
            .iter()
            .map(|r| {
                let code = r.code.map(|c| &app.frame.codes[c]);
                vec![
                    r.id.clone(),
                    r.text.clone(),
                    code.map(|c| c.label.clone()).unwrap_or_default(),
                    code.map(|c| c.id.clone()).unwrap_or_default(),
                    code.and_then(|c| c.group.clone()).unwrap_or_default(),
                    r.confidence.map(|v| format!("{v:.4}")).unwrap_or_default(),
                    r.status.to_string(),
                    r.codes
                        .iter()
                        .map(|&c| label(c))
                        .collect::<Vec<_>>()
                        .join("; "),
                    r.candidate.map(|c| c.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

/// drift.csv: share per code in the baseline and this wave.
pub fn drift_csv(app: &Application) -> Vec<u8> {
    let d = &app.summary.drift;
    let f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    report::csv_table(
        &[
            "code",
            "baseline_count",
            "baseline_share",
            "wave_count",
            "wave_share",
            "change_pp",
            "z",
            "p_value",
            "flag",
        ],
        d.codes.iter().map(|c| {
            let flag = match c.p_value {
                Some(p) if p < 0.05 && c.change_pp.unwrap_or(0.0) > 0.0 => "up",
                Some(p) if p < 0.05 => "down",
                _ => "",
            };
            vec![
                app.frame.codes[c.code].label.clone(),
                c.prev_count.to_string(),
                f(c.prev_share),
                c.cur_count.to_string(),
                f(c.cur_share),
                f(c.change_pp),
                f(c.z),
                f(c.p_value),
                flag.to_string(),
            ]
        }),
    )
}

/// frequencies.csv: coded answers per code, then the rows not coded, by status.
pub fn frequencies_csv(app: &Application) -> Vec<u8> {
    frequencies_sheet(app).csv()
}

/// The frequency table of an apply run (CSV and Excel).
pub fn frequencies_sheet(app: &Application) -> report::Sheet {
    let coded: usize = app.summary.coded.values().sum();
    let mut rows: Vec<Vec<String>> = app
        .frame
        .codes
        .iter()
        .map(|c| {
            let n = app.summary.coded.get(&c.label).copied().unwrap_or(0);
            vec![
                c.label.clone(),
                c.group.clone().unwrap_or_default(),
                n.to_string(),
                format!("{:.4}", n as f64 / coded.max(1) as f64),
            ]
        })
        .collect();
    for (status, n) in &app.summary.status {
        if status != "coded" {
            rows.push(vec![
                format!("({status})"),
                String::new(),
                n.to_string(),
                String::new(),
            ]);
        }
    }
    report::Sheet {
        name: "frequencies",
        header: vec!["response", "group", "count", "share_of_coded"],
        rows,
    }
}

fn write_outputs(app: &Application, dir: &Path) -> Result<()> {
    let mut manifest = app.manifest.clone();
    let names = [
        "assignments.csv",
        "frequencies.csv",
        "drift.csv",
        "summary.json",
        "map.csv",
        "manifest.json",
        "assignments.xlsx",
        "frequencies.xlsx",
    ];
    manifest.outputs = names
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    let (assignments, frequencies) = (assignments_sheet(app), frequencies_sheet(app));
    fsio::write_atomic(&dir.join(names[0]), &assignments.csv())?;
    fsio::write_atomic(&dir.join(names[1]), &frequencies.csv())?;
    fsio::write_atomic(&dir.join(names[6]), &assignments.xlsx()?)?;
    fsio::write_atomic(&dir.join(names[7]), &frequencies.xlsx()?)?;
    fsio::write_atomic(&dir.join(names[2]), &drift_csv(app))?;
    fsio::write_atomic(&dir.join(names[3]), &report::json("summary", &app.summary)?)?;
    fsio::write_atomic(
        &dir.join(names[4]),
        &report::map_csv(
            app.map
                .iter()
                .map(|&(row, xy)| (app.rows[row].id.as_str(), xy)),
        ),
    )?;
    fsio::write_atomic(&dir.join(names[5]), &report::json("manifest", &manifest)?)?;
    Ok(())
}

/// The one-screen summary.
fn summary_text(app: &Application) -> String {
    let s = &app.summary;
    let mut out = format!(
        "apply: {} rows — {}\n",
        app.rows.len(),
        s.status
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(&format!(
        "  {:<44} {:>7} {:>8} {:>10} {:>9}\n",
        "code", "coded", "share", "vs base", "p"
    ));
    for c in &s.drift.codes {
        out.push_str(&format!(
            "  {:<44} {:>7} {:>7.1}% {:>+9.1}pp {:>9}\n",
            app.frame.codes[c.code]
                .label
                .chars()
                .take(44)
                .collect::<String>(),
            c.cur_count,
            100.0 * c.cur_share.unwrap_or(0.0),
            c.change_pp.unwrap_or(0.0),
            c.p_value
                .map(|p| format!("{p:.3}"))
                .unwrap_or_else(|| "-".into())
        ));
    }
    out.push_str(&format!("  baseline: {}\n", s.drift_baseline));
    if !s.candidates.is_empty() {
        out.push_str("  candidate new codes (answers below every threshold):\n");
        for c in &s.candidates {
            out.push_str(&format!(
                "    {}. {} answers: {} — nearest code {}\n",
                c.candidate,
                c.size,
                c.keywords
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                c.nearest_code
            ));
        }
    }
    out
}
