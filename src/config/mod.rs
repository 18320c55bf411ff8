//! Settings: raw flags turned into checked settings before any expensive work starts — every
//! file and folder checked, every number in range, the library's parameter errors turned into
//! hints that name the flag.

use std::path::{Path, PathBuf};

use tch::Device;

use crate::agree::AgreeOptions;
use crate::cli::{
    AgreeArgs, AnswerColumns, ApplyArgs, DiscoverArgs, EmbedArgs, EmbedFlags, EmbedderChoice,
    EvalMode, EvaluateArgs, ForwardChoice, MethodArg, NameLevel, ReportArgs,
};
use crate::cluster::{ClusterParams, KChoice, Method, ParamError};
use crate::embed::cpu::CpuInfo;
use crate::embed::sentence::{Forward, DEFAULT_BATCH_SIZE, DEFAULT_BATCH_TOKENS};
use crate::embed::spec::{self as models, Backend, EmbedderSpec, ModelSpec, MINILM};
use crate::embed::{model_dir, Cache, Precision};
use crate::error::InputError;
use crate::ingest::ReadOptions;
use crate::rundir;

mod fit;
mod questions;
mod survey;

pub use fit::FitSettings;
pub use questions::{ApplyPlan, DiscoverPlan, FitPlan, QuestionRun, QuestionRuns};
pub use survey::CrosstabSettings;

type Checked<T> = Result<T, InputError>;

/// Refuses a path that is not an existing file; `flag` names where it was given.
pub fn existing_file(path: &Path, what: &str, flag: &str) -> Checked<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(InputError::file(
            path,
            None,
            format!("no such {what}"),
            format!("check the path given to {flag}"),
        ))
    }
}

/// Refuses an output file whose folder does not exist.
fn output_folder_exists(out: &Path, flag: &str) -> Checked<()> {
    match out.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) if !parent.is_dir() => Err(InputError::flag(
            format!(
                "the folder of {flag} {}, {}, does not exist",
                out.display(),
                parent.display()
            ),
            format!("create it first or choose another {flag}"),
        )),
        _ => Ok(()),
    }
}

/// The flag hint for a clustering parameter error.
pub fn cluster_error(e: ParamError) -> InputError {
    let fix = match e {
        ParamError::NoRestarts => "pass --restarts 10".to_string(),
        ParamError::NoIterations => "leave the iteration cap at 300".to_string(),
        ParamError::SeededNeedsKMeans(_) => "pass --method kmeans, or a numeric --k".to_string(),
        ParamError::TooManyPoints { .. } => "pass --method kmeans".to_string(),
        ParamError::ZeroK => "pass --k 2 or more, or --k auto".to_string(),
        ParamError::MoreGroupsThanAnswers { distinct, .. } => {
            format!("pass --k {distinct} or fewer")
        }
        ParamError::BadRange { .. } => "pass --k-range 2..15".to_string(),
        ParamError::TooFewForRange { .. } => "pass a fixed --k".to_string(),
    };
    let problem = match e {
        ParamError::SeededNeedsKMeans(m) => {
            format!("--k frame starts k-means from the codes; it does not work with --method {m}")
        }
        ParamError::ZeroK => "--k must be at least 1".to_string(),
        ParamError::MoreGroupsThanAnswers { k, distinct } => {
            format!("--k {k} asks for more groups than the {distinct} distinct answers")
        }
        ParamError::TooFewForRange { min, distinct } => {
            format!("--k auto needs at least {min} distinct answers; there are {distinct}")
        }
        ParamError::BadRange { min, max } => {
            format!("the --k-range {min}..{max} is empty or starts below 2")
        }
        other => other.to_string(),
    };
    InputError::flag(problem, fix)
}

