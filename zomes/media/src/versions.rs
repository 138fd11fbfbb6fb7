//! Versions of updatable entries: the original action is the identity, `Updates` links
//! from it lead to every later version.

use hdk::prelude::*;
use media_integrity::{EntryTypes, LinkTypes};

/// The newest version of `original`: its latest `Updates` link target, else itself.
pub fn latest_version(original: &ActionHash) -> ExternResult<ActionHash> {
    let links = get_links(
        LinkQuery::try_new(original.clone(), LinkTypes::Updates)?,
        GetStrategy::default(),
    )?;
    Ok(links
        .into_iter()
        .max_by_key(|l| l.timestamp)
        .and_then(|l| l.target.into_action_hash())
        .unwrap_or_else(|| original.clone()))
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

/// The record at the newest version of `original`, with when it was written.
pub fn latest_record(original: &ActionHash) -> ExternResult<Option<Record>> {
    let version = latest_version(original)?;
    get(version, GetOptions::default())
}
