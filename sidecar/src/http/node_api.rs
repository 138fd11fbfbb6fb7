//! Routes for the CLI and local UIs: a blob's manifest, and — from loopback only, since
//! they act as the node's agent — content listing, token signing and node status.

use super::json;
use crate::error::ApiError;
use crate::hash::Hash32;
use crate::http::upload::Receipt;
use crate::node::link::LinkError;
use crate::state::Sidecar;
use media::{ContentView, IssueTokenInput, IssuedToken};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::{HeaderMap, Response, StatusCode};
use warp::hyper::Body;

/// `GET /api/manifest/{hash}`: how a blob is cut up, for clients that verify each chunk.
pub async fn manifest(
    state: Arc<Sidecar>,
    hash: String,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let readable = super::blob::readable_blob(&state, &hash, &headers, &query).await?;
    Ok(json(StatusCode::OK, &Receipt::from(&readable.record.manifest)))
}

/// What `GET /api/node` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's agent key, when it runs with a conductor.
    pub agent: Option<String>,
    /// Blobs held whole.
    pub blobs: usize,
    /// Bytes of chunk data stored.
    pub bytes_stored: u64,
    /// Live custodian commitments the node knows of.
    pub custodians: Option<usize>,
}

fn local_only(remote: Option<SocketAddr>) -> Result<(), ApiError> {
    match remote {
        Some(addr) if addr.ip().is_loopback() => Ok(()),
        _ => Err(ApiError::Forbidden(
            "this route answers loopback clients only".into(),
        )),
    }
}

fn link_error(e: LinkError) -> ApiError {
    match e {
        LinkError::Call { message, .. } => ApiError::Rejected(message),
        other => ApiError::Conductor(other.to_string()),
    }
}

fn linked(state: &Sidecar) -> Result<&crate::node::ConductorLink, ApiError> {
    state
        .link
        .get()
        .map(|l| l.as_ref())
        .ok_or_else(|| ApiError::BadRequest("this sidecar runs standalone, without a conductor".into()))
}

/// `GET /api/node`: the node's agent and storage.
pub async fn status(state: Arc<Sidecar>, remote: Option<SocketAddr>) -> Result<Response<Body>, ApiError> {
    local_only(remote)?;
    let custodians = match state.link.get() {
        Some(link) => {
            let live: Vec<media::CommitmentView> =
                link.call("list_live_commitments", ()).await.map_err(link_error)?;
            Some(live.len())
        }
        None => None,
    };
    let status = NodeStatus {
        agent: state.link.get().map(|l| l.agent().to_string()),
        blobs: state.blobs.list()?.len(),
        bytes_stored: state.reader.store().bytes_used()?,
        custodians,
    };
    Ok(json(StatusCode::OK, &status))
}

/// `GET /api/content`: the content the node's agent may see.
pub async fn list(state: Arc<Sidecar>, remote: Option<SocketAddr>) -> Result<Response<Body>, ApiError> {
    local_only(remote)?;
    let views: Vec<ContentView> = linked(&state)?
        .call("list_visible_content", ())
        .await
        .map_err(link_error)?;
    let listed: Vec<serde_json::Value> = views.iter().map(listed_view).collect();
    Ok(json(StatusCode::OK, &listed))
}

/// A content view with its hashes as the strings UIs and the CLI print.
fn listed_view(v: &ContentView) -> serde_json::Value {
    let c = &v.content;
    serde_json::json!({
        "id": v.id.to_string(),
        "version": v.version.to_string(),
        "author": v.author.to_string(),
        "updated_at": v.updated_at.as_micros(),
        "content": {
            "title": c.title,
            "description": c.description,
            "content_format": c.content_format,
            "reach": c.reach,
            "lifecycle": c.lifecycle,
            "blobs": c.blobs.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
            "invitees": c.invitees.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "place": c.place,
        },
    })
}

/// The body of `POST /api/token`.
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    /// The blob's SHA-256.
    pub blob: String,
    /// The node that should accept it (default: this one).
    pub audience: Option<String>,
    /// Lifetime in seconds (default one hour).
    pub ttl_seconds: Option<u32>,
}

/// `POST /api/token`: a token signed by the node's agent, and a URL that carries it.
pub async fn token(
    state: Arc<Sidecar>,
    remote: Option<SocketAddr>,
    req: TokenRequest,
) -> Result<Response<Body>, ApiError> {
    local_only(remote)?;
    let hash: Hash32 = req.blob.parse()?;
    let link = linked(&state)?;
    let input = IssueTokenInput {
        blob: hash.to_hex(),
        audience: req.audience.unwrap_or_else(|| link.agent().to_string()),
        ttl_seconds: req.ttl_seconds.unwrap_or(3600),
    };
    let issued: IssuedToken = link.call("issue_access_token", input).await.map_err(link_error)?;
    let url = format!(
        "http://{}/api/blob/{hash}?token={}",
        state.config.listen, issued.token
    );
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "token": issued.token, "url": url, "expires_at": issued.expires_at }),
    ))
}
