//! Blobs held elsewhere, and where their chunks are, briefly remembered.

use crate::replicate::sources::Sources;
use media_store::blob_record::BlobRecord;
use media_store::hash::Hash32;
use std::sync::Arc;
use std::time::Duration;

/// How long a blob's sources are reused before the DHT is asked again.
pub(crate) const SOURCES_TTL: Duration = Duration::from_secs(60);

/// A blob held elsewhere: its manifest, and where its chunks are.
pub(crate) struct Remote {
    /// A record made from the author's manifest (not stored: the node keeps it for no one).
    pub record: Arc<BlobRecord>,
    pub(super) sources: Sources,
    pub(super) client: reqwest::Client,
    /// A chunk could be had from none of `sources`: the next request asks the DHT again
    /// (a custodian's replica may have become known since) instead of waiting out the TTL.
    pub(super) exhausted: std::sync::atomic::AtomicBool,
}

/// The sources of remote blobs, briefly cached.
pub(crate) struct RemoteBlobs {
    pub(super) known: moka::future::Cache<Hash32, Arc<Remote>>,
}

impl Default for RemoteBlobs {
    fn default() -> Self {
        RemoteBlobs {
            known: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(SOURCES_TTL)
                .build(),
        }
    }
}
