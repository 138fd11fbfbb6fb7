//! `GET /api/manifest/{source}/hls.m3u8`, `…/{label}.m3u8` and `…/dash.mpd`: playlists of
//! a source's renditions, capped by this node's bandwidth class for the reader's reach,
//! with the request's token carried into every URI; and `GET /api/ladder/{hash}`, the
//! progress of the job that makes the renditions.

use super::readable::{held_or_remote, readable_blob, Serve};
use super::reply::json;
use super::reply::value;
use crate::access::{token_of, Purpose};
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::ladder::{Progress, Stage};
use crate::state::Sidecar;
use crate::streaming::{dash, hls, Ladder, Rendition};
use hdi::prelude::ActionHash;
use media_store::hash::Hash32;
use std::sync::Arc;
use warp::http::{header, HeaderMap, Response, StatusCode};

/// Serves one playlist file of a source blob, named by its hash or, on a node, by the id
/// of the content that uses it.
pub(crate) async fn playlist(
    state: Arc<Sidecar>,
    source: String,
    file: String,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let source = source_blob(&state, source).await?;
    let readable = readable_blob(&state, &source, &headers, &query, Purpose::Play, Serve::Anywhere).await?;
    let cap = readable.cap;
    let variants = &readable.record.manifest.variants;
    if variants.is_empty() {
        return Err(ApiError::NotFound(
            "renditions of this blob (see /api/ladder/{hash})",
        ));
    }
    let mut renditions = Vec::new();
    for variant in cap.allowed(variants) {
        let hash: Hash32 = variant.blob.parse()?;
        // A rendition neither held here nor found elsewhere cannot be served; leave it out.
        let Some((record, _)) = held_or_remote(&state, &hash, readable.public, Serve::Anywhere).await? else {
            continue;
        };
        let Some(index) = record.manifest.segments.clone() else {
            continue;
        };
        renditions.push(Rendition {
            variant: variant.clone(),
            average_kbps: record.manifest.bitrate_kbps.unwrap_or(variant.bitrate_kbps),
            index,
        });
    }
    if renditions.is_empty() {
        return Err(ApiError::NotFound("rendition within this node's delivery cap"));
    }
    let ladder = Ladder {
        renditions,
        // An access token is carried into every URI; the owner's credential never is.
        token: token_of(&headers, &query)
            .filter(|t| !state.owner.matches(t))
            .map(str::to_owned),
    };
    let (mime, text) = match file.as_str() {
        "hls.m3u8" => (hls::MIME, hls::master(&ladder)),
        "dash.mpd" => (dash::MIME, dash::mpd(&ladder)),
        other => {
            let rendition = other
                .strip_suffix(".m3u8")
                .and_then(|label| ladder.by_label(label))
                .ok_or(ApiError::NotFound("playlist"))?;
            (hls::MIME, hls::media(&ladder, rendition))
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, mime)
        // Playlists depend on the token and the cap; they are not shared.
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::CONTENT_LENGTH, value(&text.len().to_string()))
        .body(Body::from(text))
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// The source blob a playlist route names: a blob hash as it is, or a ContentNode id
/// (`uhCkk…`), whose first blob is its source. The access check then runs on that blob.
async fn source_blob(state: &Sidecar, name: String) -> Result<String, ApiError> {
    let (Some(link), Ok(id)) = (state.node(), ActionHash::try_from(name.as_str())) else {
        return Ok(name);
    };
    let view = link.content(&id).await?;
    let first = view
        .and_then(|v| v.content.blobs.first().cloned())
        .ok_or(ApiError::NotFound("content"))?;
    let manifest = link.manifest(&first).await?;
    Ok(manifest
        .ok_or(ApiError::NotFound("blob manifest"))?
        .manifest
        .0
        .hash)
}

/// `GET /api/ladder/{hash}`: the ladder job's progress. A blob whose renditions were made
/// before this process started reports done, with its variants.
pub(crate) async fn progress(
    state: Arc<Sidecar>,
    hash: String,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let hash: Hash32 = hash.parse()?;
    // Progress lists the renditions' hashes: the blob's own access rule applies.
    crate::access::authorize(&state, &hash, token_of(&headers, &query), Purpose::Exchange).await?;
    let progress = match state.ladders.progress(&hash) {
        Some(p) => p,
        None => {
            let record = state.blobs.get(&hash)?.ok_or(ApiError::NotFound("blob"))?;
            if record.manifest.variants.is_empty() {
                return Err(ApiError::NotFound("ladder job for this blob"));
            }
            Progress {
                stage: Stage::Done,
                percent: 100.0,
                variants: record.manifest.variants.clone(),
                error: None,
            }
        }
    };
    Ok(json(StatusCode::OK, &progress))
}