/// Parses `cpu`, `cuda` or `cuda:N` and checks libtorch can see the device.
pub fn parse_device(s: &str) -> Checked<Device> {
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

/// Refuses bf16 on a CPU without bfloat16 instructions, where it runs several times slower
/// than f32.
pub fn check_precision(p: Precision, device: Device, cpu: &CpuInfo) -> Checked<()> {
    if p == Precision::Bf16 && device == Device::Cpu && !cpu.has_bf16() {
        return Err(InputError::flag(
            format!(
                "--precision bf16: this CPU ({}) has no bfloat16 instructions (avx512_bf16 or \
                 amx_bf16), so bf16 would run several times slower than f32",
                cpu.model
            ),
            "use --precision f32 (the default)",
        ));
    }
    Ok(())
}

/// Checks the embedding flags into an embedder spec; touches no model.
pub fn embedder_spec(a: &EmbedFlags) -> Checked<EmbedderSpec> {
    let precision: Precision = a
        .precision
        .parse()
        .map_err(|e: String| InputError::flag(e, "pass --precision f32, bf16 or int8"))?;
    let device = parse_device(&a.device)?;
    if a.embedder == EmbedderChoice::Minilm {
        check_precision(precision, device, &CpuInfo::detect())?;
    }
    let positive = |v: Option<usize>, default: usize, flag: &str| match v {
        Some(0) => Err(InputError::flag(
            format!("{flag} must be at least 1"),
            format!("leave it out to use {default}"),
        )),
        v => Ok(v.unwrap_or(default)),
    };
    let batch_size = positive(a.batch_size, DEFAULT_BATCH_SIZE, "--batch-size")?;
    let batch_tokens = positive(a.batch_tokens, DEFAULT_BATCH_TOKENS, "--batch-tokens")?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = positive(a.threads, cores, "--threads")?;
    let cache_every = positive(a.cache_every, crate::embed::CHUNK_TEXTS, "--cache-every")?;
    let backend = match a.embedder {
        EmbedderChoice::Minilm => {
            let (model, dir) = model_choice(a.model.as_deref(), a.model_dir.as_deref())?;
            Backend::Sentence {
                model,
                dir,
                device,
                precision,
                batch_size,
                batch_tokens,
                forward: match a.forward {
                    ForwardChoice::Fused => Forward::Fused,
                    ForwardChoice::RustBert => Forward::RustBert,
                },
            }
        }
        EmbedderChoice::Tfidf => {
            if a.model.is_some() {
                return Err(InputError::flag(
                    "--model chooses a sentence model, which --embedder tfidf does not use",
                    "leave out --model or --embedder tfidf",
                ));
            }
            Backend::Tfidf
        }
    };
    let cache_dir = if a.no_cache {
        None
    } else {
        a.cache_dir.clone().or_else(Cache::default_dir)
    };
    if let Some(d) = &cache_dir {
        if d.exists() && !d.is_dir() {
            return Err(InputError::file(
                d,
                None,
                "the embedding cache is not a folder",
                "pass --cache-dir with a folder, or --no-cache",
            ));
        }
        rundir::creatable(d, "--cache-dir").map_err(|mut e| {
            e.fix = "pass --cache-dir with a folder that can be created, or --no-cache".into();
            e
        })?;
    }
    Ok(EmbedderSpec {
        backend,
        threads,
        cache_dir,
        cache_every,
        model_given: a.model.is_some() || a.model_dir.is_some(),
    })
}

/// The model `--model` names: an installed model (its folder from `--model-dir` or the
/// default place) or a folder of the user's own.
pub fn model_choice(
    model: Option<&str>,
    model_dir: Option<&Path>,
) -> Checked<(Option<&'static ModelSpec>, PathBuf)> {
    let installed = |spec: &'static ModelSpec| {
        let dir = model_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| model_dir::default_dir(spec));
        (Some(spec), dir)
    };
    let Some(name) = model else {
        return Ok(installed(&MINILM));
    };
    if let Some(spec) = models::named(name) {
        return Ok(installed(spec));
    }
    let path = Path::new(name);
    if path.is_dir() {
        if model_dir.is_some() {
            return Err(InputError::flag(
                "--model-dir names the folder of an installed model; --model already gives a folder",
                "leave out --model-dir",
            ));
        }
        return Ok((None, path.to_path_buf()));
    }
    Err(InputError::flag(
        format!("--model {name}: no model has that name and no folder has that path"),
        format!(
            "pass one of {} (codeframe model list shows what is installed), or a \
             sentence-transformers folder",
            models::names()
        ),
    ))
}

