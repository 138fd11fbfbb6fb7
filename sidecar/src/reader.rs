//! Reading chunks for serving: every chunk is verified against its hash before any of its
//! bytes go out; a verification is remembered for a short while so a chunk read by many
//! clients or many small ranges is hashed once, not once per request.

use crate::error::ApiError;
use crate::hash::Hash32;
use crate::metrics::Metrics;
use crate::store::{self, ChunkFile, ChunkStore, Verified};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// How long a verification is trusted. Chunk files are immutable and replaced only by
/// rename, so this bounds only the window for silent disk corruption.
pub const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// Verified access to a chunk store.
pub struct ChunkReader {
    store: Arc<dyn ChunkStore>,
    verified: moka::sync::Cache<Hash32, ()>,
    metrics: Arc<Metrics>,
}

impl ChunkReader {
    /// Wraps `store`.
    pub fn new(store: Arc<dyn ChunkStore>, metrics: Arc<Metrics>) -> Self {
        let verified = moka::sync::Cache::builder()
            .max_capacity(1 << 20)
            .time_to_live(VERIFIED_TTL)
            .build();
        ChunkReader {
            store,
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
        let store = self.store.clone();
        let result = tokio::task::spawn_blocking(move || store::verify(store.as_ref(), &hash))
            .await
            .map_err(std::io::Error::other)??;
        match result {
            Verified::Good(_) => {
                self.metrics.chunks_verified.inc();
                self.verified.insert(hash, ());
                Ok(())
            }
            Verified::Missing => Err(ApiError::NotFound("chunk")),
            Verified::Corrupt => {
                self.metrics.verification_failures.inc();
                tracing::error!(chunk = %hash, "stored chunk failed verification; quarantined");
                Err(ApiError::Corrupt(hash.to_hex()))
            }
        }
    }

    /// Forgets that `hash` was verified (after it is deleted or replaced).
    pub fn forget(&self, hash: &Hash32) {
        self.verified.invalidate(hash);
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
