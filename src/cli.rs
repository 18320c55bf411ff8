//! Command line: raw flags as clap parses them; nothing is validated here (see `config`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Codes open-ended survey answers: embed, group, evaluate, apply a code frame.
#[derive(Debug, Parser)]
#[command(name = "codeframe", version, about, propagate_version = true)]
pub struct Cli {
    /// No progress bars or summaries on stderr (errors still print).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Detail lines on stderr too (e.g. each batch of vectors stored in the embedding cache).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Embed each answer with a sentence-embedding model and write an .npy matrix.
    Embed(Box<EmbedArgs>),
    /// Group the answers to one question into topics and describe each group.
    Discover(Box<DiscoverArgs>),
    /// Score predicted groups or codes against human coders' labels.
    Evaluate(EvaluateArgs),
    /// Learn a code frame from coded answers (classifier, thresholds) and save it as JSON.
    Fit(Box<FitArgs>),
    /// Code a new wave with a saved frame (or a frame .toml, zero-shot); flag what fits no code.
    Apply(Box<ApplyArgs>),
    /// Write one self-contained HTML page for a discover or apply output folder.
    Report(ReportArgs),
    /// Agreement between coders (people or machine): kappas, alpha, AC1, intervals, disagreements.
    Agree(AgreeArgs),
    /// Open the coding workspace in the browser: build the frame from groups, check uncertain
    /// answers, second-code a blind sample, adjudicate; or --export its results.
    Review(ReviewArgs),
    /// Tabulate a run's codes by a respondent variable: counts, column shares, chi-square.
    Crosstab(CrosstabArgs),
    /// Install or check the embedding model folder.
    #[command(subcommand)]
    Model(ModelCommand),
}

/// Which embedder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedderChoice {
    /// all-MiniLM-L6-v2 sentence embeddings (384 dimensions).
    Minilm,
    /// TF-IDF word vectors learned from the input (baseline).
    Tfidf,
}

/// Which forward pass the MiniLM embedder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForwardChoice {
    /// Fused libtorch ops (default).
    Fused,
    /// rust-bert's SentenceEmbeddingsModel (reference).
    RustBert,
}

/// The answer and id columns of an answers file, chosen by header name.
#[derive(Debug, Args)]
pub struct AnswerColumns {
    /// Header name of the column holding the answers; discover, fit and apply take it again
    /// for each open question of a survey file (discover and apply: one sub-folder of --out
    /// per question; fit: one frame per question in the --out folder).
    #[arg(long, value_name = "COL", required = true)]
    pub text_column: Vec<String>,
    /// Header name of the id column (default: row numbers from 1).
    #[arg(long, value_name = "COL")]
    pub id_column: Option<String>,
    /// A repeated id: refuse the file, or keep its first or last row (the others are listed
    /// in dropped.csv and counted in the manifest).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = DuplicatesArg::Error)]
    pub duplicates: DuplicatesArg,
}

/// What to do with a repeated id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DuplicatesArg {
    /// Refuse the file, naming both lines.
    Error,
    /// Keep the first row of each id.
    First,
    /// Keep the last row of each id.
    Last,
}

/// Respondent variables to carry beside the answers.
#[derive(Debug, Args)]
pub struct RespondentColumns {
    /// A respondent column (country, role, …) to carry into assignments.csv/.xlsx, for
    /// `codeframe crosstab`; repeat for several.
    #[arg(long = "keep-column", value_name = "COL")]
    pub keep_columns: Vec<String>,
    /// Column of survey weights: weighted counts and shares beside the unweighted ones, with
    /// the effective sample size (agreement figures stay unweighted).
    #[arg(long, value_name = "COL")]
    pub weight_column: Option<String>,
}

/// Flags of `codeframe embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Answers file with a header row: CSV, TSV (.tsv/.tab) or an Excel workbook (.xlsx, first
    /// worksheet).
    pub input: PathBuf,
    /// Columns of the answers file.
    #[command(flatten)]
    pub columns: AnswerColumns,
    /// Embedding settings.
    #[command(flatten)]
    pub embedding: EmbedFlags,
    /// Output matrix (.npy); ids go to <stem>.ids.csv and the run record to <stem>.manifest.json.
    #[arg(long, value_name = "FILE.npy")]
    pub out: PathBuf,
}

