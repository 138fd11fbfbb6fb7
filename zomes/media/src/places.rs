//! Places agents declare for themselves, which place-bound reaches compare.

use crate::content::entry_from;
use crate::versions::{latest_record, update_latest};
use hdk::prelude::*;
use media_integrity::{AgentPlace, EntryTypes, LinkTypes};
use media_rules::Place;

/// Declares (or changes) the caller's place.
pub fn set_my_place(entry: AgentPlace) -> ExternResult<ActionHash> {
    let me = crate::me()?;
    match own_place_id(&me)? {
        Some(original) => {
            let previous = crate::versions::latest_version(&original)?;
            update_latest(&original, &previous, EntryTypes::AgentPlace(entry))
        }
        None => {
            let id = create_entry(EntryTypes::AgentPlace(entry))?;
            create_link(me, id.clone(), LinkTypes::AgentToPlace, ())?;
            Ok(id)
        }
    }
}

/// The place `agent` declared, if any.
pub fn get_agent_place(agent: AgentPubKey) -> ExternResult<Option<Place>> {
    let Some(original) = own_place_id(&agent)? else {
        return Ok(None);
    };
    let Some(record) = latest_record(&original)? else {
        return Ok(None);
    };
    let entry: AgentPlace = entry_from(&record)?;
    Ok(Some(entry.place))
}

fn own_place_id(agent: &AgentPubKey) -> ExternResult<Option<ActionHash>> {
    let links = get_links(
        LinkQuery::try_new(agent.clone(), LinkTypes::AgentToPlace)?,
        GetStrategy::default(),
    )?;
    Ok(links
        .into_iter()
        .filter(|l| &l.author == agent)
        .min_by_key(|l| l.timestamp)
        .and_then(|l| l.target.into_action_hash()))
}
