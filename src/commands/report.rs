//! `codeframe report`: a run folder in, its self-contained page out; a survey folder in, each
//! question's page and the index page out.

use crate::config::ReportSettings;
use crate::error::Result;
use crate::fsio;
use crate::progress::Progress;
use crate::report::html::{render, render_index};
use crate::report::page::{apply_page, discover_page};
use crate::report::questions::survey_index;
use crate::rundir::{self, Run};

/// Reads the run (refusing a folder whose files come from different runs) and the files placed
/// beside it, builds the page and writes it.
pub fn run(s: &ReportSettings, progress: &Progress) -> Result<()> {
    if rundir::survey_questions(&s.dir).is_some() {
        return survey(s, progress);
    }
    let run = rundir::read_run(&s.dir)?;
    write_page(&run, &s.dir, &s.out, progress)
}

fn write_page(
    run: &Run,
    dir: &std::path::Path,
    out: &std::path::Path,
    progress: &Progress,
) -> Result<()> {
    let attachments = rundir::read_attachments(dir, run.manifest());
    for n in &attachments.notes {
        progress.warn(format!("report: {n}"));
    }
    let page = match run {
        Run::Discover(r) => discover_page(&r.discovery, &r.manifest, &r.map, &attachments),
        Run::Apply(r) => apply_page(&r.application, &r.manifest, &r.map, &attachments),
    };
    fsio::write_output(out, render(&page).as_bytes())?;
    progress.say(format!(
        "report: wrote {}",
        rundir::published(out).display()
    ));
    Ok(())
}

/// Each question's page in its folder, then the index page with a section per question.
fn survey(s: &ReportSettings, progress: &Progress) -> Result<()> {
    let survey = rundir::read_survey(&s.dir)?;
    let mut pages = Vec::with_capacity(survey.questions.len());
    for (e, run) in &survey.questions {
        let dir = s.dir.join(&e.folder);
        write_page(run, &dir, &dir.join(rundir::REPORT), progress)?;
        pages.push(true);
    }
    let index = survey_index(&survey, &pages);
    fsio::write_output(&s.out, render_index(&index).as_bytes())?;
    progress.say(format!(
        "report: wrote {}",
        rundir::published(&s.out).display()
    ));
    Ok(())
}
