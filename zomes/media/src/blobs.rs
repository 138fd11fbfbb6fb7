//! Blob manifests: register them, find them by blob hash, and tell a sidecar who may read
//! a blob.

use crate::caller::refuse;
use crate::kept;
use crate::versions::latest_record;
use hdk::prelude::*;
use media_api::{BlobAccess, ContentView, ManifestView};
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

/// The manifest at `id`: public, the caller's own private one, or one a share carries.
pub fn get_blob_manifest(id: ActionHash) -> ExternResult<Option<ManifestView>> {
    let record = get(id.clone(), GetOptions::default())?;
    if let Some(record) = record {
        if let Some(manifest) = record
            .entry()
            .to_app_option::<BlobManifest>()
            .map_err(|e| wasm_error!(e))?
        {
            return Ok(Some(ManifestView {
                id,
                author: record.action().author().clone(),
                manifest,
            }));
        }
    }
    Ok(kept::shared_manifests(&kept::shares()?).find(|m| m.id == id))
}

/// Every manifest registered for the blob with SHA-256 `blob_hash` that the caller can
/// read: the public ones, its own private ones and those its shares carry.
pub fn find_blob_manifests(blob_hash: &str) -> ExternResult<Vec<ManifestView>> {
    find_manifests(blob_hash, &kept::shares()?)
}

/// [`find_blob_manifests`], with the copies the caller holds read already.
fn find_manifests(blob_hash: &str, held: &[kept::Held]) -> ExternResult<Vec<ManifestView>> {
    media_rules::hash::check_sha256_hex("blob_hash", blob_hash).map_err(refuse)?;
    let mut out: Vec<ManifestView> = Vec::new();
    for m in kept::own_manifests()?
        .into_iter()
        .chain(kept::shared_manifests(held))
    {
        if m.manifest.hash == blob_hash && !out.iter().any(|o| o.id == m.id) {
            out.push(m);
        }
    }
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

/// The audience of every piece of content that uses the blob `blob_hash`: public content,
/// and the kept content the caller can read (its own, and its copies).
pub fn get_blob_access(blob_hash: &str) -> ExternResult<Vec<BlobAccess>> {
    let held = kept::shares()?;
    let manifests: Vec<ActionHash> = find_manifests(blob_hash, &held)?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut out: Vec<BlobAccess> = kept::own_contents()?
        .into_iter()
        .chain(held.iter().filter_map(|h| kept::view_of(&h.share)))
        .filter(|v| v.content.blobs.iter().any(|b| manifests.contains(b)))
        .map(|v| BlobAccess::of(&v))
        .collect();
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
        let Some(content) = latest
            .entry()
            .to_app_option::<ContentNode>()
            .map_err(|e| wasm_error!(e))?
        else {
            continue;
        };
        out.push(BlobAccess::of(&ContentView {
            id,
            version: latest.action_address().clone(),
            author: original.action().author().clone(),
            updated_at: latest.action().timestamp(),
            content,
        }));
    }
    Ok(out)
}

fn blob_links(blob_hash: &str, link_type: LinkTypes) -> ExternResult<Vec<Link>> {
    get_links(
        LinkQuery::try_new(blob_path(blob_hash).path_entry_hash()?, link_type)?,
        GetStrategy::default(),
    )
}
