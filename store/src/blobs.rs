//! The blob index: for each blob the sidecar holds whole, its manifest (how it is cut
//! into chunks, its MIME type), persisted as versioned JSON and cached in memory.

use crate::atomic::write_atomic;
use crate::fanout;
use crate::hash::Hash32;
use crate::tiers::Tiers;
use media_rules::manifest::BlobManifest;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::blob_record::{BlobRecord, Keeper, FORMAT};

/// Blob records on disk under `blobs/ab/cd/<hash>.json`, cached in the metadata tier.
pub struct BlobIndex {
    root: PathBuf,
    tiers: Arc<Tiers>,
    /// Held while a record is read, changed and written back.
    writing: std::sync::Mutex<()>,
}

impl BlobIndex {
    /// Opens (creating) the index under `dir`.
    pub fn open(dir: &Path, tiers: Arc<Tiers>) -> io::Result<Self> {
        let root = dir.join("blobs");
        std::fs::create_dir_all(&root)?;
        Ok(BlobIndex {
            root,
            tiers,
            writing: Default::default(),
        })
    }

    fn path(&self, hash: &Hash32) -> PathBuf {
        let first = fanout::dir(&self.root, hash.0[0]);
        fanout::dir(&first, hash.0[1]).join(format!("{hash}.json"))
    }

    /// The record of a blob held whole, if any.
    pub fn get(&self, hash: &Hash32) -> io::Result<Option<Arc<BlobRecord>>> {
        if let Some(r) = self.tiers.meta.get(hash) {
            return Ok(Some(r));
        }
        let bytes = match std::fs::read(self.path(hash)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let record = Arc::new(migrate(&bytes)?);
        self.tiers.meta.insert(*hash, record.clone());
        Ok(Some(record))
    }

    /// Stores a record atomically; the blob becomes visible at this moment.
    pub fn put(&self, record: BlobRecord) -> io::Result<Arc<BlobRecord>> {
        let hash = parse_hash(&record.manifest.hash)?;
        let json = serde_json::to_vec(&record).map_err(io::Error::other)?;
        write_atomic(&self.path(&hash), &json)?;
        let record = Arc::new(record);
        self.tiers.meta.insert(hash, record.clone());
        Ok(record)
    }

    /// Records that the node keeps the blob of `manifest` for `keeper`: a new record, or
    /// `keeper` added to the record held. Returns the record.
    pub fn keep(&self, manifest: BlobManifest, keeper: &Keeper) -> io::Result<Arc<BlobRecord>> {
        Ok(self.keep_new(manifest, keeper)?.0)
    }

    /// As [`BlobIndex::keep`], and whether the record is new: the node held no blob of
    /// this hash before.
    pub fn keep_new(&self, manifest: BlobManifest, keeper: &Keeper) -> io::Result<(Arc<BlobRecord>, bool)> {
        let hash: Hash32 = parse_hash(&manifest.hash)?;
        let _one_writer = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let held = match self.get(&hash)? {
            Some(held) => held,
            None => return Ok((self.put(BlobRecord::kept_for(manifest, keeper))?, true)),
        };
        let mut record = (*held).clone();
        match keeper {
            _ if held.keeps_for(keeper) => return Ok((held, false)),
            Keeper::Own => record.own = true,
            Keeper::ReplicaOf(author) => record.replica_of.push(author.clone()),
            // (Held already, so kept for it already: see `keeps_for`.)
            Keeper::Anonymous(_) => return Ok((held, false)),
        }
        // Kept for someone now, it is no anonymous client's any more.
        record.anonymous = None;
        Ok((self.put(record)?, false))
    }

    /// The records of the blobs anonymous clients left here (`sidecar::anonymous`).
    pub fn anonymous_records(&self) -> io::Result<Vec<Arc<BlobRecord>>> {
        let mut left = Vec::new();
        for hash in self.list()? {
            if let Some(record) = self.get(&hash)?.filter(|r| r.anonymous.is_some()) {
                left.push(record);
            }
        }
        Ok(left)
    }

    /// Records that the node no longer keeps the blob for the author `replica_of`; the
    /// record goes when the node keeps the blob for nobody. Returns whether it went. The
    /// chunks are left to the sweep (`sidecar::gc`), the one deleter of chunks, which keeps
    /// every chunk some record still lists.
    pub fn release(&self, hash: &Hash32, replica_of: &str) -> io::Result<bool> {
        let _one_writer = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let Some(held) = self.get(hash)? else {
            return Ok(false);
        };
        let mut record = (*held).clone();
        record.replica_of.retain(|a| a != replica_of);
        if record.own || !record.replica_of.is_empty() || record.anonymous.is_some() {
            if record != *held {
                self.put(record)?;
            }
            return Ok(false);
        }
        self.delete(hash)
    }

    /// Forgets a blob (its chunks are left to the caller).
    pub fn delete(&self, hash: &Hash32) -> io::Result<bool> {
        self.tiers.meta.invalidate(hash);
        match std::fs::remove_file(self.path(hash)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The hashes of every blob held. Files under `blobs/` that are not records are
    /// skipped.
    pub fn list(&self) -> io::Result<Vec<Hash32>> {
        let mut out = Vec::new();
        for a in fanout::dirs(&self.root)? {
            for b in fanout::dirs(&a)? {
                for f in std::fs::read_dir(b)? {
                    let name = f?.file_name();
                    if let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) {
                        if let Ok(h) = hex.parse() {
                            out.push(h);
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

fn parse_hash(hex: &str) -> io::Result<Hash32> {
    hex.parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e}")))
}

/// Reads a record of any known format and brings it to the current one.
fn migrate(bytes: &[u8]) -> io::Result<BlobRecord> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(io::Error::other)?;
    match value.get("format").and_then(|f| f.as_u64()) {
        Some(1) => serde_json::from_value(value).map_err(io::Error::other),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("blob record format {other:?} is not supported by this version"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::tiers::CacheBudgets;

    #[test]
    fn files_that_are_not_records_do_not_stop_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let tiers = Arc::new(Tiers::new(CacheBudgets::default(), &Metrics::new()));
        let index = BlobIndex::open(dir.path(), tiers).unwrap();
        let manifest = BlobManifest {
            hash: Hash32::of(b"").to_hex(),
            size: 0,
            mime_type: "text/plain".into(),
            codec: None,
            chunk_size: media_rules::limits::DEFAULT_CHUNK_SIZE,
            chunks: Vec::new(),
            bitrate_kbps: None,
            duration_ms: None,
            variants: Vec::new(),
            segments: None,
            fallback_urls: Vec::new(),
        };
        index.put(BlobRecord::new(manifest)).unwrap();
        let blobs = dir.path().join("blobs");
        for stray in ["README", "lost+found/x", "e3/notes.txt", "e3/b0/notes.txt"] {
            let stray = blobs.join(stray);
            std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
            std::fs::write(stray, b"not a record").unwrap();
        }
        assert_eq!(index.list().unwrap(), vec![Hash32::of(b"")]);
    }
}
