//! Where a blob lives: weighted rendezvous (highest-random-weight) hashing over the live
//! custodians that may hold it. Every node that knows the same commitments computes the
//! same ordered list, with integer arithmetic only, so natively and in wasm alike; when a
//! custodian joins or leaves, only the blobs it gains or loses move.

use crate::bandwidth::BandwidthClass;
use crate::place::Place;
use crate::reach::{Audience, Reach};
use crate::role::MediaRole;
use sha2::{Digest, Sha256};

/// The most weight one custodian has in the draw, in GB offered: past this, a larger claim
/// wins no more placements.
pub const MAX_WEIGHT_GB: u64 = 1_000;

/// A live custodian as placement sees it.
#[derive(Debug, Clone)]
pub struct Custodian<'a, A> {
    /// Its agent.
    pub agent: &'a A,
    /// Bytes naming it in the hash (its agent key).
    pub id: &'a [u8],
    /// What it committed to.
    pub role: &'a MediaRole,
    /// What it can send.
    pub bandwidth: BandwidthClass,
    /// Where it is, if it said.
    pub place: Option<&'a Place>,
    /// Bytes it already holds for other blobs.
    pub used_bytes: u64,
}

/// A blob to place and the audience of the content that uses it.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a, A> {
    /// Its SHA-256.
    pub hash: &'a [u8; 32],
    /// Its size in bytes.
    pub size: u64,
    /// The reach of the content.
    pub reach: Reach,
    /// Who the content is for.
    pub audience: Audience<'a, A>,
}

impl<A: PartialEq> Custodian<'_, A> {
    /// Whether this custodian may be asked to keep `blob`: its role serves the reach, it has
    /// room, its bandwidth may carry the reach, and the reach lets it hold the bytes
    /// (private: the author only; invited: author and invitees; place-bound: same place).
    /// The author's own copy is the origin, not a replica, except for private content,
    /// which only its author keeps.
    pub fn may_keep(&self, blob: &Blob<'_, A>) -> bool {
        (blob.reach == Reach::Private || self.agent != blob.audience.author)
            && self.role.serves(blob.reach)
            && self.role.capacity_bytes().saturating_sub(self.used_bytes) >= blob.size
            && self.bandwidth.delivery(blob.reach).is_ok()
            && blob.reach.may_hold(&blob.audience, self.agent, self.place)
    }

    /// Its weight in the draw: the GB it offers (at least 1), so bigger custodians take
    /// proportionally more blobs — up to [`MAX_WEIGHT_GB`]: capacity is only claimed, and
    /// one agent claiming a petabyte must not capture most placements.
    pub fn weight(&self) -> u64 {
        (self.role.capacity_bytes() / 1_000_000_000).clamp(1, MAX_WEIGHT_GB)
    }
}

/// Every custodian that may keep `blob`, best first. Ties (equal scores) fall to the
/// smaller id, so the order is total.
pub fn rank<'c, 'a, A: PartialEq>(
    blob: &Blob<'_, A>,
    custodians: &'c [Custodian<'a, A>],
) -> Vec<&'c Custodian<'a, A>> {
    let mut scored: Vec<(u64, &Custodian<'a, A>)> = custodians
        .iter()
        .filter(|c| c.may_keep(blob))
        .map(|c| (distance(blob.hash, c.id), c))
        .collect();
    // Weighted rendezvous: the smallest -ln(u)/w wins, u the custodian's uniform draw.
    // Compare d1/w1 < d2/w2 as d1*w2 < d2*w1 to stay in integers.
    scored.sort_by(|(d1, a), (d2, b)| {
        let left = u128::from(*d1) * u128::from(b.weight());
        let right = u128::from(*d2) * u128::from(a.weight());
        left.cmp(&right).then_with(|| a.id.cmp(b.id))
    });
    scored.into_iter().map(|(_, c)| c).collect()
}

/// A blob's placement: every custodian that may keep it, best first ([`rank`]), and how
/// many replicas its reach wants. The one entry point for placing a blob: where a
/// custodian ranks, and who holds the blob once those known to be lost are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking<A> {
    order: Vec<A>,
    wanted: usize,
}

