//! `codeframe apply`: a frame (learned, or a TOML frame coded zero-shot) and a wave in; every
//! answer coded or suggested, candidate new codes and drift out.

use std::time::Instant;

use super::{read_answers, BuildEmbedder};
use crate::cluster;
use crate::config::{check_precision, ApplySettings};
use crate::describe::{self, candidate_codes};
use crate::embed::cpu::CpuInfo;
use crate::embed::{Embedder, Precision};
use crate::error::{Error, InputError, Result};
use crate::fit::FitError;
use crate::frame::apply::{
    blanks_not_answered, codable, code_rows, previous_counts, summarise, Application, Baseline,
    Parts,
};
use crate::frame::learned::{FrameModel, LearnedFrame};
use crate::frame::zero_shot::zero_shot;
use crate::frame::Frame;
use crate::fsio;
use crate::manifest::{Manifest, ModelRecord};
use crate::progress::Progress;
use crate::report::{console, tables};
use crate::rundir::{self, Run};
use crate::status::Status;

/// What `apply` was given to code with.
enum FrameSource {
    /// A frame written by `codeframe fit`.
    Learned(Box<LearnedFrame>),
    /// A code frame and its question, coded from the descriptions alone.
    ZeroShot(Frame, Option<String>),
}

/// Reads and checks the frame, the wave and the baseline, embeds, codes, groups what no code
/// takes into candidate codes, compares shares with the baseline and writes the folder.
pub fn run(s: &ApplySettings, build: BuildEmbedder, progress: &Progress) -> Result<Application> {
    let (source, embedding) = read_frame(s, progress)?;
    let mut answers = read_answers(&s.input, &s.columns, progress)?;
    // A learned frame fixes its model: answers it does not cover go to review.
    let fixed = crate::embed::spec::EmbedderSpec {
        model_given: embedding.model_given || matches!(source, FrameSource::Learned(_)),
        ..embedding
    };
    let embedding = super::tell_languages(&mut answers, &fixed, "apply", progress);
    let earlier = match &s.previous {
        Some(dir) => Some(previous_run(dir)?),
        None => None,
    };
    let mut loaded = build(&embedding)?;
    let mut manifest = Manifest::new("apply");
    loaded.record(&mut manifest);
    let frame = match source {
        FrameSource::Learned(f) => *f,
        FrameSource::ZeroShot(f, q) => zero_shot_frame(
            &f,
            q.as_deref(),
            &s.frame,
            loaded.embedder.as_mut(),
            loaded.model.clone(),
            embedding.precision(),
        )?,
    };
    check_model(&frame, loaded.model.as_ref(), &s.frame)?;
    let baseline = baseline(&frame, earlier.as_ref(), s.previous.as_deref())?;
    let keep: Vec<usize> = (0..answers.rows.len())
        .filter(|&i| codable(&frame, &answers.rows[i].text))
        .collect();
    let texts: Vec<&str> = keep
        .iter()
        .map(|&i| answers.rows[i].text.as_str())
        .collect();
    let t_embed = Instant::now();
    let (vectors, summary) = loaded.embed(&texts, progress)?;
    progress.say(format!("apply: embedded {summary}"));
    let bad = |e: FitError| -> Error {
        InputError::file(
            &s.frame,
            None,
            format!("cannot code with this frame: {e}"),
            "refit the frame with this model",
        )
        .into()
    };
    // With --multi each part of an answer naming several things is coded too.
    let (owner, part_vectors) =
        super::embed_parts(&mut loaded, &texts, s.multi, "apply", progress)?;
    let parts = s.multi.then_some(Parts {
        owner: &owner,
        vectors: &part_vectors,
    });
    let embed_secs = t_embed.elapsed().as_secs_f64();
    let t_code = Instant::now();
    let mut rows = code_rows(&frame, &answers, &keep, &vectors.data, parts).map_err(bad)?;
    for &i in &keep {
        if !loaded.covers(rows[i].language.as_deref()) {
            rows[i].status = Status::UnsupportedLanguage;
            rows[i].codes.clear();
        }
    }
    let coding_secs = t_code.elapsed().as_secs_f64();
    let t_cand = Instant::now();
    let candidates = group_the_uncoded(
        &frame,
        &answers,
        &keep,
        (&vectors.data, vectors.dim),
        &mut rows,
        s.seed,
    )?;
    let candidate_secs = t_cand.elapsed().as_secs_f64();
    if s.blanks_not_answered {
        blanks_not_answered(&mut rows);
    }
    let app = summarise(&frame, rows, candidates, baseline).map_err(bad)?;
    let map: Vec<(usize, [f32; 2])> = keep
        .iter()
        .copied()
        .zip(cluster::map_2d(&vectors.data, vectors.dim)?)
        .collect();
    // The tables are built from here on: the matrix is not needed, and is the largest thing held.
    drop(vectors);
    record(&mut manifest, s, &answers.sha256, frame.question.clone())?;
    let t_write = Instant::now();
    super::record_respondents(&mut manifest, &answers);
    let written = rundir::write_apply(&s.out, manifest, &app, &map, &answers.respondents)?;
    super::warn_cut_cells(&written, progress);
    progress.say(console::apply_summary(
        &app,
        &tables::apply_frequencies(&app),
        frame.training.as_ref(),
    ));
    super::say_weighted(&written, "apply", progress);
    progress.say(format!(
        "apply: seconds — embedding {embed_secs:.2}, coding {coding_secs:.2}, candidate codes \
         {candidate_secs:.2}, writing {:.2}",
        t_write.elapsed().as_secs_f64()
    ));
    progress.say(format!(
        "apply: wrote {}",
        rundir::published(&s.out).display()
    ));
    Ok(app)
}

