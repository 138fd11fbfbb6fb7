//! PlaceVouch: an agent vouching that another (or, founding a place, itself) belongs to a
//! place down to a level. Whether it counts is `media_rules::membership`'s to say, from
//! every vouch under the place's region; validation checks its shape, and the generic rules
//! let only its author delete (revoke) it.

use crate::outcome::verdict;
use hdi::prelude::*;
use media_rules::{Place, PlaceLevel};

/// "`member` belongs to `place` down to `level`", by the action's author.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct PlaceVouch {
    /// Who belongs; the author itself for a founding.
    pub member: AgentPubKey,
    /// The place, named down to its household.
    pub place: Place,
    /// A [`PlaceLevel`] name: how far down `place` the vouch goes.
    pub level: String,
}

impl PlaceVouch {
    /// The parsed level.
    pub fn level(&self) -> Result<PlaceLevel, String> {
        PlaceLevel::parse(&self.level).map_err(|e| format!("level: {e}"))
    }
}

/// The place must be named at every level, and the level be one of them.
pub fn validate_create_place_vouch(entry: &PlaceVouch) -> ExternResult<ValidateCallbackResult> {
    let check = entry
        .place
        .check()
        .map_err(|e| format!("place: {e}"))
        .and_then(|()| entry.level().map(|_| ()));
    verdict("PlaceVouch", check)
}
