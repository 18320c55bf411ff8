//! Settings: raw flags turned into checked settings before any expensive work starts.

use std::path::{Path, PathBuf};

use tch::Device;

use crate::agree::command::{AgreeSettings, JoinSpec};
use crate::agree::AgreeOptions;
use crate::cli::{
    AnswerColumns, DiscoverArgs, EmbedArgs, EmbedFlags, EmbedderChoice, ForwardChoice, MethodArg,
    NameLevel,
};
use crate::cluster::{ClusterParams, KChoice, Method};
use crate::coding::{ApplySettings, FitSettings};
use crate::embed::minilm::{Forward, DEFAULT_BATCH_SIZE, DEFAULT_BATCH_TOKENS};
use crate::embed::{model_dir, Cache, Precision};
use crate::error::{InputError, Result};
use crate::ingest::ReadOptions;

/// Checked embedder settings.
#[derive(Debug, Clone)]
pub struct EmbedderSettings {
    /// Backend.
    pub embedder: EmbedderChoice,
    /// Precision.
    pub precision: Precision,
    /// Device.
    pub device: Device,
    /// Most texts per batch.
    pub batch_size: usize,
    /// Most padded tokens per batch.
    pub batch_tokens: usize,
    /// libtorch threads.
    pub threads: usize,
    /// Model folder.
    pub model_dir: PathBuf,
    /// Forward pass.
    pub forward: Forward,
    /// Cache folder, unless caching is off.
    pub cache_dir: Option<PathBuf>,
}

/// Checked settings of `codeframe embed`.
#[derive(Debug, Clone)]
pub struct EmbedSettings {
    /// Answers file.
    pub input: PathBuf,
    /// Answer text and id columns.
    pub columns: ReadOptions,
    /// The embedder.
    pub embedding: EmbedderSettings,
    /// Output paths.
    pub out: OutPaths,
}

/// Where `embed` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutPaths {
    /// The matrix.
    pub npy: PathBuf,
    /// Row, id, line and status per input row.
    pub ids: PathBuf,
    /// The run record.
    pub manifest: PathBuf,
}

impl OutPaths {
    /// `X.npy` → `X.npy`, `X.ids.csv`, `X.manifest.json`.
    pub fn for_npy(npy: &Path) -> Result<Self, InputError> {
        if npy.extension().and_then(|e| e.to_str()) != Some("npy") {
            return Err(InputError::flag(
                format!("--out {} does not end in .npy", npy.display()),
                "name the output FILE.npy",
            ));
        }
        let stem = npy.with_extension("");
        let sibling = |suffix: &str| {
            let mut s = stem.clone().into_os_string();
            s.push(suffix);
            PathBuf::from(s)
        };
        Ok(OutPaths {
            npy: npy.to_path_buf(),
            ids: sibling(".ids.csv"),
            manifest: sibling(".manifest.json"),
        })
    }
}

/// Parses `cpu`, `cuda` or `cuda:N` and checks libtorch can see the device.
pub fn parse_device(s: &str) -> Result<Device, InputError> {
    let no_cuda = || {
        InputError::flag(
            format!("--device {s}: libtorch sees no CUDA device on this machine"),
            "use --device cpu",
        )
    };
    match s {
        "cpu" => Ok(Device::Cpu),
        "cuda" => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                Err(no_cuda())
            }
        }
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) if (n as i64) < tch::Cuda::device_count() => Ok(Device::Cuda(n)),
            Some(Ok(_)) => Err(no_cuda()),
            _ => Err(InputError::flag(
                format!("--device {s} is not a device"),
                "use --device cpu, cuda or cuda:N",
            )),
        },
    }
}

/// Refuses an input path that is not a file.
pub fn existing_input(path: &Path) -> Result<(), InputError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(InputError::file(
            path,
            None,
            "no such file",
            "check the path of the answers file",
        ))
    }
}

impl EmbedderSettings {
    /// Checks the embedding flags; touches no model.
    pub fn from_flags(a: &EmbedFlags) -> Result<Self, InputError> {
        let precision: Precision = a
            .precision
            .parse()
            .map_err(|e: String| InputError::flag(e, "pass --precision f32 or --precision bf16"))?;
        let device = parse_device(&a.device)?;
        let batch_size = a.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if batch_size == 0 {
            return Err(InputError::flag(
                "--batch-size must be at least 1",
                format!("leave it out to use {DEFAULT_BATCH_SIZE}"),
            ));
        }
        let batch_tokens = a.batch_tokens.unwrap_or(DEFAULT_BATCH_TOKENS);
        if batch_tokens == 0 {
            return Err(InputError::flag(
                "--batch-tokens must be at least 1",
                format!("leave it out to use {DEFAULT_BATCH_TOKENS}"),
            ));
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let threads = a.threads.unwrap_or(cores);
        if threads == 0 {
            return Err(InputError::flag(
                "--threads must be at least 1",
                "leave out --threads to use every core",
            ));
        }
        Ok(EmbedderSettings {
            embedder: a.embedder,
            precision,
            device,
            batch_size,
            batch_tokens,
            threads,
            model_dir: a.model_dir.clone().unwrap_or_else(model_dir::default_dir),
            forward: match a.forward {
                ForwardChoice::Fused => Forward::Fused,
                ForwardChoice::RustBert => Forward::RustBert,
            },
            cache_dir: if a.no_cache {
                None
            } else {
                a.cache_dir.clone().or_else(Cache::default_dir)
            },
        })
    }
}

impl EmbedSettings {
    /// Checks every flag; touches no model and reads no data.
    pub fn from_args(a: &EmbedArgs) -> Result<Self, InputError> {
        existing_input(&a.input)?;
        let embedding = EmbedderSettings::from_flags(&a.embedding)?;
        let out = OutPaths::for_npy(&a.out)?;
        if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(InputError::flag(
                    format!("the folder of --out, {}, does not exist", parent.display()),
                    "create it first or choose another --out",
                ));
            }
        }
        Ok(EmbedSettings {
            input: a.input.clone(),
            columns: read_options(&a.columns),
            embedding,
            out,
        })
    }
}

