//! What the sidecar knows about a blob it holds whole, and whom it keeps it for.

use crate::hash::Hash32;
use media_rules::manifest::BlobManifest;
use serde::{Deserialize, Serialize};
use std::io;

/// The record format this version writes.
pub const FORMAT: u32 = 1;

/// What the sidecar knows about a stored blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// Format version, for migrations.
    pub format: u32,
    /// The blob's manifest.
    pub manifest: BlobManifest,
    /// When the blob was completed here, seconds since the Unix epoch.
    pub created_at: u64,
    /// The source blob (hex) whose ladder made this blob here, if it is a rendition made on
    /// this node. Renditions pulled from peers learn their source from the DHT instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendition_of: Option<String>,
    /// Whether the node keeps the blob for its own agent: an upload, or a rendition made
    /// here. (Records written before this field existed were all kept as the node's own.)
    #[serde(default = "kept_as_own")]
    pub own: bool,
    /// The authors (agent keys) of the content whose replica of this blob the node keeps.
    /// Only their content, and the node's own, decides who may read the bytes here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_of: Vec<String>,
    /// The client (IP address) whose anonymous upload left the blob here, when the node
    /// keeps it for nobody else: unpublished, read by the owner only, and counted against
    /// that client's quota (`sidecar::anonymous`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<String>,
}

fn kept_as_own() -> bool {
    true
}

/// Whom a node keeps a blob for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keeper {
    /// Its own agent: an upload, or a rendition its ladder made.
    Own,
    /// The author (agent key) of content whose replica it keeps.
    ReplicaOf(String),
    /// A client that uploaded it without the owner's credential: kept unpublished, and
    /// only when the node holds it for nobody yet.
    Anonymous(std::net::IpAddr),
}

impl BlobRecord {
    /// A record for a manifest completed now.
    pub fn new(manifest: BlobManifest) -> Self {
        let created_at = crate::clock::now_secs();
        BlobRecord {
            format: FORMAT,
            manifest,
            created_at,
            rendition_of: None,
            own: true,
            replica_of: Vec::new(),
            anonymous: None,
        }
    }

    /// A record of `manifest` kept for `keeper`.
    pub fn kept_for(manifest: BlobManifest, keeper: &Keeper) -> Self {
        let mut record = Self::new(manifest);
        match keeper {
            Keeper::Own => {}
            Keeper::ReplicaOf(author) => {
                record.own = false;
                record.replica_of.push(author.clone());
            }
            Keeper::Anonymous(client) => {
                record.own = false;
                record.anonymous = Some(client.to_string());
            }
        }
        record
    }

    /// Whether the node keeps this blob for `keeper` already.
    pub fn keeps_for(&self, keeper: &Keeper) -> bool {
        match keeper {
            Keeper::Own => self.own,
            Keeper::ReplicaOf(author) => self.replica_of.contains(author),
            // Held already, for whomever: an anonymous upload adds no keeper to it.
            Keeper::Anonymous(_) => true,
        }
    }

    /// The blob's chunk hashes, parsed.
    pub fn chunk_hashes(&self) -> io::Result<Vec<Hash32>> {
        self.manifest
            .chunks
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}")))
            })
            .collect()
    }
}
