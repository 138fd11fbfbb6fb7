//! Link validation: each link type joins one kind of base to one kind of target, and only
//! the link's author may delete it.

use crate::anchors::{blob_path, custodians_path, reach_path, vouches_path};
use crate::outcome::{invalid, verdict};
use crate::records::{entry_of, is_version_of, must_get_content, must_get_manifest};
use crate::{EntryTypes, LinkTypes};
use hdi::prelude::*;

/// Checks a new link of `link_type`.
pub fn validate_create_link(
    link_type: LinkTypes,
    action: &TypedAction<CreateLinkData>,
) -> ExternResult<ValidateCallbackResult> {
    let result = match link_type {
        LinkTypes::AuthorToContent => author_to_content(action)?,
        LinkTypes::InviteeToContent => invitee_to_content(action)?,
        LinkTypes::ReachIndex => reach_index(action)?,
        LinkTypes::BlobToManifest => blob_to_manifest(action)?,
        LinkTypes::BlobToContent => blob_to_content(action)?,
        LinkTypes::AllCommitments => all_commitments(action)?,
        LinkTypes::AgentToCommitment => agent_to_own(action, "CustodianCommitment")?,
        LinkTypes::ManifestToReplica => manifest_to_replica(action)?,
        LinkTypes::AgentToPlace => agent_to_own(action, "AgentPlace")?,
        LinkTypes::Updates => updates(action)?,
        LinkTypes::AgentToEndpoint => agent_to_own(action, "NodeEndpoint")?,
        LinkTypes::RegionToVouch => region_to_vouch(action)?,
    };
    verdict(&format!("{link_type:?} link"), result)
}

/// Only the author of a link may delete it.
pub fn validate_delete_link(
    original: &TypedAction<CreateLinkData>,
    action: &TypedAction<DeleteLinkData>,
) -> ExternResult<ValidateCallbackResult> {
    if original.author() != action.author() {
        return invalid("only the author of a link may delete it");
    }
    Ok(ValidateCallbackResult::Valid)
}

type Rule<T = ()> = ExternResult<Result<T, String>>;

fn target_action(action: &CreateLinkData) -> Result<ActionHash, String> {
    action
        .target_address
        .clone()
        .into_action_hash()
        .ok_or_else(|| "target must be an action hash".into())
}

fn base_agent(action: &CreateLinkData) -> Result<AgentPubKey, String> {
    action
        .base_address
        .clone()
        .into_agent_pub_key()
        .ok_or_else(|| "base must be an agent key".into())
}

fn base_is(action: &CreateLinkData, path: &Path, what: &str) -> Rule {
    let expected = AnyLinkableHash::from(path.path_entry_hash()?);
    Ok(if action.base_address == expected {
        Ok(())
    } else {
        Err(format!("base must be the {what} anchor"))
    })
}

fn tag_version(action: &CreateLinkData) -> Result<ActionHash, String> {
    ActionHash::try_from_raw_39(action.tag.0.clone())
        .map_err(|_| "tag must hold the action hash of a version".into())
}

/// The target must be a ContentNode *created* (not updated) by the link's author.
fn own_original_content(action: &TypedAction<CreateLinkData>) -> Rule<(ActionHash, crate::ContentNode)> {
    let target = rule!(target_action(action));
    let (record, content) = rule!(must_get_content(&target, "target")?);
    if record.action().author() != action.author() {
        return Ok(Err("only the content's author may index it".into()));
    }
    if !matches!(record.action().data, ActionData::Create(_)) {
        return Ok(Err("target must be the content's original action".into()));
    }
    Ok(Ok((target, content)))
}

/// The ContentNode at the version in the link's tag, which must be a version of `original`.
fn tagged_version(action: &CreateLinkData, original: &ActionHash) -> Rule<crate::ContentNode> {
    let version = rule!(tag_version(action));
    if !is_version_of(&version, original)? {
        return Ok(Err("tag must name a version of the target content".into()));
    }
    let (_, content) = rule!(must_get_content(&version, "tag")?);
    Ok(Ok(content))
}

fn author_to_content(action: &TypedAction<CreateLinkData>) -> Rule {
    rule!(own_original_content(action)?);
    Ok(if &rule!(base_agent(action)) == action.author() {
        Ok(())
    } else {
        Err("base must be the author's own agent key".into())
    })
}

