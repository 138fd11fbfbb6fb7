//! `GET`/`HEAD /api/blob/{hash}` and `/api/blob/{hash}/{index}`: decide (RFC 9110
//! preconditions and ranges), then render the decision into a response.

use super::body::{blob_ranges, Multipart, Source};
use super::chunk::send_chunk;
use super::conditional::{evaluate, Outcome, Preconditions};
use super::range::RangeDecision;
use crate::access::{authorize, token_of, Grant, Purpose};
use crate::blobs::BlobRecord;
use crate::error::ApiError;
use crate::fetch_through::Chunks;
use crate::hash::Hash32;
use crate::http::Body;
use crate::state::Sidecar;
use media_rules::bandwidth::DeliveryCap;
use media_rules::content::DeliveryStrategy;
use media_rules::CachePartition;
use std::sync::Arc;
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};

/// One year: blobs are content-addressed and never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Bytes behind a token: the reader's own cache may keep them, a shared cache never.
pub const PRIVATE: &str = "private, max-age=86400, immutable";

/// The `Cache-Control` of a response carrying blob bytes: only what anyone may read is
/// `public`, so a shared cache in front of a node never keeps private media for others.
pub fn cache_control(public: bool) -> &'static str {
    if public {
        IMMUTABLE
    } else {
        PRIVATE
    }
}

/// Adds the caching headers of a blob response: a gated one varies with the credential.
pub fn with_cache_headers(
    builder: warp::http::response::Builder,
    public: bool,
) -> warp::http::response::Builder {
    let builder = builder.header(header::CACHE_CONTROL, cache_control(public));
    if public {
        builder
    } else {
        builder.header(header::VARY, "Authorization")
    }
}

/// Serves a blob, whole or by ranges.
pub async fn get_blob(
    state: Arc<Sidecar>,
    hash: String,
    method: Method,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let Readable {
        hash,
        record,
        partition,
        public,
        chunks,
        ..
    } = readable_blob(&state, &hash, &headers, &query, Purpose::Play, Serve::Anywhere).await?;
    let etag = format!("\"{hash}\"");
    let len = record.manifest.size;
    let pre = Preconditions {
        if_match: header_str(&headers, header::IF_MATCH),
        if_none_match: header_str(&headers, header::IF_NONE_MATCH),
        range: header_str(&headers, header::RANGE),
        if_range: header_str(&headers, header::IF_RANGE),
    };
    let outcome = evaluate(&pre, &etag, len);
    let mut builder = with_cache_headers(Response::builder(), public)
        .header(header::ETAG, &etag)
        .header("repr-digest", super::digest::repr_digest(&hash))
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let head = method == Method::HEAD;
    let (status, ranges, multipart) = match outcome {
        Outcome::PreconditionFailed => return empty(builder.status(StatusCode::PRECONDITION_FAILED)),
        Outcome::NotModified => return empty(builder.status(StatusCode::NOT_MODIFIED)),
        Outcome::Send(RangeDecision::Unsatisfiable) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes */{len}"));
            return empty(builder.status(StatusCode::RANGE_NOT_SATISFIABLE));
        }
        Outcome::Send(RangeDecision::Full) => (StatusCode::OK, vec![0..len], None),
        Outcome::Send(RangeDecision::Partial(ranges)) if ranges.len() == 1 => {
            let r = &ranges[0];
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", r.start, r.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, ranges, None)
        }
        Outcome::Send(RangeDecision::Partial(ranges)) => {
            let mp = Multipart::new(&record.manifest.mime_type, len);
            (StatusCode::PARTIAL_CONTENT, ranges, Some(mp))
        }
    };
    let (content_type, body_len) = match &multipart {
        Some(mp) => (
            format!("multipart/byteranges; boundary={}", mp.boundary),
            mp.body_len(&ranges),
        ),
        None => (record.manifest.mime_type.clone(), ranges[0].end - ranges[0].start),
    };
    builder = builder
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body_len);
    if head || body_len == 0 {
        return empty(builder);
    }
    let small = DeliveryStrategy::for_blob(len, false) == DeliveryStrategy::Complete;
    let source = if small && matches!(chunks, Chunks::Local) {
        Source::Whole(state.reader.small_blob(&record, partition).await?)
    } else {
        // The first chunk is fetched (and so verified) before the status line goes out, so
        // a corrupt or missing chunk is an error response rather than a cut-off body.
        let index = (ranges[0].start / u64::from(record.manifest.chunk_size)) as usize;
        let first: Hash32 = record.manifest.chunks[index].parse()?;
        let first = chunks.chunk(&state.reader, index, first, partition).await?;
        Source::Chunks {
            record,
            partition,
            first: Some(first),
            via: chunks,
        }
    };
    let stream = blob_ranges(
        state.reader.clone(),
        source,
        ranges,
        multipart,
        state.metrics.clone(),
    );
    builder
        .body(super::streamed(stream))
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// Serves chunk `index` of a blob.
pub async fn get_blob_chunk(
    state: Arc<Sidecar>,
    hash: String,
    index: String,
    method: Method,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let Readable {
        record,
        partition,
        public,
        chunks,
        ..
    } = readable_blob(&state, &hash, &headers, &query, Purpose::Play, Serve::Anywhere).await?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("chunk index must be a number, got '{index}'")))?;
    let hash: Hash32 = record
        .manifest
        .chunks
        .get(index)
        .ok_or(ApiError::NotFound("chunk"))?
        .parse()?;
    let chunk = chunks.chunk(&state.reader, index, hash, partition).await?;
    send_chunk(&state, hash, chunk, public, &method)
}

