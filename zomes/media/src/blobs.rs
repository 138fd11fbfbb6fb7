//! Blob manifests: register them, find them by blob hash, and tell a sidecar who may read
//! a blob.

use crate::caller::refuse;
use crate::records::entry_from;
use crate::versions::latest_record;
use hdk::prelude::*;
use media_api::{BlobAccess, ManifestView};
use media_integrity::anchors::blob_path;
use media_integrity::{BlobManifest, ContentNode, EntryTypes, LinkTypes};

/// Registers a manifest and links it from its blob's anchor.
pub fn register_blob_manifest(manifest: BlobManifest) -> ExternResult<ManifestView> {
    let id = create_entry(EntryTypes::BlobManifest(manifest.clone()))?;
    create_link(
        blob_path(&manifest.hash).path_entry_hash()?,
        id.clone(),
        LinkTypes::BlobToManifest,
        (),
    )?;
    Ok(ManifestView {
        id,
        author: crate::caller::me()?,
        manifest,
    })
}

/// The manifest at `id`.
pub fn get_blob_manifest(id: ActionHash) -> ExternResult<Option<ManifestView>> {
    let Some(record) = get(id.clone(), GetOptions::default())? else {
        return Ok(None);
    };
    let manifest: BlobManifest = entry_from(&record)?;
    Ok(Some(ManifestView {
        id,
        author: record.action().author().clone(),
        manifest,
    }))
}

/// Every manifest registered for the blob with SHA-256 `blob_hash`.
pub fn find_blob_manifests(blob_hash: &str) -> ExternResult<Vec<ManifestView>> {
    media_rules::hash::check_sha256_hex("blob_hash", blob_hash).map_err(refuse)?;
    let mut out = Vec::new();
    for link in blob_links(blob_hash, LinkTypes::BlobToManifest)? {
        if let Some(view) = link
            .target
            .into_action_hash()
            .map(get_blob_manifest)
            .transpose()?
            .flatten()
        {
            out.push(view);
        }
    }
    Ok(out)
}

/// The audience of every piece of content that uses the blob `blob_hash`.
pub fn get_blob_access(blob_hash: &str) -> ExternResult<Vec<BlobAccess>> {
    media_rules::hash::check_sha256_hex("blob_hash", blob_hash).map_err(refuse)?;
    let mut out: Vec<BlobAccess> = Vec::new();
    for link in blob_links(blob_hash, LinkTypes::BlobToContent)? {
        let Some(id) = link.target.into_action_hash() else {
            continue;
        };
        if out.iter().any(|a| a.content_id == id) {
            continue;
        }
        let (Some(original), Some(latest)) = (get(id.clone(), GetOptions::default())?, latest_record(&id)?)
        else {
            continue;
        };
        let node: ContentNode = entry_from(&latest)?;
        out.push(BlobAccess {
            content_id: id,
            version: latest.action_address().clone(),
            author: original.action().author().clone(),
            reach: node.reach,
            lifecycle: node.lifecycle,
            retention_days: node.retention_days,
            updated_at: latest.action().timestamp(),
            invitees: node.invitees,
            place: node.place,
            blobs: node.blobs,
        });
    }
    Ok(out)
}

fn blob_links(blob_hash: &str, link_type: LinkTypes) -> ExternResult<Vec<Link>> {
    get_links(
        LinkQuery::try_new(blob_path(blob_hash).path_entry_hash()?, link_type)?,
        GetStrategy::default(),
    )
}
