//! The upload pipeline: bytes arrive in pieces and are copied into block-aligned chunk
//! buffers; every full chunk is hashed twice — on its own, and in order into the whole
//! blob's hash on a thread of its own — on separate cores, and written to the store straight
//! from its buffer with direct I/O; the directories the chunks were named in are synced
//! once, at the end. Memory is bounded by a few chunks, whatever the blob's
//! size, and the buffers are reused from chunk to chunk.

use crate::aligned::AlignedBuf;
use crate::error::ApiError;
use crate::hash::Hash32;
use crate::state::Sidecar;
use crate::store::ChunkStore;
use media_rules::manifest::BlobManifest;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes of chunks being hashed and written at once (12 chunks of the default size, and at
/// least 2 chunks whatever their size).
const IN_FLIGHT_BYTES: usize = 12 << 20;
/// Bytes of chunks queued for the whole-blob hasher (at least one chunk).
const WHOLE_QUEUE_BYTES: usize = 8 << 20;

/// One blob being ingested.
pub struct Ingest {
    store: Arc<dyn ChunkStore>,
    chunk_size: usize,
    limit: u64,
    size: u64,
    filling: Option<AlignedBuf>,
    whole_tx: Option<mpsc::Sender<Arc<AlignedBuf>>>,
    whole: Option<std::thread::JoinHandle<[u8; 32]>>,
    pending: VecDeque<JoinHandle<std::io::Result<Hash32>>>,
    in_flight: usize,
    chunks: Vec<Hash32>,
}

impl Ingest {
    /// Starts ingesting into `store` with chunks of `chunk_size`, refusing more than
    /// `limit` bytes.
    pub fn new(store: Arc<dyn ChunkStore>, chunk_size: u32, limit: u64) -> std::io::Result<Self> {
        let queue = (WHOLE_QUEUE_BYTES / chunk_size as usize).max(1);
        let (tx, mut rx) = mpsc::channel::<Arc<AlignedBuf>>(queue);
        let whole = std::thread::Builder::new()
            .name("blob-hasher".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                while let Some(chunk) = rx.blocking_recv() {
                    hasher.update(chunk.as_slice());
                }
                hasher.finalize().into()
            })?;
        Ok(Ingest {
            store,
            chunk_size: chunk_size as usize,
            limit,
            size: 0,
            filling: None,
            whole_tx: Some(tx),
            whole: Some(whole),
            pending: VecDeque::new(),
            in_flight: (IN_FLIGHT_BYTES / chunk_size as usize).clamp(2, 12),
            chunks: Vec::new(),
        })
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes the next piece of the body.
    pub async fn push(&mut self, mut data: &[u8]) -> Result<(), ApiError> {
        self.size += data.len() as u64;
        if self.size > self.limit {
            return Err(ApiError::TooLarge { limit: self.limit });
        }
        let chunk_size = self.chunk_size;
        while !data.is_empty() {
            let buf = self.filling.get_or_insert_with(|| AlignedBuf::new(chunk_size));
            data = &data[buf.extend(data)..];
            if buf.is_full() {
                self.submit().await?;
            }
        }
        Ok(())
    }

    /// Sends the chunk being filled to both hashers and the store.
    async fn submit(&mut self) -> Result<(), ApiError> {
        let Some(buf) = self.filling.take() else {
            return Ok(());
        };
        if self.pending.len() >= self.in_flight {
            self.collect_one().await?;
        }
        let chunk = Arc::new(buf);
        if let Some(tx) = &self.whole_tx {
            tx.send(chunk.clone())
                .await
                .map_err(|_| std::io::Error::other("blob hasher stopped"))?;
        }
        let store = self.store.clone();
        self.pending.push_back(tokio::task::spawn_blocking(move || {
            let data = chunk.as_slice();
            let hash = Hash32::of(data);
            store.put_batched(&hash, &[data])?;
            Ok(hash)
        }));
        Ok(())
    }

    async fn collect_one(&mut self) -> Result<(), ApiError> {
        if let Some(task) = self.pending.pop_front() {
            let hash = task.await.map_err(std::io::Error::other)??;
            self.chunks.push(hash);
        }
        Ok(())
    }

    /// Ends the body: writes the last chunk, waits for every write and returns the
    /// manifest. Nothing is visible as a blob until the caller records it.
    pub async fn finish(mut self, mime_type: String) -> Result<BlobManifest, ApiError> {
        self.submit().await?;
        while !self.pending.is_empty() {
            self.collect_one().await?;
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.sync())
            .await
            .map_err(std::io::Error::other)??;
        self.whole_tx = None;
        let whole = self
            .whole
            .take()
            .ok_or_else(|| std::io::Error::other("hasher gone"))?;
        let hash = tokio::task::spawn_blocking(move || whole.join())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|_| std::io::Error::other("blob hasher panicked"))?;
        Ok(BlobManifest {
            hash: Hash32(hash).to_hex(),
            size: self.size,
            mime_type,
            codec: None,
            chunk_size: self.chunk_size as u32,
            chunks: self.chunks.iter().map(Hash32::to_hex).collect(),
            bitrate_kbps: None,
            duration_ms: None,
            variants: Vec::new(),
            segments: None,
            fallback_urls: Vec::new(),
        })
    }
}

