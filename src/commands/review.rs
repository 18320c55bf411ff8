//! `codeframe review`: opens (creating on first use) the folder's coding store and serves the
//! workspace on 127.0.0.1, or exports its frame and coded answers.

use std::path::Path;

use super::read_answers;
use crate::config::{ReviewSettings, ReviewSource};
use crate::error::{Error, InputError, Result};
use crate::frame::Frame;
use crate::fsio;
use crate::manifest::{sha256_hex, Manifest};
use crate::progress::Progress;
use crate::report;
use crate::review::server::{new_token, serve, ServerSettings};
use crate::review::{export_files, Seed, Store, StoreError, STORE_FILE};
use crate::rundir::{self, Run};

fn store_error(path: &Path, e: StoreError) -> Error {
    match e {
        StoreError::Newer { .. } => InputError::file(
            path,
            None,
            e.to_string(),
            "open it with a newer codeframe, or move it away to start a new store",
        )
        .into(),
        StoreError::Invalid(m) | StoreError::Conflict(m) => {
            InputError::file(path, None, m, "check the folder and the flags").into()
        }
        StoreError::Sql(source) => Error::Report(format!(
            "the review store {} failed: {source}",
            path.display()
        )),
    }
}

/// Opens the store (importing the run or the answers on first use), then exports or serves.
pub fn run(s: &ReviewSettings, progress: &Progress) -> Result<()> {
    let path = s.dir.join(STORE_FILE);
    let fresh = !path.is_file();
    if fresh {
        fsio::create_dir_all(&s.dir)?;
    }
    let mut store = Store::open(&path).map_err(|e| store_error(&path, e))?;
    if store.is_empty().map_err(|e| store_error(&path, e))? {
        import(s, &mut store, progress).inspect_err(|_| {
            // A half-made store would be mistaken for a real one next time.
            drop(std::fs::remove_file(&path));
        })?;
        progress.say(format!("review: made the store {}", path.display()));
    } else {
        if !s.coders.is_empty() {
            progress.warn(format!(
                "review: the store exists, so --coders brings nothing in (move {} away to start again)",
                path.display()
            ));
        }
        progress.say(format!("review: continuing the store {}", path.display()));
    }
    store
        .ensure_coder(&s.coder)
        .map_err(|e| store_error(&path, e))?;
    if let Some(out) = &s.export {
        return export(&store, &path, out, progress);
    }
    let settings = ServerSettings {
        store: path.clone(),
        coder: s.coder.clone(),
        port: s.port,
        token: new_token().map_err(|e| store_error(&path, e))?,
    };
    serve(settings, store, |url| {
        progress.always(format!(
            "review: open {url} in a browser (coder {}); Ctrl-C stops the server",
            s.coder
        ));
    })
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            InputError::flag(
                format!("port {} on 127.0.0.1 is taken", s.port),
                "pass another --port, or --port 0 for any free one",
            )
            .into()
        } else {
            Error::io("serve on", Path::new("127.0.0.1"), e)
        }
    })
}

fn import(s: &ReviewSettings, store: &mut Store, progress: &Progress) -> Result<()> {
    let path = s.dir.join(STORE_FILE);
    let (run, answers, frame_path) = match &s.source {
        ReviewSource::Run { frame } => {
            let run = rundir::read_run(&s.dir)?;
            // The frame the run was named from, when its manifest names one that is still there.
            let named = frame.clone().or_else(|| frame_of(&run));
            (Some(run), None, named)
        }
        ReviewSource::Answers {
            input,
            columns,
            frame,
        } => (
            None,
            Some(read_answers(input, columns, progress)?),
            Some(frame.clone()),
        ),
    };
    let frame = match &frame_path {
        Some(p) => {
            let input = match (&answers, &run) {
                (Some(a), _) => a.path.clone(),
                (None, Some(r)) => parameter(r, "input")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| s.dir.clone()),
                _ => s.dir.clone(),
            };
            // The run's own question, unless one is given.
            let question = s
                .question
                .clone()
                .or_else(|| run.as_ref().and_then(|r| parameter(r, "question")));
            Some(Frame::read_for(p, question.as_deref(), &input)?)
        }
        None => None,
    };
    let frame_ref = frame.as_ref().map(|(f, q)| (f, q.as_deref()));
    let (seed, source) = match (&answers, &run, frame_ref) {
        (Some(a), _, Some((f, q))) => (Seed::Answers(a, f, q), a.path.display().to_string()),
        (_, Some(r), _) => (Seed::Run(r, frame_ref), s.dir.display().to_string()),
        _ => {
            return Err(InputError::flag(
                "answers need a frame to be coded with",
                "pass --frame FRAME.toml with --input",
            )
            .into())
        }
    };
    store
        .import(seed, &source)
        .map_err(|e| store_error(&path, e))?;
    if let Some((f, q)) = &frame {
        let text = q
            .as_ref()
            .and_then(|q| f.questions.iter().find(|x| &x.id == q))
            .map(|x| x.text.clone());
        store
            .set_frame_meta(&f.frame.name, q.as_deref(), text.as_deref())
            .map_err(|e| store_error(&path, e))?;
    }
    if !s.coders.is_empty() {
        import_coders(s, store, run.as_ref(), progress)?;
    }
    Ok(())
}

