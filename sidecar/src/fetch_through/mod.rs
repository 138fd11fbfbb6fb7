//! Blobs a node does not hold, served to its own readers from the nodes that do: a viewer
//! points a player at their own node and it plays.
//!
//! The access check runs first, as for a blob held here (see [`crate::access`]: for a blob
//! this node does not hold, every author who uses it counts, and the narrowest use wins).
//! Then the blob's manifest comes from the DHT (the one its author registered), and each
//! chunk the response needs is fetched when the stream reaches it: from custodians with a
//! live replica, then the author's node, then the manifest's fallback URLs. Each chunk is
//! verified against its hash before a byte of it is sent, and kept in the chunk tier, under
//! its byte budget: never on disk, so a viewer's node does not fill up with what it watched.
//! Peers apply their own access rule to this node: for content that is not commons it
//! asks with tokens its own agent signs, so it fetches what its own agent may read.

use crate::dht::Node;
use crate::error::ApiError;
use crate::replicate::fetch_chunk;
use crate::sources::{self, Holders};
use crate::state::Sidecar;
use hdi::prelude::AgentPubKey;
use media_api::{ManifestView, ReplicaView};
use media_rules::{CachePartition, ChunkLayout};
use media_store::blobs::BlobRecord;
use media_store::chunks::StoreError;
use media_store::hash::Hash32;
use media_store::reader::{ChunkBytes, ChunkReader};
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod remote;

pub(crate) use remote::{Remote, RemoteBlobs};

/// Live custodians that no replica status names yet, asked last (see
/// [`sources::unlisted_custodians`]).
pub(crate) const UNLISTED_CUSTODIANS: usize = 8;
/// A replica status older than this is not asked (its custodian may be gone).
pub(crate) const LIVE_REPLICA: Duration = Duration::from_secs(3600);

/// Where chunks of the blobs a response streams come from.
#[derive(Clone)]
pub(crate) enum Chunks {
    /// This node's store (and cache tiers).
    Local,
    /// Fetched from the nodes that hold the blob.
    Remote(Arc<Remote>),
}

impl Chunks {
    /// Chunk `index` (named `hash`) of the blob, verified, for a reader of `partition`.
    pub(crate) async fn chunk(
        &self,
        reader: &ChunkReader,
        index: usize,
        hash: Hash32,
        partition: CachePartition,
    ) -> Result<ChunkBytes, ApiError> {
        match self {
            Chunks::Local => Ok(reader.chunk(hash, partition).await?),
            Chunks::Remote(remote) => remote.chunk(reader, index, hash, partition).await,
        }
    }
}

impl RemoteBlobs {
    /// Where `blob`, which this node does not hold, can be fetched from. `public`: whether
    /// anyone may read it (no tokens needed).
    pub(crate) async fn resolve(
        &self,
        state: &Sidecar,
        link: Node<'_>,
        blob: &Hash32,
        public: bool,
    ) -> Result<Arc<Remote>, ApiError> {
        if let Some(known) = self.known.get(blob).await {
            if !known.exhausted.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(known);
            }
        }
        let remote = Arc::new(Remote::find(state, link, blob, public).await?);
        self.known.insert(*blob, remote.clone()).await;
        Ok(remote)
    }
}

impl Remote {
    async fn find(state: &Sidecar, link: Node<'_>, blob: &Hash32, public: bool) -> Result<Self, ApiError> {
        let (view, circle) = authors_manifest(link, blob).await?;
        let replicas: Vec<ReplicaView> = link.replicas(&view.id).await?;
        let endpoint: Option<String> = match &view.author == link.agent() {
            true => None,
            false => link.endpoint_of(&view.author).await?,
        };
        let holders = Holders {
            replicas: &replicas,
            live: LIVE_REPLICA,
            author: (&view.author, endpoint),
            assigned: Vec::new(),
            circle: circle.clone(),
        };
        let mut sources = sources::for_blob(link, blob, &view.manifest.0, holders, public).await?;
        if circle.is_none() {
            // Custodians no status lists yet; never for a blob whose hash is kept secret.
            let commitments = link.live_commitments().await?;
            let unlisted =
                sources::unlisted_custodians(link, blob, &commitments, &sources, public, UNLISTED_CUSTODIANS)
                    .await?;
            sources.then.extend(unlisted);
        }
        let manifest = view.manifest.0;
        let allow_private = state.config.allow_private_peers;
        sources.retain(|s| crate::fetch_policy::check(s.url(), allow_private).is_ok());
        let client =
            crate::fetch_policy::client(allow_private).map_err(|e| ApiError::Io(std::io::Error::other(e)))?;
        let mut record = BlobRecord::new(manifest);
        record.own = false;
        record.replica_of = vec![view.author.to_string()];
        Ok(Remote {
            record: Arc::new(record),
            sources,
            client,
            exhausted: Default::default(),
        })
    }