/// Checked settings of `codeframe discover`.
#[derive(Debug, Clone)]
pub struct DiscoverSettings {
    /// Answers file.
    pub input: PathBuf,
    /// Answer text and id columns.
    pub columns: ReadOptions,
    /// Clustering parameters (checked against the data later).
    pub cluster: ClusterParams,
    /// Frame file, if any.
    pub frame: Option<PathBuf>,
    /// Frame question, if given.
    pub question: Option<String>,
    /// Name after topic groups rather than codes.
    pub topic_groups: bool,
    /// The embedder.
    pub embedding: EmbedderSettings,
    /// Output folder.
    pub out: PathBuf,
}

/// Parses `--k` (`auto` or a number) with `--k-range MIN..MAX`.
pub fn parse_k(k: &str, range: &str) -> Result<KChoice, InputError> {
    if k == "frame" {
        return Ok(KChoice::FromFrame);
    }
    if k == "auto" {
        let (lo, hi) = range
            .split_once("..")
            .and_then(|(a, b)| {
                Some((
                    a.trim().parse().ok()?,
                    b.trim().trim_start_matches('=').parse().ok()?,
                ))
            })
            .ok_or_else(|| {
                InputError::flag(
                    format!("--k-range {range} is not MIN..MAX"),
                    "pass --k-range 2..15",
                )
            })?;
        return Ok(KChoice::Auto { min: lo, max: hi });
    }
    k.parse().map(KChoice::Fixed).map_err(|_| {
        InputError::flag(
            format!("--k {k} is not a number, auto or frame"),
            "pass --k 6, --k auto or --k frame",
        )
    })
}

/// The answers file's columns as the reader takes them.
fn read_options(c: &AnswerColumns) -> ReadOptions {
    ReadOptions {
        text_column: c.text_column.clone(),
        id_column: c.id_column.clone(),
    }
}

impl DiscoverSettings {
    /// Checks every flag; touches no model and reads no data.
    pub fn from_args(a: &DiscoverArgs) -> Result<Self, InputError> {
        existing_input(&a.input)?;
        let k = parse_k(&a.k, &a.k_range)?;
        if let Some(f) = &a.frame {
            if !f.is_file() {
                return Err(InputError::file(
                    f,
                    None,
                    "no such frame file",
                    "check the path given to --frame",
                ));
            }
        }
        if k == KChoice::FromFrame && a.frame.is_none() {
            return Err(InputError::flag(
                "--k frame needs --frame",
                "pass --frame FRAME.toml, or a numeric --k",
            ));
        }
        let cluster = ClusterParams {
            k,
            // Default: k-means on a UMAP layout, or k-means from the codes with --k frame.
            method: match a.method {
                None if k == KChoice::FromFrame => Method::KMeans,
                None => Method::Umap,
                Some(MethodArg::Kmeans) => Method::KMeans,
                Some(MethodArg::Agglomerative) => Method::Agglomerative,
                Some(MethodArg::Gmm) => Method::Gmm,
                Some(MethodArg::KmeansWard) => Method::KMeansWard,
                Some(MethodArg::Umap) => Method::Umap,
            },
            n_runs: a.restarts,
            seed: a.seed,
            ..ClusterParams::default()
        };
        // Checked here for the flags alone; the data-dependent checks run once answers are read.
        cluster.check(usize::MAX, usize::MAX)?;
        Ok(DiscoverSettings {
            input: a.input.clone(),
            columns: read_options(&a.columns),
            cluster,
            frame: a.frame.clone(),
            question: a.question.clone(),
            topic_groups: a.level == NameLevel::Groups,
            embedding: EmbedderSettings::from_flags(&a.embedding)?,
            out: a.out.clone(),
        })
    }
}

fn must_be_file(path: &Path, what: &str) -> Result<(), InputError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(InputError::file(
            path,
            None,
            format!("no such {what}"),
            "check the path",
        ))
    }
}