/// Embedding settings for a code frame, which works on sentence embeddings only.
fn sentence_embedder(flags: &EmbedFlags) -> Checked<EmbedderSpec> {
    let spec = embedder_spec(flags)?;
    if !spec.is_sentence_model() {
        return Err(InputError::flag(
            "a code frame works on sentence embeddings",
            "leave out --embedder, or pass --embedder minilm",
        ));
    }
    Ok(spec)
}

/// The answers file's columns as the reader takes them, for a command that codes one question.
fn read_options(c: &AnswerColumns, command: &str) -> Checked<ReadOptions> {
    match c.text_column.as_slice() {
        [one] => Ok(column_options(c, one)),
        _ => Err(InputError::flag(
            format!(
                "codeframe {command} codes one question; --text-column was given {} times",
                c.text_column.len()
            ),
            "pass --text-column once (discover, fit and apply take several questions of one file)",
        )),
    }
}

/// The answers file's columns, with `text` as the answers column.
fn column_options(c: &AnswerColumns, text: &str) -> ReadOptions {
    ReadOptions {
        duplicates: survey::duplicates(c.duplicates),
        ..ReadOptions::new(text.to_string(), c.id_column.clone())
    }
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
    pub fn for_npy(npy: &Path) -> Checked<Self> {
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

/// Checked settings of `codeframe embed`.
#[derive(Debug, Clone)]
pub struct EmbedSettings {
    /// Answers file.
    pub input: PathBuf,
    /// Answer text and id columns.
    pub columns: ReadOptions,
    /// The embedder.
    pub embedding: EmbedderSpec,
    /// Output paths.
    pub out: OutPaths,
}

impl EmbedSettings {
    /// Checks every flag; touches no model and reads no data.
    pub fn from_args(a: &EmbedArgs) -> Checked<Self> {
        existing_file(&a.input, "answers file", "codeframe embed")?;
        let out = OutPaths::for_npy(&a.out)?;
        output_folder_exists(&a.out, "--out")?;
        for p in [&out.npy, &out.ids, &out.manifest] {
            rundir::check_out_file(p, &[&a.input], "--out")?;
        }
        Ok(EmbedSettings {
            input: a.input.clone(),
            columns: read_options(&a.columns, "embed")?,
            embedding: embedder_spec(&a.embedding)?,
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
    pub embedding: EmbedderSpec,
    /// Output folder.
    pub out: PathBuf,
    /// Also write the report page.
    pub report: bool,
    /// Blank answers are questions not answered (a survey file with several questions), not
    /// non-answers.
    pub blanks_not_answered: bool,
}

/// Parses `--k` (a number, `auto` or `frame`) with `--k-range MIN..MAX`.
pub fn parse_k(k: &str, range: &str) -> Checked<KChoice> {
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

impl DiscoverSettings {
    /// Checks every flag of a run on one question; touches no model and reads no data.
    pub fn from_args(a: &DiscoverArgs) -> Checked<Self> {
        let columns = read_options(&a.columns, "discover")?;
        Self::for_column(a, columns)
    }

    /// Checks every flag, for the question in `columns`.
    pub(crate) fn for_column(a: &DiscoverArgs, columns: ReadOptions) -> Checked<Self> {
        existing_file(&a.input, "answers file", "codeframe discover")?;
        let k = parse_k(&a.k, &a.k_range)?;
        if let Some(f) = &a.frame {
            existing_file(f, "frame file", "--frame")?;
        }
        if k == KChoice::FromFrame && a.frame.is_none() {
            return Err(InputError::flag(
                "--k frame needs --frame",
                "pass --frame FRAME.toml, or a numeric --k",
            ));
        }
        let cluster = ClusterParams {
            k,
            // Default: the UMAP layout's groups checked against plain k-means, or k-means from
            // the codes with --k frame.
            method: match a.method {
                None if k == KChoice::FromFrame => Method::KMeans,
                None => Method::Auto,
                Some(MethodArg::Kmeans) => Method::KMeans,
                Some(MethodArg::Agglomerative) => Method::Agglomerative,
                Some(MethodArg::Gmm) => Method::Gmm,
                Some(MethodArg::KmeansWard) => Method::KMeansWard,
                Some(MethodArg::Umap) => Method::Umap,
                Some(MethodArg::Auto) => Method::Auto,
            },
            n_runs: a.restarts,
            seed: a.seed,
            ..ClusterParams::default()
        };
        // Checked here for the flags alone; the data-dependent checks run once answers are read.
        cluster
            .check(usize::MAX, usize::MAX)
            .map_err(cluster_error)?;
        let inputs: Vec<&Path> = [Some(a.input.as_path()), a.frame.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        rundir::check_out_dir(&a.out, &inputs)?;
        Ok(DiscoverSettings {
            input: a.input.clone(),
            columns: survey::with_respondents(columns, &a.respondents),
            cluster,
            frame: a.frame.clone(),
            question: a.question.clone(),
            topic_groups: a.level == NameLevel::Groups,
            embedding: embedder_spec(&a.embedding)?,
            out: a.out.clone(),
            report: a.report,
            blanks_not_answered: false,
        })
    }
}

/// Checked settings of `codeframe evaluate`.
#[derive(Debug, Clone)]
pub struct EvaluateSettings {
    /// Predictions file.
    pub pred: PathBuf,
    /// Its label column.
    pub pred_column: String,
    /// Human codes file.
    pub gold: PathBuf,
    /// Its label column.
    pub gold_column: String,
    /// Id column of both.
    pub id_column: String,
    /// Codes, groups, or decided from the labels.
    pub mode: EvalMode,
    /// JSON output (stdout when absent).
    pub out: Option<PathBuf>,
}

impl EvaluateSettings {
    /// Checks every flag; reads no data.
    pub fn from_args(a: &EvaluateArgs) -> Checked<Self> {
        existing_file(&a.pred, "file", "--pred")?;
        existing_file(&a.gold, "file", "--gold")?;
        if let Some(out) = &a.out {
            output_folder_exists(out, "--out")?;
            rundir::check_out_file(out, &[&a.pred, &a.gold], "--out")?;
        }
        Ok(EvaluateSettings {
            pred: a.pred.clone(),
            pred_column: a.pred_column.clone(),
            gold: a.gold.clone(),
            gold_column: a.gold_column.clone(),
            id_column: a.id_column.clone(),
            mode: a.mode,
            out: a.out.clone(),
        })
    }
}

/// A coder column taken from another file by id (`--join FILE:COL[=NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSpec {
    /// The other file.
    pub path: PathBuf,
    /// Its column holding the codes.
    pub column: String,
    /// The coder's name in the output.
    pub name: String,
}

impl JoinSpec {
    /// Parses `FILE:COL` or `FILE:COL=NAME` (split at the last `:`). The default name is the
    /// file's folder and the column, e.g. `q7-run/group_name`, so two runs' `assignments.csv`
    /// stay apart.
    pub fn parse(s: &str) -> Checked<JoinSpec> {
        let bad = || {
            InputError::flag(
                format!("--join {s:?} is not FILE:COLUMN"),
                "pass e.g. --join out/q7/assignments.csv:group_name (add =NAME to name the coder)",
            )
        };
        let (file, rest) = s.rsplit_once(':').ok_or_else(bad)?;
        let (column, name) = match rest.split_once('=') {
            Some((c, n)) => (c.trim(), Some(n.trim())),
            None => (rest.trim(), None),
        };
        if file.is_empty() || column.is_empty() || name == Some("") {
            return Err(bad());
        }
        let path = PathBuf::from(file);
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                let folder = path
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|f| f.to_string_lossy().into_owned());
                match folder {
                    Some(f) if !f.is_empty() => format!("{f}/{column}"),
                    _ => column.to_string(),
                }
            }
        };
        Ok(JoinSpec {
            path,
            column: column.to_string(),
            name,
        })
    }
}

/// Checked settings of `codeframe agree`.
#[derive(Debug, Clone)]
pub struct AgreeSettings {
    /// The file with the coder columns (and ids, and usually the text).
    pub input: PathBuf,
    /// Coder columns of `input`.
    pub coders: Vec<String>,
    /// Id column, in `input` and in every joined file.
    pub id_column: String,
    /// Text column for disagreements.csv (default: `text` when present).
    pub text_column: Option<String>,
    /// Coders from other files.
    pub joins: Vec<JoinSpec>,
    /// Bootstrap resamples and seed.
    pub options: AgreeOptions,
    /// JSON output (stdout when absent).
    pub out: Option<PathBuf>,
    /// disagreements.csv (default: beside `out`).
    pub disagreements: Option<PathBuf>,
}

impl AgreeSettings {
    /// Checks every flag and file path; reads no data.
    pub fn from_args(a: &AgreeArgs) -> Checked<Self> {
        existing_file(&a.input, "file", "codeframe agree")?;
        let joins = a
            .join
            .iter()
            .map(|j| JoinSpec::parse(j))
            .collect::<Checked<Vec<_>>>()?;
        for j in &joins {
            existing_file(&j.path, "file", "--join")?;
        }
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
        let out = a.out.as_ref().filter(|p| p.as_os_str() != "-").cloned();
        let disagreements = a
            .disagreements
            .clone()
            .or_else(|| out.as_ref().map(|o| o.with_file_name("disagreements.csv")));
        let inputs: Vec<&Path> = std::iter::once(a.input.as_path())
            .chain(joins.iter().map(|j| j.path.as_path()))
            .collect();
        for (p, flag) in [(&out, "--out"), (&disagreements, "--disagreements")] {
            if let Some(p) = p {
                output_folder_exists(p, flag)?;
                rundir::check_out_file(p, &inputs, flag)?;
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
            disagreements,
        })
    }
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
    /// Embedding settings (a learned frame sets the precision).
    pub embedding: EmbedderSpec,
    /// Output folder.
    pub out: PathBuf,
    /// Also write the report page.
    pub report: bool,
    /// Blank answers are questions not answered (a survey file with several questions).
    pub blanks_not_answered: bool,
}

impl ApplySettings {
    /// Checks every flag of a run on one question; touches no data.
    pub fn from_args(a: &ApplyArgs) -> Checked<Self> {
        let columns = read_options(&a.columns, "apply")?;
        Self::for_question(a, columns, &a.frame, a.previous.as_deref())
    }

    /// Checks every flag, for the question in `columns`, coded with `frame` and compared with
    /// `previous`.
    pub(crate) fn for_question(
        a: &ApplyArgs,
        columns: ReadOptions,
        frame: &Path,
        previous: Option<&Path>,
    ) -> Checked<Self> {
        existing_file(frame, "frame file", "codeframe apply")?;
        existing_file(&a.input, "answers file", "codeframe apply")?;
        if let Some(p) = previous {
            if !p.is_dir() {
                return Err(InputError::file(
                    p,
                    None,
                    "no such folder",
                    "pass the output folder of an earlier `codeframe apply` to --previous",
                ));
            }
        }
        let inputs: Vec<&Path> = [Some(frame), Some(a.input.as_path()), previous]
            .into_iter()
            .flatten()
            .collect();
        rundir::check_out_dir(&a.out, &inputs)?;
        Ok(ApplySettings {
            frame: frame.to_path_buf(),
            question: a.question.clone(),
            input: a.input.clone(),
            columns: survey::with_respondents(columns, &a.respondents),
            previous: previous.map(Path::to_path_buf),
            multi: a.multi,
            seed: a.seed,
            embedding: sentence_embedder(&a.embedding)?,
            out: a.out.clone(),
            report: a.report,
            blanks_not_answered: false,
        })
    }
}

/// Checked settings of `codeframe report`.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// The run folder.
    pub dir: PathBuf,
    /// The page to write.
    pub out: PathBuf,
}

impl ReportSettings {
    /// Checks the folder and the page's path; reads no run file.
    pub fn from_args(a: &ReportArgs) -> Checked<Self> {
        ReportSettings::new(&a.dir, a.out.as_deref())
    }

    /// The settings for the page of `dir` (at `out`, or `dir/report.html`).
    pub fn new(dir: &Path, out: Option<&Path>) -> Checked<Self> {
        if !dir.is_dir() {
            return Err(InputError::file(
                dir,
                None,
                "no such folder",
                "pass the output folder of `codeframe discover` or `codeframe apply`",
            ));
        }
        let out = out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join(rundir::REPORT));
        output_folder_exists(&out, "--out")?;
        let run_files: Vec<PathBuf> = std::iter::once(rundir::MANIFEST)
            .chain(rundir::RunKind::Discover.files().iter().copied())
            .chain(rundir::RunKind::Apply.files().iter().copied())
            .chain([rundir::EVALUATION, rundir::AGREEMENT])
            .map(|f| dir.join(f))
            .collect();
        let run_refs: Vec<&Path> = run_files.iter().map(PathBuf::as_path).collect();
        rundir::check_out_file(&out, &run_refs, "--out")?;
        Ok(ReportSettings {
            dir: dir.to_path_buf(),
            out,
        })
    }
}

/// Where the workspace's answers come from.
#[derive(Debug, Clone)]
pub enum ReviewSource {
    /// The discover or apply run in the folder (and the frame it was named from, if given).
    Run {
        /// A frame to take descriptions and topic groups from.
        frame: Option<PathBuf>,
    },
    /// Answers not yet grouped, coded with a frame's codes.
    Answers {
        /// The answers file.
        input: PathBuf,
        /// Its columns.
        columns: ReadOptions,
        /// The frame.
        frame: PathBuf,
    },
}

/// Checked settings of `codeframe review`.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    /// The folder holding the store.
    pub dir: PathBuf,
    /// The coder.
    pub coder: String,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Where answers come from when the store is new.
    pub source: ReviewSource,
    /// The frame's question.
    pub question: Option<String>,
    /// Export into this folder instead of serving.
    pub export: Option<PathBuf>,
    /// Columns of earlier coding to import when the store is made.
    pub coders: Vec<String>,
}