fn invitee_to_content(action: &TypedAction<CreateLinkData>) -> Rule {
    let (original, _) = rule!(own_original_content(action)?);
    let invitee = rule!(base_agent(action));
    let version = rule!(tagged_version(action, &original)?);
    Ok(if version.invitees.contains(&invitee) {
        Ok(())
    } else {
        Err("base must be an invitee of the tagged version".into())
    })
}

fn reach_index(action: &TypedAction<CreateLinkData>) -> Rule {
    let (_, content) = rule!(own_original_content(action)?);
    let reach = rule!(content.reach());
    let Some(path) = reach_path(reach, content.place.as_ref()) else {
        return Ok(Err(format!("{reach} content is not listed under a reach anchor")));
    };
    base_is(action, &path, "content's reach")
}

fn blob_to_manifest(action: &TypedAction<CreateLinkData>) -> Rule {
    let target = rule!(target_action(action));
    let (_, manifest) = rule!(must_get_manifest(&target, "target")?);
    base_is(action, &blob_path(&manifest.hash), "manifest's blob")
}

fn blob_to_content(action: &TypedAction<CreateLinkData>) -> Rule {
    let (original, _) = rule!(own_original_content(action)?);
    let version = rule!(tagged_version(action, &original)?);
    for hash in &version.blobs {
        let (_, manifest) = rule!(must_get_manifest(hash, "blobs")?);
        if action.base_address == AnyLinkableHash::from(blob_path(&manifest.hash).path_entry_hash()?) {
            return Ok(Ok(()));
        }
    }
    Ok(Err(
        "base must be the anchor of a blob the tagged version uses".into()
    ))
}

fn all_commitments(action: &TypedAction<CreateLinkData>) -> Rule {
    rule!(own_entry(action, "CustodianCommitment")?);
    base_is(action, &custodians_path(), "custodians")
}

fn agent_to_own(action: &TypedAction<CreateLinkData>, wanted: &str) -> Rule {
    rule!(own_entry(action, wanted)?);
    Ok(if &rule!(base_agent(action)) == action.author() {
        Ok(())
    } else {
        Err("base must be the author's own agent key".into())
    })
}

/// The target is the link author's own PlaceVouch, and the base its region's anchor.
fn region_to_vouch(action: &TypedAction<CreateLinkData>) -> Rule {
    let vouch = rule!(own_entry(action, "PlaceVouch")?);
    let EntryTypes::PlaceVouch(vouch) = vouch else {
        return Ok(Err("target must be a PlaceVouch".into()));
    };
    base_is(
        action,
        &vouches_path(&vouch.place.region),
        "vouches of the place's region",
    )
}

fn manifest_to_replica(action: &TypedAction<CreateLinkData>) -> Rule {
    let status = rule!(own_entry(action, "ReplicaStatus")?);
    let EntryTypes::ReplicaStatus(status) = status else {
        return Ok(Err("target must be a ReplicaStatus".into()));
    };
    Ok(if action.base_address == AnyLinkableHash::from(status.manifest) {
        Ok(())
    } else {
        Err("base must be the manifest the status reports on".into())
    })
}

fn updates(action: &TypedAction<CreateLinkData>) -> Rule {
    let Some(original) = action.base_address.clone().into_action_hash() else {
        return Ok(Err("base must be an action hash".into()));
    };
    let version = rule!(target_action(action));
    let record = must_get_valid_record(version.clone())?;
    if record.action().author() != action.author() {
        return Ok(Err("only the author may link versions of their entries".into()));
    }
    if !matches!(record.action().data, ActionData::Update(_)) || !is_version_of(&version, &original)? {
        return Ok(Err("target must be an update of the base".into()));
    }
    Ok(Ok(()))
}

/// The target must be an entry of type `wanted` authored by the link's author.
fn own_entry(action: &TypedAction<CreateLinkData>, wanted: &str) -> Rule<EntryTypes> {
    let target = rule!(target_action(action));
    let record = must_get_valid_record(target)?;
    let Some(entry) = entry_of(&record)? else {
        return Ok(Err(format!("target must be a {wanted}")));
    };
    if crate::records::type_name(&entry) != wanted {
        return Ok(Err(format!("target must be a {wanted}")));
    }
    if record.action().author() != action.author() {
        return Ok(Err(format!("target must be the link author's own {wanted}")));
    }
    Ok(Ok(entry))
}
