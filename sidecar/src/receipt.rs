//! What an upload answers with, however it came (one request or tus), and what the CLI
//! reads back.

use media_rules::manifest::BlobManifest;
use serde::{Deserialize, Serialize};

/// What an upload answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// SHA-256 of the blob.
    pub hash: String,
    /// Its size.
    pub size: u64,
    /// The chunk size it was cut with.
    pub chunk_size: u32,
    /// SHA-256 of every chunk.
    pub chunks: Vec<String>,
    /// Its MIME type.
    pub mime: String,
    /// Where a node published it, when the upload carried a title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// Where to follow the renditions being made, for video and audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<String>,
}

impl From<&BlobManifest> for Receipt {
    fn from(m: &BlobManifest) -> Self {
        Receipt {
            hash: m.hash.clone(),
            size: m.size,
            chunk_size: m.chunk_size,
            chunks: m.chunks.clone(),
            mime: m.mime_type.clone(),
            published: None,
            ladder: None,
        }
    }
}

/// Where the published content landed in the DHT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The ContentNode's action hash.
    pub content: String,
    /// The BlobManifest's action hash.
    pub manifest: String,
}
