//! Commands: one short flow per sub-command — read, run the stages, write through the output
//! contract (`rundir`), print the summary. The stages do the work; a command only sequences it.

pub mod agree;
pub mod apply;
pub mod crosstab;
pub mod discover;
pub mod embed;
pub mod evaluate;
pub mod fit;
pub mod model;
pub mod questions;
pub mod report;
pub mod review;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::config::{
    AgreeSettings, ApplyPlan, CrosstabSettings, DiscoverPlan, EmbedSettings, EvaluateSettings,
    FitPlan, ReportSettings, ReviewSettings,
};
use crate::embed::spec::{EmbedderSpec, Loaded};
use crate::error::Result;
use crate::frame::parts::split_parts;
use crate::ingest::{self, Answers, ReadOptions};
use crate::progress::Progress;
use crate::rundir;

/// How a command gets its embedder once its inputs are checked: the real builder
/// ([`EmbedderSpec::build`]) or, in tests, a fake.
pub type BuildEmbedder<'a> = &'a mut dyn FnMut(&EmbedderSpec) -> Result<Loaded>;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let progress = Progress::new(cli.quiet).with_verbose(cli.verbose);
    let build: &mut dyn FnMut(&EmbedderSpec) -> Result<Loaded> = &mut |s| s.build();
    match cli.command {
        Command::Embed(a) => embed::run(&EmbedSettings::from_args(&a)?, build, &progress).map(drop),
        Command::Discover(a) => match DiscoverPlan::from_args(&a)? {
            DiscoverPlan::One(s) => {
                discover::run(&s, build, &progress)?;
                page_if_asked(s.report, &s.out, &progress)
            }
            DiscoverPlan::Questions(s) => questions::discover_all(&s, build, &progress),
        },
        Command::Evaluate(a) => {
            evaluate::run(&EvaluateSettings::from_args(&a)?, &progress).map(drop)
        }
        Command::Agree(a) => agree::run(&AgreeSettings::from_args(&a)?, &progress).map(drop),
        Command::Fit(a) => match FitPlan::from_args(&a)? {
            FitPlan::One(s) => fit::run(&s, build, &progress).map(drop),
            FitPlan::Questions { out, questions } => {
                fit::run_all(&out, &questions, build, &progress)
            }
        },
        Command::Apply(a) => match ApplyPlan::from_args(&a)? {
            ApplyPlan::One(s) => {
                apply::run(&s, build, &progress)?;
                page_if_asked(s.report, &s.out, &progress)
            }
            ApplyPlan::Questions(s) => questions::apply_all(&s, build, &progress),
        },
        Command::Report(a) => report::run(&ReportSettings::from_args(&a)?, &progress),
        Command::Review(a) => review::run(&ReviewSettings::from_args(&a)?, &progress),
        Command::Crosstab(a) => {
            crosstab::run(&CrosstabSettings::from_args(&a)?, &progress).map(drop)
        }
        Command::Model(m) => model::run(&m, &progress),
    }
}

