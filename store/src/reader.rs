//! Reading chunks for serving: every chunk is verified against its hash before any of its
//! bytes go out. A verified chunk file is sealed ([`crate::seal`]): while it stays the same
//! file, unchanged, it is trusted again after one `fstat` instead of hashing it; any write
//! to it breaks the seal and the next read hashes it again. Chunks on disk are sent from a
//! read-only mapping, so their bytes never pass through a buffer of ours. A chunk asked for
//! again within [`HOT_FOR`] is hot, and is kept whole in the chunk tier of its audience.

use crate::blob_record::BlobRecord;
use crate::chunks::{self, ChunkFile, ChunkStore, Intact, StoreError, Verified};
use crate::hash::Hash32;
use crate::metrics::Metrics;
use crate::seal::Seal;
use crate::tiers::Tiers;
use bytes::{Bytes, BytesMut};
use media_rules::CachePartition;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A chunk read again within this while is hot (worth a place in the chunk tier).
pub const HOT_FOR: Duration = Duration::from_secs(60);

/// How many chunk files are kept open and mapped between requests.
pub const OPEN_CHUNKS: u64 = 256;

/// Whether a verification counts as a read (and so marks the chunk as read lately).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Remember {
    Yes,
    No,
}

/// A verified chunk's bytes.
pub enum ChunkBytes {
    /// The whole chunk, from the chunk tier (or fetched from a peer).
    Memory(Bytes),
    /// The whole chunk, mapped from its file on disk.
    Mapped(Bytes),
}

impl ChunkBytes {
    /// The chunk's bytes, wherever they are.
    pub fn bytes(&self) -> &Bytes {
        match self {
            ChunkBytes::Memory(bytes) | ChunkBytes::Mapped(bytes) => bytes,
        }
    }
}

/// A chunk file kept open, with its mapping.
struct Open {
    file: Box<dyn ChunkFile>,
    bytes: Bytes,
}

/// Verified, cached access to a chunk store.
pub struct ChunkReader {
    store: Arc<dyn ChunkStore>,
    tiers: Arc<Tiers>,
    /// The seal of every chunk verified lately.
    seals: moka::sync::Cache<Hash32, Seal>,
    /// Chunks read within [`HOT_FOR`].
    lately: moka::sync::Cache<Hash32, ()>,
    /// Chunk files open and mapped, most used first.
    open: moka::sync::Cache<Hash32, Arc<Open>>,
    metrics: Arc<Metrics>,
}