/// Ingests a file on disk into chunks, with the sidecar's chunk size and upload limit.
/// Nothing is visible as a blob until the caller records the manifest.
pub async fn ingest_file(state: &Sidecar, path: &Path, mime: String) -> Result<BlobManifest, ApiError> {
    let mut ingest = Ingest::new(
        state.reader.store().clone(),
        state.config.chunk_size,
        state.config.max_upload_bytes,
    )?;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; state.config.chunk_size as usize];
    loop {
        let (f, b, filled) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let mut filled = 0;
            while filled < buf.len() {
                let n = file.read(&mut buf[filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            Ok((file, buf, filled))
        })
        .await
        .map_err(std::io::Error::other)??;
        (file, buf) = (f, b);
        if filled == 0 {
            break;
        }
        ingest.push(&buf[..filled]).await?;
    }
    ingest.finish(mime).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    async fn ingest(data: &[u8], pieces: usize, chunk: u32) -> BlobManifest {
        let store = Arc::new(MemStore::default());
        let mut ing = Ingest::new(store.clone(), chunk, u64::MAX).unwrap();
        for piece in data.chunks(pieces.max(1)) {
            ing.push(piece).await.unwrap();
        }
        let m = ing.finish("application/octet-stream".into()).await.unwrap();
        for c in &m.chunks {
            assert!(store.has(&c.parse().unwrap()).unwrap());
        }
        m
    }

    #[tokio::test]
    async fn manifest_agrees_with_the_bytes_whatever_the_piece_size() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        let a = ingest(&data, 7, 1024).await;
        let b = ingest(&data, 5000, 1024).await;
        let c = ingest(&data, 1024, 1024).await;
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.hash, Hash32::of(&data).to_hex());
        assert_eq!(a.chunks.len(), 10);
        assert_eq!(a.chunks[9], Hash32::of(&data[9216..]).to_hex());
    }

    #[tokio::test]
    async fn an_empty_blob_has_no_chunks() {
        let m = ingest(&[], 1, 1024).await;
        assert_eq!(m.size, 0);
        assert!(m.chunks.is_empty());
        assert_eq!(m.hash, Hash32::of(&[]).to_hex());
    }

    #[tokio::test]
    async fn over_the_limit_is_refused() {
        let mut ing = Ingest::new(Arc::new(MemStore::default()), 1024, 10).unwrap();
        ing.push(b"0123456789").await.unwrap();
        assert!(matches!(
            ing.push(b"x").await,
            Err(ApiError::TooLarge { limit: 10 })
        ));
    }
}