/// What the drift table compares with: an earlier wave's coded answers, or the training ones.
fn baseline(
    frame: &LearnedFrame,
    earlier: Option<&Application>,
    dir: Option<&std::path::Path>,
) -> Result<Baseline> {
    let (Some(app), Some(dir)) = (earlier, dir) else {
        return Ok(Baseline::Training);
    };
    let counts = previous_counts(frame, app).map_err(|e| {
        InputError::file(
            &dir.join(rundir::ASSIGNMENTS),
            None,
            format!("{e} (row {})", e.row + 1),
            "compare waves coded with the same frame",
        )
    })?;
    Ok(Baseline::Previous {
        counts,
        name: dir.display().to_string(),
    })
}

/// Candidate new codes among the answers below threshold; each such row learns its candidate.
fn group_the_uncoded(
    frame: &LearnedFrame,
    answers: &crate::ingest::Answers,
    keep: &[usize],
    vectors: (&[f32], usize),
    rows: &mut [crate::frame::apply::Coded],
    seed: u64,
) -> Result<Vec<crate::frame::apply::CandidateCode>> {
    let below: Vec<usize> = (0..keep.len())
        .filter(|&j| rows[keep[j]].status == Status::BelowThreshold)
        .collect();
    let best: Vec<usize> = keep.iter().map(|&r| rows[r].code.unwrap_or(0)).collect();
    let labels: Vec<String> = frame.codes.iter().map(|c| c.label.clone()).collect();
    let (candidates, members) =
        candidate_codes(&labels, answers, keep, vectors, (&below, &best), seed)?;
    for (j, c) in members {
        rows[keep[j]].candidate = Some(c);
    }
    Ok(candidates)
}

/// The run's inputs and parameters.
fn record(
    manifest: &mut Manifest,
    s: &ApplySettings,
    input_sha: &str,
    question: Option<String>,
) -> Result<()> {
    manifest.input(&s.input, input_sha).input_file(&s.frame)?;
    if let Some(dir) = &s.previous {
        manifest.input_file(&dir.join(rundir::ASSIGNMENTS))?;
    }
    manifest.seed = Some(s.seed);
    manifest
        .param("input", s.input.display().to_string())
        .param("question", question)
        .param("text_column", s.columns.text_column.as_str())
        .param("id_column", s.columns.id_column.clone())
        .param("multi", s.multi);
    Ok(())
}