/// Flags that choose and tune the embedder, shared by the commands that embed.
#[derive(Debug, Args)]
pub struct EmbedFlags {
    /// Embedding backend.
    #[arg(long, value_enum, default_value_t = EmbedderChoice::Minilm)]
    pub embedder: EmbedderChoice,
    /// Numeric precision of the model: f32, bf16 or int8.
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Most answers per forward pass [default: 512].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Most tokens per forward pass [default: 2048].
    #[arg(long, value_name = "N")]
    pub batch_tokens: Option<usize>,
    /// Threads for libtorch (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Sentence model: an installed model's name (all-MiniLM-L6-v2, multilingual-e5-small;
    /// see `codeframe model list`) or a sentence-transformers folder with a BERT-family encoder
    /// [default: all-MiniLM-L6-v2].
    #[arg(long, value_name = "NAME|DIR")]
    pub model: Option<String>,
    /// Folder holding the installed model (default: models/<name> of this checkout).
    #[arg(long, value_name = "DIR", hide = true)]
    pub model_dir: Option<PathBuf>,
    /// Forward pass (for checking the fused one against rust-bert's).
    #[arg(long, value_enum, default_value_t = ForwardChoice::Fused, hide = true)]
    pub forward: ForwardChoice,
    /// Embedding cache folder (default: ~/.cache/codeframe).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the embedding cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Texts embedded between two writes to the cache, so a stopped run keeps what it did
    /// [default: 4096].
    #[arg(long, value_name = "N", hide = true)]
    pub cache_every: Option<usize>,
}

/// Which frame labels name discovered groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NameLevel {
    /// The codes.
    Codes,
    /// The topic groups codes belong to.
    Groups,
}

/// Clustering algorithm of `codeframe discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// k-means (greedy k-means++, restarts) on the answer vectors.
    Kmeans,
    /// Agglomerative, Ward linkage (up to 20,000 answers).
    Agglomerative,
    /// Gaussian mixture on the leading 32 principal components.
    Gmm,
    /// k-means into many small groups (150, or 3 per group), merged by Ward linkage.
    KmeansWard,
    /// k-means on a 5-dimensional UMAP layout.
    Umap,
    /// The UMAP layout's groups, or plain k-means's when the layout's are far less coherent on
    /// the answer vectors (silhouette below half of k-means's).
    Auto,
}

/// Flags of `codeframe discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Answers file with a header row: CSV, TSV (.tsv/.tab) or an Excel workbook (.xlsx, first
    /// worksheet).
    pub input: PathBuf,
    /// Columns of the answers file.
    #[command(flatten)]
    pub columns: AnswerColumns,
    /// Respondent columns carried into the outputs.
    #[command(flatten)]
    pub respondents: RespondentColumns,
    /// Number of groups; "auto" to choose by silhouette among the stable k within --k-range;
    /// "frame" for one group per code of --frame, k-means started from the codes.
    #[arg(long, default_value = "auto")]
    pub k: String,
    /// Range --k auto chooses from, MIN..MAX.
    #[arg(long, value_name = "MIN..MAX", default_value = "2..15")]
    pub k_range: String,
    /// Clustering algorithm [default: auto; kmeans with --k frame].
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Restarts of k-means (k-means++ seeding each time) or of the mixture's EM.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub restarts: usize,
    /// Seed of every random step.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Code frame (TOML) to name the groups from.
    #[arg(long, value_name = "FRAME")]
    pub frame: Option<PathBuf>,
    /// Question of the frame the answers belong to (default: found from the file name).
    #[arg(long, value_name = "ID")]
    pub question: Option<String>,
    /// Name groups after codes or after topic groups.
    #[arg(long, value_enum, default_value_t = NameLevel::Codes)]
    pub level: NameLevel,
    /// Embedding settings.
    #[command(flatten)]
    pub embedding: EmbedFlags,
    /// Output folder (created): assignments.csv/.xlsx, groups.json, frequencies.csv/.xlsx,
    /// map.csv, manifest.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write DIR/report.html.
    #[arg(long)]
    pub report: bool,
}

