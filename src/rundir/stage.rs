//! Writing a run folder as a whole: every file goes into a staging folder beside the output
//! folder, then the staging folder takes the output folder's place in one rename (Linux:
//! `renameat2(RENAME_EXCHANGE)`), so a reader — or a run killed at any moment — never leaves a
//! folder that mixes two runs. Files a person put in an earlier run's folder (an
//! evaluation.json, notes) are carried over; the earlier run's own files are not.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{MANIFEST, REPORT};
use crate::error::{Error, InputError, Result};
use crate::manifest::{sha256_hex, Manifest};
use crate::report::{self, Sheet};

/// A run folder being written.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    tmp: PathBuf,
    files: BTreeMap<String, String>,
    committed: bool,
}

/// Staging folders made by this process, so two in one process get different names.
static STAGED: AtomicUsize = AtomicUsize::new(0);

const STAGE_TAG: &str = ".codeframe-";

fn unwritable(dir: &Path, e: &std::io::Error) -> Error {
    InputError::file(
        dir,
        None,
        format!("cannot write the output folder: {e}"),
        "check that its parent folder exists and can be written, or pass another --out",
    )
    .into()
}

/// The folder as an absolute path with a final name (so `--out .` works too).
fn resolve(dir: &Path) -> Result<(PathBuf, String)> {
    let abs = match fs::canonicalize(dir) {
        Ok(p) => p,
        Err(_) => {
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            fs::create_dir_all(&parent).map_err(|e| unwritable(dir, &e))?;
            let parent = fs::canonicalize(&parent).map_err(|e| unwritable(dir, &e))?;
            match dir.file_name() {
                Some(n) => parent.join(n),
                None => parent,
            }
        }
    };
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::from(InputError::file(
                dir,
                None,
                "the output folder has no name (it is the file system's root)",
                "pass a named folder to --out",
            ))
        })?;
    Ok((abs, name))
}

/// The manifest of an earlier discover or apply run in `dir`, if that is what it holds.
pub(super) fn earlier_run(dir: &Path) -> Option<Manifest> {
    let bytes = fs::read(dir.join(MANIFEST)).ok()?;
    let m: Manifest = serde_json::from_slice(&bytes).ok()?;
    (m.tool == "codeframe" && ["discover", "apply"].contains(&m.command.as_str())).then_some(m)
}

