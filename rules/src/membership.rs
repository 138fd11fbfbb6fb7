//! Place membership is earned, not claimed: an agent belongs to a place (a region, or a
//! bioregion, municipality, neighborhood or household within one) only when someone
//! already in that place vouches for it, or when it founded the place.
//!
//! The facts are vouches: "`by` vouches that `member` belongs to `place` down to `level`",
//! each with the time it was written. A vouch for oneself is a *founding*. The rule:
//! - The founder of a place is the author of its earliest founding. A founding counts once
//!   its author belongs to the wider place around it (a region needs none): the first
//!   agent in a place founds it, and a household inside an existing neighborhood is
//!   founded by a member of that neighborhood.
//! - A vouch counts once its author belongs to the place it names.
//! - Belonging to a place means belonging to every wider place around it.
//! - A vouch or founding its author deleted is gone, and so is every membership that
//!   rested on it.
//!
//! Who belongs is the least set closed under these rules, so no circle of strangers vouching
//! for each other gets in.

use crate::place::{Place, PlaceLevel};

/// One vouch (or, when `by` is `member`, a founding).
#[derive(Debug, Clone, Copy)]
pub struct Vouch<'a, A> {
    /// Who vouches.
    pub by: &'a A,
    /// Who is vouched for.
    pub member: &'a A,
    /// The place, named down to its household.
    pub place: &'a Place,
    /// How far down `place` the vouch goes.
    pub level: PlaceLevel,
    /// When it was written (microseconds), to find a place's earliest founding.
    pub at: i64,
}

/// The levels from the widest to the narrowest.
pub const LEVELS: [PlaceLevel; 5] = [
    PlaceLevel::Region,
    PlaceLevel::Bioregion,
    PlaceLevel::Municipality,
    PlaceLevel::Neighborhood,
    PlaceLevel::Household,
];

/// The level just wider than `level`, if any.
fn wider(level: PlaceLevel) -> Option<PlaceLevel> {
    let i = LEVELS.iter().position(|l| *l == level)?;
    i.checked_sub(1).map(|w| LEVELS[w])
}

/// Memberships: (agent, place, level), meaning the agent belongs to `place` cut at `level`.
struct Members<'a, A> {
    known: Vec<(&'a A, &'a Place, PlaceLevel)>,
}

impl<'a, A: PartialEq> Members<'a, A> {
    fn has(&self, agent: &A, place: &Place, level: PlaceLevel) -> bool {
        self.known
            .iter()
            .any(|(a, p, l)| *a == agent && *l == level && p.shares(place, level))
    }

    /// Adds the membership and those of every wider place; whether anything was new.
    fn add(&mut self, agent: &'a A, place: &'a Place, level: PlaceLevel) -> bool {
        let mut new = false;
        let mut at = Some(level);
        while let Some(l) = at {
            if !self.has(agent, place, l) {
                self.known.push((agent, place, l));
                new = true;
            }
            at = wider(l);
        }
        new
    }
}

