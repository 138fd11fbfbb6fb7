//! Replica states and the moves between them.

crate::named_enum! {
    /// What a custodian reports about its copy of a blob.
    ReplicaState {
        /// Assigned, not yet fetched.
        Pending => "pending",
        /// Every chunk fetched and written.
        Stored => "stored",
        /// Every chunk re-read and its SHA-256 checked.
        Verified => "verified",
        /// Fetching or verifying failed.
        Failed => "failed",
        /// Dropped (garbage-collected or handed over).
        Evicted => "evicted",
    }
}

impl ReplicaState {
    /// Whether a status may move from `self` to `to`. Refreshing a state is allowed.
    pub fn can_move_to(self, to: ReplicaState) -> bool {
        use ReplicaState::*;
        match (self, to) {
            (_, Failed) | (_, Evicted) => true,
            (Evicted, _) => to == Pending,
            (Pending | Failed, Pending | Stored | Verified) => true,
            (Stored | Verified, Stored | Verified) => true,
            _ => false,
        }
    }

    /// Whether this status says the custodian holds every chunk.
    pub fn holds_bytes(self) -> bool {
        matches!(self, ReplicaState::Stored | ReplicaState::Verified)
    }
}

/// What every node concludes about one custodian's copy of a blob, from the custodian's
/// newest status for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It holds the bytes and said so within the replica TTL.
    Holding,
    /// It said it held them but went quiet for longer than the TTL, or it failed: placement
    /// skips it, and the next custodian in rendezvous order takes the blob over.
    Lost,
    /// It holds nothing and claims nothing (pending, evicted).
    Empty,
}

/// The health of a replica whose newest status is `state` (`None`: unknown), written
/// `age_secs` ago, for a replica TTL of `ttl_secs`.
pub fn health(state: Option<ReplicaState>, age_secs: u64, ttl_secs: u64) -> Health {
    match state {
        Some(s) if s.holds_bytes() && age_secs > ttl_secs => Health::Lost,
        Some(s) if s.holds_bytes() => Health::Holding,
        Some(ReplicaState::Failed) | None => Health::Lost,
        Some(_) => Health::Empty,
    }
}

/// How many times per replica TTL a running custodian refreshes each status it keeps and
/// renews its commitment: one refresh may be late or lost before it counts as silent.
pub const REFRESHES_PER_TTL: u32 = 3;

/// How long a running custodian leaves a status or its commitment before refreshing it.
pub fn refresh_period(ttl: core::time::Duration) -> core::time::Duration {
    ttl / REFRESHES_PER_TTL
}

/// Whether a replica counts toward a blob being at full strength: verified within two
/// refresh periods ([`refresh_period`]), one on schedule and one for the refresh to reach
/// the reader over the DHT. An older one may be a custodian that stopped; an extra copy
/// stays until it is refreshed or counts as lost.
pub fn is_fresh_verified(state: Option<ReplicaState>, age_secs: u64, ttl_secs: u64) -> bool {
    state == Some(ReplicaState::Verified) && age_secs <= ttl_secs / u64::from(REFRESHES_PER_TTL) * 2
}

/// Whether a custodian has gone silent: it renews its commitment every [`refresh_period`]
/// while it runs, so one last renewed longer than a TTL ago — or never, since it
/// committed — is not running and takes no placements.
pub fn is_silent(commitment_age_secs: u64, ttl_secs: u64) -> bool {
    commitment_age_secs > ttl_secs
}

/// How many statuses a custodian writes citing one version of its commitment before it
/// renews it. Validating a status reads the custodian's chain from the cited version on, to
/// check that the commitment was neither withdrawn nor superseded since; renewing this often
/// keeps that read short however many replicas a custodian keeps.
pub const STATUSES_PER_RENEWAL: u32 = 50;

/// Whether a custodian that wrote `statuses` statuses since it last renewed its commitment
/// renews it before the next one.
pub fn renews_before_status(statuses: u32) -> bool {
    statuses >= STATUSES_PER_RENEWAL
}

/// One status a custodian wrote about its copy of a blob, as the health rules read it.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a, A> {
    /// The custodian that wrote it.
    pub custodian: &'a A,
    /// The state it reports (`None`: not a state this version knows).
    pub state: Option<ReplicaState>,
    /// When it was written (any clock that orders a custodian's statuses).
    pub written_at: i64,
    /// How long ago it was written, in seconds.
    pub age_secs: u64,
}

/// The custodians whose newest status for a blob makes them [`Health::Lost`]: every node
/// skips them when it places the blob. One that evicted its copy is not lost; one that
/// never reported is caught by its commitment going silent ([`is_silent`]).
pub fn lost<'a, A: PartialEq>(reports: &[Report<'a, A>], ttl_secs: u64) -> Vec<&'a A> {
    let mut out: Vec<&'a A> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        // The newest of its custodian's statuses; of equal times, the first listed.
        let newest = reports.iter().enumerate().all(|(j, o)| {
            o.custodian != r.custodian
                || o.written_at < r.written_at
                || (o.written_at == r.written_at && j >= i)
        });
        if newest && health(r.state, r.age_secs, ttl_secs) == Health::Lost && !out.contains(&r.custodian) {
            out.push(r.custodian);
        }
    }
    out
}

