//! Commands: each sub-command's flow from checked settings to written files.

use crate::cli::{Cli, Command, EmbedderChoice, EvalMode, EvaluateArgs, ModelCommand};
use crate::config::{DiscoverSettings, EmbedSettings, EmbedderSettings};
use crate::embed::{self, model_dir, Cache, EmbedSummary, Embedder, MiniLm, MiniLmOptions, Tfidf};
use crate::error::{InputError, Result};
use crate::evaluate::join::{join, looks_like_codes, JoinColumns};
use crate::evaluate::{render_text, EvalReport};
use crate::fsio;
use crate::ingest::{self, Answers, ReadOptions};
use crate::manifest::{Manifest, ModelRecord};
use crate::progress::Progress;
use crate::report;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let progress = Progress::new(cli.quiet);
    match cli.command {
        Command::Embed(args) => {
            let settings = EmbedSettings::from_args(&args)?;
            embed_command(&settings, &progress).map(|_| ())
        }
        Command::Discover(args) => {
            let settings = DiscoverSettings::from_args(&args)?;
            crate::discover::discover_command(&settings, &progress)?;
            if args.report {
                report_command(&settings.out, None, &progress)?;
            }
            Ok(())
        }
        Command::Report(args) => report_command(&args.dir, args.out.as_deref(), &progress),
        Command::Evaluate(args) => evaluate_command(&args, &progress).map(|_| ()),
        Command::Fit(args) => {
            let settings = crate::config::fit_settings(&args)?;
            crate::coding::fit_command(&settings, &progress).map(|_| ())
        }
        Command::Apply(args) => {
            let settings = crate::config::apply_settings(&args)?;
            crate::coding::apply_command(&settings, &progress)?;
            if args.report {
                report_command(&settings.out, None, &progress)?;
            }
            Ok(())
        }
        Command::Agree(args) => {
            let settings = crate::config::agree_settings(&args)?;
            crate::agree::command::agree_command(&settings, &progress).map(|_| ())
        }
        Command::Model(ModelCommand::Convert { dir }) => {
            let dir = dir.unwrap_or_else(model_dir::default_dir);
            progress.say(format!("model: writing rust_model.ot in {}", dir.display()));
            let wrote = model_dir::convert(&dir)?;
            model_dir::open(&dir)?;
            progress.say(if wrote {
                "model: rust_model.ot written; every file matches its checksum"
            } else {
                "model: already converted; every file matches its checksum"
            });
            Ok(())
        }
        Command::Model(ModelCommand::Check { dir }) => {
            let dir = dir.unwrap_or_else(model_dir::default_dir);
            let m = model_dir::open(&dir)?;
            progress.say(format!(
                "model: {} ok (checksum {})",
                m.path.display(),
                m.checksum
            ));
            Ok(())
        }
    }
}

/// Status of a row in the ids file.
pub fn row_status(text: &str, truncated: bool) -> &'static str {
    if text.trim().is_empty() {
        "empty"
    } else if truncated {
        "truncated"
    } else {
        "embedded"
    }
}

/// `codeframe report`: DIR/report.html (or `out`) from a discover or apply output folder.
pub fn report_command(
    dir: &std::path::Path,
    out: Option<&std::path::Path>,
    progress: &Progress,
) -> Result<()> {
    let path = crate::report::run::write_report(dir, out)?;
    progress.say(format!("report: wrote {}", path.display()));
    Ok(())
}

/// Reads an answers file and passes its warnings (e.g. a Windows-1252 file) to stderr.
pub fn read_answers_warned(
    input: &std::path::Path,
    columns: &ReadOptions,
    progress: &Progress,
) -> Result<Answers> {
    let answers = ingest::read_answers(input, columns)?;
    for w in &answers.warnings {
        progress.warn(w);
    }
    Ok(answers)
}

/// `codeframe embed`: reads answers, embeds them, writes the matrix, ids and manifest.
pub fn embed_command(s: &EmbedSettings, progress: &Progress) -> Result<EmbedSummary> {
    let answers = read_answers_warned(&s.input, &s.columns, progress)?;
    let mut manifest = Manifest::new("embed");
    let (mut embedder, mut cache) = build_embedder(&s.embedding, &mut manifest)?;
    let texts = answers.texts();
    let (vectors, summary) =
        embed::embed_texts(embedder.as_mut(), &texts, cache.as_mut(), progress)?;

    fsio::write_atomic(
        &s.out.npy,
        &report::npy_f32(vectors.rows(), vectors.dim, &vectors.data),
    )?;
    fsio::write_atomic(&s.out.ids, &ids_csv(&answers, &vectors.truncated))?;
    manifest
        .inputs
        .insert(s.input.display().to_string(), answers.sha256.clone());
    manifest
        .param("text_column", s.columns.text_column.as_str())
        .param("id_column", s.columns.id_column.clone())
        .param("dim", vectors.dim);
    manifest.outputs = [&s.out.npy, &s.out.ids, &s.out.manifest]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    fsio::write_atomic(&s.out.manifest, &report::json("manifest", &manifest)?)?;
    progress.say(format!("embed: {summary}"));
    progress.say(format!(
        "embed: wrote {} ({} x {}), {} and {}",
        s.out.npy.display(),
        vectors.rows(),
        vectors.dim,
        s.out.ids.display(),
        s.out.manifest.display()
    ));
    Ok(summary)
}

