//! The content-addressed chunk store: a small trait, a filesystem backend, and an
//! in-memory backend for tests. Calls block; async callers run them on the blocking pool.

mod error;
mod fs;
#[cfg(test)]
mod memory;

pub use error::StoreError;
pub use fs::FsStore;
#[cfg(test)]
pub use memory::MemStore;

use crate::hash::Hash32;
use sha2::{Digest, Sha256};
use std::io;

/// A stored chunk opened for reading.
pub trait ChunkFile: Send + Sync {
    /// The chunk's length.
    fn len(&self) -> u64;
    /// Whether the chunk is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads up to `buf.len()` bytes at `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// What the file is now, without reading it: any write to it changes this.
    fn identity(&self) -> io::Result<Identity>;
    /// The whole chunk without copying it (a read-only mapping of the file): its bytes go
    /// from the page cache to the socket without passing through a buffer of ours.
    fn map(&self) -> io::Result<bytes::Bytes>;
}

/// What a chunk file is, as `fstat` tells it: device, inode, length and change times.
/// Writing to the file changes its ctime, which no one but the kernel can set back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The device.
    pub dev: u64,
    /// The inode.
    pub ino: u64,
    /// The length in bytes.
    pub len: u64,
    /// The last data change, in nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// The last inode change (data or metadata), in nanoseconds since the epoch.
    pub ctime_ns: i128,
}

/// A chunk a store holds, as [`ChunkStore::list`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Its hash.
    pub hash: Hash32,
    /// Its length in bytes.
    pub len: u64,
    /// When it was last stored (a `put` of a chunk already held counts as storing it again).
    pub stored: std::time::SystemTime,
}

/// Where chunks live. Chunks are immutable and named by their SHA-256; putting a chunk
/// that is already there stores nothing.
pub trait ChunkStore: Send + Sync + 'static {
    /// Whether the chunk is stored.
    fn has(&self, hash: &Hash32) -> io::Result<bool>;
    /// Stores the chunk made of `parts` under `hash` atomically; the caller has checked that
    /// it hashes to `hash`. Returns whether it was new.
    fn put(&self, hash: &Hash32, parts: &[&[u8]]) -> io::Result<bool>;
    /// Like [`put`](Self::put), for one chunk of many stored together: the chunk is durable
    /// only once [`sync`](Self::sync) has returned, which a batch calls once at its end.
    fn put_batched(&self, hash: &Hash32, parts: &[&[u8]]) -> io::Result<bool> {
        self.put(hash, parts)
    }
    /// Makes every chunk stored with [`put_batched`](Self::put_batched) so far durable.
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    /// Opens a chunk, `None` when it is not stored.
    fn open(&self, hash: &Hash32) -> io::Result<Option<Box<dyn ChunkFile>>>;
    /// Moves a corrupt chunk aside so it is never served again.
    fn quarantine(&self, hash: &Hash32) -> io::Result<()>;
    /// Deletes a chunk; returns whether it was there.
    fn delete(&self, hash: &Hash32) -> io::Result<bool>;
    /// Bytes of chunk data stored.
    fn bytes_used(&self) -> io::Result<u64>;
    /// Every chunk held.
    fn list(&self) -> io::Result<Vec<Held>>;
}

/// What reading a chunk back found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified<T = u64> {
    /// The chunk is there and hashes to its name: its length, or its bytes.
    Good(T),
    /// Not stored.
    Missing,
    /// Stored bytes do not hash to the name; the chunk has been quarantined.
    Corrupt,
}

#[cfg(test)]
impl<T> Verified<T> {
    /// The same outcome with the good value mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Verified<U> {
        match self {
            Verified::Good(value) => Verified::Good(f(value)),
            Verified::Missing => Verified::Missing,
            Verified::Corrupt => Verified::Corrupt,
        }
    }
}

/// A chunk read through that hashed to its name.
pub struct Intact {
    /// The file it was read from, still open.
    pub file: Box<dyn ChunkFile>,
    /// Its bytes, when they were asked for (else empty).
    pub data: Vec<u8>,
    /// The file's identity before the read.
    pub before: Identity,
    /// The file's identity after the read: the bytes hashed are the bytes of `before` only
    /// when the two are equal.
    pub after: Identity,
}

