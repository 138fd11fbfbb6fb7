//! Which blob a request may read, and where its chunks come from: the preamble of every
//! route that serves a blob or its description.

use crate::access::{authorize, token_of, Grant, Purpose};
use crate::error::ApiError;
use crate::fetch_through::Chunks;
use crate::state::Sidecar;
use media_rules::bandwidth::DeliveryCap;
use media_rules::CachePartition;
use media_store::blobs::BlobRecord;
use media_store::hash::Hash32;
use std::sync::Arc;
use warp::http::HeaderMap;

/// A blob a request may read.
pub(crate) struct Readable {
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
pub(crate) enum Serve {
    /// Only blobs held here: routes peers use, which must not make this node fetch.
    Held,
    /// On a node, blobs held elsewhere too, fetched through ([`crate::fetch_through`]):
    /// routes that serve the node's own readers (bytes, playlists, the manifest).
    Anywhere,
}

/// Parses a blob hash from the path, checks that the request may read the blob, and loads
/// its record: the preamble of every route that serves a blob or its description.
pub(crate) async fn readable_blob(
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
pub(crate) async fn held_or_remote(
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
pub(crate) const MEDIA_EXTENSIONS: [&str; 5] = ["mp4", "m4s", "m4a", "m4v", "mp3"];

/// A blob name without a trailing media extension.
pub(crate) fn without_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((hash, ext)) if MEDIA_EXTENSIONS.contains(&ext) => hash,
        _ => name,
    }
}
