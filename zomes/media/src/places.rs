//! Places agents declare for themselves, which place-bound reaches compare.

use crate::versions::{owned_latest, set_owned};
use hdk::prelude::*;
use media_integrity::{AgentPlace, EntryTypes, LinkTypes};
use media_rules::Place;

/// Declares (or changes) the caller's place.
pub fn set_my_place(entry: AgentPlace) -> ExternResult<ActionHash> {
    set_owned(LinkTypes::AgentToPlace, EntryTypes::AgentPlace(entry))
}

/// The place `agent` declared, if any.
pub fn get_agent_place(agent: AgentPubKey) -> ExternResult<Option<Place>> {
    let entry: Option<AgentPlace> = owned_latest(&agent, LinkTypes::AgentToPlace)?;
    Ok(entry.map(|e| e.place))
}
