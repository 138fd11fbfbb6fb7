//! The reach table: who may read a piece of content and how many replicas it wants.

use crate::place::{Place, PlaceLevel};

crate::named_enum! {
    /// How far a piece of content travels, from its author alone to everyone.
    Reach {
        /// The author only.
        Private => "private",
        /// The author and the agents listed as invitees.
        Invited => "invited",
        /// Agents of the same household.
        Local => "local",
        /// Agents of the same neighborhood.
        Neighborhood => "neighborhood",
        /// Agents of the same municipality.
        Municipal => "municipal",
        /// Agents of the same bioregion.
        Bioregional => "bioregional",
        /// Agents of the same region.
        Regional => "regional",
        /// Everyone, anonymous HTTP clients included.
        Commons => "commons",
    }
}

/// One row of the reach table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReachRule {
    /// How many custodians should hold each blob of content at this reach.
    pub replicas_wanted: u32,
    /// The place level a reader must share with the content, for place-bound reaches.
    pub place_level: Option<PlaceLevel>,
    /// Whether Cache custodians may serve it besides the wanted Storage replicas.
    pub any_cache_custodian: bool,
}

/// Who is asking to read, and what the content says about its audience.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a, A> {
    /// The content's author.
    pub author: &'a A,
    /// The agents the content invites (invited reach).
    pub invitees: &'a [A],
    /// The place the content belongs to (local…regional reach).
    pub place: Option<&'a Place>,
}

impl Reach {
    /// The reach table, the only place its numbers live.
    pub const fn rule(self) -> ReachRule {
        let (replicas_wanted, place_level) = match self {
            Reach::Private => (1, None),
            Reach::Invited => (2, None),
            Reach::Local => (3, Some(PlaceLevel::Household)),
            Reach::Neighborhood => (5, Some(PlaceLevel::Neighborhood)),
            Reach::Municipal => (10, Some(PlaceLevel::Municipality)),
            Reach::Bioregional => (15, Some(PlaceLevel::Bioregion)),
            Reach::Regional => (20, Some(PlaceLevel::Region)),
            Reach::Commons => (25, None),
        };
        ReachRule {
            replicas_wanted,
            place_level,
            any_cache_custodian: matches!(self, Reach::Commons),
        }
    }

    /// How many custodians should hold each blob.
    pub const fn replicas_wanted(self) -> u32 {
        self.rule().replicas_wanted
    }

    /// Whether anonymous HTTP clients may read.
    pub const fn is_public(self) -> bool {
        matches!(self, Reach::Commons)
    }

    /// Whether content at this reach, and the manifests of its blobs, stay off the DHT:
    /// private content lives on its author's source chain only, and invited content is
    /// handed to each invitee by a remote call. Nobody outside the audience can read its
    /// title, invitees or blob hashes, so nobody outside it can fetch them either.
    pub const fn is_kept_off_dht(self) -> bool {
        matches!(self, Reach::Private | Reach::Invited)
    }

    /// Whether content at this reach must name the place it belongs to.
    pub const fn needs_place(self) -> bool {
        self.rule().place_level.is_some()
    }

    /// Whether `reader` (with the place they declared, if any) may read content with this
    /// reach and audience. `None` as reader is an anonymous client.
    pub fn may_read<A: PartialEq>(
        self,
        audience: &Audience<'_, A>,
        reader: Option<&A>,
        reader_place: Option<&Place>,
    ) -> bool {
        if self == Reach::Commons {
            return true;
        }
        let Some(reader) = reader else { return false };
        if reader == audience.author {
            return true;
        }
        match self {
            Reach::Private => false,
            Reach::Invited => audience.invitees.contains(reader),
            Reach::Commons => true,
            _ => match (self.rule().place_level, audience.place, reader_place) {
                (Some(level), Some(content_place), Some(reader_place)) => {
                    content_place.shares(reader_place, level)
                }
                _ => false,
            },
        }
    }

