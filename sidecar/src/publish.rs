//! Turning an upload into content: when a node's upload carries a title, the blob's
//! manifest and a ContentNode are registered in the DHT by zome calls.

use crate::dht::{Dht, Node};
use crate::error::ApiError;
use crate::receipt::Published;
use crate::state::Sidecar;
use crate::upload_meta::UploadMeta;
use hdi::prelude::{ActionHash, AgentPubKey};
use media_api::{BlobAccess, ContentView, ManifestView, UpdateContentInput};
use media_integrity::{BlobManifest, CodecFact, ContentNode};
use media_rules::content::{ContentFormat, EmbedStrategy};
use media_rules::manifest::BlobManifest as Manifest;
use media_rules::{Place, Reach};
use media_store::hash::Hash32;
use std::sync::Arc;

/// What the uploader asked to publish, checked before any byte is read.
#[derive(Debug, Clone)]
pub struct Publication {
    title: String,
    description: String,
    reach: Reach,
    invitees: Vec<AgentPubKey>,
    place: Option<Place>,
}

impl Publication {
    /// Reads `title`, `description`, `reach` (default private), `invite` (comma-separated
    /// agent keys) and `place` (`region/bioregion/municipality/neighborhood/household`).
    /// `None` when no title is given: the upload is just a blob.
    pub fn from_meta(meta: &UploadMeta) -> Result<Option<Self>, ApiError> {
        let Some(title) = meta.get("title") else {
            return Ok(None);
        };
        let reach = Reach::parse(meta.get("reach").unwrap_or("private")).map_err(|e| ApiError::Invalid {
            field: "reach",
            why: e.to_string(),
        })?;
        let invitees = meta
            .get("invite")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| crate::error::agent_key("invite", s))
            .collect::<Result<Vec<_>, _>>()?;
        let place = match meta.get("place") {
            Some(p) => Some(Place::parse_path(p).map_err(|why| ApiError::Invalid { field: "place", why })?),
            None => None,
        };
        let publication = Publication {
            title: title.to_string(),
            description: meta.get("description").unwrap_or("").to_string(),
            reach,
            invitees,
            place,
        };
        // Every field the content will have is checked now, before a byte is stored.
        publication
            .content_fields("application/octet-stream", Vec::new())
            .check_fields()
            .map_err(|why| ApiError::Invalid {
                field: "content",
                why,
            })?;
        Ok(Some(publication))
    }

    /// The publication an upload asks for, checked before any byte is stored: none without
    /// a title; a standalone sidecar, which cannot publish, refuses one.
    pub fn for_upload(state: &Sidecar, meta: &UploadMeta) -> Result<Option<Self>, ApiError> {
        let publication = Self::from_meta(meta)?;
        if publication.is_some() && !state.is_node() {
            return Err(ApiError::NeedsNode("publishing content (a title was given)"));
        }
        Ok(publication)
    }

    fn content_node(&self, manifest: &ManifestView) -> ContentNode {
        self.content_fields(&manifest.manifest.mime_type, vec![manifest.id.clone()])
    }

    fn content_fields(&self, mime: &str, blobs: Vec<ActionHash>) -> ContentNode {
        let format = ContentFormat::of_mime(mime);
        ContentNode {
            title: self.title.clone(),
            description: self.description.clone(),
            content_format: format.as_str().into(),
            reach: self.reach.as_str().into(),
            lifecycle: "published".into(),
            refresh_interval_days: None,
            retention_days: 30,
            embed_strategy: "http-range".into(),
            blobs,
            invitees: self.invitees.clone(),
            place: self.place.clone(),
            codecs: vec![],
        }
    }
}

/// Registers the manifest and the content through the node's conductor.
pub async fn publish(
    state: &Sidecar,
    manifest: &Manifest,
    publication: &Publication,
) -> Result<Published, ApiError> {
    let dht = state.dht();
    let view = dht
        .register_manifest(BlobManifest(manifest.clone()), publication.reach)
        .await?;
    let content = dht.create_content(publication.content_node(&view)).await?;
    if publication.reach == Reach::Invited {
        state.deliver_shares();
    }
    let hash: Hash32 = manifest.hash.parse()?;
    state.access.invalidate(&hash).await;
    Ok(Published {
        content: content.id.to_string(),
        manifest: view.id.to_string(),
    })
}

