//! Response bodies streamed from verified chunks: one range, or several framed as
//! `multipart/byteranges`. At most one piece per client is in memory at a time.

use crate::blobs::BlobRecord;
use crate::metrics::Metrics;
use crate::reader::ChunkReader;
use bytes::Bytes;
use futures_util::Stream;
use media_rules::ChunkLayout;
use std::io;
use std::ops::Range;
use std::sync::Arc;

/// Bytes read from disk per step while streaming.
pub const PIECE: u64 = 64 * 1024;

/// The framing of a multi-range response.
#[derive(Debug, Clone)]
pub struct Multipart {
    /// The boundary string.
    pub boundary: String,
    /// Each part's Content-Type.
    pub content_type: String,
    /// The representation's full length.
    pub total_len: u64,
}

impl Multipart {
    /// A fresh random boundary for `content_type` parts of a `total_len` representation.
    pub fn new(content_type: &str, total_len: u64) -> Self {
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
    pub fn part_header(&self, range: &Range<u64>) -> String {
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
    pub fn closing(&self) -> String {
        format!("\r\n--{}--\r\n", self.boundary)
    }

    /// The exact body length for `ranges`.
    pub fn body_len(&self, ranges: &[Range<u64>]) -> u64 {
        ranges
            .iter()
            .map(|r| self.part_header(r).len() as u64 + (r.end - r.start))
            .sum::<u64>()
            + self.closing().len() as u64
    }
}

/// Streams `ranges` of a blob, verifying each chunk before any of its bytes are sent.
pub fn blob_ranges(
    reader: Arc<ChunkReader>,
    record: Arc<BlobRecord>,
    ranges: Vec<Range<u64>>,
    multipart: Option<Multipart>,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    async_stream::try_stream! {
        let manifest = &record.manifest;
        let layout = ChunkLayout::new(manifest.size, manifest.chunk_size)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "chunk size is zero"))?;
        let hashes = record.chunk_hashes()?;
        for range in &ranges {
            if let Some(mp) = &multipart {
                yield Bytes::from(mp.part_header(range));
            }
            for slice in layout.slices(range.clone()) {
                let hash = hashes[slice.index as usize];
                let file = reader.open(hash).await.map_err(|e| io::Error::other(e.to_string()))?;
                let mut offset = u64::from(slice.offset);
                let end = offset + u64::from(slice.len);
                while offset < end {
                    let n = PIECE.min(end - offset);
                    let piece = ChunkReader::read(file.clone(), offset, n as usize).await?;
                    metrics.bytes_out.inc_by(n);
                    offset += n;
                    yield piece;
                }
            }
        }
        if let Some(mp) = &multipart {
            yield Bytes::from(mp.closing());
        }
    }
}
