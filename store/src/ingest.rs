//! The upload pipeline: bytes arrive in pieces and are copied into block-aligned chunk
//! buffers; every full chunk is hashed twice — on its own, and in order into the whole
//! blob's hash on a thread of its own — and written to the store straight from its buffer
//! with direct I/O; the directories the chunks were named in are synced once, at the end.
//! The blob's hasher hashes each chunk in the same pass (see [`crate::blob_hasher`]),
//! which costs the least CPU; on a machine with cores to spare, chunks that arrive while it
//! is behind are hashed on their own on the blocking pool instead. Memory is bounded
//! by a few chunks, whatever the blob's size, and the buffers are reused from chunk to
//! chunk.

use crate::aligned::AlignedBuf;
use crate::blob_hasher::BlobHasher;
use crate::chunks::{ChunkStore, StoreError};
use crate::hash::Hash32;
use media_rules::manifest::BlobManifest;
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Bytes of chunks being hashed and written at once (12 chunks of the default size, and at
/// least 2 chunks whatever their size).
const IN_FLIGHT_BYTES: usize = 12 << 20;
/// Bytes of chunks queued for the whole-blob hasher (at least one chunk).
const WHOLE_QUEUE_BYTES: usize = 8 << 20;
/// With a core to spare, the blob's hasher leaves a chunk to the blocking pool when this
/// many chunks already wait for it.
const SPLIT_AT_BACKLOG: usize = 2;

/// A chunk for the blob's hasher, with where to send the chunk's own hash if it is to
/// hash that too.
type HasherJob = (Arc<AlignedBuf>, Option<oneshot::Sender<Hash32>>);

/// One blob being ingested.
pub struct Ingest {
    store: Arc<dyn ChunkStore>,
    chunk_size: usize,
    limit: u64,
    size: u64,
    filling: Option<AlignedBuf>,
    whole_tx: Option<mpsc::Sender<HasherJob>>,
    whole: Option<std::thread::JoinHandle<Hash32>>,
    /// Chunks sent to the blob's hasher that it has not finished.
    backlog: Arc<AtomicUsize>,
    /// The blob's hasher hashes a chunk too when its backlog is below this.
    fuse_below: usize,
    pending: VecDeque<JoinHandle<std::io::Result<Hash32>>>,
    in_flight: usize,
    chunks: Vec<Hash32>,
}

impl Ingest {
    /// Starts ingesting into `store` with chunks of `chunk_size`, refusing more than
    /// `limit` bytes.
    pub fn new(store: Arc<dyn ChunkStore>, chunk_size: u32, limit: u64) -> std::io::Result<Self> {
        let queue = (WHOLE_QUEUE_BYTES / chunk_size as usize).max(1);
        let (tx, mut rx) = mpsc::channel::<HasherJob>(queue);
        let backlog = Arc::new(AtomicUsize::new(0));
        let done = backlog.clone();
        let whole = std::thread::Builder::new()
            .name("blob-hasher".into())
            .spawn(move || {
                let mut hasher = BlobHasher::default();
                while let Some((chunk, own)) = rx.blocking_recv() {
                    match own {
                        Some(own) => {
                            // The writer may have gone with an aborted upload.
                            let _ = own.send(hasher.update_and_hash(chunk.as_slice()));
                        }
                        None => hasher.update(chunk.as_slice()),
                    }
                    done.fetch_sub(1, Ordering::Relaxed);
                }
                hasher.finalize()
            })?;
        Ok(Ingest {
            store,
            chunk_size: chunk_size as usize,
            limit,
            size: 0,
            filling: None,
            whole_tx: Some(tx),
            whole: Some(whole),
            backlog,
            fuse_below: fuse_below(),
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
    pub async fn push(&mut self, mut data: &[u8]) -> Result<(), StoreError> {
        self.size += data.len() as u64;
        if self.size > self.limit {
            return Err(StoreError::TooLarge { limit: self.limit });
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

    /// Sends the chunk being filled to the hashers and the store.
    async fn submit(&mut self) -> Result<(), StoreError> {
        let Some(buf) = self.filling.take() else {
            return Ok(());
        };
        if self.pending.len() >= self.in_flight {
            self.collect_one().await?;
        }
        let chunk = Arc::new(buf);
        let tx = self
            .whole_tx
            .as_ref()
            .ok_or_else(|| std::io::Error::other("blob hasher stopped"))?;
        let fuse = self.backlog.fetch_add(1, Ordering::Relaxed) < self.fuse_below;
        let (own_tx, own_rx) = fuse.then(oneshot::channel).unzip();
        tx.send((chunk.clone(), own_tx))
            .await
            .map_err(|_| std::io::Error::other("blob hasher stopped"))?;
        let store = self.store.clone();
        let data = chunk.clone();
        let write = move |hash: Hash32| store.put_batched(&hash, &[chunk.as_slice()]).map(|_| hash);
        self.pending.push_back(match own_rx {
            Some(own) => tokio::spawn(async move {
                let hash = own
                    .await
                    .map_err(|_| std::io::Error::other("blob hasher stopped"))?;
                tokio::task::spawn_blocking(move || write(hash))
                    .await
                    .map_err(std::io::Error::other)?
            }),
            None => tokio::task::spawn_blocking(move || {
                let hash = Hash32::of(data.as_slice());
                write(hash)
            }),
        });
        Ok(())
    }

    async fn collect_one(&mut self) -> Result<(), StoreError> {
        if let Some(task) = self.pending.pop_front() {
            let hash = task.await.map_err(std::io::Error::other)??;
            self.chunks.push(hash);
        }
        Ok(())
    }

    /// Ends the body: writes the last chunk, waits for every write and returns the
    /// manifest. Nothing is visible as a blob until the caller records it.
    pub async fn finish(mut self, mime_type: String) -> Result<BlobManifest, StoreError> {
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
            hash: hash.to_hex(),
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

/// When the blob's hasher should hash chunks too. Hashing both in one pass costs the least
/// CPU but puts all hashing on one core; with two cores or fewer, the receiving thread and
/// the blob's hasher already fill them, so it always does. With more, chunks that arrive
/// while it is behind are hashed on other cores.
fn fuse_below() -> usize {
    match std::thread::available_parallelism().map_or(1, usize::from) {
        ..=2 => usize::MAX,
        _ => SPLIT_AT_BACKLOG,
    }
}

/// Ingests a file on disk into `store`, cut into chunks of `chunk_size`, refused past
/// `limit` bytes. Nothing is visible as a blob until the caller records the manifest.
pub async fn ingest_file(
    store: Arc<dyn ChunkStore>,
    chunk_size: u32,
    limit: u64,
    path: &Path,
    mime: String,
) -> Result<BlobManifest, StoreError> {
    let mut ingest = Ingest::new(store, chunk_size, limit)?;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; chunk_size as usize];
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
        .await??;
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
    use crate::chunks::MemStore;

    async fn ingest(data: &[u8], pieces: usize, chunk: u32) -> BlobManifest {
        ingest_fusing(data, pieces, chunk, fuse_below()).await
    }

    async fn ingest_fusing(data: &[u8], pieces: usize, chunk: u32, fuse_below: usize) -> BlobManifest {
        let store = Arc::new(MemStore::default());
        let mut ing = Ingest::new(store.clone(), chunk, u64::MAX).unwrap();
        ing.fuse_below = fuse_below;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_hashed_with_the_blob_or_apart_give_the_same_manifest() {
        // 64 chunks of 4 KiB and a short one; the hasher hashes every chunk, none, or those
        // that arrive while it keeps up.
        let data: Vec<u8> = (0..64 * 4096 + 100u32).map(|i| (i * 7 % 251) as u8).collect();
        let apart = ingest_fusing(&data, 10_000, 4096, 0).await;
        let fused = ingest_fusing(&data, 10_000, 4096, usize::MAX).await;
        let mixed = ingest_fusing(&data, 10_000, 4096, 1).await;
        assert_eq!(apart.hash, Hash32::of(&data).to_hex());
        assert_eq!(apart.chunks.len(), 65);
        assert_eq!(apart.chunks[64], Hash32::of(&data[64 * 4096..]).to_hex());
        assert_eq!(fused, apart);
        assert_eq!(mixed, apart);
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
            Err(StoreError::TooLarge { limit: 10 })
        ));
    }
}
