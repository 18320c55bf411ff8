//! File I/O in one place: reading inputs and writing outputs atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io("read", path, e))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("write", path, e)
    })
}

/// Writes an output file the user named ([`write_atomic`]); a path that cannot be written
/// (missing folder, no permission, read-only disk) is bad input with a fix, not a failure.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).map_err(|e| match e {
        Error::Io { source, .. } if user_fixable(&source) => InputError::file(
            path,
            None,
            format!("cannot write this output: {source}"),
            "check that its folder exists and can be written, or choose another output path",
        )
        .into(),
        other => other,
    })
}

/// Errors a user fixes by choosing another path or changing permissions.
pub fn user_fixable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        NotFound | PermissionDenied | ReadOnlyFilesystem | NotADirectory | IsADirectory
    )
}

/// Creates a folder and its parents.
pub fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io("create folder", path, e))
}

/// Writes bytes to standard output and flushes.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::io("write", Path::new("<stdout>"), e))
}

/// Creates the folder a file will be written to, when it has one.
pub fn create_parent_dir(file: &Path) -> Result<()> {
    match file.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => create_dir_all(dir),
        None => Ok(()),
    }
}