impl ChunkReader {
    /// Wraps `store`, caching in `tiers`.
    pub fn new(store: Arc<dyn ChunkStore>, tiers: Arc<Tiers>, metrics: Arc<Metrics>) -> Self {
        ChunkReader {
            store,
            tiers,
            seals: moka::sync::Cache::builder().max_capacity(1 << 20).build(),
            lately: moka::sync::Cache::builder()
                .max_capacity(1 << 20)
                .time_to_live(HOT_FOR)
                .build(),
            open: moka::sync::Cache::builder().max_capacity(OPEN_CHUNKS).build(),
            metrics,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ChunkStore> {
        &self.store
    }

    /// Reads a whole chunk and verifies it in the same pass.
    pub async fn load(&self, hash: Hash32) -> Result<Bytes, StoreError> {
        let intact = self.checked(hash, None, true, Remember::Yes).await?;
        Ok(Bytes::from(intact.data))
    }

    /// Verifies a chunk now, whatever was verified lately, without counting as a read: a
    /// scrub must not make the chunk look hot to the cache.
    pub async fn scrub(&self, hash: Hash32) -> Result<(), StoreError> {
        self.checked(hash, None, false, Remember::No).await.map(drop)
    }

    /// Reads and verifies a whole chunk without counting as a read (replication checks).
    pub async fn load_quietly(&self, hash: Hash32) -> Result<Bytes, StoreError> {
        let intact = self.checked(hash, None, true, Remember::No).await?;
        Ok(Bytes::from(intact.data))
    }

    /// Reads the stored chunk (`opened` already, or opened now) through on the blocking
    /// pool, checks its hash, and judges the outcome; a good one seals the file.
    async fn checked(
        &self,
        hash: Hash32,
        opened: Option<Box<dyn ChunkFile>>,
        keep: bool,
        remember: Remember,
    ) -> Result<Intact, StoreError> {
        let store = self.store.clone();
        let started = SystemTime::now();
        let result = tokio::task::spawn_blocking(move || match opened {
            Some(file) => chunks::check_file(store.as_ref(), &hash, file, keep),
            None => chunks::read_checked(store.as_ref(), &hash, keep),
        })
        .await
        .map_err(std::io::Error::other)??;
        let intact = self.accept(hash, result, remember)?;
        match Seal::of(intact.before, intact.after, started) {
            Some(seal) => self.seals.insert(hash, seal),
            None => self.seals.invalidate(&hash),
        }
        Ok(intact)
    }

    /// Counts a verification's outcome and, if asked, remembers the read.
    fn accept<T>(&self, hash: Hash32, result: Verified<T>, remember: Remember) -> Result<T, StoreError> {
        match result {
            Verified::Good(value) => {
                self.metrics.chunks_verified.inc();
                if remember == Remember::Yes {
                    self.mark_read(hash);
                }
                Ok(value)
            }
            Verified::Missing => Err(StoreError::Missing(hash)),
            Verified::Corrupt => {
                self.forget(&hash);
                self.metrics.verification_failures.inc();
                tracing::error!(chunk = %hash, "stored chunk failed verification; quarantined");
                Err(StoreError::Corrupt(hash))
            }
        }
    }

    /// Forgets that `hash` was verified and drops it from the caches (after it is deleted,
    /// replaced or found corrupt).
    pub fn forget(&self, hash: &Hash32) {
        self.seals.invalidate(hash);
        self.open.invalidate(hash);
        self.tiers.forget_chunk(hash);
    }

    /// Keeps a chunk fetched (and verified) from another node in the chunk tier of
    /// `partition`, under its budget; it is never written to the store.
    pub fn keep_fetched(&self, hash: Hash32, partition: CachePartition, bytes: Bytes) {
        self.metrics.chunks_verified.inc();
        let tier = self.tiers.chunks(partition);
        if tier.enabled() {
            tier.insert(hash, bytes);
        }
    }

    /// A verified chunk for a reader of `partition`: from the chunk tier; or, when the chunk
    /// is hot (read lately), loaded whole into it; or else mapped from its file.
    pub async fn chunk(&self, hash: Hash32, partition: CachePartition) -> Result<ChunkBytes, StoreError> {
        let tier = self.tiers.chunks(partition);
        if let Some(bytes) = tier.get(&hash) {
            return Ok(ChunkBytes::Memory(bytes));
        }
        if tier.enabled() && self.lately.contains_key(&hash) {
            let bytes = self.load(hash).await?;
            tier.insert(hash, bytes.clone());
            return Ok(ChunkBytes::Memory(bytes));
        }
        Ok(ChunkBytes::Mapped(self.mapped(hash).await?))
    }

    /// The chunk's file, mapped, after checking it is still the file its seal was made on
    /// (one `fstat`); a chunk without a holding seal is read through and hashed first.
    async fn mapped(&self, hash: Hash32) -> Result<Bytes, StoreError> {
        if let Some(open) = self.open.get(&hash) {
            if self.sealed(&hash, open.file.as_ref())? {
                self.mark_read(hash);
                return Ok(open.bytes.clone());
            }
            self.open.invalidate(&hash);
        }
        let store = self.store.clone();
        let file = tokio::task::spawn_blocking(move || store.open(&hash))
            .await
            .map_err(std::io::Error::other)??
            .ok_or(StoreError::Missing(hash))?;
        let entry = if self.sealed(&hash, file.as_ref())? {
            self.mark_read(hash);
            Open {
                bytes: file.map()?,
                file,
            }
        } else {
            // Hash the file just opened, not another opening of it.
            let intact = self.checked(hash, Some(file), false, Remember::Yes).await?;
            let bytes = intact.file.map()?;
            // The mapping must show the bytes that were hashed.
            if intact.before != intact.after || intact.file.identity()? != intact.before {
                return Err(StoreError::Changed(hash));
            }
            Open {
                file: intact.file,
                bytes,
            }
        };
        let open = Arc::new(entry);
        self.open.insert(hash, open.clone());
        Ok(open.bytes.clone())
    }

    /// Marks a chunk as read now, unless it was read lately already.
    fn mark_read(&self, hash: Hash32) {
        if !self.lately.contains_key(&hash) {
            self.lately.insert(hash, ());
        }
    }

    /// Whether `file` is unchanged since the seal on `hash` was made, and that is recent.
    fn sealed(&self, hash: &Hash32, file: &dyn ChunkFile) -> Result<bool, StoreError> {
        let Some(seal) = self.seals.get(hash) else {
            return Ok(false);
        };
        Ok(seal.holds_for(&file.identity()?, SystemTime::now()))
    }

    /// The whole of a small blob, from the complete tier of `partition` or read, verified
    /// chunk by chunk, and kept there.
    pub async fn small_blob(
        &self,
        record: &BlobRecord,
        partition: CachePartition,
    ) -> Result<Bytes, StoreError> {
        let blob: Hash32 = record.manifest.hash.parse()?;
        let tier = self.tiers.complete(partition);
        if let Some(bytes) = tier.get(&blob) {
            return Ok(bytes);
        }
        let mut whole = BytesMut::with_capacity(record.manifest.size as usize);
        for hash in record.chunk_hashes()? {
            whole.extend_from_slice(&self.load(hash).await?);
        }
        let whole = whole.freeze();
        if whole.len() as u64 != record.manifest.size {
            return Err(StoreError::ShortBlob {
                blob,
                size: record.manifest.size,
                held: whole.len() as u64,
            });
        }
        tier.insert(blob, whole.clone());
        Ok(whole)
    }
}