    /// Whether a custodian may hold a replica of content with this reach. Private content
    /// stays with its author; invited content with its author and invitees (custodians
    /// hold plaintext, so only agents who may read it may keep it); place-bound content
    /// with custodians of the same place; commons with anyone.
    pub fn may_hold<A: PartialEq>(
        self,
        audience: &Audience<'_, A>,
        custodian: &A,
        custodian_place: Option<&Place>,
    ) -> bool {
        self.may_read(audience, Some(custodian), custodian_place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(parts: [&str; 5]) -> Place {
        Place::new(parts.map(String::from))
    }

    #[test]
    fn seed_replica_counts_are_kept() {
        assert_eq!(Reach::Private.replicas_wanted(), 1);
        assert_eq!(Reach::Local.replicas_wanted(), 3);
        assert_eq!(Reach::Neighborhood.replicas_wanted(), 5);
        assert_eq!(Reach::Municipal.replicas_wanted(), 10);
    }

    #[test]
    fn replicas_grow_with_reach() {
        for pair in Reach::ALL.windows(2) {
            assert!(pair[0].replicas_wanted() < pair[1].replicas_wanted(), "{pair:?}");
        }
    }

    #[test]
    fn names_round_trip_and_unknown_is_named() {
        for r in Reach::ALL {
            assert_eq!(Reach::parse(r.as_str()), Ok(*r));
        }
        let err = Reach::parse("galactic").unwrap_err();
        assert!(err.to_string().contains("galactic"));
        assert!(err.to_string().contains("commons"));
    }

    #[test]
    fn private_is_author_only() {
        let aud = Audience {
            author: &1,
            invitees: &[2],
            place: None,
        };
        assert!(Reach::Private.may_read(&aud, Some(&1), None));
        assert!(!Reach::Private.may_read(&aud, Some(&2), None));
        assert!(!Reach::Private.may_read(&aud, None, None));
    }

    #[test]
    fn only_private_and_invited_content_is_kept_off_the_dht() {
        let off: Vec<Reach> = Reach::ALL
            .iter()
            .copied()
            .filter(|r| r.is_kept_off_dht())
            .collect();
        assert_eq!(off, [Reach::Private, Reach::Invited]);
    }

    #[test]
    fn invited_is_author_and_invitees() {
        let aud = Audience {
            author: &1,
            invitees: &[2, 3],
            place: None,
        };
        assert!(Reach::Invited.may_read(&aud, Some(&2), None));
        assert!(Reach::Invited.may_read(&aud, Some(&1), None));
        assert!(!Reach::Invited.may_read(&aud, Some(&4), None));
        assert!(!Reach::Invited.may_read(&aud, None, None));
    }

    #[test]
    fn commons_is_everyone_even_anonymous() {
        let aud = Audience {
            author: &1,
            invitees: &[],
            place: None,
        };
        assert!(Reach::Commons.may_read(&aud, None, None));
        assert!(Reach::Commons.may_read(&aud, Some(&9), None));
    }

    #[test]
    fn neighborhood_needs_same_neighborhood() {
        let home = place(["r", "b", "m", "n", "h1"]);
        let same_street = place(["r", "b", "m", "n", "h2"]);
        let other_town = place(["r", "b", "m2", "n", "h1"]);
        let aud = Audience {
            author: &1,
            invitees: &[],
            place: Some(&home),
        };
        assert!(Reach::Neighborhood.may_read(&aud, Some(&2), Some(&same_street)));
        assert!(!Reach::Neighborhood.may_read(&aud, Some(&2), Some(&other_town)));
        assert!(!Reach::Local.may_read(&aud, Some(&2), Some(&same_street)));
        assert!(!Reach::Neighborhood.may_read(&aud, Some(&2), None));
        assert!(!Reach::Neighborhood.may_read(&aud, None, Some(&same_street)));
    }

    #[test]
    fn private_is_held_by_its_author_only() {
        let aud = Audience {
            author: &1,
            invitees: &[],
            place: None,
        };
        assert!(Reach::Private.may_hold(&aud, &1, None));
        assert!(!Reach::Private.may_hold(&aud, &2, None));
    }
}