/// Whether every custodian in `holders` has a verified replica refreshed on schedule
/// ([`is_fresh_verified`]): the blob is at full strength, and an extra copy elsewhere
/// may go.
pub fn covered<A: PartialEq>(holders: &[A], reports: &[Report<'_, A>], ttl_secs: u64) -> bool {
    holders.iter().all(|h| {
        reports
            .iter()
            .any(|r| r.custodian == h && is_fresh_verified(r.state, r.age_secs, ttl_secs))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_custodian_renews_its_commitment_every_so_many_statuses() {
        assert!(!renews_before_status(0));
        assert!(!renews_before_status(STATUSES_PER_RENEWAL - 1));
        assert!(renews_before_status(STATUSES_PER_RENEWAL));
    }

    #[test]
    fn health_follows_the_newest_status_and_its_age() {
        use ReplicaState::*;
        assert_eq!(health(Some(Verified), 10, 60), Health::Holding);
        assert_eq!(health(Some(Stored), 61, 60), Health::Lost);
        assert_eq!(health(Some(Failed), 0, 60), Health::Lost);
        assert_eq!(health(None, 0, 60), Health::Lost);
        assert_eq!(health(Some(Evicted), 1_000, 60), Health::Empty);
        assert_eq!(health(Some(Pending), 0, 60), Health::Empty);
        // Refreshed every 20 s, and up to 20 s on the way: 40 s old still counts.
        assert_eq!(refresh_period(core::time::Duration::from_secs(60)).as_secs(), 20);
        assert!(is_fresh_verified(Some(Verified), 40, 60));
        assert!(!is_fresh_verified(Some(Verified), 41, 60));
        assert!(!is_fresh_verified(Some(Stored), 0, 60));
        assert!(is_silent(61, 60) && !is_silent(60, 60));
    }

    proptest! {
        /// A replica that holds bytes only gets worse with age, never better.
        #[test]
        fn ageing_never_heals_a_replica(age in 0u64..10_000, later in 0u64..10_000, ttl in 1u64..5_000) {
            for state in ReplicaState::ALL {
                let before = health(Some(*state), age, ttl);
                let after = health(Some(*state), age + later, ttl);
                if before == Health::Lost {
                    prop_assert_eq!(after, Health::Lost);
                }
                if is_fresh_verified(Some(*state), age + later, ttl) {
                    prop_assert!(is_fresh_verified(Some(*state), age, ttl));
                }
            }
        }
    }

    #[test]
    fn moves() {
        use ReplicaState::*;
        assert!(Pending.can_move_to(Stored));
        assert!(Stored.can_move_to(Verified));
        assert!(Verified.can_move_to(Verified));
        assert!(Verified.can_move_to(Evicted));
        assert!(!Evicted.can_move_to(Verified));
        assert!(Evicted.can_move_to(Pending));
        assert!(!Verified.can_move_to(Pending));
    }

    fn report(custodian: &u32, state: ReplicaState, written_at: i64, age_secs: u64) -> Report<'_, u32> {
        Report {
            custodian,
            state: Some(state),
            written_at,
            age_secs,
        }
    }

    #[test]
    fn a_custodian_is_lost_by_its_newest_status_only() {
        let (a, b, c) = (1u32, 2u32, 3u32);
        let reports = [
            // a failed once, then verified: not lost.
            report(&a, ReplicaState::Failed, 1, 50),
            report(&a, ReplicaState::Verified, 2, 10),
            // b verified, then went quiet past the TTL: lost.
            report(&b, ReplicaState::Verified, 3, 500),
            // c evicted its copy: empty, not lost.
            report(&c, ReplicaState::Evicted, 4, 500),
        ];
        assert_eq!(lost(&reports, 100), [&b]);
        assert!(covered(&[a], &reports, 100));
        assert!(!covered(&[a, b], &reports, 100), "b's copy is stale");
        assert!(
            covered::<u32>(&[], &reports, 100),
            "no holder wanted: nothing missing"
        );
    }

    proptest! {
        #[test]
        fn lost_follows_each_custodians_newest_status(
            statuses in proptest::collection::vec((0u32..4, 0usize..5, 0i64..50, 0u64..300), 0..12),
            ttl in 1u64..200,
        ) {
            let agents: Vec<u32> = (0..4).collect();
            let states = [
                ReplicaState::Pending,
                ReplicaState::Stored,
                ReplicaState::Verified,
                ReplicaState::Failed,
                ReplicaState::Evicted,
            ];
            let reports: Vec<Report<'_, u32>> = statuses
                .iter()
                .map(|&(who, state, at, age)| report(&agents[who as usize], states[state], at, age))
                .collect();
            let found = lost(&reports, ttl);
            for agent in &agents {
                let newest = reports
                    .iter()
                    .filter(|r| r.custodian == agent)
                    .fold(None::<&Report<'_, u32>>, |best, r| match best {
                        Some(b) if b.written_at >= r.written_at => Some(b),
                        _ => Some(r),
                    });
                let expect = newest.is_some_and(|r| health(r.state, r.age_secs, ttl) == Health::Lost);
                prop_assert_eq!(found.contains(&agent), expect, "agent {}", agent);
            }
            let mut unique = found.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), found.len());
            // Fewer holders never make a blob weaker: covering all covers each prefix.
            if covered(&agents, &reports, ttl) {
                for k in 0..agents.len() {
                    prop_assert!(covered(&agents[..k], &reports, ttl));
                }
            }
        }
    }
}
