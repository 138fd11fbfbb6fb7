//! Chunks as files: `chunks/ab/abcd…` under the data directory, written atomically
//! (temp file with a random name, written past the page cache when block-aligned, fsync,
//! rename, fsync the directory). The 256 fan-out directories are made when the store
//! opens, so storing a chunk creates one inode, never a directory; stores written with the
//! earlier two-level layout (`chunks/ab/cd/abcd…`) are moved to this one on open.

use super::{ChunkFile, ChunkStore, Held, Identity};
use crate::atomic::{sync_dir, write_atomic_direct, write_direct_renamed};
use crate::fanout;
use crate::hash::Hash32;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A chunk store on the local filesystem.
pub struct FsStore {
    root: PathBuf,
    used: AtomicU64,
    /// Fan-out directories that batched puts renamed chunks into since their last fsync.
    unsynced: [AtomicBool; 256],
    /// Held while syncing, so a sync never returns while another is still flushing a
    /// directory it found unsynced.
    syncing: Mutex<()>,
}

impl FsStore {
    /// Opens (creating) the store under `dir`, counting the bytes already stored.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let root = dir.join("chunks");
        for byte in 0..=255u8 {
            std::fs::create_dir_all(fanout::dir(&root, byte))?;
        }
        std::fs::create_dir_all(dir.join("quarantine"))?;
        let used = tidy(&root)?;
        Ok(FsStore {
            root,
            used: AtomicU64::new(used),
            unsynced: std::array::from_fn(|_| AtomicBool::new(false)),
            syncing: Mutex::new(()),
        })
    }

    /// Stores a chunk unless held (renewing a held chunk's time); `write` makes the file.
    fn put_with(
        &self,
        hash: &Hash32,
        parts: &[&[u8]],
        write: fn(&Path, &[&[u8]]) -> io::Result<()>,
    ) -> io::Result<bool> {
        let path = self.chunk_path(hash);
        if path.is_file() {
            // Held already: mark it as stored now, so the orphan sweep does not take a chunk
            // an upload in progress has just reused.
            match File::options().write(true).open(&path) {
                Ok(file) => file.set_modified(std::time::SystemTime::now())?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return self.put_with(hash, parts, write),
                Err(e) => return Err(e),
            }
            return Ok(false);
        }
        write(&path, parts)?;
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.used.fetch_add(len as u64, Ordering::Relaxed);
        Ok(true)
    }

    /// Where a chunk's file lives.
    pub fn chunk_path(&self, hash: &Hash32) -> PathBuf {
        fanout::dir(&self.root, hash.0[0]).join(hash.to_hex())
    }
}

/// An open chunk file and its length (read once at open).
struct SizedFile(Arc<File>, u64);

impl ChunkFile for SizedFile {
    fn len(&self) -> u64 {
        self.1
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self.0.as_ref(), buf, offset)
    }
    fn identity(&self) -> io::Result<Identity> {
        let meta = self.0.metadata()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Ok(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }
    fn map(&self) -> io::Result<bytes::Bytes> {
        // SAFETY: chunk files are written once, renamed into place and never truncated; a
        // write to one by the node's own user is seen in its identity before its bytes
        // are sent again (see `seal.rs`).
        unsafe { crate::zero_copy::map(self.0.clone(), self.1) }
    }
}

impl ChunkStore for FsStore {
    fn has(&self, hash: &Hash32) -> io::Result<bool> {
        Ok(self.chunk_path(hash).is_file())
    }

    fn put(&self, hash: &Hash32, parts: &[&[u8]]) -> io::Result<bool> {
        self.put_with(hash, parts, write_atomic_direct)
    }

    fn put_batched(&self, hash: &Hash32, parts: &[&[u8]]) -> io::Result<bool> {
        let new = self.put_with(hash, parts, write_direct_renamed)?;
        if new {
            self.unsynced[usize::from(hash.0[0])].store(true, Ordering::SeqCst);
        }
        Ok(new)
    }

