//! Who may read a blob, decided from the content that uses it: one rule for the zome and the
//! sidecar.
//!
//! A node holds a blob's bytes *for* someone: its own agent (an upload, a rendition made
//! there) or the authors of the content whose replica it keeps. Only the uses of the blob by
//! those owners count. Content by another agent that names the same hash — listing the
//! owner's manifest, or a manifest of its own with the same chunk list — never widens who
//! may read the bytes. Among the counted uses, the narrowest wins: a blob one author uses in
//! commons content and in private content is open only as far as private allows.

use crate::bandwidth::{BandwidthClass, DeliveryCap};
use crate::cache::CachePartition;
use crate::manifest::Variant;
use crate::reach::{Audience, Reach};
use crate::Lifecycle;
use crate::Place;

/// One piece of content that lists a blob, as the DHT describes it.
#[derive(Debug, Clone, Copy)]
pub struct Use<'a, A> {
    /// The content's reach, or `None` when the stored name is unknown (such a use refuses
    /// everyone but its author).
    pub reach: Option<Reach>,
    /// The content's lifecycle state, or `None` when unknown (treated as not visible).
    pub lifecycle: Option<Lifecycle>,
    /// The content's author, invitees and place.
    pub audience: Audience<'a, A>,
}

impl<A: PartialEq> Use<'_, A> {
    /// Whether this use lets anonymous clients read: commons, in a state its audience sees.
    pub fn is_open(&self) -> bool {
        self.reach.is_some_and(Reach::is_public)
            && self.lifecycle.is_some_and(Lifecycle::is_visible_to_audience)
    }

    /// Whether `reader` (with the place they belong to) may read the content: the author
    /// always; anyone else when the lifecycle shows the content to its audience and the
    /// reach admits them.
    pub fn admits(&self, reader: &A, place: Option<&Place>) -> bool {
        if reader == self.audience.author {
            return true;
        }
        let (Some(reach), Some(lifecycle)) = (self.reach, self.lifecycle) else {
            return false;
        };
        lifecycle.is_visible_to_audience() && reach.may_read(&self.audience, Some(reader), place)
    }
}

/// The uses that count for a node that holds the bytes for `owners`.
pub fn counted<'u, 'a, A: PartialEq>(
    uses: &'u [Use<'a, A>],
    owners: &'u [A],
) -> impl Iterator<Item = &'u Use<'a, A>> + 'u {
    uses.iter().filter(move |u| owners.contains(u.audience.author))
}

/// What a request may do with a blob, decided from its counted uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Anyone may read it, anonymous clients included.
    Open,
    /// The reader must prove who they are; a reader admitted by every use reads it under
    /// the narrowest reach among them.
    NeedsReader,
}

/// Whether the blob is open: some counted use exists and every counted use is open.
pub fn decide<A: PartialEq>(counted: &[&Use<'_, A>]) -> Decision {
    if !counted.is_empty() && counted.iter().all(|u| u.is_open()) {
        Decision::Open
    } else {
        Decision::NeedsReader
    }
}

/// The reach `reader` reads the blob under: the narrowest of the counted uses, when every
/// one of them admits the reader; `None` when any refuses, or when nothing uses the blob.
pub fn reader_reach<A: PartialEq>(
    counted: &[&Use<'_, A>],
    reader: &A,
    place: Option<&Place>,
) -> Option<Reach> {
    if counted.is_empty() || !counted.iter().all(|u| u.admits(reader, place)) {
        return None;
    }
    Some(
        counted
            .iter()
            .map(|u| u.reach.unwrap_or(Reach::Private))
            .min()
            .unwrap_or(Reach::Private),
    )
}

/// Why a reader who proved who they are may not read a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Some counted use's reach does not admit the reader (or nothing uses the blob).
    NotInReach,
    /// This node's bandwidth class does not serve content of the reader's reach.
    Bandwidth(String),
    /// The rendition asked for is above what this node may stream the reader.
    AboveCap {
        /// The rendition's label (`1080p`).
        rendition: String,
    },
}

/// What a reader may read a blob as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderGrant {
    /// The reach the reader reads under: the narrowest of the counted uses.
    pub reach: Reach,
    /// The most this node sends the reader.
    pub cap: DeliveryCap,
    /// The cache partition the bytes belong to: the strictest audience among the uses.
    pub partition: CachePartition,
}