impl ReviewSettings {
    /// Checks every flag and path; opens nothing.
    pub fn from_args(a: &crate::cli::ReviewArgs) -> Checked<Self> {
        let coder = a.coder.trim();
        if coder.is_empty() || coder.chars().count() > 60 || coder.chars().any(char::is_control) {
            return Err(InputError::flag(
                format!("--coder {:?} is not a coder's name", a.coder),
                "pass a name of 1 to 60 letters, e.g. --coder maria",
            ));
        }
        if [crate::review::MACHINE, crate::review::ADJUDICATION].contains(&coder) {
            return Err(InputError::flag(
                format!("--coder {coder} is the name of the machine's or the adjudicated codes"),
                "pass your own name",
            ));
        }
        if let Some(f) = &a.frame {
            existing_file(f, "frame file", "--frame")?;
        }
        let store = a.dir.join(crate::review::STORE_FILE);
        let source = match (&a.input, &a.frame) {
            (Some(input), Some(frame)) => {
                existing_file(input, "answers file", "--input")?;
                rundir::creatable(&store, "the folder")?;
                ReviewSource::Answers {
                    input: input.clone(),
                    columns: ReadOptions {
                        duplicates: survey::duplicates(a.duplicates),
                        ..ReadOptions::new(a.text_column.clone(), a.id_column.clone())
                    },
                    frame: frame.clone(),
                }
            }
            _ => {
                if !store.is_file() && !a.dir.join(rundir::MANIFEST).is_file() {
                    return Err(InputError::file(
                        &a.dir,
                        None,
                        "no codeframe run and no review store in this folder",
                        "pass the output folder of `codeframe discover` or `codeframe apply`, \
                         or answers with --input FILE --frame FRAME.toml",
                    ));
                }
                ReviewSource::Run {
                    frame: a.frame.clone(),
                }
            }
        };
        let coders: Vec<String> = a.coders.iter().map(|c| c.trim().to_string()).collect();
        if let Some(c) = coders.iter().find(|c| {
            c.is_empty()
                || [crate::review::MACHINE, crate::review::ADJUDICATION].contains(&c.as_str())
        }) {
            return Err(InputError::flag(
                format!("--coders names a column {c:?} that cannot be a coder"),
                "name the columns of people's codes, e.g. --coders coder_a,coder_b",
            ));
        }
        if let Some(out) = &a.export {
            rundir::creatable(&out.join("x"), "--export")?;
            if out.exists() && !out.is_dir() {
                return Err(InputError::file(
                    out,
                    None,
                    "--export names a file, not a folder",
                    "pass a folder to --export",
                ));
            }
        }
        Ok(ReviewSettings {
            dir: a.dir.clone(),
            coder: coder.to_string(),
            port: a.port,
            source,
            question: a.question.clone(),
            export: a.export.clone(),
            coders,
        })
    }
}