/// Embedding settings for a code frame, which works on sentence embeddings only.
fn sentence_embedder(flags: &EmbedFlags) -> Result<EmbedderSettings, InputError> {
    let embedding = EmbedderSettings::from_flags(flags)?;
    if embedding.embedder != EmbedderChoice::Minilm {
        return Err(InputError::flag(
            "a code frame works on sentence embeddings",
            "leave out --embedder, or pass --embedder minilm",
        ));
    }
    Ok(embedding)
}

/// Checks the flags of `codeframe fit`; touches no data.
pub fn fit_settings(a: &crate::cli::FitArgs) -> Result<FitSettings, InputError> {
    existing_input(&a.input)?;
    if let Some(f) = &a.frame {
        must_be_file(f, "frame file")?;
    }
    let folds = if a.folds.eq_ignore_ascii_case("loo") {
        usize::MAX
    } else {
        match a.folds.parse::<usize>() {
            Ok(n) if n >= 2 => n,
            _ => {
                return Err(InputError::flag(
                    format!(
                        "--folds {} is not a number of folds (2 or more) or loo",
                        a.folds
                    ),
                    "pass --folds 5, or --folds loo for leave-one-out",
                ))
            }
        }
    };
    if !(a.target_precision > 0.0 && a.target_precision <= 1.0) {
        return Err(InputError::flag(
            format!("--target-precision {} is not in (0, 1]", a.target_precision),
            "pass a precision such as 0.85",
        ));
    }
    if a.out.extension().and_then(|e| e.to_str()) != Some("json") {
        return Err(InputError::flag(
            format!("--out {} does not end in .json", a.out.display()),
            "name the frame file FRAME.json",
        ));
    }
    let embedding = sentence_embedder(&a.embedding)?;
    Ok(FitSettings {
        input: a.input.clone(),
        columns: read_options(&a.columns),
        label_column: a.label_column.clone(),
        frame: a.frame.clone(),
        question: a.question.clone(),
        folds,
        target_precision: a.target_precision,
        seed: a.seed,
        embedding,
        out: a.out.clone(),
    })
}

/// Checks the flags of `codeframe apply`; touches no data.
pub fn apply_settings(a: &crate::cli::ApplyArgs) -> Result<ApplySettings, InputError> {
    must_be_file(&a.frame, "frame file")?;
    existing_input(&a.input)?;
    if let Some(p) = &a.previous {
        if !p.is_dir() {
            return Err(InputError::file(
                p,
                None,
                "no such folder",
                "pass the output folder of an earlier `codeframe apply` to --previous",
            ));
        }
    }
    let embedding = sentence_embedder(&a.embedding)?;
    Ok(ApplySettings {
        frame: a.frame.clone(),
        question: a.question.clone(),
        input: a.input.clone(),
        columns: read_options(&a.columns),
        previous: a.previous.clone(),
        multi: a.multi,
        seed: a.seed,
        embedding,
        out: a.out.clone(),
    })
}

/// Checks the flags of `codeframe agree`; touches no data.
pub fn agree_settings(a: &crate::cli::AgreeArgs) -> Result<AgreeSettings, InputError> {
    let joins = a
        .join
        .iter()
        .map(|j| JoinSpec::parse(j))
        .collect::<Result<Vec<_>, _>>()?;
    let coders: Vec<String> = a.coders.iter().map(|c| c.trim().to_string()).collect();
    if coders.iter().any(String::is_empty) {
        return Err(InputError::flag(
            "--coders has an empty column name",
            "pass the coder columns' header names, e.g. --coders coder_a,coder_b",
        ));
    }
    if coders.len() + joins.len() < 2 {
        return Err(InputError::flag(
            "agreement needs at least two coders",
            "name two or more columns in --coders, or add one with --join FILE:COL",
        ));
    }
    let stdout = |p: &Option<PathBuf>| p.as_ref().filter(|p| p.as_os_str() != "-").cloned();
    let out = stdout(&a.out);
    for p in out.iter().chain(&a.disagreements) {
        if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(InputError::flag(
                    format!(
                        "the folder of {}, {}, does not exist",
                        p.display(),
                        parent.display()
                    ),
                    "create it first or choose another output path",
                ));
            }
        }
    }
    Ok(AgreeSettings {
        input: a.input.clone(),
        coders,
        id_column: a.id_column.clone(),
        text_column: a.text_column.clone(),
        joins,
        options: AgreeOptions {
            bootstrap: a.bootstrap,
            seed: a.seed,
            ..AgreeOptions::default()
        },
        out,
        disagreements: a.disagreements.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_paths_sit_beside_the_matrix() {
        let o = OutPaths::for_npy(Path::new("out/wave1.npy")).unwrap();
        assert_eq!(o.ids, PathBuf::from("out/wave1.ids.csv"));
        assert_eq!(o.manifest, PathBuf::from("out/wave1.manifest.json"));
        assert!(OutPaths::for_npy(Path::new("x.csv")).is_err());
    }

    #[test]
    fn devices() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(parse_device("gpu").is_err());
        if !tch::Cuda::is_available() {
            assert!(parse_device("cuda").unwrap_err().fix.contains("cpu"));
        }
    }
}
