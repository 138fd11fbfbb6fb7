//! The one `validate` callback: each op goes to the rule of its entry or link type.

use crate::outcome::{invalid, verdict};
use crate::{
    agent_place, blob_manifest, content_node, custodian_commitment, links, node_endpoint, place_vouch,
    records, replica_status, share, EntryTypes, LinkTypes,
};
use hdi::prelude::*;
use media_rules::Reach;

/// Validates every op; nothing is accepted by default.
#[hdk_extern]
pub fn validate(op: Op) -> ExternResult<ValidateCallbackResult> {
    match op.flattened::<EntryTypes, LinkTypes>()? {
        FlatOp::CreateEntry(OpEntry::CreateEntry { app_entry, action })
        | FlatOp::CreateRecord(OpRecord::CreateEntry { app_entry, action }) => {
            validate_create(app_entry, &action.header)
        }
        FlatOp::CreateEntry(OpEntry::UpdateEntry { app_entry, action })
        | FlatOp::Update(OpUpdate::Entry { app_entry, action })
        | FlatOp::CreateRecord(OpRecord::UpdateEntry { app_entry, action }) => {
            validate_update(app_entry, &action)
        }
        FlatOp::Delete(OpDelete { action }) | FlatOp::CreateRecord(OpRecord::DeleteEntry { action }) => {
            validate_delete(&action)
        }
        FlatOp::Link(OpLink::CreateLink { link_type, action })
        | FlatOp::CreateRecord(OpRecord::CreateLink { link_type, action }) => {
            links::validate_create_link(link_type, &action)
        }
        FlatOp::Link(OpLink::DeleteLink {
            original_action,
            action,
            ..
        }) => links::validate_delete_link(&original_action, &action),
        FlatOp::CreateRecord(OpRecord::DeleteLink { action }) => {
            let original = must_get_action(action.link_add_address.clone())?;
            match &original.action().data {
                ActionData::CreateLink(data) => links::validate_delete_link(
                    &TypedAction {
                        header: original.action().header.clone(),
                        data: data.clone(),
                    },
                    &action,
                ),
                _ => invalid("a DeleteLink must delete a CreateLink action"),
            }
        }
        FlatOp::CreateEntry(OpEntry::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::CreateAgent { .. }) => {
            // The agent key entry of every chain's genesis.
            Ok(ValidateCallbackResult::Valid)
        }
        FlatOp::CreateEntry(OpEntry::UpdateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::UpdateAgent { .. })
        | FlatOp::Update(OpUpdate::Agent { .. }) => invalid("agent key updates are not supported"),
        FlatOp::CreateEntry(OpEntry::CreateCapGrant { .. })
        | FlatOp::CreateEntry(OpEntry::CreateCapClaim { .. })
        | FlatOp::CreateEntry(OpEntry::UpdateCapGrant { .. })
        | FlatOp::CreateEntry(OpEntry::UpdateCapClaim { .. })
        | FlatOp::CreateRecord(OpRecord::CreateCapClaim { .. })
        | FlatOp::CreateRecord(OpRecord::CreateCapGrant { .. })
        | FlatOp::CreateRecord(OpRecord::UpdateCapClaim { .. })
        | FlatOp::CreateRecord(OpRecord::UpdateCapGrant { .. })
        | FlatOp::Update(OpUpdate::CapClaim { .. })
        | FlatOp::Update(OpUpdate::CapGrant { .. }) => {
            // Capability grants and claims are private to their author's chain and checked
            // by the conductor itself.
            Ok(ValidateCallbackResult::Valid)
        }
        FlatOp::CreateRecord(OpRecord::CreatePrivateEntry { .. }) => {
            // Kept off the DHT: its author checked the entry when writing it; nobody else
            // can read it.
            Ok(ValidateCallbackResult::Valid)
        }
        FlatOp::CreateRecord(OpRecord::UpdatePrivateEntry { action, .. })
        | FlatOp::Update(OpUpdate::PrivateEntry { action, .. }) => validate_kept_update_action(&action),
        FlatOp::CreateRecord(OpRecord::Dna { .. })
        | FlatOp::CreateRecord(OpRecord::OpenChain { .. })
        | FlatOp::CreateRecord(OpRecord::CloseChain { .. })
        | FlatOp::CreateRecord(OpRecord::AgentValidationPkg { .. })
        | FlatOp::CreateRecord(OpRecord::InitZomesComplete { .. })
        | FlatOp::AgentActivity(_) => {
            // Genesis, migration and chain-structure ops: the conductor's system validation
            // checks them; the app adds no rule.
            Ok(ValidateCallbackResult::Valid)
        }
    }
}