    /// Chunk `index`: from this node's store or chunk tier when it is there, else fetched,
    /// verified and kept in the chunk tier of `partition`.
    async fn chunk(
        &self,
        reader: &ChunkReader,
        index: usize,
        hash: Hash32,
        partition: CachePartition,
    ) -> Result<ChunkBytes, ApiError> {
        match reader.chunk(hash, partition).await {
            Err(StoreError::Missing(_)) => {}
            held => return Ok(held?),
        }
        let manifest = &self.record.manifest;
        let span = ChunkLayout::new(manifest.size, manifest.chunk_size)
            .and_then(|layout| layout.chunk_range(index as u64))
            .ok_or(ApiError::NotFound("chunk"))?;
        let blob: Hash32 = manifest.hash.parse()?;
        let Some(bytes) = fetch_chunk(&self.client, &self.sources, &blob, (index, &hash), span).await else {
            self.exhausted.store(true, std::sync::atomic::Ordering::Relaxed);
            return Err(ApiError::NotFound("chunk at any node that holds the blob"));
        };
        reader.keep_fetched(hash, partition, bytes.clone());
        Ok(ChunkBytes::Memory(bytes))
    }
}

/// The manifest registered for `hash` by an author whose content uses it: anyone may
/// register a manifest under any hash, but only the content's author's describes the
/// bytes that content shares. A manifest under another hash is never taken. Among an
/// author's manifests of one blob, the one that lists renditions (the ladder's) wins.
/// With it, the circle that may be asked for the blob when its content is kept off the
/// DHT (see [`sources::Holders::circle`]).
pub(crate) async fn authors_manifest(
    link: crate::dht::Node<'_>,
    hash: &Hash32,
) -> Result<(ManifestView, Option<Vec<AgentPubKey>>), ApiError> {
    let found = link.manifests_of(hash).await?;
    let uses = link.blob_access(hash).await?;
    let mut found: Vec<ManifestView> = found
        .into_iter()
        .filter(|v| v.manifest.0.hash == hash.to_hex())
        .collect();
    found.sort_by_key(|v| {
        let used = uses
            .iter()
            .any(|u| u.author == v.author && u.blobs.contains(&v.id));
        (!used, std::cmp::Reverse(v.manifest.0.variants.len()))
    });
    let view = found
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound("blob manifest in the DHT"))?;
    // The narrowest circle of the author's uses of it; none (anyone may be asked) only
    // when some use is public. With no use in sight, or a reach that does not parse, the
    // author alone: a hash is never told to strangers by default.
    let mut circle = Some(vec![view.author.clone()]);
    let mut circles = uses
        .iter()
        .filter(|u| u.author == view.author && u.blobs.contains(&view.id))
        .map(|u| match media_rules::Reach::parse(&u.reach) {
            Ok(reach) => sources::circle_of(reach, &u.author, &u.invitees),
            Err(_) => Some(vec![u.author.clone()]),
        })
        .peekable();
    if circles.peek().is_some() {
        circle = circles
            .collect::<Option<Vec<Vec<AgentPubKey>>>>()
            .and_then(|all| {
                all.into_iter().reduce(|mut a, b| {
                    a.retain(|agent| b.contains(agent));
                    a
                })
            });
    }
    Ok((view, circle))
}
