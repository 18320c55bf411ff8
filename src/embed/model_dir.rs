//! Model folder: finds a sentence-embedding model's folder, checks its files against the
//! model's committed checksum manifest ([`ModelSpec`]), and writes `rust_model.ot` from
//! `model.safetensors`.

use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::error::{Error, InputError, Result};
use crate::manifest::sha256_hex;

use super::spec::ModelSpec;

/// A model folder whose files matched the manifest.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The folder.
    pub path: PathBuf,
    /// Checksum identifying the model: SHA-256 of the manifest, whose entries the files matched.
    pub checksum: String,
}

/// Expected `(relative path, sha256)` pairs from the model's manifest.
pub fn expected(spec: &ModelSpec) -> Vec<(&'static str, &'static str)> {
    spec.checksums
        .lines()
        .filter_map(|l| {
            let (hash, name) = l.trim().split_once(char::is_whitespace)?;
            Some((name.trim().trim_start_matches('*'), hash))
        })
        .collect()
}

/// The model checksum recorded in manifests and cache keys: SHA-256 of its manifest.
pub fn model_checksum(spec: &ModelSpec) -> String {
    sha256_hex(spec.checksums.as_bytes())
}

/// The default folder: for the English model `$CODEFRAME_MODEL_DIR` when set; else
/// `models/<folder>` of the checkout the binary was built in (found from the executable's
/// path), else of the working directory.
pub fn default_dir(spec: &ModelSpec) -> PathBuf {
    if spec.folder == super::spec::MINILM.folder {
        if let Some(d) = std::env::var_os("CODEFRAME_MODEL_DIR") {
            return PathBuf::from(d);
        }
    }
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            let candidate = up.join("models").join(spec.folder);
            if candidate.join("config.json").is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from("models").join(spec.folder)
}

/// Opens a model folder, checking every file the run-time reads against the manifest.
pub fn open(spec: &ModelSpec, path: &Path) -> Result<ModelDir> {
    if !path.is_dir() {
        return Err(InputError::file(
            path,
            None,
            "the model folder does not exist",
            spec.install_fix(),
        )
        .into());
    }
    verify(spec, path, spec.runtime_files)?;
    Ok(ModelDir {
        path: path.to_path_buf(),
        checksum: model_checksum(spec),
    })
}

fn verify(spec: &ModelSpec, dir: &Path, names: &[&str]) -> Result<()> {
    let expected = expected(spec);
    for name in names {
        let file = dir.join(name);
        if !file.is_file() {
            return Err(InputError::file(
                &file,
                None,
                "a model file is missing",
                spec.install_fix(),
            )
            .into());
        }
        let Some((_, want)) = expected.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let got = super::st_folder::file_sha256(&file)?;
        if got != *want {
            return Err(InputError::file(
                &file,
                None,
                format!("the model file's SHA-256 is {got}, not the expected {want}"),
                "delete the model folder and run scripts/setup.sh to reinstall it",
            )
            .into());
        }
    }
    Ok(())
}

/// Writes `rust_model.ot` (the layout rust-bert loads) from `model.safetensors`, dropping
/// buffers that are not weights. Leaves a matching file alone.
pub fn convert(spec: &ModelSpec, dir: &Path) -> Result<bool> {
    let target = dir.join("rust_model.ot");
    if verify(spec, dir, &["rust_model.ot"]).is_ok() {
        return Ok(false);
    }
    verify(spec, dir, &["model.safetensors"])?;
    let source = dir.join("model.safetensors");
    let tensors = Tensor::read_safetensors(&source)
        .map_err(|e| Error::torch(format!("reading {}", source.display()), e))?;
    let mut weights: Vec<(String, Tensor)> = tensors
        .into_iter()
        .filter(|(name, t)| t.is_floating_point() && !name.ends_with("position_ids"))
        .collect();
    // Sorted names keep the written file byte-identical across runs.
    weights.sort_by(|a, b| a.0.cmp(&b.0));
    let tmp = dir.join(".rust_model.ot.tmp");
    Tensor::save_multi(&weights, &tmp)
        .map_err(|e| Error::torch(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &target).map_err(|e| Error::io("write", &target, e))?;
    verify(spec, dir, &["rust_model.ot"])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::spec::MINILM;
    use super::*;

    #[test]
    fn manifest_lists_the_runtime_files() {
        let names: Vec<_> = expected(&MINILM).into_iter().map(|(n, _)| n).collect();
        for f in MINILM.runtime_files {
            assert!(names.contains(f), "{f} missing from the checksum manifest");
        }
        assert!(names.contains(&"model.safetensors"));
    }

    #[test]
    fn missing_folder_is_bad_input() {
        let e = open(&MINILM, Path::new("/nonexistent/model")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("scripts/setup.sh"));
    }
}
