//! What a custodian does with each blob in a round, decided from facts alone: the
//! content's lifecycle, where this custodian ranks, who holds the blob and what this
//! custodian keeps already. The round ([`super::Worker::round`]) gathers the facts and
//! carries the decisions out: it pulls, records and evicts.

use media_rules::{Lifecycle, Reach};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How far past the wanted count a custodian may stand in a blob's ranking by commitments
/// and still read its replicas each round: it is placed on the blob once that many ranked
/// before it lost their replicas while still committed. A custodian that stops
/// altogether goes silent and leaves the ranking by its commitment alone.
pub const LOST_MARGIN: usize = 3;

/// What a round does with a piece of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentStep {
    /// Past its retention: the replicas of its blobs go now.
    Retired,
    /// This custodian's own content: its node keeps the uploads, not as custodian.
    Own,
    /// Its lifecycle or reach is not one this version knows: left alone.
    Unknown,
    /// To place, with this reach.
    Place(Reach),
}

/// What a round does with content in `lifecycle` and `reach`, written `age_secs` ago with
/// `retention_days`; `own`: whether this custodian's agent wrote it.
pub(crate) fn content_step(
    lifecycle: &str,
    reach: &str,
    retention_days: u32,
    age_secs: u64,
    own: bool,
) -> ContentStep {
    let Ok(lifecycle) = Lifecycle::parse(lifecycle) else {
        return ContentStep::Unknown;
    };
    if lifecycle.is_retired(age_secs, retention_days) {
        return ContentStep::Retired;
    }
    if own {
        return ContentStep::Own;
    }
    match Reach::parse(reach) {
        Ok(reach) => ContentStep::Place(reach),
        Err(_) => ContentStep::Unknown,
    }
}

/// Where a custodian stands in a blob's ranking by commitments alone, before it reads a
/// replica: what decides whether the blob's replicas are read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Placed on the blob and keeping it: nothing can take it away but the commitments,
    /// so its replicas are not read.
    Sure,
    /// Placed, near enough to be placed once others are lost ([`LOST_MARGIN`]), or keeping
    /// the blob: its replicas are read.
    Near,
    /// None of those: only the blob's facts stay in memory.
    Far,
}

/// Where a custodian at `position` of the ranking (`None`: it may not keep the blob)
/// stands for a blob wanting `wanted` replicas; `keeps`: whether it keeps a replica now.
pub(crate) fn standing(position: Option<usize>, wanted: usize, keeps: bool) -> Standing {
    match position {
        Some(p) if keeps && p < wanted => Standing::Sure,
        Some(p) if p < wanted + LOST_MARGIN => Standing::Near,
        _ if keeps => Standing::Near,
        _ => Standing::Far,
    }
}

/// What a custodian does with a blob once it knows who holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Duty {
    /// Placed on it: keep it (pull it when missing) and record it.
    Hold,
    /// Not placed, but keeping it while the placed custodians are not all verified: an
    /// extra replica is dropped only once the blob is at full strength without it.
    Interim,
    /// Not placed, keeping it, and the blob is at full strength without this copy: drop it.
    Release,
    /// Neither placed nor keeping it.
    Nothing,
}

/// The duty of custodian `me` for a blob `holders` hold; `keeps`: whether `me` keeps a
/// replica now; `covered`: whether every holder's replica is verified and fresh.
pub(crate) fn duty<A: PartialEq>(me: &A, holders: &[A], keeps: bool, covered: bool) -> Duty {
    match (holders.contains(me), keeps, covered) {
        (true, _, _) => Duty::Hold,
        (false, false, _) => Duty::Nothing,
        (false, true, false) => Duty::Interim,
        (false, true, true) => Duty::Release,
    }
}