/// A blob a request may read.
pub struct Readable {
    /// The blob's hash.
    pub hash: Hash32,
    /// Its record.
    pub record: Arc<BlobRecord>,
    /// The cache partition its bytes belong to.
    pub partition: CachePartition,
    /// The most this node may send the reader.
    pub cap: DeliveryCap,
    /// Whether anyone may read it.
    pub public: bool,
    /// Where its chunks come from: this node, or (fetched through) the nodes that hold it.
    pub chunks: Chunks,
}

/// Which blobs a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serve {
    /// Only blobs held here: routes peers use, which must not make this node fetch.
    Held,
    /// On a node, blobs held elsewhere too, fetched through ([`crate::fetch_through`]):
    /// routes that serve the node's own readers (bytes, playlists, the manifest).
    Anywhere,
}

/// Parses a blob hash from the path, checks that the request may read the blob, and loads
/// its record: the preamble of every route that serves a blob or its description.
pub async fn readable_blob(
    state: &Sidecar,
    hash: &str,
    headers: &HeaderMap,
    query: &str,
    purpose: Purpose,
    serve: Serve,
) -> Result<Readable, ApiError> {
    let hash: Hash32 = without_extension(hash).parse()?;
    let Grant {
        partition,
        cap,
        public,
    } = authorize(state, &hash, token_of(headers, query), purpose).await?;
    let (record, chunks) = held_or_remote(state, &hash, public, serve)
        .await?
        .ok_or(ApiError::NotFound("blob"))?;
    Ok(Readable {
        hash,
        record,
        partition,
        cap,
        public,
        chunks,
    })
}

/// The record of `hash` and where its chunks come from: held here, or (when `serve` allows,
/// on a node) held by others; `None` when neither. Call only after the access check.
pub async fn held_or_remote(
    state: &Sidecar,
    hash: &Hash32,
    public: bool,
    serve: Serve,
) -> Result<Option<(Arc<BlobRecord>, Chunks)>, ApiError> {
    if let Some(record) = state.blobs.get(hash)? {
        return Ok(Some((record, Chunks::Local)));
    }
    let Some(link) = state.node().filter(|_| serve == Serve::Anywhere) else {
        return Ok(None);
    };
    match state.remote.resolve(state, link, hash, public).await {
        Ok(remote) => Ok(Some((remote.record.clone(), Chunks::Remote(remote)))),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Extensions a blob's name may carry in a URL, for players that judge a segment by its
/// name: `/api/blob/{hash}.mp4` is `/api/blob/{hash}`.
pub const MEDIA_EXTENSIONS: [&str; 5] = ["mp4", "m4s", "m4a", "m4v", "mp3"];

/// A blob name without a trailing media extension.
pub fn without_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((hash, ext)) if MEDIA_EXTENSIONS.contains(&ext) => hash,
        _ => name,
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A response with headers only.
pub fn empty(builder: warp::http::response::Builder) -> Result<Response<Body>, ApiError> {
    builder
        .body(Body::default())
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// A header value from a string known to be valid ASCII.
pub fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}