/// Loads the chosen embedder and opens its cache, recording both in `manifest`.
pub fn build_embedder(
    s: &EmbedderSettings,
    manifest: &mut Manifest,
) -> Result<(Box<dyn Embedder>, Option<Cache>)> {
    tch::set_num_threads(s.threads as i32);
    let embedder: Box<dyn Embedder> = match s.embedder {
        EmbedderChoice::Minilm => {
            let m = MiniLm::load(MiniLmOptions {
                model_dir: s.model_dir.clone(),
                device: s.device,
                precision: s.precision,
                batch_size: s.batch_size,
                batch_tokens: s.batch_tokens,
                forward: s.forward,
            })?;
            manifest.model = Some(ModelRecord {
                name: model_dir::MODEL_NAME.into(),
                checksum: m.model().checksum.clone(),
            });
            manifest
                .param("max_tokens", m.max_len())
                .param("precision", s.precision.to_string())
                .param("device", format!("{:?}", s.device))
                .param("batch_size", s.batch_size)
                .param("batch_tokens", s.batch_tokens)
                .param("forward", format!("{:?}", s.forward));
            Box::new(m)
        }
        EmbedderChoice::Tfidf => Box::new(Tfidf::default()),
    };
    manifest.param("embedder", embedder.name());
    let cache = match &s.cache_dir {
        Some(d) if embedder.cache_key().is_some() => Some(Cache::open(d)?),
        _ => None,
    };
    Ok((embedder, cache))
}

/// The ids file: one line per input row, in matrix order.
pub fn ids_csv(answers: &Answers, truncated: &[bool]) -> Vec<u8> {
    let rows = answers.rows.iter().zip(truncated).map(|(a, &cut)| {
        vec![
            a.row.to_string(),
            a.id.clone(),
            a.line.to_string(),
            row_status(&a.text, cut).to_string(),
        ]
    });
    report::csv_table(&["row", "id", "line", "status"], rows)
}

/// What `codeframe evaluate` writes: the inputs, what was left out, and every score.
#[derive(Debug, serde::Serialize)]
pub struct Evaluation {
    /// Inputs' hashes, parameters, version.
    pub manifest: Manifest,
    /// "codes" or "groups".
    pub mode: &'static str,
    /// Answers scored.
    pub n: usize,
    /// Gold rows without a code, left out.
    pub gold_uncoded: usize,
    /// Prediction rows whose id the gold file lacks, left out.
    pub pred_without_gold: usize,
    /// The scores.
    pub report: EvalReport,
}

/// `codeframe evaluate`: joins predictions to gold labels by id and scores them.
pub fn evaluate_command(a: &EvaluateArgs, progress: &Progress) -> Result<Evaluation> {
    for (path, flag) in [(&a.pred, "--pred"), (&a.gold, "--gold")] {
        if !path.is_file() {
            return Err(InputError::file(
                path,
                None,
                "no such file",
                format!("check the path given to {flag}"),
            )
            .into());
        }
    }
    if let Some(parent) = a
        .out
        .as_deref()
        .and_then(|o| o.parent())
        .filter(|p| !p.as_os_str().is_empty())
    {
        if !parent.is_dir() {
            return Err(InputError::flag(
                format!("the folder of --out, {}, does not exist", parent.display()),
                "create it first or choose another --out",
            )
            .into());
        }
    }
    let pred = ingest::read_table(&a.pred)?;
    let gold = ingest::read_table(&a.gold)?;
    for w in pred.warnings.iter().chain(&gold.warnings) {
        progress.warn(w);
    }
    let cols = JoinColumns {
        pred_id: pred.column(&a.id_column, "--id-column")?,
        pred_label: pred.column(&a.pred_column, "--pred-column")?,
        gold_id: gold.column(&a.id_column, "--id-column")?,
        gold_label: gold.column(&a.gold_column, "--gold-column")?,
    };
    let joined = join(&pred, &gold, cols)?;
    let codes = match a.mode {
        EvalMode::Codes => true,
        EvalMode::Groups => false,
        EvalMode::Auto => looks_like_codes(&joined),
    };
    let p: Vec<&str> = joined.pred.iter().map(String::as_str).collect();
    let g: Vec<&str> = joined.gold.iter().map(String::as_str).collect();
    let report = if codes {
        EvalReport::for_codes(&p, &g)
    } else {
        EvalReport::for_clusters(&p, &g)
    }
    .map_err(|e| InputError::file(&a.gold, None, e.to_string(), "check the label columns"))?;
    let mut manifest = Manifest::new("evaluate");
    manifest
        .inputs
        .insert(a.pred.display().to_string(), pred.sha256.clone());
    manifest
        .inputs
        .insert(a.gold.display().to_string(), gold.sha256.clone());
    manifest
        .param("pred_column", a.pred_column.as_str())
        .param("gold_column", a.gold_column.as_str())
        .param("id_column", a.id_column.as_str())
        .param("mode", format!("{:?}", a.mode).to_lowercase());
    if let Some(out) = &a.out {
        manifest.outputs.push(out.display().to_string());
    }
    let evaluation = Evaluation {
        manifest,
        mode: if codes { "codes" } else { "groups" },
        n: joined.ids.len(),
        gold_uncoded: joined.gold_uncoded,
        pred_without_gold: joined.pred_without_gold,
        report,
    };
    let json = report::json("evaluation", &evaluation)?;
    match &a.out {
        Some(out) => fsio::write_atomic(out, &json)?,
        None => fsio::write_stdout(&json)?,
    }
    progress.say(format!(
        "evaluate: {} answers scored as {} ({} gold rows uncoded, {} predictions without gold)",
        evaluation.n, evaluation.mode, evaluation.gold_uncoded, evaluation.pred_without_gold
    ));
    progress.say(render_text(&evaluation.report));
    Ok(evaluation)
}
