//! Seals on verified chunk files: a chunk hashed once is trusted again without hashing it
//! while its file is the same file, unchanged since then, and the hash is not too old.
//!
//! "Unchanged" is the file's [`Identity`]: device, inode, length, mtime and ctime. Any
//! write to the file moves its ctime, which only the kernel can set. Two writes within
//! one tick of a coarse clock can share a ctime, so a file changed within [`SETTLE`] of
//! its verification is not sealed (it is hashed again at its next read). A seal older
//! than [`RECHECK_AFTER`] is not trusted either: that bounds how long silent corruption
//! below the filesystem (which moves no timestamp) can go unnoticed.

use crate::chunks::Identity;
use std::time::{Duration, SystemTime};

/// How long a verification is trusted for an unchanged file.
pub(crate) const RECHECK_AFTER: Duration = Duration::from_secs(3600);

/// How long after its last change a file must have been left alone for its hash to seal
/// it (longer than any filesystem's timestamp granularity).
pub(crate) const SETTLE: Duration = Duration::from_secs(1);

/// A chunk file as it was when its bytes were last found to hash to its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seal {
    /// The file then.
    pub identity: Identity,
    /// When the hashing began.
    pub at: SystemTime,
}

impl Seal {
    /// The seal of a verification that began at `started`, read `before` and `after` the
    /// hashing; `None` when the file changed during it or too shortly before it.
    pub(crate) fn of(before: Identity, after: Identity, started: SystemTime) -> Option<Seal> {
        let changed = SystemTime::UNIX_EPOCH
            + Duration::from_nanos(u64::try_from(before.ctime_ns.max(before.mtime_ns)).ok()?);
        let settled = changed + SETTLE <= started;
        (before == after && settled).then_some(Seal {
            identity: before,
            at: started,
        })
    }

    /// Whether a file whose identity is `now` may be served on this seal at `time`
    /// without hashing it again.
    pub(crate) fn holds_for(&self, now: &Identity, time: SystemTime) -> bool {
        self.identity == *now && time.duration_since(self.at).is_ok_and(|age| age < RECHECK_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(ctime_s: i128) -> Identity {
        Identity {
            dev: 1,
            ino: 2,
            len: 3,
            mtime_ns: ctime_s * 1_000_000_000,
            ctime_ns: ctime_s * 1_000_000_000,
        }
    }

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn a_file_left_alone_is_sealed_and_trusted_until_the_recheck() {
        let seal = Seal::of(file(100), file(100), at(200)).expect("settled");
        assert!(seal.holds_for(&file(100), at(200)));
        assert!(seal.holds_for(&file(100), at(200 + 3599)));
        assert!(!seal.holds_for(&file(100), at(200 + 3600)), "a recheck is due");
    }

    #[test]
    fn a_file_changed_during_or_just_before_its_hashing_is_not_sealed() {
        assert_eq!(Seal::of(file(100), file(150), at(200)), None);
        assert_eq!(Seal::of(file(200), file(200), at(200)), None);
        assert!(Seal::of(file(199), file(199), at(200)).is_some());
    }

    #[test]
    fn a_clock_that_went_back_trusts_nothing() {
        let seal = Seal::of(file(100), file(100), at(200)).unwrap();
        assert!(!seal.holds_for(&file(100), at(150)));
    }

    proptest! {
        #[test]
        fn any_change_to_the_file_breaks_the_seal(
            field in 0usize..5, delta in 1i128..1_000_000,
        ) {
            let seal = Seal::of(file(100), file(100), at(200)).unwrap();
            let mut now = file(100);
            match field {
                0 => now.dev += delta as u64,
                1 => now.ino += delta as u64,
                2 => now.len += delta as u64,
                3 => now.mtime_ns += delta,
                _ => now.ctime_ns += delta,
            }
            prop_assert!(!seal.holds_for(&now, at(201)));
        }
    }
}
