//! Integrity zome of Elohim Media: the entry and link types, and the one `validate`
//! callback that checks every create, update and delete of each of them.
//!
//! The rules themselves (reach, lifecycle, chunk math, capacities) live in `media_rules`,
//! which the sidecar uses too.

use hdi::prelude::*;

/// Unwraps a rule's `Result<T, String>`, returning the broken rule as the caller's answer.
macro_rules! rule {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reason) => return Ok(Err(reason)),
        }
    };
}

mod agent_place;
pub mod anchors;
mod blob_manifest;
mod content_node;
mod custodian_commitment;
mod links;
mod node_endpoint;
mod place_vouch;
mod records;
mod replica_status;

pub use agent_place::AgentPlace;
pub use blob_manifest::BlobManifest;
pub use content_node::{CodecFact, ContentNode};
pub use custodian_commitment::CustodianCommitment;
pub use media_rules;
pub use node_endpoint::NodeEndpoint;
pub use place_vouch::PlaceVouch;
pub use replica_status::ReplicaStatus;

/// Every entry type of the media DNA.
#[hdk_entry_types]
#[unit_enum(UnitEntryTypes)]
pub enum EntryTypes {
    ContentNode(ContentNode),
    BlobManifest(BlobManifest),
    CustodianCommitment(CustodianCommitment),
    ReplicaStatus(ReplicaStatus),
    AgentPlace(AgentPlace),
    NodeEndpoint(NodeEndpoint),
    PlaceVouch(PlaceVouch),
}

/// Every link type of the media DNA; [`links`] says what each may join.
#[hdk_link_types]
pub enum LinkTypes {
    /// Author's agent key → a ContentNode they created.
    AuthorToContent,
    /// Invitee's agent key → an invited ContentNode that lists them (tag: the version).
    InviteeToContent,
    /// Reach anchor (commons, or a place-bound reach and place) → ContentNode.
    ReachIndex,
    /// Blob anchor → the BlobManifest describing that blob.
    BlobToManifest,
    /// Blob anchor → a ContentNode that uses the blob (tag: the version).
    BlobToContent,
    /// Custodians anchor → a CustodianCommitment.
    AllCommitments,
    /// Custodian's agent key → their CustodianCommitment.
    AgentToCommitment,
    /// BlobManifest → a ReplicaStatus of that blob.
    ManifestToReplica,
    /// Agent key → the AgentPlace they declared.
    AgentToPlace,
    /// Original entry → a later version of it, by the same author.
    Updates,
    /// Agent key → the NodeEndpoint it published.
    AgentToEndpoint,
    /// A region's vouches anchor → a PlaceVouch for a place in that region.
    RegionToVouch,
}

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
        FlatOp::CreateRecord(OpRecord::CreatePrivateEntry { .. })
        | FlatOp::CreateRecord(OpRecord::UpdatePrivateEntry { .. })
        | FlatOp::Update(OpUpdate::PrivateEntry { .. }) => invalid("this DNA has no private entry types"),
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
    }
}

fn validate_update(
    entry: EntryTypes,
    action: &TypedAction<UpdateData>,
) -> ExternResult<ValidateCallbackResult> {
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

fn validate_delete(action: &TypedAction<DeleteData>) -> ExternResult<ValidateCallbackResult> {
    let original = must_get_valid_record(action.deletes_address.clone())?;
    let Some(entry) = records::entry_of(&original)? else {
        return invalid("the deleted action is not an entry of this zome");
    };
    if original.action().author() != action.author() {
        return invalid(&format!(
            "only the author may delete this {}",
            records::type_name(&entry)
        ));
    }
    Ok(ValidateCallbackResult::Valid)
}

/// An `Invalid` result with `reason`.
pub(crate) fn invalid(reason: &str) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Invalid(reason.to_string()))
}

/// `Valid` when `check` passes, else `Invalid` with its reason prefixed by `what`.
pub(crate) fn verdict(what: &str, check: Result<(), String>) -> ExternResult<ValidateCallbackResult> {
    match check {
        Ok(()) => Ok(ValidateCallbackResult::Valid),
        Err(reason) => Ok(ValidateCallbackResult::Invalid(format!("{what}: {reason}"))),
    }
}
