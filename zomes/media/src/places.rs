//! Places: where agents say they live, and who vouches that they do. A place-bound reach
//! admits an agent only as far down its declared place as its membership is proven
//! (`media_rules::membership`): [`get_agent_place`] answers the declared place with every
//! level below that left empty, so the reach rules compare nothing an agent only claimed.

use crate::caller::{me, refuse};
use crate::versions::{owned_latest, set_owned};
use hdk::prelude::*;
use media_api::{VouchInput, VouchView};
use media_integrity::anchors::vouches_path;
use media_integrity::{AgentPlace, EntryTypes, LinkTypes, PlaceVouch};
use media_rules::membership::{self, Vouch, LEVELS};
use media_rules::Place;

/// Declares (or changes) the caller's place.
pub fn set_my_place(entry: AgentPlace) -> ExternResult<ActionHash> {
    set_owned(LinkTypes::AgentToPlace, EntryTypes::AgentPlace(entry))
}

/// The place `agent` declared, cut below the deepest level its membership is proven at;
/// `None` when it declared none or belongs nowhere along it.
pub fn get_agent_place(agent: AgentPubKey) -> ExternResult<Option<Place>> {
    let entry: Option<AgentPlace> = owned_latest(&agent, LinkTypes::AgentToPlace)?;
    let Some(declared) = entry.map(|e| e.place) else {
        return Ok(None);
    };
    let views = list_place_vouches(declared.region.clone())?;
    let vouches: Vec<Vouch<'_, AgentPubKey>> = views
        .iter()
        .filter_map(|v| {
            Some(Vouch {
                by: &v.by,
                member: &v.member,
                place: &v.place,
                level: media_rules::PlaceLevel::parse(&v.level).ok()?,
                at: v.at.as_micros(),
            })
        })
        .collect();
    let level = membership::proven_level(&vouches, &agent, &declared);
    Ok(membership::proven_place(&declared, level))
}

/// Vouches that `member` belongs to `place` down to `level`. It counts once the caller
/// belongs there itself.
pub fn vouch_for_place(input: VouchInput) -> ExternResult<VouchView> {
    let entry = PlaceVouch {
        member: input.member,
        place: input.place,
        level: input.level,
    };
    let id = create_entry(EntryTypes::PlaceVouch(entry.clone()))?;
    let anchor = vouches_path(&entry.place.region).path_entry_hash()?;
    create_link(anchor, id.clone(), LinkTypes::RegionToVouch, ())?;
    let record = get(id.clone(), GetOptions::default())?.ok_or_else(|| refuse("vouch not found"))?;
    Ok(view(id, &record, entry))
}

/// Founds `place` at every level, from the region down to the household: each founding
/// counts where nobody founded that place earlier and the caller belongs to the place
/// around it; elsewhere the caller needs a member's vouch.
pub fn found_place(place: Place) -> ExternResult<Vec<VouchView>> {
    place.check().map_err(|e| refuse(format!("place: {e}")))?;
    let agent = me()?;
    LEVELS
        .iter()
        .map(|level| {
            vouch_for_place(VouchInput {
                member: agent.clone(),
                place: place.clone(),
                level: level.as_str().into(),
            })
        })
        .collect()
}

/// Revokes a vouch the caller wrote: every membership that rested on it goes too.
pub fn revoke_place_vouch(id: ActionHash) -> ExternResult<ActionHash> {
    let record = get(id.clone(), GetOptions::default())?.ok_or_else(|| refuse("vouch not found"))?;
    let vouch: PlaceVouch = crate::records::entry_from(&record)?;
    let anchor = vouches_path(&vouch.place.region).path_entry_hash()?;
    for link in get_links(
        LinkQuery::try_new(anchor, LinkTypes::RegionToVouch)?,
        GetStrategy::default(),
    )? {
        if link.target.clone().into_action_hash().as_ref() == Some(&id) {
            delete_link(link.create_link_hash, GetOptions::default())?;
        }
    }
    delete_entry(id)
}

/// Every vouch standing for places in `region`.
pub fn list_place_vouches(region: String) -> ExternResult<Vec<VouchView>> {
    let anchor = vouches_path(&region).path_entry_hash()?;
    let mut out = Vec::new();
    for link in get_links(
        LinkQuery::try_new(anchor, LinkTypes::RegionToVouch)?,
        GetStrategy::default(),
    )? {
        let Some(id) = link.target.into_action_hash() else {
            continue;
        };
        let Some(record) = get(id.clone(), GetOptions::default())? else {
            continue;
        };
        let Ok(vouch) = crate::records::entry_from::<PlaceVouch>(&record) else {
            continue;
        };
        if record.action().author() != &link.author {
            continue;
        }
        out.push(view(id, &record, vouch));
    }
    Ok(out)
}

fn view(id: ActionHash, record: &Record, vouch: PlaceVouch) -> VouchView {
    VouchView {
        id,
        by: record.action().author().clone(),
        member: vouch.member,
        place: vouch.place,
        level: vouch.level,
        at: record.action().timestamp(),
    }
}
