//! Peer chunk exchange: `GET`/`HEAD`/`PUT /api/chunk/{hash}` and `POST /api/chunks/have`.

use super::reply::{empty, with_cache_headers};
use crate::access::Purpose;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::state::Sidecar;
use bytes::Bytes;
use media_rules::CachePartition;
use media_store::hash::Hash32;
use media_store::reader::ChunkBytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warp::http::{header, HeaderMap, Method, Response, StatusCode};

/// Most hashes one `have` request may ask about.
pub(crate) const MAX_HAVE: usize = 10_000;

/// Sends one verified chunk whole; `public` when anyone may read it.
pub(crate) fn send_chunk(
    state: &Sidecar,
    hash: Hash32,
    chunk: ChunkBytes,
    public: bool,
    method: &Method,
) -> Result<Response<Body>, ApiError> {
    let bytes = chunk.bytes().clone();
    let len = bytes.len() as u64;
    let builder = with_cache_headers(Response::builder(), public)
        .status(StatusCode::OK)
        .header(header::ETAG, format!("\"{hash}\""))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len);
    if method == Method::HEAD {
        return empty(builder);
    }
    state.metrics.bytes_out.inc_by(len);
    builder
        .body(Body::from(bytes))
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// `GET`/`HEAD /api/chunk/{hash}`. A standalone sidecar serves any chunk. A node serves a
/// chunk only as part of a blob the request may read: `?blob=<hash>` names the blob, which
/// must contain the chunk and pass the blob's access rule (commons, or a token). A blob
/// still being pulled here gives the chunks it has so far (a swarm pull).
pub(crate) async fn get_chunk(
    state: Arc<Sidecar>,
    hash: String,
    method: Method,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let hash: Hash32 = hash.parse()?;
    let (mut partition, mut public) = (CachePartition::Commons, true);
    if state.is_node() {
        let blob = crate::access::query_param(&query, "blob").ok_or_else(|| {
            ApiError::Unauthorized("name the blob this chunk belongs to with ?blob=<hash>".into())
        })?;
        let named: Hash32 = blob.parse()?;
        // A blob this node is still pulling: peers pulling it too take the chunks it has.
        let pulling = state.blobs.get(&named)?.is_none() && state.pulling.lists(&named, &hash);
        if pulling {
            let token = crate::access::token_of(&headers, &query);
            let grant = crate::access::authorize(&state, &named, token, Purpose::Exchange).await?;
            (partition, public) = (grant.partition, grant.public);
        } else {
            let readable = super::readable::readable_blob(
                &state,
                blob,
                &headers,
                &query,
                Purpose::Exchange,
                super::readable::Serve::Held,
            )
            .await?;
            if !readable.record.manifest.chunks.contains(&hash.to_hex()) {
                return Err(ApiError::Forbidden(
                    "the chunk is not part of the named blob".into(),
                ));
            }
            (partition, public) = (readable.partition, readable.public);
        }
    }
    let chunk = state.reader.chunk(hash, partition).await?;
    send_chunk(&state, hash, chunk, public, &method)
}

/// `PUT /api/chunk/{hash}`: stores the body if it hashes to the name (422 otherwise,
/// storing nothing). 201 when new, 200 when already held. A node takes pushes from
/// its owner only — its peers pull what they keep — so strangers cannot fill its disk; a
/// chunk no blob comes to own is swept after [`crate::gc::GRACE`].
pub(crate) async fn put_chunk(
    state: Arc<Sidecar>,
    hash: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let hash: Hash32 = hash.parse()?;
    if state.is_node() {
        super::requires::owner_only(&state, &headers)?;
    }
    state.metrics.bytes_in.inc_by(body.len() as u64);
    let store = state.reader.store().clone();
    let (actual, stored) = tokio::task::spawn_blocking(move || -> std::io::Result<(Hash32, bool)> {
        let actual = Hash32::of(&body);
        let stored = actual == hash && store.put(&hash, &[&body])?;
        Ok((actual, stored))
    })
    .await
    .map_err(std::io::Error::other)??;
    if actual != hash {
        state.metrics.verification_failures.inc();
        return Err(ApiError::HashMismatch {
            expected: hash.to_hex(),
            actual: actual.to_hex(),
        });
    }
    let status = if stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    empty(
        Response::builder()
            .status(status)
            .header(header::ETAG, format!("\"{hash}\"")),
    )
}

/// The body of `POST /api/chunks/have`.
#[derive(Debug, Deserialize)]
pub(crate) struct HaveRequest {
    /// Chunk hashes, lowercase hex.
    pub hashes: Vec<String>,
    /// The blob they belong to: on a node, which answers only about the chunks of a blob
    /// the request may read (with a token in `Authorization`, when it is not public).
    #[serde(default)]
    pub blob: Option<String>,
}

/// The answer: the subset held here, in the order asked.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct HaveResponse {
    /// Chunk hashes held.
    pub have: Vec<Hash32>,
}

/// `POST /api/chunks/have`.
pub(crate) async fn have(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    req: HaveRequest,
) -> Result<Response<Body>, ApiError> {
    if req.hashes.len() > MAX_HAVE {
        return Err(ApiError::TooManyItems {
            what: "hashes",
            max: MAX_HAVE,
        });
    }
    let mut hashes: Vec<Hash32> = req.hashes.iter().map(|h| h.parse()).collect::<Result<_, _>>()?;
    if state.is_node() {
        // What a node holds says what its agent keeps: answered per readable blob only.
        let blob = req.blob.as_deref().ok_or_else(|| {
            ApiError::Unauthorized("name the blob these chunks belong to in \"blob\"".into())
        })?;
        let readable = super::readable::readable_blob(
            &state,
            blob,
            &headers,
            "",
            Purpose::Exchange,
            super::readable::Serve::Held,
        )
        .await?;
        let listed: std::collections::HashSet<&str> = readable
            .record
            .manifest
            .chunks
            .iter()
            .map(String::as_str)
            .collect();
        hashes.retain(|h| listed.contains(h.to_hex().as_str()));
    }
    let store = state.reader.store().clone();
    let have = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Hash32>> {
        let mut out = Vec::new();
        for h in hashes {
            if store.has(&h)? {
                out.push(h);
            }
        }
        Ok(out)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(super::reply::json(StatusCode::OK, &HaveResponse { have }))
}
