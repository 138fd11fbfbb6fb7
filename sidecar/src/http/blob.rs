//! `GET`/`HEAD /api/blob/{hash}` and `/api/blob/{hash}/{index}`: decide (RFC 9110
//! preconditions and ranges), then render the decision into a response.

use super::body::{blob_ranges, Multipart, Source};
use super::chunk::send_chunk;
use super::conditional::{evaluate, Outcome, Preconditions};
use super::range::RangeDecision;
use super::readable::{readable_blob, Readable, Serve};
use super::reply::{empty, with_cache_headers};
use crate::access::Purpose;
use crate::error::ApiError;
use crate::fetch_through::Chunks;
use crate::http::reply::Body;
use crate::state::Sidecar;
use media_rules::content::DeliveryStrategy;
use media_store::hash::Hash32;
use std::sync::Arc;
use warp::http::{header, HeaderMap, Method, Response, StatusCode};

/// Serves a blob, whole or by ranges.
pub(crate) async fn get_blob(
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
        .body(super::reply::streamed(stream))
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// Serves chunk `index` of a blob.
pub(crate) async fn get_blob_chunk(
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
    let index: usize = index.parse().map_err(|_| ApiError::Invalid {
        field: "chunk index",
        why: format!("must be a number, got '{index}'"),
    })?;
    let hash: Hash32 = record
        .manifest
        .chunks
        .get(index)
        .ok_or(ApiError::NotFound("chunk"))?
        .parse()?;
    let chunk = chunks.chunk(&state.reader, index, hash, partition).await?;
    send_chunk(&state, hash, chunk, public, &method)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
