//! Cache partitions: bytes are cached apart by audience, each partition with its own share
//! of a tier's budget, so that one audience's traffic never evicts another's bytes.

use crate::reach::Reach;

crate::named_enum! {
    /// Which cache partition holds a blob's bytes.
    CachePartition {
        /// Bytes anyone may read.
        Commons => "commons",
        /// Bytes bound to a place (local … regional reach).
        Community => "community",
        /// Bytes of private and invited content.
        Personal => "personal",
    }
}

impl CachePartition {
    /// The partition for content at `reach`.
    pub const fn of(reach: Reach) -> Self {
        match reach {
            Reach::Commons => CachePartition::Commons,
            Reach::Private | Reach::Invited => CachePartition::Personal,
            _ => CachePartition::Community,
        }
    }

    /// The partition of a blob used by content at each of `reaches`: commons as soon as any
    /// use is public (anyone may read the bytes then), else the most restrictive; a blob no
    /// content uses yet is its holder's alone.
    pub fn of_blob(reaches: impl IntoIterator<Item = Reach>) -> Self {
        let mut strictest = None;
        for reach in reaches {
            if reach.is_public() {
                return CachePartition::Commons;
            }
            strictest = strictest.max(Some(Self::of(reach)));
        }
        strictest.unwrap_or(CachePartition::Personal)
    }

    /// This partition's share of a tier's byte budget, in percent.
    pub const fn budget_percent(self) -> u64 {
        match self {
            CachePartition::Commons => 50,
            CachePartition::Community => 25,
            CachePartition::Personal => 25,
        }
    }

    /// This partition's bytes out of a tier budget of `total` bytes.
    pub const fn budget(self, total: u64) -> u64 {
        total / 100 * self.budget_percent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reach_has_a_partition_and_shares_add_up() {
        assert_eq!(CachePartition::of(Reach::Private), CachePartition::Personal);
        assert_eq!(CachePartition::of(Reach::Invited), CachePartition::Personal);
        assert_eq!(CachePartition::of(Reach::Neighborhood), CachePartition::Community);
        assert_eq!(CachePartition::of(Reach::Commons), CachePartition::Commons);
        let total: u64 = CachePartition::ALL.iter().map(|p| p.budget_percent()).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn a_blob_is_as_open_as_its_most_public_use() {
        use Reach::*;
        assert_eq!(
            CachePartition::of_blob([Private, Commons]),
            CachePartition::Commons
        );
        assert_eq!(
            CachePartition::of_blob([Local, Invited]),
            CachePartition::Personal
        );
        assert_eq!(
            CachePartition::of_blob([Local, Regional]),
            CachePartition::Community
        );
        assert_eq!(CachePartition::of_blob([]), CachePartition::Personal);
    }
}