impl Staging {
    /// Starts writing a run that will replace `dir`; removes staging folders that runs killed
    /// earlier left behind.
    pub fn new(dir: &Path) -> Result<Self> {
        let (dir, name) = resolve(dir)?;
        let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        remove_stale(&parent, &name);
        let n = STAGED.fetch_add(1, Ordering::Relaxed);
        let tmp = parent.join(format!(".{name}{STAGE_TAG}{}-{n}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| unwritable(&dir, &e))?;
        }
        fs::create_dir(&tmp).map_err(|e| unwritable(&dir, &e))?;
        Ok(Staging {
            dir,
            tmp,
            files: BTreeMap::new(),
            committed: false,
        })
    }

    /// Writes one file of the run.
    pub fn put(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.tmp.join(name);
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&path)?;
            f.write_all(bytes)?;
            f.sync_all()
        };
        write().map_err(|e| Error::io("write", &self.dir.join(name), e))?;
        self.files.insert(name.to_string(), sha256_hex(bytes));
        Ok(())
    }

    /// Writes a table as a workbook; returns the cells cut to Excel's limit.
    pub fn put_xlsx(&mut self, name: &str, sheet: &Sheet) -> Result<usize> {
        let book = sheet.xlsx()?;
        self.put(name, &book.bytes)?;
        Ok(book.cut_cells)
    }

    /// Where a sub-folder of the run is written before the run is committed (a question's run
    /// in a survey folder).
    pub fn sub_dir(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Records the hash of a file already written into the staging folder, by its path within
    /// the folder (a question's manifest).
    pub fn record(&mut self, rel: &str) -> Result<()> {
        let path = self.tmp.join(rel);
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &self.dir.join(rel), e))?;
        self.files.insert(rel.to_string(), sha256_hex(&bytes));
        Ok(())
    }

    /// Carries a person's files from the earlier run's sub-folder `name` into the new one, as
    /// [`Staging::commit`] does for the folder itself.
    pub fn carry_sub(&self, name: &str) -> Result<()> {
        let old = self.dir.join(name);
        let new = self.tmp.join(name);
        if old.is_dir() && new.is_dir() {
            carry_over(&old, &new).map_err(|e| Error::io("copy into", &new, e))?;
        }
        Ok(())
    }

    /// Writes the manifest (with every file's hash) and puts the run in place of the folder.
    pub fn commit(mut self, mut manifest: Manifest) -> Result<()> {
        manifest.files = self.files.clone();
        manifest.outputs = self
            .files
            .keys()
            .map(String::as_str)
            .chain([MANIFEST])
            .map(|n| published(&self.dir.join(n)).display().to_string())
            .collect();
        self.put(MANIFEST, &report::json("manifest", &manifest)?)?;
        if self.dir.is_dir() {
            carry_over(&self.dir, &self.tmp).map_err(|e| Error::io("copy into", &self.tmp, e))?;
        }
        sync_dir(&self.tmp);
        replace(&self.tmp, &self.dir).map_err(|e| Error::io("replace", &self.dir, e))?;
        self.committed = true;
        if let Some(parent) = self.dir.parent() {
            sync_dir(parent);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // A run that failed before committing leaves the folder as it was.
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Files of the folder that are not the earlier run's own (and not its report page), linked
/// or copied into the staging folder.
fn carry_over(old: &Path, tmp: &Path) -> std::io::Result<()> {
    let ours: Vec<String> = match earlier_run(old) {
        Some(m) => m
            .files
            .keys()
            // A question's files ("q7/manifest.json") make its whole sub-folder the run's own.
            .map(|k| k.split('/').next().unwrap_or(k).to_string())
            .chain(m.outputs.iter().filter_map(|o| {
                Path::new(o)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            }))
            .collect(),
        None => Vec::new(),
    };
    for entry in fs::read_dir(old)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST || name == REPORT || ours.contains(&name) {
            continue;
        }
        let target = tmp.join(&name);
        if target.exists() {
            continue;
        }
        copy_tree(&entry.path(), &target)?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::hard_link(from, to).or_else(|_| fs::copy(from, to).map(|_| ()))
    }
}

/// The path a file will have once the runs being staged are committed: every staging folder
/// in it (`.NAME.codeframe-PID-N`) replaced by the folder it stands for.
pub fn published(path: &Path) -> PathBuf {
    path.components()
        .map(|c| {
            let part = c.as_os_str();
            match staged_name(&part.to_string_lossy()) {
                Some(name) => std::ffi::OsString::from(name),
                None => part.to_os_string(),
            }
        })
        .collect()
}

/// `NAME` of a staging folder's name `.NAME.codeframe-PID-N`.
fn staged_name(part: &str) -> Option<String> {
    let (name, tail) = part.strip_prefix('.')?.rsplit_once(STAGE_TAG)?;
    let (pid, n) = tail.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n) && !name.is_empty()).then(|| name.to_string())
}

/// Puts `tmp` in place of `dir`; the old contents are removed.
fn replace(tmp: &Path, dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return fs::rename(tmp, dir);
    }
    if exchange(tmp, dir)? {
        // `tmp` now holds the earlier run.
        return fs::remove_dir_all(tmp);
    }
    // No atomic exchange on this system: two renames, the old folder kept until the new one
    // is in place.
    let old = PathBuf::from(format!("{}-old", tmp.display()));
    fs::rename(dir, &old)?;
    fs::rename(tmp, dir)?;
    fs::remove_dir_all(&old)
}