/// The decision for `reader` (with the place they belong to) on a blob that is not open,
/// whose counted uses are `counted`, at a node whose agent is `me` and whose bandwidth is
/// `class`. The node's own agent reads a blob it holds but has not published as private.
pub fn reader_grant<A: PartialEq>(
    counted: &[&Use<'_, A>],
    reader: &A,
    place: Option<&Place>,
    me: &A,
    class: BandwidthClass,
) -> Result<ReaderGrant, Refusal> {
    let reach = match reader == me && counted.is_empty() {
        true => Reach::Private,
        false => reader_reach(counted, reader, place).ok_or(Refusal::NotInReach)?,
    };
    Ok(ReaderGrant {
        reach,
        cap: class.delivery(reach).map_err(Refusal::Bandwidth)?,
        partition: CachePartition::of_blob(
            counted
                .iter()
                .map(|u| u.reach.unwrap_or(Reach::Private))
                .filter(|r| !r.is_public()),
        ),
    })
}

/// Whether a reader whose grant has `cap` may be streamed `variant`, a rendition that plays
/// with `audio_kbps` of audio. (Peers that copy renditions are not asked: the cap limits
/// what a node streams, not what custodians keep.)
pub fn rendition_admitted(cap: &DeliveryCap, variant: &Variant, audio_kbps: u32) -> Result<(), Refusal> {
    match cap.admits_variant(variant, audio_kbps) {
        true => Ok(()),
        false => Err(Refusal::AboveCap {
            rendition: variant.label.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn use_of(author: &u8, reach: Reach, lifecycle: Lifecycle) -> Use<'_, u8> {
        Use {
            reach: Some(reach),
            lifecycle: Some(lifecycle),
            audience: Audience {
                author,
                invitees: &[],
                place: None,
            },
        }
    }

    const ALICE: u8 = 1;
    const MALLORY: u8 = 2;
    const BOB: u8 = 3;

    #[test]
    fn anothers_commons_content_does_not_open_the_owners_blob() {
        let uses = [
            use_of(&ALICE, Reach::Private, Lifecycle::Published),
            use_of(&MALLORY, Reach::Commons, Lifecycle::Published),
        ];
        let counted: Vec<_> = counted(&uses, &[ALICE]).collect();
        assert_eq!(decide(&counted), Decision::NeedsReader);
        assert_eq!(reader_reach(&counted, &BOB, None), None);
        assert_eq!(reader_reach(&counted, &ALICE, None), Some(Reach::Private));
    }

    #[test]
    fn the_narrowest_of_one_authors_uses_wins() {
        let uses = [
            use_of(&ALICE, Reach::Commons, Lifecycle::Published),
            use_of(&ALICE, Reach::Private, Lifecycle::Published),
        ];
        let counted: Vec<_> = counted(&uses, &[ALICE]).collect();
        assert_eq!(decide(&counted), Decision::NeedsReader);
        assert_eq!(reader_reach(&counted, &BOB, None), None);
        let commons = [use_of(&ALICE, Reach::Commons, Lifecycle::Published)];
        let counted: Vec<_> = counted_all(&commons);
        assert_eq!(decide(&counted), Decision::Open);
    }

    fn counted_all<'u, 'a>(uses: &'u [Use<'a, u8>]) -> Vec<&'u Use<'a, u8>> {
        uses.iter().collect()
    }

    #[test]
    fn a_blob_nothing_uses_is_not_open_and_admits_nobody() {
        assert_eq!(decide::<u8>(&[]), Decision::NeedsReader);
        assert_eq!(reader_reach::<u8>(&[], &ALICE, None), None);
    }

    #[test]
    fn an_unknown_reach_refuses_all_but_the_author() {
        let mut u = use_of(&ALICE, Reach::Commons, Lifecycle::Published);
        u.reach = None;
        assert_eq!(decide(&[&u]), Decision::NeedsReader);
        assert_eq!(reader_reach(&[&u], &BOB, None), None);
        assert_eq!(reader_reach(&[&u], &ALICE, None), Some(Reach::Private));
    }

    fn any_reach() -> impl Strategy<Value = Reach> {
        proptest::sample::select(Reach::ALL.to_vec())
    }

    fn any_lifecycle() -> impl Strategy<Value = Lifecycle> {
        proptest::sample::select(Lifecycle::ALL.to_vec())
    }

    proptest! {
        /// Adding a use by an agent the node does not hold the bytes for never changes the
        /// decision or anyone's reach.
        #[test]
        fn others_uses_never_change_anything(
            owned in proptest::collection::vec((any_reach(), any_lifecycle()), 0..4),
            foreign in proptest::collection::vec((any_reach(), any_lifecycle()), 1..4),
            reader in 1u8..5,
        ) {
            let mine: Vec<_> = owned.iter().map(|(r, l)| use_of(&ALICE, *r, *l)).collect();
            let mut all = mine.clone();
            all.extend(foreign.iter().map(|(r, l)| use_of(&MALLORY, *r, *l)));
            let a: Vec<_> = counted(&mine, &[ALICE]).collect();
            let b: Vec<_> = counted(&all, &[ALICE]).collect();
            prop_assert_eq!(decide(&a), decide(&b));
            prop_assert_eq!(reader_reach(&a, &reader, None), reader_reach(&b, &reader, None));
        }

        /// A reader is granted only what every counted use admits, under the narrowest
        /// reach, with the class's cap for it; the node's own agent reads its unpublished
        /// blobs; private content is never granted over a low-bandwidth node.
        #[test]
        fn a_grant_is_what_every_use_admits(
            uses in proptest::collection::vec((any_reach(), any_lifecycle()), 0..4),
            reader in 1u8..5,
            class in proptest::sample::select(BandwidthClass::ALL.to_vec()),
        ) {
            let all: Vec<_> = uses.iter().map(|(r, l)| use_of(&ALICE, *r, *l)).collect();
            let counted: Vec<_> = all.iter().collect();
            let me = BOB;
            match reader_grant(&counted, &reader, None, &me, class) {
                Ok(grant) => {
                    if counted.is_empty() {
                        prop_assert_eq!(reader, me);
                        prop_assert_eq!(grant.reach, Reach::Private);
                    } else {
                        prop_assert!(counted.iter().all(|u| u.admits(&reader, None)));
                        prop_assert_eq!(Some(grant.reach), reader_reach(&counted, &reader, None));
                    }
                    prop_assert_eq!(Ok(grant.cap), class.delivery(grant.reach));
                    prop_assert!(!(grant.reach == Reach::Private && class == BandwidthClass::Low));
                }
                Err(Refusal::NotInReach) => {
                    prop_assert!(!(reader == me && counted.is_empty()));
                    prop_assert_eq!(reader_reach(&counted, &reader, None), None);
                }
                Err(Refusal::Bandwidth(_)) => prop_assert_eq!(class, BandwidthClass::Low),
                Err(Refusal::AboveCap { .. }) => prop_assert!(false, "reader_grant judges no rendition"),
            }
        }

        /// Adding a use never widens access: open stays open only if the new use is open,
        /// and a reader refused before stays refused.
        #[test]
        fn more_uses_never_widen(
            uses in proptest::collection::vec((any_reach(), any_lifecycle()), 1..5),
            reader in 1u8..5,
        ) {
            let all: Vec<_> = uses.iter().map(|(r, l)| use_of(&ALICE, *r, *l)).collect();
            let fewer: Vec<_> = all[..all.len() - 1].iter().collect();
            let more: Vec<_> = all.iter().collect();
            if decide(&more) == Decision::Open {
                prop_assert!(fewer.is_empty() || decide(&fewer) == Decision::Open);
            }
            if !fewer.is_empty() && reader_reach(&fewer, &reader, None).is_none() {
                prop_assert_eq!(reader_reach(&more, &reader, None), None);
            }
        }
    }

    #[test]
    fn a_rendition_above_the_readers_cap_is_refused_by_name() {
        let cap = BandwidthClass::Low.delivery(Reach::Commons).unwrap();
        let rung = |label: &str, height: u32, kbps: u32| Variant {
            label: label.into(),
            blob: "ab".repeat(32),
            width: height * 16 / 9,
            height,
            bitrate_kbps: kbps,
            codecs: "avc1.64001f".into(),
        };
        assert_eq!(
            rendition_admitted(&cap, &rung("2160p", 2160, 20_000), 128),
            Err(Refusal::AboveCap {
                rendition: "2160p".into()
            })
        );
        let within = rung("fits", cap.max_height, 100);
        assert_eq!(rendition_admitted(&cap, &within, 64), Ok(()));
        let too_tall = rung("taller", cap.max_height + 2, 100);
        assert!(rendition_admitted(&cap, &too_tall, 64).is_err());
    }
}
