//! What a finished upload becomes, however its bytes came (one request or tus): a blob this
//! node keeps, content in the DHT when the uploader asked for it, and a ladder of
//! renditions for video and audio. An anonymous client's upload becomes a blob kept for it
//! alone, unpublished.

use crate::error::ApiError;
use crate::ladder::{wants_ladder, Ladders};
use crate::publish::{publish, Publication};
use crate::receipt::Receipt;
use crate::state::Sidecar;
use media_rules::manifest::BlobManifest;
use media_store::blobs::Keeper;
use media_store::hash::Hash32;
use std::net::IpAddr;
use std::sync::Arc;

/// Records a finished anonymous upload: kept for its client, unpublished, with no ladder,
/// unless the node holds the blob already. Answers the receipt, and whether the blob is now
/// counted against the client (only a blob new here is: one held already, even for the
/// same client, is counted once, as a restart counts it).
pub(crate) fn complete_anonymous(
    state: &Sidecar,
    manifest: BlobManifest,
    client: IpAddr,
) -> Result<(Receipt, bool), ApiError> {
    let (record, new) = state.blobs.keep_new(manifest, &Keeper::Anonymous(client))?;
    state.metrics.uploads_completed.inc();
    Ok((Receipt::from(&record.manifest), new))
}

/// Records a finished blob (atomically; idempotent for a blob already held), on a node
/// publishes it when the uploader asked to, and starts its ladder when it is media.
pub(crate) async fn complete(
    state: &Arc<Sidecar>,
    manifest: BlobManifest,
    publication: Option<&Publication>,
    ladder: bool,
) -> Result<Receipt, ApiError> {
    let hash: Hash32 = manifest.hash.parse()?;
    // Kept as the node's own upload, even if it held the bytes as someone's replica.
    let record = state.blobs.keep(manifest, &Keeper::Own)?;
    state.metrics.uploads_completed.inc();
    let mut receipt = Receipt::from(&record.manifest);
    if let Some(publication) = publication {
        receipt.published = Some(publish(state, &record.manifest, publication).await?);
    }
    if ladder && wants_ladder(&record.manifest.mime_type) && record.manifest.variants.is_empty() {
        Ladders::start(state, hash);
        receipt.ladder = Some(format!("/api/ladder/{hash}"));
    }
    Ok(receipt)
}
