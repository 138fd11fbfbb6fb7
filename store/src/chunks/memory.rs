//! An in-memory chunk store, for tests of code that sits above the store.

use super::{ChunkFile, ChunkStore, Held, Identity};
use crate::hash::Hash32;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

/// Chunks in a map.
#[derive(Default)]
pub struct MemStore {
    chunks: Mutex<HashMap<Hash32, Arc<[u8]>>>,
    stored: Mutex<HashMap<Hash32, std::time::SystemTime>>,
}

struct MemFile(Arc<[u8]>);

impl ChunkFile for MemFile {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = (offset as usize).min(self.0.len());
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
    /// The bytes' address stands for the inode: replacing a chunk
    /// gives it a new one.
    fn identity(&self) -> io::Result<Identity> {
        Ok(Identity {
            dev: 0,
            ino: self.0.as_ptr() as u64,
            len: self.0.len() as u64,
            mtime_ns: 0,
            ctime_ns: 0,
        })
    }
    fn map(&self) -> io::Result<bytes::Bytes> {
        Ok(bytes::Bytes::from_owner(self.0.clone()))
    }
}

impl MemStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Hash32, Arc<[u8]>>> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ChunkStore for MemStore {
    fn has(&self, hash: &Hash32) -> io::Result<bool> {
        Ok(self.map().contains_key(hash))
    }
    fn put(&self, hash: &Hash32, parts: &[&[u8]]) -> io::Result<bool> {
        let mut map = self.map();
        let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        stored.insert(*hash, std::time::SystemTime::now());
        if map.contains_key(hash) {
            return Ok(false);
        }
        map.insert(*hash, parts.concat().into());
        Ok(true)
    }
    fn open(&self, hash: &Hash32) -> io::Result<Option<Box<dyn ChunkFile>>> {
        Ok(self
            .map()
            .get(hash)
            .map(|d| Box::new(MemFile(d.clone())) as Box<dyn ChunkFile>))
    }
    fn quarantine(&self, hash: &Hash32) -> io::Result<()> {
        self.map().remove(hash);
        Ok(())
    }
    fn delete(&self, hash: &Hash32) -> io::Result<bool> {
        Ok(self.map().remove(hash).is_some())
    }
    fn bytes_used(&self) -> io::Result<u64> {
        Ok(self.map().values().map(|d| d.len() as u64).sum())
    }
    fn list(&self) -> io::Result<Vec<Held>> {
        let stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self
            .map()
            .iter()
            .map(|(hash, data)| Held {
                hash: *hash,
                len: data.len() as u64,
                stored: stored.get(hash).copied().unwrap_or(std::time::UNIX_EPOCH),
            })
            .collect())
    }
}