/// Registers a finished ladder: each rendition's manifest, the source's manifest with its
/// variants, and a new version of every piece of content this node's agent made from the
/// source, listing the renditions, their codecs and HLS as the embed strategy. A source
/// uploaded without a title has no content, and nothing is registered.
pub async fn publish_ladder(state: &Sidecar, source: &Manifest) -> Result<(), ApiError> {
    let Some(link) = state.node() else {
        return Ok(());
    };
    let uses: Vec<BlobAccess> = link.blob_access(&source.hash.parse()?).await?;
    let mine: Vec<&BlobAccess> = uses.iter().filter(|a| &a.author == link.agent()).collect();
    if mine.is_empty() {
        return Ok(());
    }
    let mut codecs: Vec<CodecFact> = Vec::new();
    for codec in source.variants.iter().flat_map(|v| v.codecs.split(',')) {
        if !codecs.iter().any(|c| c.codec == codec) {
            codecs.push(CodecFact {
                codec: codec.to_string(),
                obsolete: false,
            });
        }
    }
    // Uses kept off the DHT list manifests kept off it too; public uses list public ones.
    let (kept, public): (Vec<&BlobAccess>, Vec<&BlobAccess>) = mine
        .into_iter()
        .partition(|a| Reach::parse(&a.reach).map_or(true, Reach::is_kept_off_dht));
    // Invitees' nodes get the new versions of content kept off the DHT from this node.
    let hand_over = !kept.is_empty();
    for (uses, reach) in [(kept, Reach::Private), (public, Reach::Commons)] {
        if uses.is_empty() {
            continue;
        }
        let ids = register_ladder(state, &link, source, reach).await?;
        for access in uses {
            let Some(view) = link.content(&access.content_id).await? else {
                continue;
            };
            let mut content = view.content.clone();
            // The content's other blobs stay (a call lists each publisher's recording);
            // this source's earlier manifests and renditions give way to the new ones.
            let mut others = Vec::new();
            for id in &view.content.blobs {
                let other = link.manifest(id).await?;
                let ours = other.is_some_and(|m| {
                    m.manifest.0.hash == source.hash
                        || source.variants.iter().any(|v| v.blob == m.manifest.0.hash)
                });
                if !ours && !ids.contains(id) {
                    others.push(id.clone());
                }
            }
            others.extend(ids.iter().cloned());
            content.blobs = others;
            content.codecs = codecs.clone();
            if source.variants.iter().any(|v| v.height > 0) {
                content.embed_strategy = EmbedStrategy::Hls.as_str().into();
            }
            replace_content(&*link, &view, content).await?;
        }
    }
    state.access.invalidate(&source.hash.parse()?).await;
    if hand_over {
        state.deliver_shares();
    }
    Ok(())
}

/// Registers the source's manifest and each rendition's, for content of `reach`; returns
/// their ids, the source's first.
async fn register_ladder(
    state: &Sidecar,
    link: &Node<'_>,
    source: &Manifest,
    reach: Reach,
) -> Result<Vec<ActionHash>, ApiError> {
    let mut ids = vec![
        link.register_manifest(BlobManifest(source.clone()), reach)
            .await?
            .id,
    ];
    for variant in &source.variants {
        let hash: Hash32 = variant.blob.parse()?;
        let record = state.blobs.get(&hash)?.ok_or(ApiError::NotFound("rendition"))?;
        let view = link
            .register_manifest(BlobManifest(record.manifest.clone()), reach)
            .await?;
        ids.push(view.id);
        state.access.invalidate(&hash).await;
    }
    Ok(ids)
}

/// Writes `content` as the next version of `view`'s content.
pub async fn replace_content(
    dht: &dyn Dht,
    view: &ContentView,
    content: ContentNode,
) -> Result<ContentView, ApiError> {
    dht.update_content(UpdateContentInput {
        id: view.id.clone(),
        previous_version: view.version.clone(),
        content,
    })
    .await
    .map_err(ApiError::from)
}

/// Publishes `url` as where this node's sidecar is reached, unless it is published already.
pub async fn publish_endpoint(link: Node<'_>, url: &str) -> Result<(), ApiError> {
    let published = link.endpoint_of(link.agent()).await?;
    if published.as_deref() != Some(url) {
        link.set_endpoint(url).await?;
    }
    Ok(())
}

/// Publishes `url` as this node's endpoint in the background, trying again after a wait
/// that grows until the DHT takes it: a node restarting among peers that went away runs
/// meanwhile.
pub fn spawn_endpoint(state: &Arc<Sidecar>, url: String) -> tokio::task::JoinHandle<()> {
    state.workers.spawn(Endpoint {
        state: state.clone(),
        url,
    })
}

/// Publishing the node's endpoint as background work.
struct Endpoint {
    state: Arc<Sidecar>,
    url: String,
}

#[async_trait::async_trait]
impl crate::worker::Work for Endpoint {
    fn name(&self) -> &'static str {
        "endpoint"
    }

    async fn step(&mut self) -> Result<crate::worker::Step, String> {
        let node = self.state.node().ok_or("no conductor is attached yet")?;
        publish_endpoint(node, &self.url)
            .await
            .map_err(|e| format!("publishing this node's endpoint: {e}"))?;
        Ok(crate::worker::Step::Done)
    }
}
