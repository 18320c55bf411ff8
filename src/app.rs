//! Commands: each sub-command's flow from checked settings to written files.

use std::collections::BTreeMap;

use crate::cli::{Cli, Command, EmbedderChoice, ModelCommand};
use crate::config::EmbedSettings;
use crate::embed::{self, model_dir, Cache, EmbedSummary, Embedder, MiniLm, MiniLmOptions, Tfidf};
use crate::error::Result;
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

/// `codeframe embed`: reads answers, embeds them, writes the matrix, ids and manifest.
pub fn embed_command(s: &EmbedSettings, progress: &Progress) -> Result<EmbedSummary> {
    let answers = ingest::read_answers(
        &s.input,
        &ReadOptions {
            text_column: s.text_column.clone(),
            id_column: s.id_column.clone(),
        },
    )?;
    tch::set_num_threads(s.threads as i32);
    let mut manifest = Manifest::new("embed");
    let mut embedder: Box<dyn Embedder> = match s.embedder {
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
            manifest.param("max_tokens", m.max_len());
            Box::new(m)
        }
        EmbedderChoice::Tfidf => Box::new(Tfidf::default()),
    };
    let mut cache = match &s.cache_dir {
        Some(d) if embedder.cache_key().is_some() => Some(Cache::open(d)?),
        _ => None,
    };
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
        .param("embedder", embedder.name())
        .param("text_column", s.text_column.as_str())
        .param("id_column", s.id_column.clone())
        .param("precision", s.precision.to_string())
        .param("device", format!("{:?}", s.device))
        .param("batch_size", s.batch_size)
        .param("batch_tokens", s.batch_tokens)
        .param("forward", format!("{:?}", s.forward))
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

/// Counts of each status, for summaries.
pub fn status_counts(answers: &Answers, truncated: &[bool]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for (a, &cut) in answers.rows.iter().zip(truncated) {
        *m.entry(row_status(&a.text, cut)).or_insert(0) += 1;
    }
    m
}
