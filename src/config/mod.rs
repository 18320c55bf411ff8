//! Settings: raw flags turned into checked settings before any expensive work starts — every
//! file and folder checked, every number in range, the library's parameter errors turned into
//! hints that name the flag.

use std::path::{Path, PathBuf};

use crate::cli::{
    AnswerColumns, ApplyArgs, DiscoverArgs, EmbedArgs, EvalMode, EvaluateArgs, MethodArg,
    NameLevel, ReportArgs,
};
use crate::cluster::{ClusterParams, KChoice, Method, ParamError};
use crate::embed::spec::EmbedderSpec;
use crate::error::InputError;
use crate::ingest::ReadOptions;
use crate::rundir;

mod agree;
mod embedding;
mod fit;
mod questions;
mod review;
mod survey;

pub use agree::{AgreeSettings, JoinSpec};
use embedding::sentence_embedder;
pub use embedding::{check_precision, embedder_spec, model_choice, model_folder, parse_device};
pub use fit::FitSettings;
pub use questions::{ApplyPlan, DiscoverPlan, FitPlan, QuestionRun, QuestionRuns};
pub use review::{ReviewSettings, ReviewSource};
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
}