    fn sync(&self) -> io::Result<()> {
        let _one_at_a_time = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
        for (byte, unsynced) in self.unsynced.iter().enumerate() {
            if unsynced.swap(false, Ordering::SeqCst) {
                if let Err(e) = sync_dir(&fanout::dir(&self.root, byte as u8)) {
                    unsynced.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn open(&self, hash: &Hash32) -> io::Result<Option<Box<dyn ChunkFile>>> {
        match File::open(self.chunk_path(hash)) {
            Ok(f) => {
                let len = f.metadata()?.len();
                Ok(Some(Box::new(SizedFile(Arc::new(f), len))))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn quarantine(&self, hash: &Hash32) -> io::Result<()> {
        let path = self.chunk_path(hash);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let dest = self
            .root
            .parent()
            .unwrap_or(&self.root)
            .join("quarantine")
            .join(format!("{}.{}", hash.to_hex(), rand::random::<u32>()));
        std::fs::rename(&path, dest)?;
        self.used
            .fetch_sub(len.min(self.used.load(Ordering::Relaxed)), Ordering::Relaxed);
        Ok(())
    }

    fn delete(&self, hash: &Hash32) -> io::Result<bool> {
        let path = self.chunk_path(hash);
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        std::fs::remove_file(&path)?;
        self.used
            .fetch_sub(len.min(self.used.load(Ordering::Relaxed)), Ordering::Relaxed);
        Ok(true)
    }

    fn bytes_used(&self) -> io::Result<u64> {
        Ok(self.used.load(Ordering::Relaxed))
    }

    fn list(&self) -> io::Result<Vec<Held>> {
        let mut out = Vec::new();
        for a in fanout::dirs(&self.root)? {
            for f in std::fs::read_dir(a)? {
                let f = f?;
                // Temp files of writes in progress, and anything not the store's, have
                // other names and are skipped.
                let Some(hash) = chunk_name(&f) else {
                    continue;
                };
                match f.metadata() {
                    Ok(m) => out.push(Held {
                        hash,
                        len: m.len(),
                        stored: m.modified()?,
                    }),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }
}

/// The chunk a directory entry names, if its name is a chunk hash.
fn chunk_name(entry: &std::fs::DirEntry) -> Option<Hash32> {
    entry.file_name().to_str()?.parse().ok()
}

/// Whether a directory entry is the temp file of a write a crash cut short.
fn is_temp(entry: &std::fs::DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with(".tmp-")
}

/// Run when the store opens, in its one walk of the store; returns the bytes of chunks
/// held. Removes the temp files of writes a crash cut short, moves chunks of the earlier
/// layout, `ab/cd/abcd…`, to `ab/abcd…` and removes the emptied second-level directories.
/// A move interrupted by a crash is finished at the next open. Anything else found under
/// `chunks/` is not the store's: it is left where it is and not counted.
fn tidy(root: &Path) -> io::Result<u64> {
    let mut held = 0;
    for a in fanout::dirs(root)? {
        let mut moved = false;
        for b in std::fs::read_dir(&a)? {
            let b = b?;
            let kind = b.file_type()?;
            if kind.is_file() && chunk_name(&b).is_some() {
                held += b.metadata()?.len();
            } else if kind.is_file() && is_temp(&b) {
                std::fs::remove_file(b.path())?;
            } else if kind.is_dir() && fanout::is_name(&b.file_name()) {
                for f in std::fs::read_dir(b.path())? {
                    let f = f?;
                    if chunk_name(&f).is_some() {
                        held += f.metadata()?.len();
                        std::fs::rename(f.path(), a.join(f.file_name()))?;
                        moved = true;
                    } else if is_temp(&f) {
                        std::fs::remove_file(f.path())?;
                    }
                }
                match std::fs::remove_dir(b.path()) {
                    Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
                    other => other?,
                }
            }
        }
        if moved {
            sync_dir(&a)?;
        }
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::{verify, Verified};

    #[test]
    fn opening_moves_the_two_level_layout_and_drops_crashed_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = b"an old chunk".to_vec();
        let hash = Hash32::of(&data);
        let hex = hash.to_hex();
        let old = dir.path().join("chunks").join(&hex[0..2]).join(&hex[2..4]);
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join(&hex), &data).unwrap();
        std::fs::write(old.join(".tmp-unfinished"), b"half").unwrap();
        let crashed = dir.path().join("chunks").join("00").join(".tmp-crashed");
        std::fs::create_dir_all(crashed.parent().unwrap()).unwrap();
        std::fs::write(&crashed, b"cut short").unwrap();

        let store = FsStore::open(dir.path()).unwrap();
        assert!(!old.exists());
        assert!(!crashed.exists());
        assert_eq!(
            store.chunk_path(&hash),
            dir.path().join("chunks").join(&hex[0..2]).join(&hex)
        );
        assert_eq!(verify(&store, &hash).unwrap(), Verified::Good(data.len() as u64));
        assert_eq!(store.bytes_used().unwrap(), data.len() as u64);
        let held = store.list().unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].hash, hash);
        // Opening again changes nothing.
        drop(store);
        let store = FsStore::open(dir.path()).unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
    }

    #[test]
    fn files_that_are_not_the_stores_are_left_alone_and_not_counted() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = dir.path().join("chunks");
        let data = b"a chunk".to_vec();
        let hash = Hash32::of(&data);
        let hex = hash.to_hex();
        // Someone's notes beside the fan-out directories, a stray directory, a stray file
        // in a fan-out directory, and an old-layout directory holding a chunk and a file
        // that is not one.
        let strays = [
            chunks.join("README"),
            chunks.join("lost+found").join("x"),
            chunks.join("ab").join("notes.txt"),
            chunks.join(&hex[0..2]).join(&hex[2..4]).join("keep-me"),
        ];
        for stray in &strays {
            std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
            std::fs::write(stray, b"not a chunk").unwrap();
        }
        std::fs::write(chunks.join(&hex[0..2]).join(&hex[2..4]).join(&hex), &data).unwrap();

        let store = FsStore::open(dir.path()).unwrap();
        for stray in &strays {
            assert_eq!(std::fs::read(stray).unwrap(), b"not a chunk", "{stray:?}");
        }
        assert_eq!(store.bytes_used().unwrap(), data.len() as u64);
        let held = store.list().unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].hash, hash);
        assert_eq!(verify(&store, &hash).unwrap(), Verified::Good(data.len() as u64));
    }

    #[test]
    fn batched_puts_are_readable_at_once_and_their_directories_synced_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).unwrap();
        let chunks: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 4096 * (1 + i as usize % 3)]).collect();
        for c in &chunks {
            assert!(store.put_batched(&Hash32::of(c), &[c]).unwrap());
        }
        let dirty = |s: &FsStore| s.unsynced.iter().filter(|d| d.load(Ordering::SeqCst)).count();
        let dirs: std::collections::BTreeSet<u8> = chunks.iter().map(|c| Hash32::of(c).0[0]).collect();
        assert_eq!(dirty(&store), dirs.len());
        store.sync().unwrap();
        assert_eq!(dirty(&store), 0);
        for c in &chunks {
            assert_eq!(
                verify(&store, &Hash32::of(c)).unwrap(),
                Verified::Good(c.len() as u64)
            );
        }
        // A chunk already held is not written again and leaves nothing to sync.
        assert!(!store.put_batched(&Hash32::of(&chunks[0]), &[&chunks[0]]).unwrap());
        assert_eq!(dirty(&store), 0);
        assert_eq!(
            store.bytes_used().unwrap(),
            chunks.iter().map(|c| c.len() as u64).sum::<u64>()
        );
    }
}
