//! The owner's view of what anonymous clients left on the node (`--anonymous-uploads`):
//! `GET /api/anonymous` lists those blobs, `DELETE /api/anonymous/{hash}` removes one (its
//! chunks go with the next sweep) and gives its bytes back to that client's quota.

use super::reply::json;
use super::requires::owner_only;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::state::Sidecar;
use media_store::hash::Hash32;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warp::http::{HeaderMap, Response, StatusCode};

/// A blob an anonymous client left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeftBlob {
    /// Its SHA-256.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// The MIME type its uploader declared.
    pub mime: String,
    /// The client (IP address) that uploaded it.
    pub client: String,
    /// When it was completed, seconds since the Unix epoch.
    pub created_at: u64,
}

/// `GET /api/anonymous`: the blobs anonymous clients left, newest first — the owner only.
pub(crate) async fn list(state: Arc<Sidecar>, headers: HeaderMap) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let blobs = tokio::task::spawn_blocking(move || -> Result<Vec<LeftBlob>, ApiError> {
        let mut left: Vec<LeftBlob> = state
            .blobs
            .anonymous_records()?
            .into_iter()
            .map(|record| LeftBlob {
                hash: record.manifest.hash.clone(),
                size: record.manifest.size,
                mime: record.manifest.mime_type.clone(),
                client: record.anonymous.clone().unwrap_or_default(),
                created_at: record.created_at,
            })
            .collect();
        left.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.hash.cmp(&b.hash)));
        Ok(left)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(json(StatusCode::OK, &blobs))
}

/// `DELETE /api/anonymous/{hash}`: removes a blob an anonymous client left — the owner
/// only. Blobs the node keeps for its agent or as replicas are not removed here.
pub(crate) async fn delete(
    state: Arc<Sidecar>,
    hash: String,
    headers: HeaderMap,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let hash: Hash32 = hash.parse()?;
    let record = state.blobs.get(&hash)?.ok_or(ApiError::NotFound("blob"))?;
    let Some(client) = record.anonymous.as_deref() else {
        return Err(ApiError::Forbidden(
            "this blob is not an anonymous upload: the node keeps it for its agent or as a replica".into(),
        ));
    };
    state.blobs.delete(&hash)?;
    if let (Some(quotas), Ok(client)) = (&state.anonymous, client.parse()) {
        quotas.released(client, record.manifest.size);
    }
    super::reply::empty(Response::builder().status(StatusCode::NO_CONTENT))
}
