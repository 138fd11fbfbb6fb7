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

/// Whether a replica counts toward a blob being at full strength: verified within half the
/// TTL (the margin keeps statuses that arrive late over the DHT from making replicas flap).
pub fn is_fresh_verified(state: Option<ReplicaState>, age_secs: u64, ttl_secs: u64) -> bool {
    state == Some(ReplicaState::Verified) && age_secs <= ttl_secs / 2
}

/// Whether a custodian has gone silent: it renews its commitment every third of the replica
/// TTL while it runs, so one last renewed longer than a TTL ago — or never, since it
/// committed — is not running and takes no placements.
pub fn is_silent(commitment_age_secs: u64, ttl_secs: u64) -> bool {
    commitment_age_secs > ttl_secs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn health_follows_the_newest_status_and_its_age() {
        use ReplicaState::*;
        assert_eq!(health(Some(Verified), 10, 60), Health::Holding);
        assert_eq!(health(Some(Stored), 61, 60), Health::Lost);
        assert_eq!(health(Some(Failed), 0, 60), Health::Lost);
        assert_eq!(health(None, 0, 60), Health::Lost);
        assert_eq!(health(Some(Evicted), 1_000, 60), Health::Empty);
        assert_eq!(health(Some(Pending), 0, 60), Health::Empty);
        assert!(is_fresh_verified(Some(Verified), 30, 60));
        assert!(!is_fresh_verified(Some(Verified), 31, 60));
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
}
