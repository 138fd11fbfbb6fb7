//! The seed's cache scenario, replayed against four caches side by side: many small
//! JSON-sized blobs with Zipf popularity, requested while podcasts and videos are streamed
//! chunk by chunk. Prints the small-item hit ratio, the byte hit ratio and the bytes held.
//!
//! Run: `cargo bench -p media_store --bench cache_tiers --profile dev` (optionally with
//! `-- --requests N --small-share F`, F the share of requests for small items, 0.5 default).

use bytes::Bytes;
use lru::LruCache;
use media_rules::CachePartition;
use media_store::hash::Hash32;
use media_store::metrics::Metrics;
use media_store::tiers::{CacheBudgets, Tiers};
use rand::distributions::Distribution;
use rand::{Rng, SeedableRng};
use rand_distr::Zipf;
use std::collections::{BTreeSet, HashMap};

const MIB: u64 = 1 << 20;
const CHUNK: u64 = MIB;
const SMALL_ITEMS: u32 = 20_000;
const PODCASTS: u32 = 200;
const VIDEOS: u32 = 40;
/// Viewers streaming at once; each play walks its item's chunks in order.
const PLAYS_AT_ONCE: usize = 8;
/// The seed's `CacheConfig { max_entries: 10_000 }`.
const SEED_MAX_ENTRIES: usize = 10_000;

/// One request: what is asked for and how many bytes it is.
#[derive(Clone, Copy)]
struct Request {
    key: u64,
    size: u64,
    small: bool,
}

/// The request stream, reproducible from its seed.
fn workload(requests: usize, small_share: f64) -> Vec<Request> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // Small items: 1–64 KiB, log-uniform; popularity Zipf(0.9).
    let small_sizes: Vec<u64> = (0..SMALL_ITEMS)
        .map(|_| (1024.0 * 64f64.powf(rng.gen::<f64>())) as u64)
        .collect();
    let small_pick = Zipf::new(SMALL_ITEMS as u64, 0.9).expect("valid zipf");
    // Media: podcasts 30–120 MiB, videos 300 MiB–2 GiB; popularity Zipf(0.8).
    let media_sizes: Vec<u64> = (0..PODCASTS + VIDEOS)
        .map(|i| {
            let mib = if i < PODCASTS {
                rng.gen_range(30..=120)
            } else {
                rng.gen_range(300..=2048)
            };
            mib * MIB
        })
        .collect();
    let media_pick = Zipf::new((PODCASTS + VIDEOS) as u64, 0.8).expect("valid zipf");
    let new_play = |rng: &mut rand::rngs::StdRng| -> (u32, u64, u64) {
        let item = media_pick.sample(rng) as u32 - 1;
        let chunks = media_sizes[item as usize].div_ceil(CHUNK);
        // Viewers watch 20–100% of what they start.
        let watched = (chunks as f64 * rng.gen_range(0.2..=1.0)).ceil() as u64;
        (item, 0, watched)
    };
    let mut plays: Vec<(u32, u64, u64)> = (0..PLAYS_AT_ONCE).map(|_| new_play(&mut rng)).collect();
    let mut out = Vec::with_capacity(requests);
    while out.len() < requests {
        if rng.gen_bool(small_share) {
            let i = small_pick.sample(&mut rng) as u64 - 1;
            out.push(Request {
                key: i,
                size: small_sizes[i as usize],
                small: true,
            });
        } else {
            let p = rng.gen_range(0..PLAYS_AT_ONCE);
            let (item, next, watched) = plays[p];
            out.push(Request {
                key: (1u64 << 40) | (u64::from(item) << 20) | next,
                size: CHUNK.min(media_sizes[item as usize] - next * CHUNK),
                small: false,
            });
            plays[p] = if next + 1 < watched {
                (item, next + 1, watched)
            } else {
                new_play(&mut rng)
            };
        }
    }
    out
}

/// Hit counts of one cache over the stream.
#[derive(Default)]
struct Score {
    small_hits: u64,
    small_requests: u64,
    bytes_hit: u64,
    bytes_requested: u64,
    peak_bytes: u64,
}

impl Score {
    fn record(&mut self, r: &Request, hit: bool) {
        self.bytes_requested += r.size;
        if r.small {
            self.small_requests += 1;
        }
        if hit {
            self.bytes_hit += r.size;
            if r.small {
                self.small_hits += 1;
            }
        }
    }
}

/// (a) The sidecar's tiers: small blobs in the complete tier, media chunks in the chunk
/// tier, both in the commons partition, with moka's size-aware TinyLFU.
fn tiers(stream: &[Request], budgets: CacheBudgets) -> Score {
    let metrics = Metrics::new();
    let tiers = Tiers::new(budgets, &metrics);
    let mut score = Score::default();
    let payload = Bytes::from(vec![0u8; CHUNK as usize]);
    for (i, r) in stream.iter().enumerate() {
        let key = Hash32::of(&r.key.to_le_bytes());
        let tier = if r.small {
            tiers.complete(CachePartition::Commons)
        } else {
            tiers.chunks(CachePartition::Commons)
        };
        let hit = tier.get(&key).is_some();
        if !hit {
            tier.insert(key, payload.slice(..r.size as usize));
        }
        score.record(r, hit);
        if i % 10_000 == 0 {
            let held = tiers.complete(CachePartition::Commons).bytes()
                + tiers.chunks(CachePartition::Commons).bytes();
            score.peak_bytes = score.peak_bytes.max(held);
        }
    }
    score
}