/// Brings in the --coders columns of the answers file (--input, or the run's input).
fn import_coders(
    s: &ReviewSettings,
    store: &mut Store,
    run: Option<&Run>,
    progress: &Progress,
) -> Result<()> {
    let path = s.dir.join(STORE_FILE);
    let (file, id_column) = match &s.source {
        ReviewSource::Answers { input, columns, .. } => (input.clone(), columns.id_column.clone()),
        ReviewSource::Run { .. } => {
            let Some(input) = run.and_then(|r| parameter(r, "input")) else {
                return Err(InputError::flag(
                    "the run's manifest does not name its input file",
                    "pass the answers with --input FILE --frame FRAME.toml",
                )
                .into());
            };
            (
                std::path::PathBuf::from(input),
                run.and_then(|r| parameter(r, "id_column")),
            )
        }
    };
    let table = crate::ingest::read_table(&file)?;
    let id = id_column
        .as_deref()
        .map(|c| table.column(c, "--id-column"))
        .transpose()?;
    let cols = s
        .coders
        .iter()
        .map(|c| table.column(c, "--coders"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let rows: Vec<(String, Vec<String>)> = table
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = id.map_or_else(|| (i + 1).to_string(), |c| r.fields[c].clone());
            (key, cols.iter().map(|&c| r.fields[c].clone()).collect())
        })
        .collect();
    let got = store
        .import_codings(&s.coders, &rows)
        .map_err(|e| store_error(&path, e))?;
    progress.say(format!(
        "review: brought in {} codings of {} from {}",
        got.codings,
        s.coders.join(", "),
        file.display()
    ));
    if !got.new_codes.is_empty() {
        progress.warn(format!(
            "review: {} label(s) not in the frame became codes: {}",
            got.new_codes.len(),
            got.new_codes.join(", ")
        ));
    }
    if got.unknown_ids > 0 {
        progress.warn(format!(
            "review: {} row(s) of {} have ids that are not answers of the store; left out",
            got.unknown_ids,
            file.display()
        ));
    }
    Ok(())
}

/// A text parameter the run's manifest records.
fn parameter(run: &Run, key: &str) -> Option<String> {
    run.manifest()
        .parameters
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A code frame (.toml) the run read, if it is still where the manifest says.
fn frame_of(run: &Run) -> Option<std::path::PathBuf> {
    run.manifest()
        .inputs
        .keys()
        .map(std::path::PathBuf::from)
        .find(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
}

fn export(store: &Store, path: &Path, out: &Path, progress: &Progress) -> Result<()> {
    fsio::create_dir_all(out)?;
    let files = export_files(store).map_err(|e| store_error(path, e))?;
    let mut manifest = Manifest::new("review");
    manifest.input_file(path)?;
    for (name, bytes) in &files {
        fsio::write_output(&out.join(name), bytes)?;
        manifest.files.insert(name.clone(), sha256_hex(bytes));
        manifest.outputs.push(out.join(name).display().to_string());
    }
    fsio::write_output(
        &out.join(rundir::MANIFEST),
        &report::json("manifest", &manifest)?,
    )?;
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    progress.say(format!(
        "review: wrote {} in {}",
        names.join(", "),
        out.display()
    ));
    Ok(())
}