impl<A: PartialEq + Clone> Ranking<A> {
    /// Ranks `custodians` for `blob`.
    pub fn of(blob: &Blob<'_, A>, custodians: &[Custodian<'_, A>]) -> Self {
        Ranking {
            order: rank(blob, custodians)
                .into_iter()
                .map(|c| c.agent.clone())
                .collect(),
            wanted: blob.reach.replicas_wanted() as usize,
        }
    }

    /// Every custodian that may keep the blob, best first.
    pub fn order(&self) -> &[A] {
        &self.order
    }

    /// How many replicas the blob's reach wants.
    pub fn wanted(&self) -> usize {
        self.wanted
    }

    /// Where `agent` ranks (0 is first), if it may keep the blob at all.
    pub fn position(&self, agent: &A) -> Option<usize> {
        self.order.iter().position(|a| a == agent)
    }

    /// The custodians that hold the blob when those in `lost` are left out: the first
    /// `wanted` of the rest, in ranking order.
    pub fn holders(&self, lost: &[A]) -> Vec<A> {
        holders(&self.order, lost, self.wanted)
    }
}

/// The custodians placed on a blob, from its ranking ([`rank`]) once those known to be
/// lost are left out: the first `wanted` of the rest, in ranking order. Leaving out the
/// lost keeps the others' order (each custodian's score is its own), so every node that
/// knows the same commitments and replicas places the same custodians.
fn holders<A: PartialEq + Clone>(ranked: &[A], lost: &[A], wanted: usize) -> Vec<A> {
    ranked
        .iter()
        .filter(|a| !lost.contains(a))
        .take(wanted)
        .cloned()
        .collect()
}

/// `-log2(u)` in fixed point (32 fractional bits) for the custodian's draw
/// `u = h / 2^64`, `h` the first 8 bytes of SHA-256(blob ‖ id). Proportional to the
/// exponential variable of weighted rendezvous hashing.
fn distance(blob: &[u8; 32], id: &[u8]) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(blob);
    hasher.update(id);
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let h = u64::from_be_bytes(first) | 1;
    (64u64 << 32) - log2_fixed(h)
}

