//! Files on disk made into chunks with this sidecar's settings (the pipeline itself is
//! [`media_store::ingest`]).

use crate::error::ApiError;
use crate::state::Sidecar;
use media_rules::manifest::BlobManifest;
use std::path::Path;

/// Ingests a file on disk into chunks, with the sidecar's chunk size and upload limit.
/// Nothing is visible as a blob until the caller records the manifest.
pub(crate) async fn ingest_file(
    state: &Sidecar,
    path: &Path,
    mime: String,
) -> Result<BlobManifest, ApiError> {
    let store = state.reader.store().clone();
    let (chunk_size, limit) = (state.config.chunk_size, state.config.max_upload_bytes);
    Ok(media_store::ingest::ingest_file(store, chunk_size, limit, path, mime).await?)
}