/// The parts of answers that name several things ([`split_parts`]), embedded: the index in
/// `texts` of each part's answer and the parts' row-major vectors (none when `wanted` is
/// false or no answer has two parts).
fn embed_parts(
    loaded: &mut Loaded,
    texts: &[&str],
    wanted: bool,
    command: &str,
    progress: &Progress,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let (owner, parts): (Vec<usize>, Vec<String>) = if wanted {
        texts
            .iter()
            .enumerate()
            .flat_map(|(j, t)| split_parts(t).into_iter().map(move |p| (j, p)))
            .unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    if parts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let (v, summary) = loaded.embed(&refs, progress)?;
    progress.say(format!("{command}: embedded the answers' parts: {summary}"));
    Ok((owner, v.data))
}

/// Writes the run's page when `--report` asked for it.
fn page_if_asked(report: bool, out: &Path, progress: &Progress) -> Result<()> {
    if report {
        report::run(&ReportSettings::new(out, None)?, progress)?;
    }
    Ok(())
}

/// Says when workbook cells were cut to Excel's limit.
fn warn_cut_cells(written: &rundir::Written, progress: &Progress) {
    if written.cut_cells > 0 {
        progress.warn(format!(
            "{} answers are longer than Excel's {} characters per cell: the .xlsx files hold them \
             cut, the .csv files whole",
            written.cut_cells,
            crate::report::xlsx::MAX_CELL_CHARS
        ));
    }
}

/// Tells each answer's language, says which languages the answers are in, and returns the
/// embedder to use: the multilingual model when the user chose none and the answers need it
/// ([`EmbedderSpec::for_languages`]).
pub fn tell_languages(
    answers: &mut Answers,
    spec: &EmbedderSpec,
    command: &str,
    progress: &Progress,
) -> EmbedderSpec {
    let texts = answers.texts();
    let bar = progress.bar(0, "languages");
    let detector = crate::language::Detector::new();
    let cached = spec.cache_dir.as_deref().map(|dir| {
        crate::embed::cache::Cache::open(dir)
            .and_then(|mut c| detector.detect_cached(&texts, &mut c, &bar, progress))
    });
    let found = match cached {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            // The vectors' cache reports the folder itself; languages are told afresh.
            progress.warn(format!("languages are told without the cache: {e}"));
            detector.detect_with(&texts, &bar)
        }
        None => detector.detect_with(&texts, &bar),
    };
    bar.finish_and_clear();
    for (a, l) in answers.rows.iter_mut().zip(found) {
        a.language = l;
    }
    let languages: Vec<Option<String>> = answers.rows.iter().map(|a| a.language.clone()).collect();
    progress.say(format!(
        "{command}: languages — {}",
        crate::language::describe(&crate::language::tally(&languages))
    ));
    let (spec, message) = spec.clone().for_languages(&languages);
    if let Some(m) = message {
        progress.say(format!("{command}: {m}"));
    }
    spec
}

/// Reads an answers file (codeframe's own CSV files as written) and shows its warnings.
pub fn read_answers(input: &Path, columns: &ReadOptions, progress: &Progress) -> Result<Answers> {
    answers_of(rundir::read_table(input)?, columns, progress)
}

/// The answers of a table already read, with its warnings and the rows left out shown.
fn answers_of(table: ingest::Table, columns: &ReadOptions, progress: &Progress) -> Result<Answers> {
    let answers = ingest::answers_from_table(table, columns)?;
    for w in &answers.warnings {
        progress.warn(w);
    }
    say_dropped(&answers, progress);
    Ok(answers)
}

/// Says which rows were left out as repeated ids.
fn say_dropped(answers: &Answers, progress: &Progress) {
    let r = &answers.respondents;
    if r.dropped.is_empty() {
        return;
    }
    let lines: Vec<String> = r
        .dropped
        .iter()
        .take(10)
        .map(|d| d.line.to_string())
        .collect();
    let more = r.dropped.len() - lines.len();
    progress.warn(format!(
        "{} rows left out: their id is used by another row, and --duplicates {} keeps that          one (lines {}{}); discover and apply list them in dropped.csv",
        r.dropped.len(),
        r.duplicates.as_str(),
        lines.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ));
}

/// Records how the answers file's rows became answers: repeated ids, kept columns, weights.
pub(crate) fn record_respondents(manifest: &mut crate::manifest::Manifest, answers: &Answers) {
    let r = &answers.respondents;
    manifest
        .param("duplicates", r.duplicates.as_str())
        .param("rows_read", answers.rows.len() + r.dropped.len())
        .param("rows_dropped", r.dropped.len());
    if !r.columns.is_empty() {
        manifest.param("keep_columns", r.columns.clone());
    }
    if let Some(w) = &r.weight_column {
        manifest.param("weight_column", w.as_str());
    }
}

/// Says what the weights make of the base.
fn say_weighted(written: &rundir::Written, command: &str, progress: &Progress) {
    if let Some(w) = &written.weighted {
        progress.say(format!(
            "{command}: weighted by \"{}\" — the base's weights sum to {:.1}, an effective \
             sample size of {:.1} (Kish); frequencies.csv has weighted_count and weighted_share",
            w.column, w.base, w.n_eff
        ));
    }
}

#[cfg(test)]
mod tests;