/// The installed model and folder `codeframe model convert|check` works on: `NAME` picks the
/// model (default all-MiniLM-L6-v2), `DIR` its folder.
pub fn model_folder(
    name: Option<&str>,
    dir: Option<&Path>,
) -> Checked<(&'static ModelSpec, PathBuf)> {
    let spec = match name {
        None => &MINILM,
        Some(n) => models::named(n).ok_or_else(|| {
            InputError::flag(
                format!("--model {n}: no installed model has that name"),
                format!("pass one of {}", models::names()),
            )
        })?,
    };
    Ok((
        spec,
        dir.map(Path::to_path_buf)
            .unwrap_or_else(|| model_dir::default_dir(spec)),
    ))
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

    #[test]
    fn bf16_needs_bfloat16_instructions() {
        let epyc = CpuInfo::parse("model name : AMD EPYC 7R13\nflags : avx avx2 fma\n");
        let e = check_precision(Precision::Bf16, Device::Cpu, &epyc).unwrap_err();
        assert!(e.problem.contains("AMD EPYC 7R13"), "{}", e.problem);
        assert!(e.fix.contains("f32"));
        assert!(check_precision(Precision::F32, Device::Cpu, &epyc).is_ok());
        let xeon = CpuInfo::parse("model name : Xeon\nflags : avx512f avx512_bf16\n");
        assert!(check_precision(Precision::Bf16, Device::Cpu, &xeon).is_ok());
    }

    #[test]
    fn parameter_errors_become_flag_hints() {
        let e = cluster_error(ParamError::MoreGroupsThanAnswers { k: 9, distinct: 3 });
        assert!(
            e.problem.contains("--k 9") && e.fix.contains("--k 3"),
            "{e}"
        );
        assert!(cluster_error(ParamError::NoRestarts)
            .fix
            .contains("--restarts"));
    }

    #[test]
    fn join_specs() {
        let j = JoinSpec::parse("out/q7/assignments.csv:group_name").unwrap();
        assert_eq!(j.path, PathBuf::from("out/q7/assignments.csv"));
        assert_eq!(j.column, "group_name");
        assert_eq!(j.name, "q7/group_name");
        let j = JoinSpec::parse("c:/x/a.csv:code=machine").unwrap();
        assert_eq!(j.path, PathBuf::from("c:/x/a.csv"));
        assert_eq!(j.name, "machine");
        assert!(JoinSpec::parse("a.csv").is_err());
        assert!(JoinSpec::parse("a.csv:").is_err());
        assert!(JoinSpec::parse("a.csv:c=").is_err());
    }
}
