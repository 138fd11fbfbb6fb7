//! Reading records back during validation.

use crate::{EntryTypes, UnitEntryTypes};
use hdi::prelude::*;

/// The app entry a record holds, if it is one of this zome's types.
pub fn entry_of(record: &Record) -> ExternResult<Option<EntryTypes>> {
    let Some((_, EntryType::App(def))) = record.action().entry_data() else {
        return Ok(None);
    };
    let Some(entry) = record.entry().as_option() else {
        return Ok(None);
    };
    EntryTypes::deserialize_from_type(def.zome_index, def.entry_index, entry)
}

/// The name of an entry's type, for messages.
pub fn type_name(entry: &EntryTypes) -> &'static str {
    unit_name(entry.to_unit())
}

/// The name of an entry type, for messages.
pub fn unit_name(unit: UnitEntryTypes) -> &'static str {
    match unit {
        UnitEntryTypes::ContentNode => "ContentNode",
        UnitEntryTypes::BlobManifest => "BlobManifest",
        UnitEntryTypes::CustodianCommitment => "CustodianCommitment",
        UnitEntryTypes::ReplicaStatus => "ReplicaStatus",
        UnitEntryTypes::AgentPlace => "AgentPlace",
        UnitEntryTypes::NodeEndpoint => "NodeEndpoint",
        UnitEntryTypes::PlaceVouch => "PlaceVouch",
        UnitEntryTypes::PrivateContent => "PrivateContent",
        UnitEntryTypes::InvitedContent => "InvitedContent",
        UnitEntryTypes::PrivateManifest => "PrivateManifest",
        UnitEntryTypes::Share => "Share",
        UnitEntryTypes::ShareReceipt => "ShareReceipt",
    }
}

/// Whether entries of this type stay on their author's chain.
pub fn is_kept_off_dht(unit: UnitEntryTypes) -> bool {
    matches!(
        unit,
        UnitEntryTypes::PrivateContent
            | UnitEntryTypes::InvitedContent
            | UnitEntryTypes::PrivateManifest
            | UnitEntryTypes::Share
            | UnitEntryTypes::ShareReceipt
    )
}

/// The action at `hash`, if `author` wrote it as an entry of type `unit`: read from the
/// action alone, so it works for entries kept off the DHT too.
pub fn authored_as(
    hash: &ActionHash,
    author: &AgentPubKey,
    unit: UnitEntryTypes,
) -> ExternResult<Option<Action>> {
    let action = must_get_action(hash.clone())?.action().clone();
    Ok((action.author() == author && unit_of(&action)? == Some(unit)).then_some(action))
}

/// The type of the app entry an action wrote, read from the action alone (so it works
/// for entries kept off the DHT too); `None` for other actions and other zomes' types.
pub fn unit_of(action: &Action) -> ExternResult<Option<UnitEntryTypes>> {
    let Some(EntryType::App(def)) = action.entry_type() else {
        return Ok(None);
    };
    for unit in EntryTypes::unit_iter() {
        let scoped = ScopedEntryDefIndex::try_from(&unit)?;
        if scoped.zome_index == def.zome_index && scoped.zome_type == def.entry_index {
            return Ok(Some(unit));
        }
    }
    Ok(None)
}

/// A valid record that must hold an entry of one type, read through `pick`.
/// `Err(reason)` names `field` when the hash points elsewhere.
pub fn must_get_typed<T>(
    hash: &ActionHash,
    field: &str,
    wanted: &str,
    pick: impl FnOnce(EntryTypes) -> Option<T>,
) -> ExternResult<Result<(Record, T), String>> {
    let record = must_get_valid_record(hash.clone())?;
    let entry = entry_of(&record)?.and_then(pick);
    Ok(match entry {
        Some(e) => Ok((record, e)),
        None => Err(format!("{field} must point at a {wanted}")),
    })
}

/// Whether `version` is `original` or a chain of updates leading back to it.
pub fn is_version_of(version: &ActionHash, original: &ActionHash) -> ExternResult<bool> {
    const MAX_VERSIONS: usize = 10_000;
    let mut at = version.clone();
    for _ in 0..MAX_VERSIONS {
        if &at == original {
            return Ok(true);
        }
        let action = must_get_action(at.clone())?;
        match &action.action().data {
            ActionData::Update(update) => at = update.original_action_address.clone(),
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// Loads the ContentNode at `hash`.
pub fn must_get_content(
    hash: &ActionHash,
    field: &str,
) -> ExternResult<Result<(Record, crate::ContentNode), String>> {
    must_get_typed(hash, field, "ContentNode", |e| match e {
        EntryTypes::ContentNode(c) => Some(c),
        _ => None,
    })
}

/// Loads the BlobManifest at `hash`.
pub fn must_get_manifest(
    hash: &ActionHash,
    field: &str,
) -> ExternResult<Result<(Record, crate::BlobManifest), String>> {
    must_get_typed(hash, field, "BlobManifest", |e| match e {
        EntryTypes::BlobManifest(m) => Some(m),
        _ => None,
    })
}

/// Loads the CustodianCommitment at `hash`.
pub fn must_get_commitment(
    hash: &ActionHash,
    field: &str,
) -> ExternResult<Result<(Record, crate::CustodianCommitment), String>> {
    must_get_typed(hash, field, "CustodianCommitment", |e| match e {
        EntryTypes::CustodianCommitment(c) => Some(c),
        _ => None,
    })
}

/// What later happened to `earlier` on the chain of `action`'s author, before `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Later {
    /// Nothing: `earlier` is still the newest version.
    Nothing,
    /// An update of it came first: it is superseded.
    Updated,
    /// A delete of it came first: it is withdrawn.
    Deleted,
}

/// Whether `earlier` (an action of the same author) was updated or deleted between itself
/// and `action` on the author's chain. Deterministic: it reads the author's own chain, not
/// the DHT, so every validator reaches the same answer.
pub fn later_on_chain(action: &ActionHeader, earlier: &ActionHash) -> ExternResult<Result<Later, String>> {
    let Some(prev) = action.prev_action.clone() else {
        return Ok(Err("this action cannot be the first of a chain".into()));
    };
    let filter = ChainFilter::until_hash(prev, earlier.clone());
    let activity = must_get_agent_activity(action.author.clone(), filter)?;
    let mut later = Later::Nothing;
    for a in &activity {
        match &a.action.action().data {
            ActionData::Delete(d) if &d.deletes_address == earlier => return Ok(Ok(Later::Deleted)),
            ActionData::Update(u) if &u.original_action_address == earlier => later = Later::Updated,
            _ => {}
        }
    }
    Ok(Ok(later))
}