/// Swaps two folders in one step; `Ok(false)` where the system cannot.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use nix::errno::Errno;
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    match renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => Ok(false),
        Err(e) => Err(std::io::Error::from(e)),
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Makes a folder's entries durable (best effort: not every system can sync a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes staging folders of `name` whose process is gone (Linux: no `/proc/<pid>`).
fn remove_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}{STAGE_TAG}");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split(['-', '.']).next().unwrap_or("");
        let alive = Path::new("/proc").join(pid).exists() && pid != "self";
        if !alive && Path::new("/proc/self").exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::new("discover")
    }

    #[test]
    fn a_run_replaces_the_folder_and_keeps_foreign_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        let mut s = Staging::new(&dir).unwrap();
        s.put("assignments.csv", b"one").unwrap();
        s.put("groups.json", b"{}").unwrap();
        s.commit(manifest()).unwrap();
        fs::write(dir.join("evaluation.json"), b"mine").unwrap();
        fs::write(dir.join(REPORT), b"old page").unwrap();
        let mut s = Staging::new(&dir).unwrap();
        s.put("assignments.csv", b"two").unwrap();
        s.commit(manifest()).unwrap();
        assert_eq!(fs::read(dir.join("assignments.csv")).unwrap(), b"two");
        assert!(
            !dir.join("groups.json").exists(),
            "the earlier run's file is gone"
        );
        assert!(!dir.join(REPORT).exists(), "the earlier run's page is gone");
        assert_eq!(fs::read(dir.join("evaluation.json")).unwrap(), b"mine");
        let m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(m.files["assignments.csv"], sha256_hex(b"two"));
        let left: Vec<_> = fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no staging folder left behind");
    }

    #[test]
    fn a_failed_run_leaves_the_folder_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        let mut s = Staging::new(&dir).unwrap();
        s.put("assignments.csv", b"one").unwrap();
        s.commit(manifest()).unwrap();
        let mut s = Staging::new(&dir).unwrap();
        s.put("assignments.csv", b"two").unwrap();
        drop(s);
        assert_eq!(fs::read(dir.join("assignments.csv")).unwrap(), b"one");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn staged_paths_are_published_as_their_folders() {
        let p = Path::new("/tmp/x/.survey.codeframe-12-0/q7/assignments.csv");
        assert_eq!(published(p), Path::new("/tmp/x/survey/q7/assignments.csv"));
        let kept = Path::new("/tmp/.hidden/.a.codeframe-x-1/f");
        assert_eq!(published(kept), kept);
    }

    #[test]
    fn a_survey_folder_stages_its_questions_and_keeps_their_foreign_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("survey");
        let write = |note: Option<&[u8]>| {
            let mut s = Staging::new(&dir).unwrap();
            let mut q = Staging::new(&s.sub_dir("q7")).unwrap();
            q.put("assignments.csv", b"rows").unwrap();
            q.commit(manifest()).unwrap();
            s.carry_sub("q7").unwrap();
            s.record("q7/manifest.json").unwrap();
            s.put("summary.csv", b"summary").unwrap();
            s.commit(manifest()).unwrap();
            if let Some(n) = note {
                fs::write(dir.join("q7/evaluation.json"), n).unwrap();
            }
        };
        write(Some(b"mine"));
        write(None);
        assert_eq!(fs::read(dir.join("q7/evaluation.json")).unwrap(), b"mine");
        let q: Manifest =
            serde_json::from_slice(&fs::read(dir.join("q7").join(MANIFEST)).unwrap()).unwrap();
        assert!(
            q.outputs.iter().all(|o| o.contains("/survey/q7/")),
            "{:?}",
            q.outputs
        );
        let m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
        assert!(m.files.contains_key("q7/manifest.json"));
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_staging_folders_of_dead_runs_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let stale = root.path().join(".run.codeframe-999999999-0");
        fs::create_dir(&stale).unwrap();
        let s = Staging::new(&root.path().join("run")).unwrap();
        assert!(!stale.exists());
        drop(s);
    }
}