/// Opens a stored chunk, reads it through and checks its SHA-256 (keeping its bytes if
/// `keep`), quarantining it on mismatch.
pub fn read_checked(store: &dyn ChunkStore, hash: &Hash32, keep: bool) -> io::Result<Verified<Intact>> {
    match store.open(hash)? {
        Some(file) => check_file(store, hash, file, keep),
        None => Ok(Verified::Missing),
    }
}

/// [`read_checked`] of a chunk `file` already opened from `store`.
pub fn check_file(
    store: &dyn ChunkStore,
    hash: &Hash32,
    file: Box<dyn ChunkFile>,
    keep: bool,
) -> io::Result<Verified<Intact>> {
    let before = file.identity()?;
    let mut hasher = Sha256::new();
    let mut data = Vec::with_capacity(if keep { file.len() as usize } else { 0 });
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read_at(&mut buf, len)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if keep {
            data.extend_from_slice(&buf[..n]);
        }
        len += n as u64;
    }
    if Hash32(hasher.finalize().into()) == *hash {
        let after = file.identity()?;
        Ok(Verified::Good(Intact {
            file,
            data,
            before,
            after,
        }))
    } else {
        drop(file);
        store.quarantine(hash)?;
        Ok(Verified::Corrupt)
    }
}

/// Tests' shorthand for [`read_checked`]: the chunk's length.
#[cfg(test)]
pub fn verify(store: &dyn ChunkStore, hash: &Hash32) -> io::Result<Verified> {
    Ok(read_checked(store, hash, true)?.map(|read| read.data.len() as u64))
}

/// Tests' shorthand for [`read_checked`]: the chunk's bytes.
#[cfg(test)]
pub fn load(store: &dyn ChunkStore, hash: &Hash32) -> io::Result<Verified<Vec<u8>>> {
    Ok(read_checked(store, hash, true)?.map(|read| read.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One body of checks, run against every backend.
    fn smoke(store: &dyn ChunkStore) {
        for size in [0usize, 1, 1023, 1024, 1025, 300_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let hash = Hash32::of(&data);
            assert!(!store.has(&hash).unwrap() || size == 0);
            store.put(&hash, &[&data]).unwrap();
            assert!(
                !store.put(&hash, &[&data]).unwrap(),
                "a second put stores nothing"
            );
            assert!(store.has(&hash).unwrap());
            assert_eq!(verify(store, &hash).unwrap(), Verified::Good(size as u64));
            assert_eq!(load(store, &hash).unwrap(), Verified::Good(data.clone()));
            let file = store.open(&hash).unwrap().unwrap();
            assert_eq!(file.len(), size as u64);
            if size > 10 {
                let mut buf = [0u8; 5];
                assert_eq!(file.read_at(&mut buf, 5).unwrap(), 5);
                assert_eq!(&buf, &data[5..10]);
            }
        }
        let missing = Hash32([9; 32]);
        assert_eq!(verify(store, &missing).unwrap(), Verified::Missing);
        assert!(!store.delete(&missing).unwrap());
    }

    #[test]
    fn memory_backend_passes_the_smoke_test() {
        smoke(&MemStore::default());
    }

    #[test]
    fn filesystem_backend_passes_the_smoke_test() {
        let dir = tempfile::tempdir().unwrap();
        smoke(&FsStore::open(dir.path()).unwrap());
    }

    #[test]
    fn a_chunk_corrupted_on_disk_is_quarantined_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).unwrap();
        let data = b"hello chunk".to_vec();
        let hash = Hash32::of(&data);
        store.put(&hash, &[&data]).unwrap();
        std::fs::write(store.chunk_path(&hash), b"hellO chunk").unwrap();
        assert_eq!(verify(&store, &hash).unwrap(), Verified::Corrupt);
        assert!(!store.has(&hash).unwrap());
        assert_eq!(
            std::fs::read_dir(dir.path().join("quarantine")).unwrap().count(),
            1
        );
    }
}
