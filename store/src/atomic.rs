//! Crash-safe file writes: a temp file with a random name beside the target (deleted if
//! dropped), fsync, rename over the target, fsync the directory. Many files renamed into
//! one directory can share the directory's fsync ([`write_direct_renamed`], [`sync_dir`]).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::aligned::{is_aligned, AlignedBuf, BLOCK};

/// Writes `data` to `path` so that readers see either nothing or all of it.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    write_buffered_renamed(path, &[data])?;
    sync_parent(path)
}

/// Like [`write_atomic`], but block-aligned data goes to the disk with `O_DIRECT`, past
/// the page cache: for chunks, which are written once and may never be read here again.
/// Falls back to a buffered write for a ragged length or a filesystem without direct I/O.
/// The data is given in parts, written as one; a single part that is already aligned (an
/// [`AlignedBuf`](crate::aligned::AlignedBuf)'s) is written without a copy.
pub fn write_atomic_direct(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    write_direct_renamed(path, parts)?;
    sync_parent(path)
}

/// [`write_atomic_direct`] but for the directory's fsync: the file's data is durable, and
/// its name is once the caller has called [`sync_dir`] on the directory.
pub fn write_direct_renamed(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len == 0 || !len.is_multiple_of(BLOCK) {
        return write_buffered_renamed(path, parts);
    }
    let opened = in_parent(path, |dir| {
        tempfile::Builder::new().prefix(".tmp-").make_in(dir, |p| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_DIRECT)
                .open(p)
        })
    });
    let mut tmp = match opened {
        Ok(tmp) => tmp,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return write_buffered_renamed(path, parts),
        Err(e) => return Err(e),
    };
    if let [part] = parts {
        if is_aligned(part) {
            tmp.write_all(part)?;
            return rename_synced(tmp, path);
        }
    }
    let mut aligned = AlignedBuf::new(len);
    for part in parts {
        aligned.extend(part);
    }
    tmp.write_all(aligned.as_slice())?;
    rename_synced(tmp, path)
}

/// Writes `parts` through the page cache into a temp file beside `path`, fsyncs it and
/// renames it to `path`.
fn write_buffered_renamed(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let mut tmp = in_parent(path, |dir| {
        tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)
    })?;
    for part in parts {
        tmp.write_all(part)?;
    }
    rename_synced(tmp, path)
}

/// Runs `make` in `path`'s directory, making the directory first if it is missing.
fn in_parent<T>(path: &Path, make: impl Fn(&Path) -> io::Result<T>) -> io::Result<T> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent"))?;
    match make(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            make(dir)
        }
        made => made,
    }
}

/// Fsyncs a finished temp file and renames it to `path`.
fn rename_synced(tmp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Fsyncs a directory, making the names renamed into it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_and_buffered_writes_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 4095, 4096, 3 * 4096, 1 << 20, (1 << 20) + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join("a").join(format!("{len}"));
            let (a, b) = data.split_at(len / 3);
            write_atomic_direct(&path, &[a, b]).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), data, "length {len}");
        }
        let leftovers = std::fs::read_dir(dir.path().join("a"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
