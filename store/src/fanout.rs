//! The fan-out layout the chunk store and the blob index share: files live in directories
//! named by the first byte of their hash, as two lowercase hex digits (`ab/abcd…`).

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// The fan-out directory under `root` for hashes starting with `byte`.
pub(crate) fn dir(root: &Path, byte: u8) -> PathBuf {
    root.join(format!("{byte:02x}"))
}

/// Whether `name` is a fan-out directory's name.
pub(crate) fn is_name(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The fan-out directories directly under `dir`; anything else there is not the layout's
/// and is left out.
pub(crate) fn dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() && is_name(&entry.file_name()) {
            out.push(entry.path());
        }
    }
    Ok(out)
}
