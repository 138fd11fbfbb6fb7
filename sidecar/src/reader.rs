//! Reading chunks for serving: every chunk is verified against its hash before any of its
//! bytes go out. A verification is remembered for a short while so a chunk read by many
//! clients or many small ranges is hashed once, not once per request; a chunk asked for
//! again within that while is hot, and is kept whole in the chunk tier of its audience.

use crate::blobs::BlobRecord;
use crate::error::ApiError;
use crate::hash::Hash32;
use crate::metrics::Metrics;
use crate::store::{self, ChunkFile, ChunkStore, Verified};
use crate::tiers::Tiers;
use bytes::{Bytes, BytesMut};
use media_rules::CachePartition;
use std::sync::Arc;
use std::time::Duration;

/// How long a verification is trusted. Chunk files are immutable and replaced only by
/// rename, so this bounds only the window for silent disk corruption.
pub const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// Whether a verification counts as a read (and so marks the chunk as read lately).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Remember {
    Yes,
    No,
}

/// A verified chunk's bytes: in memory (cached), or an open file to stream from.
pub enum ChunkBytes {
    /// The whole chunk, from the chunk tier.
    Memory(Bytes),
    /// The chunk on disk, verified lately.
    Disk(Arc<dyn ChunkFile>),
}

/// Verified, cached access to a chunk store.
pub struct ChunkReader {
    store: Arc<dyn ChunkStore>,
    tiers: Arc<Tiers>,
    verified: moka::sync::Cache<Hash32, ()>,
    metrics: Arc<Metrics>,
}

impl ChunkReader {
    /// Wraps `store`, caching in `tiers`.
    pub fn new(store: Arc<dyn ChunkStore>, tiers: Arc<Tiers>, metrics: Arc<Metrics>) -> Self {
        let verified = moka::sync::Cache::builder()
            .max_capacity(1 << 20)
            .time_to_live(VERIFIED_TTL)
            .build();
        ChunkReader {
            store,
            tiers,
            verified,
            metrics,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ChunkStore> {
        &self.store
    }

    /// Makes sure `hash` is stored and intact, verifying it unless that was done lately.
    pub async fn ensure_verified(&self, hash: Hash32) -> Result<(), ApiError> {
        if self.verified.contains_key(&hash) {
            return Ok(());
        }
        self.checked(hash, store::verify, Remember::Yes).await.map(drop)
    }

    /// Reads a whole chunk and verifies it in the same pass.
    pub async fn load(&self, hash: Hash32) -> Result<Bytes, ApiError> {
        self.checked(hash, store::load, Remember::Yes)
            .await
            .map(Bytes::from)
    }

    /// Verifies a chunk now, whatever was verified lately, without counting as a read: a
    /// scrub must not make the chunk look hot to the cache.
    pub async fn scrub(&self, hash: Hash32) -> Result<(), ApiError> {
        self.checked(hash, store::verify, Remember::No).await.map(drop)
    }

    /// Reads and verifies a whole chunk without counting as a read (replication checks).
    pub async fn load_quietly(&self, hash: Hash32) -> Result<Bytes, ApiError> {
        self.checked(hash, store::load, Remember::No)
            .await
            .map(Bytes::from)
    }

    /// Runs a check of the stored chunk on the blocking pool and judges its outcome.
    async fn checked<T: Send + 'static>(
        &self,
        hash: Hash32,
        check: fn(&dyn ChunkStore, &Hash32) -> std::io::Result<Verified<T>>,
        remember: Remember,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        let result = tokio::task::spawn_blocking(move || check(store.as_ref(), &hash))
            .await
            .map_err(std::io::Error::other)??;
        self.accept(hash, result, remember)
    }

    /// Counts a verification's outcome and, if asked, remembers a good one.
    fn accept<T>(&self, hash: Hash32, result: Verified<T>, remember: Remember) -> Result<T, ApiError> {
        match result {
            Verified::Good(value) => {
                self.metrics.chunks_verified.inc();
                if remember == Remember::Yes {
                    self.verified.insert(hash, ());
                }
                Ok(value)
            }
            Verified::Missing => Err(ApiError::NotFound("chunk")),
            Verified::Corrupt => {
                self.forget(&hash);
                self.metrics.verification_failures.inc();
                tracing::error!(chunk = %hash, "stored chunk failed verification; quarantined");
                Err(ApiError::Corrupt(hash.to_hex()))
            }
        }
    }

    /// Forgets that `hash` was verified and drops it from the caches (after it is deleted,
    /// replaced or found corrupt).
    pub fn forget(&self, hash: &Hash32) {
        self.verified.invalidate(hash);
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
    /// is hot (read lately), loaded whole into it; or else opened on disk to stream.
    pub async fn chunk(&self, hash: Hash32, partition: CachePartition) -> Result<ChunkBytes, ApiError> {
        let tier = self.tiers.chunks(partition);
        if let Some(bytes) = tier.get(&hash) {
            return Ok(ChunkBytes::Memory(bytes));
        }
        if tier.enabled() && self.verified.contains_key(&hash) {
            let bytes = self.load(hash).await?;
            tier.insert(hash, bytes.clone());
            return Ok(ChunkBytes::Memory(bytes));
        }
        Ok(ChunkBytes::Disk(self.open(hash).await?))
    }

    /// The whole of a small blob, from the complete tier of `partition` or read, verified
    /// chunk by chunk, and kept there.
    pub async fn small_blob(
        &self,
        record: &BlobRecord,
        partition: CachePartition,
    ) -> Result<Bytes, ApiError> {
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
            return Err(ApiError::Io(std::io::Error::other(
                "stored chunks do not add up to the blob's size",
            )));
        }
        tier.insert(blob, whole.clone());
        Ok(whole)
    }

    /// Opens a verified chunk.
    pub async fn open(&self, hash: Hash32) -> Result<Arc<dyn ChunkFile>, ApiError> {
        self.ensure_verified(hash).await?;
        let store = self.store.clone();
        let file = tokio::task::spawn_blocking(move || store.open(&hash))
            .await
            .map_err(std::io::Error::other)??;
        file.map(Arc::from).ok_or(ApiError::NotFound("chunk"))
    }

    /// Reads `len` bytes at `offset` of an open chunk.
    pub async fn read(file: Arc<dyn ChunkFile>, offset: u64, len: usize) -> std::io::Result<Bytes> {
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; len];
            let mut filled = 0;
            while filled < len {
                let n = file.read_at(&mut buf[filled..], offset + filled as u64)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "chunk shorter than expected",
                    ));
                }
                filled += n;
            }
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(std::io::Error::other)?
    }
}
