//! BlobManifest: how a blob's bytes are cut up. The struct and its checks are
//! `media_rules::manifest::BlobManifest`, shared with the sidecar that builds it.

use crate::outcome::verdict;
use hdi::prelude::*;

/// A blob manifest entry, stored exactly as `media_rules` defines it.
#[hdk_entry_helper]
#[serde(transparent)]
#[derive(Clone, PartialEq)]
pub struct BlobManifest(pub media_rules::manifest::BlobManifest);

impl core::ops::Deref for BlobManifest {
    type Target = media_rules::manifest::BlobManifest;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A new manifest must agree with itself: size and chunk list, hashes, MIME type,
/// variants, segments and fallback URLs.
pub fn validate_create_blob_manifest(manifest: &BlobManifest) -> ExternResult<ValidateCallbackResult> {
    verdict("BlobManifest", manifest.check())
}
