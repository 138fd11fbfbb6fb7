//! Versions of updatable entries: the original action is the identity, `Updates` links
//! from it lead to every later version.

use hdk::prelude::*;
use media_integrity::{EntryTypes, LinkTypes};

/// The newest version of `original`: its latest `Updates` link target, else itself.
pub fn latest_version(original: &ActionHash) -> ExternResult<ActionHash> {
    Ok(newest_of(original, &version_links(original)?))
}

/// The `Updates` links from `original` to its later versions.
pub fn version_links(original: &ActionHash) -> ExternResult<Vec<Link>> {
    get_links(
        LinkQuery::try_new(original.clone(), LinkTypes::Updates)?,
        GetStrategy::default(),
    )
}

/// The newest version of `original` among its `links`: the latest target, else itself.
pub fn newest_of(original: &ActionHash, links: &[Link]) -> ActionHash {
    links
        .iter()
        .max_by_key(|l| l.timestamp)
        .and_then(|l| l.target.clone().into_action_hash())
        .unwrap_or_else(|| original.clone())
}

/// Updates `previous` (a version of `original`) with `entry` and links the new version.
pub fn update_latest(
    original: &ActionHash,
    previous: &ActionHash,
    entry: EntryTypes,
) -> ExternResult<ActionHash> {
    let version = update_entry(previous.clone(), entry)?;
    create_link(original.clone(), version.clone(), LinkTypes::Updates, ())?;
    Ok(version)
}

/// The original action of the entry `agent` keeps one of, linked from its key by
/// `link_type` (its place, its endpoint): the first such link the agent wrote.
pub fn owned_original(agent: &AgentPubKey, link_type: LinkTypes) -> ExternResult<Option<ActionHash>> {
    let links = get_links(
        LinkQuery::try_new(agent.clone(), link_type)?,
        GetStrategy::default(),
    )?;
    Ok(links
        .into_iter()
        .filter(|l| &l.author == agent)
        .min_by_key(|l| l.timestamp)
        .and_then(|l| l.target.into_action_hash()))
}

/// Writes the caller's one entry of a kind: the first time it is created and linked from
/// the caller's key by `link_type`, afterwards its newest version is updated.
pub fn set_owned(link_type: LinkTypes, entry: EntryTypes) -> ExternResult<ActionHash> {
    let me = crate::caller::me()?;
    match owned_original(&me, link_type)? {
        Some(original) => {
            let previous = latest_version(&original)?;
            update_latest(&original, &previous, entry)
        }
        None => {
            let id = create_entry(entry)?;
            create_link(me, id.clone(), link_type, ())?;
            Ok(id)
        }
    }
}

/// The newest version of the one entry `agent` keeps of a kind (see [`owned_original`]).
pub fn owned_latest<T>(agent: &AgentPubKey, link_type: LinkTypes) -> ExternResult<Option<T>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let Some(original) = owned_original(agent, link_type)? else {
        return Ok(None);
    };
    let Some(record) = latest_record(&original)? else {
        return Ok(None);
    };
    crate::records::entry_from(&record).map(Some)
}

/// The record at the newest version of `original`, with when it was written.
pub fn latest_record(original: &ActionHash) -> ExternResult<Option<Record>> {
    let version = latest_version(original)?;
    get(version, GetOptions::default())
}
