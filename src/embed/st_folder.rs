//! A sentence-transformers model folder read as data: the encoder's shape from `config.json`,
//! the pooling from `modules.json` and its pooling folder, the token window, the prompt prefix
//! from `config_sentence_transformers.json`, the languages of the model card, and a checksum
//! over every file that shapes the vectors.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::bert::{BertShape, Pooling};
use crate::error::{Error, InputError, Result};
use crate::fsio;

/// What a run needs to know about a model folder.
#[derive(Debug, Clone)]
pub struct FolderSettings {
    /// The encoder's shape.
    pub shape: BertShape,
    /// How token states become a text's vector.
    pub pooling: Pooling,
    /// Most tokens per text (longer texts are cut).
    pub max_len: usize,
    /// Text put before every answer (e5 models: `query: `).
    pub prefix: String,
    /// Languages named by the model card (`README.md`); empty when it names none or says
    /// `multilingual`.
    pub card_languages: Vec<String>,
    /// The tokenizer file.
    pub tokenizer: PathBuf,
    /// The weights file.
    pub weights: PathBuf,
    /// Files read, relative to the folder, in the order the checksum covers them.
    pub files: Vec<String>,
}

#[derive(Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: BTreeMap<String, String>,
    #[serde(default)]
    default_prompt_name: Option<String>,
}

fn bad(path: &Path, problem: impl Into<String>) -> Error {
    InputError::file(
        path,
        None,
        problem,
        "pass --model with a sentence-transformers folder (config.json, modules.json, \
         tokenizer.json, model.safetensors), or a model installed by scripts/setup.sh",
    )
    .into()
}

fn json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = fsio::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        InputError::file(
            path,
            Some(e.line() as u64),
            format!("cannot read the model's settings: {e}"),
            "restore the file from the model's published folder, or reinstall it",
        )
        .into()
    })
}

/// Reads a folder's settings; touches no weights.
pub fn read(dir: &Path) -> Result<FolderSettings> {
    let need = |name: &str| -> Result<PathBuf> {
        let p = dir.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(bad(&p, "a model file is missing"))
        }
    };
    let config = need("config.json")?;
    let shape = BertShape::from_file(&config)?;
    let modules_path = need("modules.json")?;
    let modules: Vec<Module> = json(&modules_path)?;
    let mut files = vec!["config.json".to_string(), "modules.json".to_string()];
    let pool_dir = modules
        .iter()
        .find(|m| m.kind.ends_with(".Pooling"))
        .map(|m| m.path.clone())
        .ok_or_else(|| bad(&modules_path, "the model has no pooling module"))?;
    let pool_rel = format!("{}/config.json", pool_dir.trim_end_matches('/'));
    let pool_path = need(&pool_rel)?;
    let pooling = pooling_of(&json(&pool_path)?, &pool_path)?;
    files.push(pool_rel);
    let mut max_len = shape.max_tokens();
    if dir.join("sentence_bert_config.json").is_file() {
        let sb: SentenceBertConfig = json(&dir.join("sentence_bert_config.json"))?;
        if let Some(n) = sb.max_seq_length {
            max_len = max_len.min(n.max(1));
        }
        files.push("sentence_bert_config.json".into());
    }
    let st_path = dir.join("config_sentence_transformers.json");
    let st: StConfig = if st_path.is_file() {
        files.push("config_sentence_transformers.json".into());
        json(&st_path)?
    } else {
        StConfig::default()
    };
    let tokenizer = need("tokenizer.json")?;
    files.push("tokenizer.json".into());
    let weights = dir.join("model.safetensors");
    if !weights.is_file() {
        return Err(bad(
            &weights,
            "the model folder has no model.safetensors (codeframe reads safetensors weights only)",
        ));
    }
    files.push("model.safetensors".into());
    let card = dir.join("README.md");
    let card_languages = if card.is_file() {
        card_languages(&String::from_utf8_lossy(&fsio::read(&card)?))
    } else {
        Vec::new()
    };
    Ok(FolderSettings {
        shape,
        pooling,
        max_len,
        prefix: prefix_of(&st),
        card_languages,
        tokenizer,
        weights,
        files,
    })
}

fn pooling_of(c: &PoolingConfig, path: &Path) -> Result<Pooling> {
    match (
        c.pooling_mode_mean_tokens,
        c.pooling_mode_cls_token,
        c.pooling_mode_max_tokens || c.pooling_mode_mean_sqrt_len_tokens,
    ) {
        (true, false, false) => Ok(Pooling::Mean),
        (false, true, false) => Ok(Pooling::Cls),
        _ => Err(bad(
            path,
            "unsupported pooling: codeframe pools by the mean of the tokens or by the first token",
        )),
    }
}

/// The prompt put before each text: the default prompt, else the `query` prompt (what e5
/// models want for symmetric tasks such as grouping answers), else none.
fn prefix_of(c: &StConfig) -> String {
    c.default_prompt_name
        .as_ref()
        .and_then(|n| c.prompts.get(n))
        .or_else(|| c.prompts.get("query"))
        .cloned()
        .unwrap_or_default()
}

/// The `language:` entries of a model card's front matter, lower case; none when it names no
/// language or says `multilingual`.
pub fn card_languages(card: &str) -> Vec<String> {
    let mut lines = card.lines();
    if lines.next().map(str::trim) != Some("---") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut in_list = false;
    for line in lines {
        let t = line.trim();
        if t == "---" {
            break;
        }
        if let Some(rest) = t.strip_prefix("language:") {
            in_list = true;
            out.extend(
                rest.trim()
                    .trim_matches(['[', ']'])
                    .split(',')
                    .map(|s| s.trim().trim_matches(['"', '\'']).to_lowercase())
                    .filter(|s| !s.is_empty()),
            );
        } else if in_list && t.starts_with("- ") {
            out.push(t[2..].trim().trim_matches(['"', '\'']).to_lowercase());
        } else if !line.starts_with(' ') && !t.is_empty() {
            in_list = false;
        }
    }
    if out.iter().any(|l| l == "multilingual") {
        return Vec::new();
    }
    out
}

/// SHA-256 over `name  sha256(file)` lines of the files, in order: the model's identity.
pub fn folder_checksum(dir: &Path, files: &[String]) -> Result<String> {
    let mut manifest = String::new();
    for f in files {
        manifest.push_str(&format!("{}  {f}\n", file_sha256(&dir.join(f))?));
    }
    Ok(crate::manifest::sha256_hex(manifest.as_bytes()))
}

/// SHA-256 of a file, read in pieces (weights can be hundreds of megabytes).
pub fn file_sha256(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_card_languages() {
        let card = "---\nlanguage:\n- en\n- de\nlicense: mit\n---\n# x\n";
        assert_eq!(card_languages(card), vec!["en", "de"]);
        assert_eq!(card_languages("---\nlanguage: en\n---\n"), vec!["en"]);
        assert!(card_languages("---\nlanguage:\n- multilingual\n- af\n---\n").is_empty());
        assert!(card_languages("# no front matter\nlanguage: en\n").is_empty());
    }

    #[test]
    fn prompt_prefix() {
        let mut c = StConfig::default();
        assert_eq!(prefix_of(&c), "");
        c.prompts.insert("query".into(), "query: ".into());
        c.prompts.insert("passage".into(), "passage: ".into());
        assert_eq!(prefix_of(&c), "query: ");
        c.default_prompt_name = Some("passage".into());
        assert_eq!(prefix_of(&c), "passage: ");
    }
}