fn validate_create(entry: EntryTypes, action: &ActionHeader) -> ExternResult<ValidateCallbackResult> {
    match entry {
        EntryTypes::ContentNode(e) => content_node::validate_create_content_node(action, &e),
        EntryTypes::BlobManifest(e) => blob_manifest::validate_create_blob_manifest(&e),
        EntryTypes::CustodianCommitment(e) => {
            custodian_commitment::validate_create_custodian_commitment(action, &e)
        }
        EntryTypes::ReplicaStatus(e) => replica_status::validate_create_replica_status(action, &e),
        EntryTypes::AgentPlace(e) => agent_place::validate_create_agent_place(&e),
        EntryTypes::NodeEndpoint(e) => node_endpoint::validate_create_node_endpoint(&e),
        EntryTypes::PlaceVouch(e) => place_vouch::validate_create_place_vouch(&e),
        EntryTypes::PrivateContent(e) => share::validate_kept_content(&e, Reach::Private, true),
        EntryTypes::InvitedContent(e) => share::validate_kept_content(&e, Reach::Invited, true),
        EntryTypes::PrivateManifest(e) => blob_manifest::validate_create_blob_manifest(&e),
        EntryTypes::Share(e) => verdict("Share", e.check()),
        EntryTypes::ShareReceipt(_) => Ok(ValidateCallbackResult::Valid),
    }
}

/// An update of an entry kept off the DHT, as anyone can check it from actions alone:
/// by the author of the original, of the same entry type, of its newest version.
fn validate_kept_update_action(action: &TypedAction<UpdateData>) -> ExternResult<ValidateCallbackResult> {
    let original = must_get_action(action.original_action_address.clone())?;
    if original.action().author() != action.author() {
        return invalid("only the author may update this entry");
    }
    if original.action().entry_type() != Some(&action.data.entry_type) {
        return invalid("an update must keep the entry type of the entry it updates");
    }
    match records::later_on_chain(&action.header, &action.original_action_address)? {
        Ok(records::Later::Nothing) => Ok(ValidateCallbackResult::Valid),
        Ok(records::Later::Updated) => invalid("this version was already updated; update the newest version"),
        Ok(records::Later::Deleted) => invalid("this entry was deleted"),
        Err(e) => invalid(&e),
    }
}

/// The author's own check of an update of an entry kept off the DHT: what anyone can
/// check from the actions, then the new fields.
fn validate_kept_update(
    entry: EntryTypes,
    action: &TypedAction<UpdateData>,
) -> ExternResult<ValidateCallbackResult> {
    let by_actions = validate_kept_update_action(action)?;
    if by_actions != ValidateCallbackResult::Valid {
        return Ok(by_actions);
    }
    match entry {
        EntryTypes::PrivateContent(new) => share::validate_kept_content(&new, Reach::Private, false),
        EntryTypes::InvitedContent(new) => share::validate_kept_content(&new, Reach::Invited, false),
        other => invalid(&format!("{} cannot be updated", records::type_name(&other))),
    }
}

fn validate_update(
    entry: EntryTypes,
    action: &TypedAction<UpdateData>,
) -> ExternResult<ValidateCallbackResult> {
    if records::is_kept_off_dht(entry.to_unit()) {
        return validate_kept_update(entry, action);
    }
    let original = must_get_valid_record(action.original_action_address.clone())?;
    if original.action().author() != action.author() {
        return invalid("only the author may update this entry");
    }
    let Some(previous) = records::entry_of(&original)? else {
        return invalid("the updated action is not an entry of this zome");
    };
    match (entry, previous) {
        (EntryTypes::ContentNode(new), EntryTypes::ContentNode(old)) => {
            content_node::validate_update_content_node(
                &action.header,
                &action.original_action_address,
                &new,
                &old,
            )
        }
        (EntryTypes::BlobManifest(_), EntryTypes::BlobManifest(_)) => {
            invalid("BlobManifest cannot be updated: a blob's bytes never change; register a new manifest")
        }
        (EntryTypes::CustodianCommitment(new), EntryTypes::CustodianCommitment(_)) => {
            custodian_commitment::validate_update_custodian_commitment(&action.header, &new)
        }
        (EntryTypes::ReplicaStatus(new), EntryTypes::ReplicaStatus(old)) => {
            replica_status::validate_update_replica_status(&action.header, &new, &old)
        }
        (EntryTypes::AgentPlace(new), EntryTypes::AgentPlace(_)) => {
            agent_place::validate_create_agent_place(&new)
        }
        (EntryTypes::NodeEndpoint(new), EntryTypes::NodeEndpoint(_)) => {
            node_endpoint::validate_create_node_endpoint(&new)
        }
        (EntryTypes::PlaceVouch(_), EntryTypes::PlaceVouch(_)) => {
            invalid("PlaceVouch cannot be updated: revoke it (delete) and vouch again")
        }
        _ => invalid("an update must keep the entry type of the entry it updates"),
    }
}

/// A delete, checked from the deleted action alone (so it works for entries kept off the
/// DHT too): only the author of an entry of this zome may delete it.
fn validate_delete(action: &TypedAction<DeleteData>) -> ExternResult<ValidateCallbackResult> {
    let original = must_get_action(action.deletes_address.clone())?;
    let Some(unit) = records::unit_of(original.action())? else {
        return invalid("the deleted action is not an entry of this zome");
    };
    if original.action().author() != action.author() {
        return invalid(&format!(
            "only the author may delete this {}",
            records::unit_name(unit)
        ));
    }
    Ok(ValidateCallbackResult::Valid)
}
