//! Response bodies streamed from verified chunks: one range, or several framed as
//! `multipart/byteranges`. A chunk is sent as a slice of its mapped file or of its copy in
//! the chunk tier, never copied for a client: a slow reader holds a reference, not a buffer.

use crate::fetch_through::Chunks;
use bytes::Bytes;
use futures_util::Stream;
use media_rules::{CachePartition, ChunkLayout};
use media_store::blobs::BlobRecord;
use media_store::hash::Hash32;
use media_store::metrics::Metrics;
use media_store::reader::{ChunkBytes, ChunkReader};
use std::io;
use std::ops::Range;
use std::sync::Arc;

/// The framing of a multi-range response.
#[derive(Debug, Clone)]
pub(crate) struct Multipart {
    /// The boundary string.
    pub boundary: String,
    /// Each part's Content-Type.
    pub content_type: String,
    /// The representation's full length.
    pub total_len: u64,
}

impl Multipart {
    /// A fresh random boundary for `content_type` parts of a `total_len` representation.
    pub(crate) fn new(content_type: &str, total_len: u64) -> Self {
        Multipart {
            boundary: format!(
                "elohim{:016x}{:016x}",
                rand::random::<u64>(),
                rand::random::<u64>()
            ),
            content_type: content_type.to_string(),
            total_len,
        }
    }

    /// The header that opens the part for `range`.
    pub(crate) fn part_header(&self, range: &Range<u64>) -> String {
        format!(
            "\r\n--{}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
            self.boundary,
            self.content_type,
            range.start,
            range.end - 1,
            self.total_len
        )
    }

    /// The closing delimiter.
    pub(crate) fn closing(&self) -> String {
        format!("\r\n--{}--\r\n", self.boundary)
    }

    /// The exact body length for `ranges`.
    pub(crate) fn body_len(&self, ranges: &[Range<u64>]) -> u64 {
        ranges
            .iter()
            .map(|r| self.part_header(r).len() as u64 + (r.end - r.start))
            .sum::<u64>()
            + self.closing().len() as u64
    }
}

/// Where a response's bytes come from.
pub(crate) enum Source {
    /// A small blob held whole in memory.
    Whole(Bytes),
    /// The blob's chunks, for a reader of `partition`; `first` is the chunk holding the
    /// first byte to send, fetched (and verified) already.
    Chunks {
        /// The blob.
        record: Arc<BlobRecord>,
        /// Its cache partition.
        partition: CachePartition,
        /// The first chunk to send.
        first: Option<ChunkBytes>,
        /// Where the other chunks come from.
        via: Chunks,
    },
}

/// Streams `ranges` of a blob, verifying each chunk before any of its bytes are sent.
pub(crate) fn blob_ranges(
    reader: Arc<ChunkReader>,
    source: Source,
    ranges: Vec<Range<u64>>,
    multipart: Option<Multipart>,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    async_stream::try_stream! {
        let (record, partition, mut first, via) = match source {
            Source::Whole(whole) => {
                for range in &ranges {
                    if let Some(mp) = &multipart {
                        yield Bytes::from(mp.part_header(range));
                    }
                    metrics.bytes_out.inc_by(range.end - range.start);
                    yield whole.slice(range.start as usize..range.end as usize);
                }
                if let Some(mp) = &multipart {
                    yield Bytes::from(mp.closing());
                }
                return;
            }
            Source::Chunks { record, partition, first, via } => (record, partition, first, via),
        };
        let manifest = &record.manifest;
        let layout = ChunkLayout::new(manifest.size, manifest.chunk_size)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "chunk size is zero"))?;
        for range in &ranges {
            if let Some(mp) = &multipart {
                yield Bytes::from(mp.part_header(range));
            }
            for slice in layout.slices(range.clone()) {
                let chunk = match first.take() {
                    Some(chunk) => chunk,
                    None => {
                        let hash: Hash32 = manifest.chunks[slice.index as usize]
                            .parse()
                            .map_err(|e: media_store::hash::MalformedHash| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                        via.chunk(&reader, slice.index as usize, hash, partition)
                            .await
                            .map_err(|e| io::Error::other(e.to_string()))?
                    }
                };
                let offset = u64::from(slice.offset);
                let end = offset + u64::from(slice.len);
                metrics.bytes_out.inc_by(end - offset);
                yield chunk.bytes().slice(offset as usize..end as usize);
            }
        }
        if let Some(mp) = &multipart {
            yield Bytes::from(mp.closing());
        }
    }
}