/// Flags of `codeframe fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Coded answers with a header row: CSV, TSV (.tsv/.tab) or Excel (.xlsx).
    pub input: PathBuf,
    /// Columns of the answers file.
    #[command(flatten)]
    pub columns: AnswerColumns,
    /// Header name of the human code column (empty cells: not coded, left out; "A; B" names
    /// two codes); with several --text-column, one per question, in the same order.
    #[arg(long, value_name = "COL", required = true)]
    pub label_column: Vec<String>,
    /// Code frame (TOML) with the codes' ids, topic groups and descriptions.
    #[arg(long, value_name = "FRAME")]
    pub frame: Option<PathBuf>,
    /// Question of the frame the answers belong to.
    #[arg(long, value_name = "ID")]
    pub question: Option<String>,
    /// Cross-validation folds; "loo" for leave-one-out.
    #[arg(long, value_name = "N|loo", default_value = "5")]
    pub folds: String,
    /// Precision the automatically coded answers must reach (sets each code's threshold).
    #[arg(long, value_name = "P", default_value_t = 0.85)]
    pub target_precision: f64,
    /// Seed of the cross-validation folds.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Header name of a column whose rows stay together in cross-validation: answers that
    /// share its value (one respondent's answers, an answer and its translations) are tested
    /// in the same fold, so the estimates do not learn from a near-copy.
    #[arg(long, value_name = "COL")]
    pub keep_together: Option<String>,
    /// Embedding settings.
    #[command(flatten)]
    pub embedding: EmbedFlags,
    /// The frame file to write (JSON); with several --text-column, a folder that gets one
    /// frame per question, named after its folder (q7.json, q8.json).
    #[arg(long, value_name = "FRAME.json|DIR")]
    pub out: PathBuf,
}

/// Flags of `codeframe apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A frame written by `codeframe fit` (.json), or a code frame (.toml) to code zero-shot
    /// from its codes' descriptions; with several --text-column, a .toml frame or a folder of
    /// learned frames named after the questions' folders (q7.json, q8.json).
    pub frame: PathBuf,
    /// The new wave's answers with a header row: CSV, TSV (.tsv/.tab) or Excel (.xlsx).
    pub input: PathBuf,
    /// Columns of the answers file.
    #[command(flatten)]
    pub columns: AnswerColumns,
    /// Respondent columns carried into the outputs.
    #[command(flatten)]
    pub respondents: RespondentColumns,
    /// Question of a .toml frame the answers belong to.
    #[arg(long, value_name = "ID")]
    pub question: Option<String>,
    /// Output folder of the previous wave's apply, to compare code shares with.
    #[arg(long, value_name = "DIR")]
    pub previous: Option<PathBuf>,
    /// List every code whose score passes its threshold (answers naming several topics).
    #[arg(long)]
    pub multi: bool,
    /// Seed of the candidate-code clustering.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Embedding settings.
    #[command(flatten)]
    pub embedding: EmbedFlags,
    /// Output folder (created): assignments.csv/.xlsx, frequencies.csv/.xlsx, drift.csv,
    /// summary.json, map.csv, manifest.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write DIR/report.html.
    #[arg(long)]
    pub report: bool,
}

/// Flags of `codeframe report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output folder of `codeframe discover` or `codeframe apply` (an evaluation.json or
    /// agreement.json placed in it is included).
    pub dir: PathBuf,
    /// The page to write (default: DIR/report.html).
    #[arg(long, value_name = "FILE.html")]
    pub out: Option<PathBuf>,
}

/// Flags of `codeframe review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Output folder of `codeframe discover` or `codeframe apply` (the store, review.sqlite,
    /// is kept in it); with --input, the folder to keep the store in.
    pub dir: PathBuf,
    /// Your name as a coder.
    #[arg(long, value_name = "NAME", default_value = "coder")]
    pub coder: String,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 8750)]
    pub port: u16,
    /// Answers not yet grouped (CSV, TSV or .xlsx), to code with --frame's codes.
    #[arg(long, value_name = "FILE", requires = "frame")]
    pub input: Option<PathBuf>,
    /// Header name of the answers column of --input.
    #[arg(long, value_name = "COL", default_value = "text")]
    pub text_column: String,
    /// Header name of the id column of --input (default: row numbers from 1).
    #[arg(long, value_name = "COL")]
    pub id_column: Option<String>,
    /// A repeated id in --input: refuse the file, or keep its first or last row.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = DuplicatesArg::Error)]
    pub duplicates: DuplicatesArg,
    /// Code frame (TOML) for --input, or to give a discover run's groups the frame's
    /// descriptions.
    #[arg(long, value_name = "FRAME")]
    pub frame: Option<PathBuf>,
    /// Question of the frame.
    #[arg(long, value_name = "ID")]
    pub question: Option<String>,
    /// Earlier coding to bring in when the store is made: columns of people's codes (one coder
    /// per column, named after it, e.g. coder_a,coder_b) in --input or in the run's input file,
    /// matched by id; their disagreements become the adjudication queue.
    #[arg(long, value_name = "COL,COL", value_delimiter = ',')]
    pub coders: Vec<String>,
    /// Write frame.toml, coded.csv, codings.csv and each second coder's sheet into this folder
    /// and stop (no browser).
    #[arg(long, value_name = "OUT")]
    pub export: Option<PathBuf>,
}

