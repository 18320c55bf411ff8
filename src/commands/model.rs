//! `codeframe model`: list the installed models, write a model's `rust_model.ot`, or check a
//! model folder.

use crate::cli::ModelCommand;
use crate::config::model_folder;
use crate::embed::model_dir;
use crate::embed::spec::MODELS;
use crate::error::Result;
use crate::progress::Progress;

/// Lists, converts or checks folders against the models' committed checksums.
pub fn run(m: &ModelCommand, progress: &Progress) -> Result<()> {
    match m {
        ModelCommand::List => {
            crate::fsio::write_stdout(list().as_bytes())?;
        }
        ModelCommand::Convert { dir, model } => {
            let (spec, dir) = model_folder(model.as_deref(), dir.as_deref())?;
            progress.say(format!("model: writing rust_model.ot in {}", dir.display()));
            let wrote = model_dir::convert(spec, &dir)?;
            model_dir::open(spec, &dir)?;
            progress.say(if wrote {
                "model: rust_model.ot written; every file matches its checksum"
            } else {
                "model: already converted; every file matches its checksum"
            });
        }
        ModelCommand::Check { dir, model } => {
            let (spec, dir) = model_folder(model.as_deref(), dir.as_deref())?;
            let m = model_dir::open(spec, &dir)?;
            progress.say(format!(
                "model: {} ok (checksum {})",
                m.path.display(),
                m.checksum
            ));
        }
    }
    Ok(())
}

/// One line per known model: name, state, folder, what it is.
fn list() -> String {
    let mut out = String::new();
    for (i, spec) in MODELS.iter().enumerate() {
        let dir = model_dir::default_dir(spec);
        let state = match model_dir::open(spec, &dir) {
            Ok(_) => "installed",
            Err(_) if dir.is_dir() => "damaged (run scripts/setup.sh)",
            Err(_) => "not installed (run scripts/setup.sh)",
        };
        let default = if i == 0 { ", the default" } else { "" };
        out.push_str(&format!(
            "{}\t{state}\t{}\t{}{default}\n",
            spec.name,
            dir.display(),
            spec.about
        ));
    }
    out.push_str("any sentence-transformers folder with a BERT-family encoder: --model DIR\n");
    out
}
