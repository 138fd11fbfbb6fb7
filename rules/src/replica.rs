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

#[cfg(test)]
mod tests {
    use super::*;

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
