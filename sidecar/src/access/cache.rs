//! What the conductor said about blobs' audiences, agents' places and manifests, briefly
//! reused.

use hdi::prelude::{ActionHash, AgentPubKey};
use media_api::BlobAccess;
use media_rules::manifest::BlobManifest;
use media_rules::Place;
use media_store::hash::Hash32;
use std::sync::Arc;
use std::time::Duration;

/// How long the DHT's answer about a blob's audience, or an agent's place, is reused.
pub(crate) const FACTS_TTL: Duration = Duration::from_secs(5);

/// Caches of what the conductor said, so a stream of segment requests costs one zome call.
pub(crate) struct AccessCache {
    pub(super) blobs: moka::future::Cache<Hash32, Arc<Vec<BlobAccess>>>,
    pub(super) places: moka::future::Cache<AgentPubKey, Option<Place>>,
    pub(super) manifests: moka::future::Cache<ActionHash, Option<Arc<BlobManifest>>>,
}

impl Default for AccessCache {
    fn default() -> Self {
        AccessCache {
            blobs: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(FACTS_TTL)
                .build(),
            places: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(FACTS_TTL * 6)
                .build(),
            // Kept as long as places: a manifest not found yet (not gossiped here) is asked
            // for again soon.
            manifests: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(FACTS_TTL * 6)
                .build(),
        }
    }
}

impl AccessCache {
    /// Forgets what is known about `blob` (after this node changed its content).
    pub(crate) async fn invalidate(&self, blob: &Hash32) {
        self.blobs.invalidate(blob).await;
    }

    /// Forgets `agent`'s place (after this node declared, founded or vouched for one).
    pub(crate) async fn forget_place(&self, agent: &AgentPubKey) {
        self.places.invalidate(agent).await;
    }
}
