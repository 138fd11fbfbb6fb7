//! Media-aware cache tiers: a metadata tier (blob records, later playlists), a chunk tier
//! for hot chunks, and a complete tier for small blobs. Budgets are bytes, not entries.
//! Admission and eviction are moka's: TinyLFU admission (a newcomer must be more frequent
//! than what it would evict) over an LRU window, with entries weighed by their size.
//!
//! The chunk and complete tiers are split by [`CachePartition`], each partition with its
//! own share of the tier's budget, so commons traffic never evicts private or place-bound
//! bytes, nor the reverse. A tier only remembers bytes: every request passes the access
//! check before it looks here.

use crate::blob_record::BlobRecord;
use crate::hash::Hash32;
use crate::metrics::Metrics;
use bytes::Bytes;
use media_rules::CachePartition;
use prometheus::{IntCounter, IntGauge};
use serde::{Deserialize, Serialize};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// How long metadata is kept (blob records are immutable; this bounds stale memory).
pub const META_TTL: Duration = Duration::from_secs(3600);
/// How long bytes are kept.
pub const BYTES_TTL: Duration = Duration::from_secs(24 * 3600);
/// Bookkeeping bytes counted per entry besides its payload.
const ENTRY_OVERHEAD: u64 = 128;

/// Byte budgets of the tiers, in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheBudgets {
    /// Metadata tier.
    pub meta_mib: u64,
    /// Complete tier (small blobs whole), split across partitions.
    pub complete_mib: u64,
    /// Chunk tier (hot chunks), split across partitions.
    pub chunk_mib: u64,
}

impl Default for CacheBudgets {
    fn default() -> Self {
        CacheBudgets {
            meta_mib: 32,
            complete_mib: 256,
            chunk_mib: 1024,
        }
    }
}

/// One byte-bounded cache with its hit, miss, eviction and size counters.
pub struct Tier<K, V> {
    cache: Option<moka::sync::Cache<K, V>>,
    hits: IntCounter,
    misses: IntCounter,
    bytes: IntGauge,
}

impl<K, V> Tier<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A tier of `budget` bytes (none when 0) whose entries weigh `weigh(value)` bytes.
    fn new(
        name: &str,
        partition: &str,
        budget: u64,
        ttl: Duration,
        weigh: fn(&V) -> u64,
        metrics: &Metrics,
    ) -> Self {
        let labels = [name, partition];
        metrics
            .cache_budget_bytes
            .with_label_values(&labels)
            .set(budget as i64);
        let evictions = metrics.cache_evictions.with_label_values(&labels);
        let cache = (budget > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(budget)
                .weigher(move |_, v: &V| (weigh(v) + ENTRY_OVERHEAD).min(u32::MAX as u64) as u32)
                .time_to_live(ttl)
                .eviction_listener(move |_, _, cause| {
                    if cause.was_evicted() {
                        evictions.inc();
                    }
                })
                .build()
        });
        Tier {
            cache,
            hits: metrics.cache_hits.with_label_values(&labels),
            misses: metrics.cache_misses.with_label_values(&labels),
            bytes: metrics.cache_bytes.with_label_values(&labels),
        }
    }

    /// Whether the tier has a budget at all.
    pub fn enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// The entry for `key`, counting a hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = self.cache.as_ref().and_then(|c| c.get(key));
        match found {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        }
        found
    }

    /// Offers an entry; the admission policy may decline it.
    pub fn insert(&self, key: K, value: V) {
        if let Some(c) = &self.cache {
            c.insert(key, value);
        }
    }

    /// Drops the entry for `key`.
    pub fn invalidate(&self, key: &K) {
        if let Some(c) = &self.cache {
            c.invalidate(key);
        }
    }

    /// Bytes held (payload and bookkeeping), after settling pending work.
    pub fn bytes(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| {
            c.run_pending_tasks();
            c.weighted_size()
        })
    }

    fn observe(&self) {
        self.bytes.set(self.bytes() as i64);
    }
}

/// The sidecar's caches.
pub struct Tiers {
    /// Blob records by blob hash.
    pub meta: Tier<Hash32, Arc<BlobRecord>>,
    complete: Vec<Tier<Hash32, Bytes>>,
    chunks: Vec<Tier<Hash32, Bytes>>,
}

