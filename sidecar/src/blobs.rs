//! The blob index: for each blob the sidecar holds whole, its manifest (how it is cut
//! into chunks, its MIME type), persisted as versioned JSON and cached in memory.

use crate::atomic::write_atomic;
use crate::fanout;
use crate::hash::Hash32;
use crate::tiers::Tiers;
use media_rules::manifest::BlobManifest;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The record format this version writes.
pub const FORMAT: u32 = 1;

/// What the sidecar knows about a stored blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// Format version, for migrations.
    pub format: u32,
    /// The blob's manifest.
    pub manifest: BlobManifest,
    /// When the blob was completed here, seconds since the Unix epoch.
    pub created_at: u64,
    /// The source blob (hex) whose ladder made this blob here, if it is a rendition made on
    /// this node. Renditions pulled from peers learn their source from the DHT instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendition_of: Option<String>,
    /// Whether the node keeps the blob for its own agent: an upload, or a rendition made
    /// here. (Records written before this field existed were all kept as the node's own.)
    #[serde(default = "kept_as_own")]
    pub own: bool,
    /// The authors (agent keys) of the content whose replica of this blob the node keeps.
    /// Only their content, and the node's own, decides who may read the bytes here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_of: Vec<String>,
    /// The client (IP address) whose anonymous upload left the blob here, when the node
    /// keeps it for nobody else: unpublished, read by the owner only, and counted against
    /// that client's quota ([`crate::anonymous`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<String>,
}

fn kept_as_own() -> bool {
    true
}

/// Whom a node keeps a blob for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keeper {
    /// Its own agent: an upload, or a rendition its ladder made.
    Own,
    /// The author (agent key) of content whose replica it keeps.
    ReplicaOf(String),
    /// A client that uploaded it without the owner's credential: kept unpublished, and
    /// only when the node holds it for nobody yet.
    Anonymous(std::net::IpAddr),
}

impl BlobRecord {
    /// A record for a manifest completed now.
    pub fn new(manifest: BlobManifest) -> Self {
        let created_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        BlobRecord {
            format: FORMAT,
            manifest,
            created_at,
            rendition_of: None,
            own: true,
            replica_of: Vec::new(),
            anonymous: None,
        }
    }

    /// A record of `manifest` kept for `keeper`.
    pub fn kept_for(manifest: BlobManifest, keeper: &Keeper) -> Self {
        let mut record = Self::new(manifest);
        match keeper {
            Keeper::Own => {}
            Keeper::ReplicaOf(author) => {
                record.own = false;
                record.replica_of.push(author.clone());
            }
            Keeper::Anonymous(client) => {
                record.own = false;
                record.anonymous = Some(client.to_string());
            }
        }
        record
    }

    /// Whether the node keeps this blob for `keeper` already.
    pub fn keeps_for(&self, keeper: &Keeper) -> bool {
        match keeper {
            Keeper::Own => self.own,
            Keeper::ReplicaOf(author) => self.replica_of.contains(author),
            // Held already, for whomever: an anonymous upload adds no keeper to it.
            Keeper::Anonymous(_) => true,
        }
    }

    /// The blob's chunk hashes, parsed.
    pub fn chunk_hashes(&self) -> io::Result<Vec<Hash32>> {
        self.manifest
            .chunks
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}")))
            })
            .collect()
    }
}

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

    /// The records of the blobs anonymous clients left here ([`crate::anonymous`]).
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
    /// chunks are left to the sweep ([`crate::gc`]), the one deleter of chunks, which keeps
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
