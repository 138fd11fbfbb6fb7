//! Routes for the CLI and local UIs: a blob's manifest, and — for the owner only, since
//! they act as the node's agent ([`crate::owner`]) — content listing, token signing,
//! pulls and node status.

use super::reply::json;
use super::requires::{linked, owner_only};
use crate::access::Purpose;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::receipt::Receipt;
use crate::replicate::Source;
use crate::state::Sidecar;
use media_api::{ContentView, IssueTokenInput};
use media_rules::manifest::BlobManifest;
use media_store::blobs::Keeper;
use media_store::hash::Hash32;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warp::http::{HeaderMap, Response, StatusCode};

/// `GET /api/manifest/{hash}`: how a blob is cut up, for clients that verify each chunk.
pub(crate) async fn manifest(
    state: Arc<Sidecar>,
    hash: String,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let readable = super::readable::readable_blob(
        &state,
        &hash,
        &headers,
        &query,
        Purpose::Exchange,
        super::readable::Serve::Anywhere,
    )
    .await?;
    Ok(json(StatusCode::OK, &Receipt::from(&readable.record.manifest)))
}

/// What `GET /api/node` reports.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct NodeStatus {
    /// The node's agent key, when it runs with a conductor.
    pub agent: Option<String>,
    /// Blobs held whole.
    pub blobs: usize,
    /// Bytes of chunk data stored.
    pub bytes_stored: u64,
    /// Live custodian commitments the node knows of.
    pub custodians: Option<usize>,
    /// The network: peers, custodians among them, bootstrap and relay.
    pub network: Option<crate::network::NetworkStatus>,
    /// What the custodian worker holds and has yet to fetch, when the node is one.
    #[serde(default)]
    pub custodian: Option<crate::custodian::Snapshot>,
    /// What each background worker (the sweep, registrations, the custodian) is doing.
    #[serde(default)]
    pub workers: Vec<crate::worker::WorkerStatus>,
}

/// `GET /api/node`: the node's agent and storage.
pub(crate) async fn status(state: Arc<Sidecar>, headers: HeaderMap) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let (custodians, network) = match state.node() {
        Some(link) => {
            let live = link.live_commitments().await?;
            let infos = link.agent_infos().await.unwrap_or_default();
            let peers = crate::network::peers(&infos, link.agent(), &live);
            let network = crate::network::status(link.network(), peers).await;
            (Some(live.len()), Some(network))
        }
        None => (None, None),
    };
    let status = NodeStatus {
        agent: state.node().map(|l| l.agent().to_string()),
        blobs: state.blobs.list()?.len(),
        bytes_stored: state.reader.store().bytes_used()?,
        custodians,
        network,
        custodian: state.custodian.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        workers: state.workers.statuses(),
    };
    Ok(json(StatusCode::OK, &status))
}

/// `GET /api/content`: the content the node's agent may see.
pub(crate) async fn list(state: Arc<Sidecar>, headers: HeaderMap) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let views = linked(&state)?.visible_content(None).await?;
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
pub(crate) struct TokenRequest {
    /// The blob's SHA-256.
    pub blob: String,
    /// The node that should accept it (default: this one).
    pub audience: Option<String>,
    /// Lifetime in seconds (default one hour).
    pub ttl_seconds: Option<u32>,
}

/// `POST /api/token`: a token signed by the node's agent, and a URL that carries it.
pub(crate) async fn token(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    req: TokenRequest,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let hash: Hash32 = req.blob.parse()?;
    let link = linked(&state)?;
    let input = IssueTokenInput {
        blob: hash.to_hex(),
        audience: req.audience.unwrap_or_else(|| link.agent().to_string()),
        ttl_seconds: req.ttl_seconds.unwrap_or(3600),
    };
    let issued = link.issue_token(input).await?;
    let url = format!(
        "http://{}/api/blob/{hash}?token={}",
        state.config.listen, issued.token
    );
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "token": issued.token, "url": url, "expires_at": issued.expires_at }),
    ))
}

/// The body of `POST /api/pull`.
#[derive(Debug, Deserialize)]
pub(crate) struct PullRequest {
    /// The blob's SHA-256.
    pub hash: String,
    /// Peers and URLs to fetch from, in order (the manifest's fallback URLs come last).
    #[serde(default)]
    pub from: Vec<Source>,
    /// Peers to spread over before `from`, each chunk asking them in its own rotation
    /// (custodians pulling the same blob at once: see [`crate::replicate`]).
    #[serde(default)]
    pub swarm: Vec<Source>,
}

/// `POST /api/pull`: fetches a blob's missing chunks from peers and fallback URLs,
/// verifying each, and then serves the blob. The manifest comes from the DHT on a node,
/// else from the first peer that has it. Loopback clients only: it spends this node's disk.
pub(crate) async fn pull(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    req: PullRequest,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let hash: Hash32 = req.hash.parse()?;
    // On a node, the blob is kept for the author of the manifest it was registered by:
    // that author's content, and no one else's, decides who may read it here.
    let (manifest, keeper) = match state.node() {
        Some(link) => {
            let (view, _) = crate::fetch_through::authors_manifest(link, &hash).await?;
            (view.manifest.0, Keeper::ReplicaOf(view.author.to_string()))
        }
        None => (
            manifest_from_peers(
                &hash,
                &[&req.swarm[..], &req.from[..]].concat(),
                state.config.allow_private_peers,
            )
            .await?,
            Keeper::Own,
        ),
    };
    let mut then = req.from;
    then.extend(
        manifest
            .fallback_urls
            .iter()
            .map(|url| Source::Fallback { url: url.clone() }),
    );
    let sources = crate::replicate::Sources {
        swarm: req.swarm,
        then,
    };
    let report = crate::replicate::pull(&state, &manifest, &sources, &keeper).await?;
    Ok(json(StatusCode::OK, &report))
}

/// The most a manifest answer may weigh (a 10 GB blob's list of chunk hashes is ~650 KB).
const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// A blob's manifest as the first peer that holds it describes it.
async fn manifest_from_peers(
    hash: &Hash32,
    sources: &[Source],
    allow_private: bool,
) -> Result<BlobManifest, ApiError> {
    let client =
        crate::fetch_policy::client(allow_private).map_err(|e| ApiError::Io(std::io::Error::other(e)))?;
    for source in sources {
        let Source::Peer { base, token } = source else {
            continue;
        };
        if let Err(why) = crate::fetch_policy::check(base, allow_private) {
            tracing::warn!(%base, %why, "peer refused");
            continue;
        }
        let mut url = format!("{}/api/manifest/{hash}", base.trim_end_matches('/'));
        if let Some(token) = token {
            url.push_str("?token=");
            url.push_str(token);
        }
        let Ok(resp) = client.get(url).send().await else {
            continue;
        };
        if !resp.status().is_success() {
            continue;
        }
        let Ok(body) = crate::fetch_policy::body_within(resp, MAX_MANIFEST_BYTES).await else {
            continue;
        };
        let Ok(receipt) = serde_json::from_slice::<Receipt>(&body) else {
            continue;
        };
        if receipt.hash != hash.to_hex() {
            continue;
        }
        return Ok(BlobManifest {
            hash: receipt.hash,
            size: receipt.size,
            mime_type: receipt.mime,
            codec: None,
            chunk_size: receipt.chunk_size,
            chunks: receipt.chunks,
            bitrate_kbps: None,
            duration_ms: None,
            variants: Vec::new(),
            segments: None,
            fallback_urls: Vec::new(),
        });
    }
    Err(ApiError::NotFound("blob manifest at any peer"))
}