/// The replicas a custodian gives up this round, of those it keeps (`kept`: replica and
/// blob). A replica of a blob the round kept (`keep`) stays. Of the others, one the round
/// found clearly unwanted (`settled`: retired, or released) goes now; one merely missing
/// from this round's reading (its content not listed, say) goes only after it has been
/// unwanted for `grace`, so a DHT read that misses some links does not throw copies away.
/// `unwanted_since` remembers, across rounds, when each was first found unwanted (the
/// caller forgets a replica there once it is evicted; one whose eviction failed keeps its
/// time).
pub(crate) fn evictions<'k, R, B>(
    kept: impl IntoIterator<Item = (&'k R, &'k B)>,
    keep: &HashSet<B>,
    settled: &HashSet<R>,
    unwanted_since: &mut HashMap<R, Instant>,
    now: Instant,
    grace: Duration,
) -> Vec<R>
where
    R: Eq + Hash + Clone + 'k,
    B: Eq + Hash + 'k,
{
    let unwanted: Vec<&R> = kept
        .into_iter()
        .filter(|(_, blob)| !keep.contains(blob))
        .map(|(r, _)| r)
        .collect();
    unwanted_since.retain(|r, _| unwanted.contains(&r));
    let gone: Vec<R> = unwanted
        .into_iter()
        .filter(|r| {
            let since = *unwanted_since.entry((*r).clone()).or_insert(now);
            settled.contains(*r) || now.saturating_duration_since(since) >= grace
        })
        .cloned()
        .collect();
    gone
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retired_content_goes_before_anything_else_is_asked() {
        let day = 86_400;
        assert_eq!(
            content_step("archived", "commons", 1, 2 * day, true),
            ContentStep::Retired,
            "even the custodian's own content: its replicas go"
        );
        assert_eq!(
            content_step("published", "commons", 1, 2 * day, true),
            ContentStep::Own
        );
        assert_eq!(
            content_step("published", "commons", 0, 0, false),
            ContentStep::Place(Reach::Commons)
        );
        assert_eq!(
            content_step("published", "galactic", 0, 0, false),
            ContentStep::Unknown
        );
        assert_eq!(
            content_step("melted", "commons", 0, 0, false),
            ContentStep::Unknown
        );
    }

    #[test]
    fn standing_reads_replicas_only_near_the_placed_ones() {
        assert_eq!(standing(Some(0), 2, true), Standing::Sure);
        assert_eq!(
            standing(Some(0), 2, false),
            Standing::Near,
            "placed, not yet kept"
        );
        assert_eq!(standing(Some(2 + LOST_MARGIN - 1), 2, false), Standing::Near);
        assert_eq!(standing(Some(2 + LOST_MARGIN), 2, false), Standing::Far);
        assert_eq!(
            standing(Some(9), 2, true),
            Standing::Near,
            "kept: its replicas decide"
        );
        assert_eq!(standing(None, 2, true), Standing::Near);
        assert_eq!(standing(None, 2, false), Standing::Far);
    }

    #[test]
    fn an_extra_replica_goes_only_once_the_placed_ones_are_verified() {
        let holders = [1u8, 2];
        assert_eq!(duty(&1, &holders, false, false), Duty::Hold);
        assert_eq!(duty(&3, &holders, true, false), Duty::Interim);
        assert_eq!(duty(&3, &holders, true, true), Duty::Release);
        assert_eq!(duty(&3, &holders, false, true), Duty::Nothing);
    }

    #[test]
    fn a_replica_missing_from_one_reading_waits_out_the_grace() {
        let grace = Duration::from_secs(60);
        let start = Instant::now();
        let later = start + grace / 2;
        let pairs = |kept: &'static [(&'static str, u8)]| kept.iter().map(|(r, b)| (r, b));
        let keep: HashSet<u8> = [1].into();
        let mut since = HashMap::new();
        let all: &'static [(&str, u8)] = &[("a", 1), ("b", 2), ("c", 3)];
        let gone = evictions(pairs(all), &keep, &["b"].into(), &mut since, start, grace);
        assert_eq!(gone, ["b"], "a is kept, b is settled, c waits");
        let left: &'static [(&str, u8)] = &[("a", 1), ("c", 3)];
        assert!(evictions(pairs(left), &keep, &HashSet::new(), &mut since, later, grace).is_empty());
        let gone = evictions(
            pairs(left),
            &keep,
            &HashSet::new(),
            &mut since,
            start + grace,
            grace,
        );
        assert_eq!(gone, ["c"], "unwanted for the whole grace");
        // Its eviction failed (the DHT did not answer): it keeps its time and goes next round.
        let again = start + grace + Duration::from_secs(1);
        assert_eq!(
            evictions(pairs(left), &keep, &HashSet::new(), &mut since, again, grace),
            ["c"]
        );
        since.remove("c"); // evicted, as the round does
        assert!(since.is_empty());
        // Wanted again in between: the clock starts over.
        evictions(pairs(left), &keep, &HashSet::new(), &mut since, start, grace);
        let keep_all: HashSet<u8> = [1, 3].into();
        assert!(evictions(pairs(left), &keep_all, &HashSet::new(), &mut since, later, grace).is_empty());
        assert!(since.is_empty());
        assert!(evictions(
            pairs(left),
            &keep,
            &HashSet::new(),
            &mut since,
            start + grace,
            grace
        )
        .is_empty());
    }

    proptest! {
        /// A replica of a blob the round keeps never goes; a settled one always does.
        #[test]
        fn evictions_never_take_a_kept_blob(
            kept in proptest::collection::hash_map(0u8..20, 0u8..8, 0..12),
            keep in proptest::collection::hash_set(0u8..8, 0..8),
            settled in proptest::collection::hash_set(0u8..20, 0..10),
            waited in 0u64..120,
        ) {
            let grace = Duration::from_secs(60);
            let start = Instant::now();
            let mut since: HashMap<u8, Instant> = kept.keys().map(|r| (*r, start)).collect();
            let now = start + Duration::from_secs(waited);
            let gone = evictions(&kept, &keep, &settled, &mut since, now, grace);
            for (r, b) in &kept {
                let goes = !keep.contains(b) && (settled.contains(r) || waited >= 60);
                prop_assert_eq!(gone.contains(r), goes, "replica {} of blob {}", r, b);
            }
            // Until the round evicts it, a replica that goes keeps the time it was found unwanted.
            for r in &gone {
                prop_assert!(since.contains_key(r));
            }
        }
    }
}
