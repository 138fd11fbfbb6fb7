//! The content lifecycle state machine:
//! draft → published → stale → deprecated → archived → forgotten.

crate::named_enum! {
    /// Where a piece of content is in its life.
    Lifecycle {
        /// Being written; visible to its author only.
        Draft => "draft",
        /// Live at its reach.
        Published => "published",
        /// Past its refresh interval; still served, flagged for review.
        Stale => "stale",
        /// Superseded; served until its retention ends, then garbage-collected.
        Deprecated => "deprecated",
        /// Kept for the record; garbage-collected after retention.
        Archived => "archived",
        /// Gone: no bytes are kept and no move leaves this state.
        Forgotten => "forgotten",
    }
}

impl Lifecycle {
    /// The states this one may move to. Staying put is not a move.
    pub fn next_states(self) -> &'static [Lifecycle] {
        use Lifecycle::*;
        match self {
            Draft => &[Published, Forgotten],
            Published => &[Stale, Deprecated, Archived],
            Stale => &[Published, Deprecated, Archived],
            Deprecated => &[Archived, Forgotten],
            Archived => &[Forgotten],
            Forgotten => &[],
        }
    }

    /// Whether `self → to` is allowed (staying in the same state always is).
    pub fn can_move_to(self, to: Lifecycle) -> bool {
        self == to || self.next_states().contains(&to)
    }

    /// Checks a move and explains a refusal.
    pub fn check_move(self, to: Lifecycle) -> Result<(), String> {
        if self.can_move_to(to) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.next_states().iter().map(|s| s.as_str()).collect();
        Err(format!(
            "lifecycle cannot move from {self} to {to}; from {self} it may move to: {}",
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(", ")
            }
        ))
    }

    /// Whether readers other than the author see content in this state.
    pub fn is_visible_to_audience(self) -> bool {
        matches!(
            self,
            Lifecycle::Published | Lifecycle::Stale | Lifecycle::Deprecated
        )
    }

    /// Whether custodians should keep the bytes (before any retention runs out).
    pub fn keeps_bytes(self) -> bool {
        !matches!(self, Lifecycle::Forgotten)
    }

    /// Whether retention applies: past it, bytes are garbage-collected.
    pub fn is_retiring(self) -> bool {
        matches!(self, Lifecycle::Deprecated | Lifecycle::Archived)
    }

    /// Whether custodians should drop the bytes of content in this state, last updated
    /// `age_secs` ago with `retention_days` of retention: forgotten content at once,
    /// deprecated or archived content once its retention has run out.
    pub fn is_retired(self, age_secs: u64, retention_days: u32) -> bool {
        !self.keeps_bytes() || (self.is_retiring() && age_secs >= u64::from(retention_days) * 86_400)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn retention_runs_out_only_for_retiring_content() {
        use Lifecycle::*;
        assert!(Forgotten.is_retired(0, 30));
        assert!(!Archived.is_retired(29 * 86_400, 30));
        assert!(Archived.is_retired(30 * 86_400, 30));
        assert!(Deprecated.is_retired(86_400, 1));
        for live in [Draft, Published, Stale] {
            assert!(!live.is_retired(u64::MAX, 0), "{live}");
        }
    }
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seed_chain_is_allowed_step_by_step() {
        for pair in Lifecycle::ALL.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn forgotten_is_final() {
        for s in Lifecycle::ALL {
            assert_eq!(Lifecycle::Forgotten.can_move_to(*s), *s == Lifecycle::Forgotten);
        }
    }

    #[test]
    fn refusals_name_both_states() {
        let err = Lifecycle::Archived.check_move(Lifecycle::Published).unwrap_err();
        assert!(err.contains("archived") && err.contains("published"), "{err}");
        assert!(Lifecycle::Draft.check_move(Lifecycle::Stale).is_err());
    }

    fn any_state() -> impl Strategy<Value = Lifecycle> {
        proptest::sample::select(Lifecycle::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn nothing_leaves_archived_but_forgetting(to in any_state()) {
            prop_assert_eq!(
                Lifecycle::Archived.can_move_to(to),
                matches!(to, Lifecycle::Archived | Lifecycle::Forgotten)
            );
        }

        #[test]
        fn no_walk_returns_to_draft(path in proptest::collection::vec(any_state(), 1..12)) {
            let mut state = Lifecycle::Draft;
            let mut left_draft = false;
            for to in path {
                if state.can_move_to(to) {
                    state = to;
                    left_draft |= state != Lifecycle::Draft;
                    prop_assert!(!(left_draft && state == Lifecycle::Draft));
                }
            }
        }

        #[test]
        fn check_move_agrees_with_can_move(from in any_state(), to in any_state()) {
            prop_assert_eq!(from.check_move(to).is_ok(), from.can_move_to(to));
        }
    }
}