/// The narrowest level down `place` at which `agent` belongs, given every vouch under
/// `place`'s region; `None` when it belongs nowhere along it.
pub fn proven_level<A: PartialEq>(vouches: &[Vouch<'_, A>], agent: &A, place: &Place) -> Option<PlaceLevel> {
    let members = members(vouches);
    LEVELS
        .iter()
        .rev()
        .find(|l| members.has(agent, place, **l))
        .copied()
}

/// `place` with every name narrower than `level` left empty, so it shares nothing below the
/// level its agent proved (a place's checked names are never empty); `None` without one.
pub fn proven_place(place: &Place, level: Option<PlaceLevel>) -> Option<Place> {
    let level = level?;
    let mut names = place.names().map(|(l, n)| (l, n.to_string()));
    for (l, name) in names.iter_mut() {
        if *l < level {
            name.clear();
        }
    }
    let [r, b, m, n, h] = names.map(|(_, n)| n);
    Some(Place::new([r, b, m, n, h]))
}

fn members<'a, A: PartialEq>(vouches: &[Vouch<'a, A>]) -> Members<'a, A> {
    let mut members = Members { known: Vec::new() };
    // Each place's founder: the earliest founding of it (ties broken by order given).
    let foundings: Vec<&Vouch<'a, A>> = vouches.iter().filter(|v| v.by == v.member).collect();
    let founders: Vec<&Vouch<'a, A>> = foundings
        .iter()
        .filter(|f| {
            !foundings
                .iter()
                .any(|g| g.level == f.level && g.place.shares(f.place, f.level) && g.at < f.at)
        })
        .copied()
        .collect();
    // Grows until nothing changes; each turn adds at least one of finitely many
    // memberships, so it ends.
    loop {
        let mut grew = false;
        for f in &founders {
            let seated = match wider(f.level) {
                None => true,
                Some(w) => members.has(f.by, f.place, w),
            };
            if seated && !members.has(f.by, f.place, f.level) {
                grew |= members.add(f.by, f.place, f.level);
            }
        }
        for v in vouches.iter().filter(|v| v.by != v.member) {
            if members.has(v.by, v.place, v.level) && !members.has(v.member, v.place, v.level) {
                grew |= members.add(v.member, v.place, v.level);
            }
        }
        if !grew {
            return members;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn home(neighborhood: &str, household: &str) -> Place {
        Place::new([
            "cascadia".into(),
            "salish".into(),
            "victoria".into(),
            neighborhood.into(),
            household.into(),
        ])
    }

    fn v<'a>(by: &'a u8, member: &'a u8, place: &'a Place, level: PlaceLevel, at: i64) -> Vouch<'a, u8> {
        Vouch {
            by,
            member,
            place,
            level,
            at,
        }
    }

    const ALICE: u8 = 1;
    const BOB: u8 = 2;
    const MALLORY: u8 = 3;
    use PlaceLevel::*;

    #[test]
    fn the_first_agent_founds_a_place_and_vouches_a_member_in() {
        let alices = home("fernwood", "alice-home");
        let vouches = [
            v(&ALICE, &ALICE, &alices, Region, 1),
            v(&ALICE, &ALICE, &alices, Bioregion, 2),
            v(&ALICE, &ALICE, &alices, Municipality, 3),
            v(&ALICE, &ALICE, &alices, Neighborhood, 4),
            v(&ALICE, &ALICE, &alices, Household, 5),
            v(&ALICE, &BOB, &alices, Household, 6),
        ];
        assert_eq!(proven_level(&vouches, &ALICE, &alices), Some(Household));
        assert_eq!(proven_level(&vouches, &BOB, &alices), Some(Household));
        // Mallory declares Alice's household: nobody vouched for her.
        assert_eq!(proven_level(&vouches, &MALLORY, &alices), None);
        // Revoked: Bob's membership is gone with the vouch.
        assert_eq!(proven_level(&vouches[..5], &BOB, &alices), None);
    }

    #[test]
    fn a_later_founding_of_a_taken_place_counts_for_nothing() {
        let alices = home("fernwood", "alice-home");
        let malls = home("fernwood", "mallory-home");
        let mut vouches: Vec<Vouch<'_, u8>> = LEVELS
            .iter()
            .enumerate()
            .map(|(i, l)| v(&ALICE, &ALICE, &alices, *l, i as i64))
            .collect();
        // Mallory founds "her" household in Fernwood and claims the neighborhood too, later.
        for (i, l) in LEVELS.iter().enumerate() {
            vouches.push(v(&MALLORY, &MALLORY, &malls, *l, 100 + i as i64));
        }
        assert_eq!(
            proven_level(&vouches, &MALLORY, &malls),
            None,
            "Fernwood was founded first by Alice, so Mallory's household has no seat"
        );
        // Once Alice vouches her into Fernwood, her own household founding counts.
        vouches.push(v(&ALICE, &MALLORY, &malls, Neighborhood, 200));
        assert_eq!(proven_level(&vouches, &MALLORY, &malls), Some(Household));
        assert_eq!(proven_level(&vouches, &MALLORY, &alices), Some(Neighborhood));
    }

    #[test]
    fn strangers_vouching_for_each_other_get_nowhere() {
        let place = home("fernwood", "h");
        let vouches = [
            v(&ALICE, &ALICE, &place, Region, 1),
            v(&BOB, &MALLORY, &place, Household, 2),
            v(&MALLORY, &BOB, &place, Household, 3),
        ];
        assert_eq!(proven_level(&vouches, &BOB, &place), None);
        assert_eq!(proven_level(&vouches, &MALLORY, &place), None);
        assert_eq!(proven_level(&vouches, &ALICE, &place), Some(Region));
    }

    #[test]
    fn a_proven_place_shares_nothing_below_its_level() {
        let place = home("fernwood", "h");
        let proven = proven_place(&place, Some(Neighborhood)).unwrap();
        assert!(proven.shares(&place, Neighborhood));
        assert!(!proven.shares(&place, Household));
        assert_eq!(proven_place(&place, None), None);
    }

    proptest! {
        /// Nobody belongs anywhere unless a chain of vouches leads to them from a founder,
        /// and every member of a place belongs to the places around it.
        #[test]
        fn membership_comes_only_from_founders_and_is_closed_upward(
            facts in prop::collection::vec((1u8..=4, 1u8..=4, 0usize..5, 0usize..2, 0i64..20), 0..24)
        ) {
            let places = [home("n1", "h1"), home("n2", "h2")];
            let agents = [1u8, 2, 3, 4];
            let vouches: Vec<Vouch<'_, u8>> = facts
                .iter()
                .map(|(by, m, l, p, at)| Vouch {
                    by: &agents[usize::from(*by) - 1],
                    member: &agents[usize::from(*m) - 1],
                    place: &places[*p],
                    level: LEVELS[*l],
                    at: *at,
                })
                .collect();
            let no_founders = !vouches.iter().any(|v| v.by == v.member && v.level == Region);
            for a in &agents {
                for p in &places {
                    let level = proven_level(&vouches, a, p);
                    if no_founders {
                        prop_assert_eq!(level, None);
                    }
                    if let Some(l) = level {
                        let members = members(&vouches);
                        for wider in LEVELS.iter().filter(|w| **w >= l) {
                            prop_assert!(members.has(a, p, *wider));
                        }
                    }
                }
            }
        }
    }
}
