//! Turning an upload into content: when a node's upload carries a title, the blob's
//! manifest and a ContentNode are registered in the DHT by zome calls.

use crate::error::ApiError;
use crate::hash::Hash32;
use crate::node::link::LinkError;
use crate::state::Sidecar;
use crate::upload_meta::UploadMeta;
use holochain_types::prelude::AgentPubKey;
use media::{ContentView, ManifestView};
use media_integrity::{BlobManifest, ContentNode};
use media_rules::content::ContentFormat;
use media_rules::manifest::BlobManifest as Manifest;
use media_rules::{Place, Reach};
use serde::{Deserialize, Serialize};

/// What the uploader asked to publish, checked before any byte is read.
#[derive(Debug, Clone)]
pub struct Publication {
    title: String,
    description: String,
    reach: Reach,
    invitees: Vec<AgentPubKey>,
    place: Option<Place>,
}

/// Where the published content landed in the DHT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The ContentNode's action hash.
    pub content: String,
    /// The BlobManifest's action hash.
    pub manifest: String,
}

impl Publication {
    /// Reads `title`, `description`, `reach` (default private), `invite` (comma-separated
    /// agent keys) and `place` (`region/bioregion/municipality/neighborhood/household`).
    /// `None` when no title is given: the upload is just a blob.
    pub fn from_meta(meta: &UploadMeta) -> Result<Option<Self>, ApiError> {
        let Some(title) = meta.get("title") else {
            return Ok(None);
        };
        let bad = |m: String| ApiError::BadRequest(m);
        let reach =
            Reach::parse(meta.get("reach").unwrap_or("private")).map_err(|e| bad(format!("reach: {e}")))?;
        let invitees = meta
            .get("invite")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| AgentPubKey::try_from(s).map_err(|_| bad(format!("invite: '{s}' is not an agent key"))))
            .collect::<Result<Vec<_>, _>>()?;
        let place = match meta.get("place") {
            Some(p) => Some(Place::parse_path(p).map_err(bad)?),
            None => None,
        };
        Ok(Some(Publication {
            title: title.to_string(),
            description: meta.get("description").unwrap_or("").to_string(),
            reach,
            invitees,
            place,
        }))
    }

    fn content_node(&self, manifest: &ManifestView) -> ContentNode {
        let mime = manifest.manifest.mime_type.as_str();
        let format = match mime.split('/').next() {
            Some("video") => ContentFormat::VideoFile,
            Some("audio") => ContentFormat::AudioFile,
            Some("image") => ContentFormat::Image,
            _ => ContentFormat::Document,
        };
        ContentNode {
            title: self.title.clone(),
            description: self.description.clone(),
            content_format: format.as_str().into(),
            reach: self.reach.as_str().into(),
            lifecycle: "published".into(),
            refresh_interval_days: None,
            retention_days: 30,
            embed_strategy: "http-range".into(),
            blobs: vec![manifest.id.clone()],
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
    let link = state.link.get().ok_or_else(|| {
        ApiError::BadRequest("a standalone sidecar cannot publish content; run a node".into())
    })?;
    let view: ManifestView = link
        .call("register_blob_manifest", BlobManifest(manifest.clone()))
        .await
        .map_err(rejected)?;
    let content: ContentView = link
        .call("create_content", publication.content_node(&view))
        .await
        .map_err(rejected)?;
    let hash: Hash32 = manifest.hash.parse()?;
    state.access.invalidate(&hash).await;
    Ok(Published {
        content: content.id.to_string(),
        manifest: view.id.to_string(),
    })
}

fn rejected(e: LinkError) -> ApiError {
    match e {
        LinkError::Call { message, .. } => ApiError::Rejected(message),
        other => ApiError::Conductor(other.to_string()),
    }
}
