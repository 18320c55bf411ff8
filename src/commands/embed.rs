//! `codeframe embed`: answers in, an .npy matrix with its ids file and manifest out.

use super::{read_answers, BuildEmbedder};
use crate::config::EmbedSettings;
use crate::embed::EmbedSummary;
use crate::error::Result;
use crate::fsio;
use crate::manifest::{sha256_hex, Manifest};
use crate::progress::Progress;
use crate::report::{self, tables};

/// Reads, embeds, writes the matrix, the ids and the manifest (last, with both files' hashes).
pub fn run(s: &EmbedSettings, build: BuildEmbedder, progress: &Progress) -> Result<EmbedSummary> {
    let answers = read_answers(&s.input, &s.columns, progress)?;
    let mut loaded = build(&s.embedding)?;
    let mut manifest = Manifest::new("embed");
    loaded.record(&mut manifest);
    let texts = answers.texts();
    let (vectors, summary) = loaded.embed(&texts, progress)?;
    let npy = report::npy_f32(vectors.rows(), vectors.dim, &vectors.data);
    let ids = tables::ids_sheet(&answers, &vectors.truncated).csv();
    fsio::write_output(&s.out.npy, &npy)?;
    fsio::write_output(&s.out.ids, &ids)?;
    manifest
        .input(&s.input, &answers.sha256)
        .param("text_column", s.columns.text_column.as_str())
        .param("id_column", s.columns.id_column.clone())
        .param("dim", vectors.dim);
    super::record_respondents(&mut manifest, &answers);
    for (path, bytes) in [(&s.out.npy, &npy), (&s.out.ids, &ids)] {
        if let Some(name) = path.file_name() {
            manifest
                .files
                .insert(name.to_string_lossy().into_owned(), sha256_hex(bytes));
        }
    }
    manifest.outputs = [&s.out.npy, &s.out.ids, &s.out.manifest]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    fsio::write_output(&s.out.manifest, &report::json("manifest", &manifest)?)?;
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
