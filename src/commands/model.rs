//! `codeframe model`: install (write `rust_model.ot`) or check a model folder.

use crate::cli::ModelCommand;
use crate::config::model_folder;
use crate::embed::model_dir;
use crate::error::Result;
use crate::progress::Progress;

/// Converts or checks the folder against the model's committed checksums.
pub fn run(m: &ModelCommand, progress: &Progress) -> Result<()> {
    match m {
        ModelCommand::Convert { dir } => {
            let (spec, dir) = model_folder(dir.as_deref());
            progress.say(format!("model: writing rust_model.ot in {}", dir.display()));
            let wrote = model_dir::convert(spec, &dir)?;
            model_dir::open(spec, &dir)?;
            progress.say(if wrote {
                "model: rust_model.ot written; every file matches its checksum"
            } else {
                "model: already converted; every file matches its checksum"
            });
        }
        ModelCommand::Check { dir } => {
            let (spec, dir) = model_folder(dir.as_deref());
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