/// Flags of `codeframe agree`.
#[derive(Debug, Args)]
pub struct AgreeArgs {
    /// File with one row per answer and one column per coder: CSV, TSV (.tsv/.tab) or Excel
    /// (.xlsx).
    pub input: PathBuf,
    /// Coder columns, comma-separated; an empty cell means "not coded by this coder".
    #[arg(long, value_name = "COL,COL", value_delimiter = ',', required = true)]
    pub coders: Vec<String>,
    /// Id column, in the input and in every --join file.
    #[arg(long, value_name = "COL", default_value = "id")]
    pub id_column: String,
    /// Adds a coder from another file (CSV, TSV or .xlsx) by id, e.g. a discover run's
    /// out/q7/assignments.csv:group_name; =NAME names the coder (default: folder/COL).
    #[arg(long, value_name = "FILE:COL[=NAME]")]
    pub join: Vec<String>,
    /// Answer text column for disagreements.csv (default: "text" when present).
    #[arg(long, value_name = "COL")]
    pub text_column: Option<String>,
    /// Bootstrap resamples for the 95% intervals (0: none).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// JSON with every figure ("-" or absent: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Units where coders differ, for adjudication (default: disagreements.csv beside --out).
    #[arg(long, value_name = "FILE")]
    pub disagreements: Option<PathBuf>,
}

/// Flags of `codeframe crosstab`.
#[derive(Debug, Args)]
pub struct CrosstabArgs {
    /// Output folder of `codeframe discover` or `codeframe apply`.
    pub run: PathBuf,
    /// The respondent variable of the columns: a --keep-column of the run, or a column of
    /// --join.
    #[arg(long, value_name = "COL")]
    pub by: String,
    /// A respondent file (CSV, TSV or .xlsx) to take --by (and --weight-column) from, matched
    /// to the run's answers by id.
    #[arg(long, value_name = "FILE")]
    pub join: Option<PathBuf>,
    /// Id column of --join (default: the run's --id-column, else "id"). When the run kept a
    /// column of that name (--keep-column respondent), rows match on it; else on answer ids.
    #[arg(long, value_name = "COL")]
    pub join_id: Option<String>,
    /// Column of survey weights (default: the run's --weight-column, if it had one).
    #[arg(long, value_name = "COL")]
    pub weight_column: Option<String>,
    /// Respondent id column, when a respondent gave several answers (one mention per row): the
    /// respondent base counts each respondent once, the mention base each row.
    #[arg(long, value_name = "COL")]
    pub respondent_column: Option<String>,
    /// Folder for crosstab-<COL>.csv/.xlsx/.json (default: the run folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// How to read the predictions of `codeframe evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalMode {
    /// Codes when every predicted label is also a gold label, groups otherwise.
    Auto,
    /// Predictions are code names: classification scores too.
    Codes,
    /// Predictions are group ids: clustering scores, groups matched to labels.
    Groups,
    /// Both cells may name several codes separated by ";" (apply --multi's codes column):
    /// sample-F1, micro/macro-F1 and each code's binary alpha, beside the first codes' scores.
    Multi,
}

/// Flags of `codeframe evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Predictions file (e.g. a discover or apply assignments.csv): CSV, TSV or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub pred: PathBuf,
    /// Column of the predicted group or code.
    #[arg(long, value_name = "COL")]
    pub pred_column: String,
    /// File with the human codes: CSV, TSV or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Column of the human code.
    #[arg(long, value_name = "COL")]
    pub gold_column: String,
    /// Id column, the same name in both files.
    #[arg(long, value_name = "COL", default_value = "id")]
    pub id_column: String,
    /// Whether predictions are codes or groups.
    #[arg(long, value_enum, default_value_t = EvalMode::Auto)]
    pub mode: EvalMode,
    /// Write the JSON here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `codeframe model …`
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Show the installed models and whether their files match their checksums.
    List,
    /// Write rust_model.ot (the reference forward's weights) from model.safetensors and check
    /// every file's checksum.
    Convert {
        /// Model folder (default: models/<name> of this checkout).
        dir: Option<PathBuf>,
        /// Installed model [default: all-MiniLM-L6-v2].
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
    },
    /// Check a model folder against the committed checksums.
    Check {
        /// Model folder (default: models/<name> of this checkout).
        dir: Option<PathBuf>,
        /// Installed model [default: all-MiniLM-L6-v2].
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
    },
}