/// Reads either kind of frame before the model loads; a learned frame fixes the precision its
/// thresholds were calibrated at (f32 on a CPU without bfloat16 instructions, said so).
fn read_frame(
    s: &ApplySettings,
    progress: &Progress,
) -> Result<(FrameSource, crate::embed::spec::EmbedderSpec)> {
    let is_toml = s
        .frame
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml {
        let (f, q) = Frame::read_for(&s.frame, s.question.as_deref(), &s.input)?;
        return Ok((FrameSource::ZeroShot(f, q), s.embedding.clone()));
    }
    let f = LearnedFrame::parse(&s.frame, &fsio::read(&s.frame)?)?;
    let mut precision = match f.model.precision.as_str() {
        "bf16" => Precision::Bf16,
        "int8" => Precision::Int8,
        _ => Precision::F32,
    };
    if precision == Precision::Bf16
        && check_precision(precision, tch::Device::Cpu, &CpuInfo::detect()).is_err()
    {
        progress.warn(format!(
            "{} was calibrated on bf16 vectors, but this CPU has no bfloat16 instructions; \
             embedding in f32 instead (vectors within a cosine of 0.999 of bf16)",
            s.frame.display()
        ));
        precision = Precision::F32;
    }
    let mut embedding = s.embedding.clone().with_precision(precision);
    if !embedding.model_given {
        embedding = embedding.with_recorded_model(&f.model.name);
    }
    Ok((FrameSource::Learned(Box::new(f)), embedding))
}

/// The earlier wave an apply compares shares with.
fn previous_run(dir: &std::path::Path) -> Result<Application> {
    match rundir::read_run(dir)? {
        Run::Apply(r) => Ok(r.application),
        Run::Discover(_) => Err(InputError::file(
            dir,
            None,
            "this folder holds a discover run",
            "pass the output folder of an earlier `codeframe apply` to --previous",
        )
        .into()),
    }
}

/// A zero-shot frame: the question's codes embedded from their labels and descriptions.
fn zero_shot_frame(
    f: &Frame,
    question: Option<&str>,
    path: &std::path::Path,
    embedder: &mut dyn Embedder,
    model: Option<ModelRecord>,
    precision: Precision,
) -> Result<LearnedFrame> {
    let model = model.ok_or_else(|| {
        Error::from(InputError::flag(
            "zero-shot coding needs the sentence-embedding model",
            "use --embedder minilm",
        ))
    })?;
    let labels = describe::frame_labels(f, question, false, embedder)?;
    let min_cosine = crate::embed::spec::named(&model.name).map_or(0.0, |s| s.zero_shot_min_cosine);
    zero_shot(
        f,
        question,
        labels.vectors,
        FrameModel {
            name: model.name,
            checksum: model.checksum,
            precision: precision.to_string(),
            prefix: model.prefix,
        },
        min_cosine,
    )
    .map_err(|e| {
        InputError::file(
            path,
            None,
            format!("cannot code from this frame's descriptions: {e}"),
            "give the question at least one code with a label",
        )
        .into()
    })
}

/// Refuses a frame built with another model than the one loaded.
fn check_model(
    frame: &LearnedFrame,
    model: Option<&ModelRecord>,
    path: &std::path::Path,
) -> Result<(), InputError> {
    if model.map(|m| m.checksum.as_str()) == Some(frame.model.checksum.as_str()) {
        return Ok(());
    }
    Err(InputError::file(
        path,
        None,
        format!(
            "the frame was built with {} (checksum {}); the model in use is {}",
            frame.model.name,
            frame.model.checksum,
            model
                .map(|m| format!("{} (checksum {})", m.name, m.checksum))
                .unwrap_or_else(|| "none".into())
        ),
        "pass --model with the model the frame was built with (codeframe model list), or refit the frame with this one (codeframe fit)",
    ))
}
