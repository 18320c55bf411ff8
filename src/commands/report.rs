//! `codeframe report`: a run folder in, its self-contained page out.

use crate::config::ReportSettings;
use crate::error::Result;
use crate::fsio;
use crate::progress::Progress;
use crate::report::html::render;
use crate::report::page::{apply_page, discover_page};
use crate::rundir::{self, Run};

/// Reads the run (refusing a folder whose files come from different runs) and the files placed
/// beside it, builds the page and writes it.
pub fn run(s: &ReportSettings, progress: &Progress) -> Result<()> {
    let run = rundir::read_run(&s.dir)?;
    let attachments = rundir::read_attachments(&s.dir, run.manifest());
    for n in &attachments.notes {
        progress.warn(format!("report: {n}"));
    }
    let page = match &run {
        Run::Discover(r) => discover_page(&r.discovery, &r.manifest, &r.map, &attachments),
        Run::Apply(r) => apply_page(&r.application, &r.manifest, &r.map, &attachments),
    };
    fsio::write_output(&s.out, render(&page).as_bytes())?;
    progress.say(format!("report: wrote {}", s.out.display()));
    Ok(())
}