impl Tiers {
    /// Tiers with `budgets`, reporting to `metrics`.
    pub fn new(budgets: CacheBudgets, metrics: &Metrics) -> Self {
        let per_partition = |name: &str, mib: u64| -> Vec<Tier<Hash32, Bytes>> {
            CachePartition::ALL
                .iter()
                .map(|p| {
                    let budget = p.budget(mib << 20);
                    Tier::new(name, p.as_str(), budget, BYTES_TTL, weigh_bytes, metrics)
                })
                .collect()
        };
        Tiers {
            meta: Tier::new(
                "meta",
                "all",
                budgets.meta_mib << 20,
                META_TTL,
                weigh_record,
                metrics,
            ),
            complete: per_partition("complete", budgets.complete_mib),
            chunks: per_partition("chunk", budgets.chunk_mib),
        }
    }

    /// Small blobs, whole, for the partition's audience.
    pub fn complete(&self, partition: CachePartition) -> &Tier<Hash32, Bytes> {
        &self.complete[partition as usize]
    }

    /// Hot chunks, for the partition's audience.
    pub fn chunks(&self, partition: CachePartition) -> &Tier<Hash32, Bytes> {
        &self.chunks[partition as usize]
    }

    /// Drops a chunk from every partition (it was deleted or found corrupt).
    pub fn forget_chunk(&self, hash: &Hash32) {
        for tier in &self.chunks {
            tier.invalidate(hash);
        }
    }

    /// Refreshes the byte gauges for `/metrics`.
    pub fn observe(&self) {
        self.meta.observe();
        self.complete.iter().chain(&self.chunks).for_each(Tier::observe);
    }
}

fn weigh_bytes(b: &Bytes) -> u64 {
    b.len() as u64
}

fn weigh_record(r: &Arc<BlobRecord>) -> u64 {
    // Each chunk hash is a 64-character string; the rest of a manifest is small.
    512 + 88 * r.manifest.chunks.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers(chunk_mib: u64) -> (Tiers, Metrics) {
        let metrics = Metrics::new();
        let budgets = CacheBudgets {
            meta_mib: 1,
            complete_mib: 1,
            chunk_mib,
        };
        (Tiers::new(budgets, &metrics), metrics)
    }

    fn chunk(i: u32) -> (Hash32, Bytes) {
        let data = Bytes::from(vec![(i % 251) as u8; 64 * 1024]);
        (Hash32::of(&i.to_le_bytes()), data)
    }

    #[test]
    fn a_commons_flood_leaves_personal_bytes_alone() {
        let (tiers, _) = tiers(4);
        let personal = tiers.chunks(CachePartition::Personal);
        let commons = tiers.chunks(CachePartition::Commons);
        for i in 0..8 {
            let (h, b) = chunk(i);
            personal.insert(h, b);
        }
        // 4 MiB budget: commons has 2 MiB, so 64 chunks of 64 KiB are four times its share.
        for round in 0..3 {
            for i in 1000..1064 {
                let (h, b) = chunk(i + round);
                commons.insert(h, b);
            }
        }
        for i in 0..8 {
            assert!(
                personal.get(&chunk(i).0).is_some(),
                "personal chunk {i} was evicted"
            );
        }
        assert!(commons.bytes() <= CachePartition::Commons.budget(4 << 20));
        assert!(personal.bytes() > 0);
    }

    #[test]
    fn budgets_are_bytes_and_evictions_are_counted() {
        let (tiers, metrics) = tiers(1);
        let commons = tiers.chunks(CachePartition::Commons);
        for i in 0..64 {
            let (h, b) = chunk(i);
            commons.insert(h, b.clone());
            commons.get(&h);
        }
        let budget = CachePartition::Commons.budget(1 << 20);
        assert!(commons.bytes() <= budget, "{} > {budget}", commons.bytes());
        tiers.observe();
        let text = metrics.render();
        assert!(text.contains("elohim_cache_evictions_total{partition=\"commons\",tier=\"chunk\"}"));
        assert!(text.contains("elohim_cache_hits_total{partition=\"commons\",tier=\"chunk\"}"));
        assert!(text.contains("elohim_cache_budget_bytes{partition=\"personal\",tier=\"complete\"}"));
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let (tiers, _) = tiers(0);
        let (h, b) = chunk(1);
        let t = tiers.chunks(CachePartition::Commons);
        assert!(!t.enabled());
        t.insert(h, b);
        assert!(t.get(&h).is_none());
    }
}