/// (b) The seed's cache: an LRU bounded by entry count.
fn count_lru(stream: &[Request]) -> Score {
    let mut cache: LruCache<u64, u64> =
        LruCache::new(std::num::NonZeroUsize::new(SEED_MAX_ENTRIES).expect("nonzero"));
    let mut score = Score::default();
    let mut held = 0u64;
    for r in stream {
        let hit = cache.get(&r.key).is_some();
        if !hit {
            if let Some((_, size)) = cache.push(r.key, r.size) {
                held -= size;
            }
            held += r.size;
        }
        score.peak_bytes = score.peak_bytes.max(held);
        score.record(r, hit);
    }
    score
}

/// (c) One LRU bounded by bytes.
fn byte_lru(stream: &[Request], budget: u64) -> Score {
    let mut cache: LruCache<u64, u64> = LruCache::unbounded();
    let mut score = Score::default();
    let mut held = 0u64;
    for r in stream {
        let hit = cache.get(&r.key).is_some();
        if !hit && r.size <= budget {
            cache.put(r.key, r.size);
            held += r.size;
            while held > budget {
                let (_, size) = cache.pop_lru().expect("over budget means not empty");
                held -= size;
            }
        }
        score.peak_bytes = score.peak_bytes.max(held);
        score.record(r, hit);
    }
    score
}

/// (d) Bélády with sizes: knowing the future, evict what is needed farthest ahead, and do
/// not admit an item needed later than everything it would push out. For equal sizes this
/// is the optimum; with sizes it is the usual offline reference, not a proven optimum.
fn belady(stream: &[Request], budget: u64) -> Score {
    let mut next_use = vec![u64::MAX; stream.len()];
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for (t, r) in stream.iter().enumerate().rev() {
        next_use[t] = seen.insert(r.key, t as u64).unwrap_or(u64::MAX);
    }
    let mut by_next: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut held_items: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut held = 0u64;
    let mut score = Score::default();
    for (t, r) in stream.iter().enumerate() {
        let next = next_use[t];
        let hit = if let Some((n, size)) = held_items.get(&r.key).copied() {
            by_next.remove(&(n, r.key));
            if next == u64::MAX {
                held_items.remove(&r.key);
                held -= size;
            } else {
                by_next.insert((next, r.key));
                held_items.insert(r.key, (next, size));
            }
            true
        } else {
            if next != u64::MAX && r.size <= budget {
                let mut victims = Vec::new();
                let mut freed = 0;
                for &(n, k) in by_next.iter().rev() {
                    if held - freed + r.size <= budget || n < next {
                        break;
                    }
                    victims.push((n, k));
                    freed += held_items[&k].1;
                }
                if held - freed + r.size <= budget {
                    for v in victims {
                        by_next.remove(&v);
                        held_items.remove(&v.1);
                    }
                    held = held - freed + r.size;
                    by_next.insert((next, r.key));
                    held_items.insert(r.key, (next, r.size));
                }
            }
            false
        };
        score.peak_bytes = score.peak_bytes.max(held);
        score.record(r, hit);
    }
    score
}

/// One cache's replay of the stream.
type Run<'a> = Box<dyn Fn() -> Score + 'a>;

/// The value after flag `name` on the command line.
fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::args().skip_while(|a| a != name).nth(1)?.parse().ok()
}

fn main() {
    let requests = arg("--requests").unwrap_or(2_000_000);
    let small_share = arg("--small-share").unwrap_or(0.5);
    let budgets = CacheBudgets::default();
    // What the tiers give commons bytes: the byte-bounded baselines get the same.
    let budget = CachePartition::Commons.budget(budgets.complete_mib * MIB)
        + CachePartition::Commons.budget(budgets.chunk_mib * MIB);
    let stream = workload(requests, small_share);
    let small = stream.iter().filter(|r| r.small).count();
    let bytes: u64 = stream.iter().map(|r| r.size).sum();
    println!(
        "{requests} requests: {small} for {SMALL_ITEMS} small items (1-64 KiB, Zipf 0.9), {} media chunks \
         of {PODCASTS} podcasts and {VIDEOS} videos (Zipf 0.8, {PLAYS_AT_ONCE} plays at once); {:.1} GiB asked",
        requests - small,
        bytes as f64 / (1u64 << 30) as f64
    );
    println!(
        "byte budget for (a), (c), (d): {} MiB (commons shares of the default tiers: complete {} + chunk {})",
        budget / MIB,
        CachePartition::Commons.budget(budgets.complete_mib * MIB) / MIB,
        CachePartition::Commons.budget(budgets.chunk_mib * MIB) / MIB
    );
    println!(
        "{:<44} {:>16} {:>15} {:>15}",
        "cache", "small-item hits", "byte hit ratio", "peak MiB held"
    );
    let runs: [(&str, Run); 4] = [
        (
            "(a) elohim tiers (moka TinyLFU, by bytes)",
            Box::new(|| tiers(&stream, budgets)),
        ),
        ("(b) seed LRU, 10 000 entries", Box::new(|| count_lru(&stream))),
        ("(c) LRU by bytes", Box::new(|| byte_lru(&stream, budget))),
        (
            "(d) Bélády offline, by bytes",
            Box::new(|| belady(&stream, budget)),
        ),
    ];
    for (name, run) in runs {
        let s = run();
        println!(
            "{:<44} {:>15.1}% {:>14.1}% {:>15.0}",
            name,
            100.0 * s.small_hits as f64 / s.small_requests.max(1) as f64,
            100.0 * s.bytes_hit as f64 / s.bytes_requested.max(1) as f64,
            s.peak_bytes as f64 / MIB as f64
        );
    }
}