/// `log2(x)` for `x ≥ 1` with 32 fractional bits, by repeated squaring (exact integer
/// arithmetic, so every platform agrees).
fn log2_fixed(x: u64) -> u64 {
    let int = 63 - u64::from(x.leading_zeros());
    // y = x / 2^int, as a Q1.63 number in [1, 2).
    let mut y = u128::from(x) << (63 - int);
    let mut frac = 0u64;
    for bit in (0..32).rev() {
        y = (y * y) >> 63;
        if y >= 1u128 << 64 {
            y >>= 1;
            frac |= 1 << bit;
        }
    }
    (int << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn storage(gb: u32) -> MediaRole {
        MediaRole::Storage {
            max_storage_gb: gb,
            chunk_redundancy: 1,
        }
    }

    struct Net {
        agents: Vec<u32>,
        ids: Vec<[u8; 4]>,
        roles: Vec<MediaRole>,
    }

    impl Net {
        fn new(n: u32, gb: impl Fn(u32) -> u32) -> Self {
            Net {
                agents: (0..n).collect(),
                ids: (0..n).map(|i| i.to_be_bytes()).collect(),
                roles: (0..n).map(|i| storage(gb(i))).collect(),
            }
        }

        fn custodians(&self) -> Vec<Custodian<'_, u32>> {
            (0..self.agents.len())
                .map(|i| Custodian {
                    agent: &self.agents[i],
                    id: &self.ids[i],
                    role: &self.roles[i],
                    bandwidth: BandwidthClass::High,
                    place: None,
                    used_bytes: 0,
                })
                .collect()
        }
    }

    const AUTHOR: u32 = 1_000_000;

    fn commons(hash: &[u8; 32]) -> Blob<'_, u32> {
        Blob {
            hash,
            size: 1 << 20,
            reach: Reach::Commons,
            audience: Audience {
                author: &AUTHOR,
                invitees: &[],
                place: None,
            },
        }
    }

    fn blob_hashes(n: u32) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| {
                let mut h = [0u8; 32];
                h[..4].copy_from_slice(&i.to_le_bytes());
                h[31] = 0xb1;
                h
            })
            .collect()
    }

    fn ids(placed: &[&Custodian<'_, u32>]) -> Vec<u32> {
        placed.iter().map(|c| *c.agent).collect()
    }

    #[test]
    fn log2_is_exact_on_powers_and_close_elsewhere() {
        for k in 0..64 {
            assert_eq!(log2_fixed(1 << k), (k as u64) << 32);
        }
        let approx = log2_fixed(3) as f64 / (1u64 << 32) as f64;
        assert!((approx - 3f64.log2()).abs() < 1e-8, "{approx}");
    }

    #[test]
    fn a_huge_capacity_claim_wins_no_more_than_the_weight_cap() {
        // Agent 0 claims 100 000 GB, agent 1 the cap; over many blobs they win alike.
        let net = Net::new(2, |i| if i == 0 { 100_000 } else { MAX_WEIGHT_GB as u32 });
        let all = net.custodians();
        assert_eq!(all[0].weight(), all[1].weight());
        let mut first = [0u32; 2];
        for h in blob_hashes(2_000) {
            first[*rank(&commons(&h), &all)[0].agent as usize] += 1;
        }
        let share = f64::from(first[0]) / 2_000.0;
        assert!(
            (0.45..0.55).contains(&share),
            "the claimant won {share} of first places"
        );
    }

    #[test]
    fn wanted_replicas_come_from_the_reach_table() {
        let net = Net::new(30, |_| 100);
        let all = net.custodians();
        let h = [7u8; 32];
        assert_eq!(Ranking::of(&commons(&h), &all).holders(&[]).len(), 25);
        let mut b = commons(&h);
        b.reach = Reach::Municipal;
        // Place-bound reach needs custodians in the content's place; none said where.
        assert!(Ranking::of(&b, &all).holders(&[]).is_empty());
    }

    #[test]
    fn private_blobs_go_to_their_author_alone_and_invited_to_the_circle() {
        let net = Net::new(10, |_| 100);
        let all = net.custodians();
        let h = [9u8; 32];
        let invitees = [3u32, 4];
        let mut b = commons(&h);
        b.audience = Audience {
            author: &net.agents[2],
            invitees: &invitees,
            place: None,
        };
        b.reach = Reach::Private;
        assert_eq!(Ranking::of(&b, &all).holders(&[]), [2]);
        b.reach = Reach::Invited;
        let mut got = ids(&rank(&b, &all));
        got.sort();
        assert_eq!(got, [3, 4], "the invitees; the author keeps the original");
        assert_eq!(Ranking::of(&b, &all).holders(&[]).len(), 2);
    }

    #[test]
    fn room_role_and_bandwidth_filter_custodians() {
        let net = Net::new(3, |i| if i == 0 { 1 } else { 100 });
        let mut all = net.custodians();
        let h = [1u8; 32];
        let mut b = commons(&h);
        b.size = 2_000_000_000;
        assert!(
            !ids(&rank(&b, &all)).contains(&0),
            "1 GB custodian cannot take 2 GB"
        );
        all[1].used_bytes = 99_000_000_000;
        assert!(!ids(&rank(&b, &all)).contains(&1), "full custodian is skipped");
        let cache = MediaRole::Cache {
            max_cache_gb: 100,
            serve_to_reach: vec!["commons".into()],
        };
        all[2].role = &cache;
        assert!(ids(&rank(&b, &all)).contains(&2));
        b.reach = Reach::Private;
        b.audience.author = &net.agents[2];
        assert!(rank(&b, &all).is_empty(), "this cache serves commons only");
        all[2].role = &net.roles[2];
        all[2].bandwidth = BandwidthClass::Low;
        assert!(
            rank(&b, &all).is_empty(),
            "private is not kept on a low-bandwidth custodian"
        );
    }

    #[test]
    fn bigger_custodians_take_proportionally_more() {
        let net = Net::new(10, |i| if i == 0 { 400 } else { 100 });
        let all = net.custodians();
        let hashes = blob_hashes(4000);
        let firsts = hashes
            .iter()
            .filter(|h| *rank(&commons(h), &all)[0].agent == 0)
            .count();
        // Weight 4 of a total 13: expect ~1231 of 4000 first places.
        assert!((1000..1460).contains(&firsts), "{firsts}");
    }

    proptest! {
        /// The placed custodians are the first of the ranking that are not lost, never a
        /// lost one, never more than wanted; with none lost they are the ranking's head.
        #[test]
        fn holders_skip_the_lost_and_keep_the_order(
            ranked in proptest::sample::subsequence((0u32..12).collect::<Vec<_>>(), 0..12),
            lost in proptest::collection::vec(0u32..12, 0..6),
            wanted in 0usize..6,
        ) {
            let placed = holders(&ranked, &lost, wanted);
            prop_assert!(placed.len() <= wanted);
            prop_assert!(placed.iter().all(|a| !lost.contains(a)));
            let alive: Vec<u32> = ranked.iter().copied().filter(|a| !lost.contains(a)).collect();
            prop_assert_eq!(&placed[..], &alive[..placed.len()]);
            prop_assert_eq!(placed.len(), wanted.min(alive.len()));
            let head: Vec<u32> = ranked.iter().copied().take(wanted).collect();
            prop_assert_eq!(holders(&ranked, &[], wanted), head);
            let ranking = Ranking { order: ranked.clone(), wanted };
            let expected: Vec<u32> = alive.iter().copied().take(wanted).collect();
            prop_assert_eq!(ranking.holders(&lost), expected);
            for (i, a) in ranked.iter().enumerate() {
                prop_assert_eq!(ranking.position(a), Some(i));
            }
        }

        #[test]
        fn every_node_computes_the_same_order(n in 2u32..40, seed in any::<u64>(), blob in any::<[u8; 32]>()) {
            let net = Net::new(n, |i| 1 + (i * 37 % 200));
            let all = net.custodians();
            let mut shuffled = all.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(ids(&rank(&commons(&blob), &all)), ids(&rank(&commons(&blob), &shuffled)));
        }

        #[test]
        fn a_leaving_custodian_moves_only_its_own_share(n in 8u32..40, leaver in any::<prop::sample::Index>()) {
            let net = Net::new(n, |_| 100);
            let all = net.custodians();
            let leaver = leaver.index(n as usize) as u32;
            let rest: Vec<_> = all.iter().filter(|c| *c.agent != leaver).cloned().collect();
            let hashes = blob_hashes(300);
            let k = 3;
            let mut moved = 0;
            for h in &hashes {
                let before: Vec<u32> = ids(&rank(&commons(h), &all)).into_iter().take(k).collect();
                let after: Vec<u32> = ids(&rank(&commons(h), &rest)).into_iter().take(k).collect();
                let kept: Vec<u32> = before.iter().copied().filter(|a| *a != leaver).collect();
                // Those that stay keep their order; at most the leaver's slot is refilled.
                prop_assert_eq!(&after[..kept.len()], &kept[..]);
                moved += usize::from(before.contains(&leaver));
            }
            // About k/n of the blobs had the leaver among their k holders.
            let expected = 300.0 * k as f64 / n as f64;
            prop_assert!((moved as f64) < 2.0 * expected + 10.0, "moved {} expected {}", moved, expected);
        }

        #[test]
        fn a_joining_custodian_takes_only_about_its_share(n in 8u32..40) {
            let net = Net::new(n + 1, |_| 100);
            let with = net.custodians();
            let without = &with[..n as usize];
            let hashes = blob_hashes(300);
            let k = 3;
            let mut moved = 0;
            for h in &hashes {
                let before: Vec<u32> = ids(&rank(&commons(h), without)).into_iter().take(k).collect();
                let after: Vec<u32> = ids(&rank(&commons(h), &with)).into_iter().take(k).collect();
                let changed = before.iter().filter(|a| !after.contains(a)).count();
                prop_assert!(changed <= 1);
                if changed == 1 {
                    prop_assert!(after.contains(&n), "only the newcomer displaces anyone");
                    moved += 1;
                }
            }
            let expected = 300.0 * k as f64 / (n + 1) as f64;
            prop_assert!((moved as f64) < 2.0 * expected + 10.0, "moved {} expected {}", moved, expected);
        }
    }
}
