//! Crash-safe file writes: a temp file with a random name beside the target (deleted if
//! dropped), fsync, rename over the target, fsync the directory.

use std::io::{self, Write};
use std::path::Path;

/// Writes `data` to `path` so that readers see either nothing or all of it.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(data)?;
    persist(tmp, path)
}

/// Fsyncs a finished temp file, renames it to `path` and fsyncs the directory.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
