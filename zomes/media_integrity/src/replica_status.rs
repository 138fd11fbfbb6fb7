//! ReplicaStatus: who actually holds which blob, and how recently they checked it.

use crate::outcome::{invalid, verdict};
use crate::records::{authored_as, unit_of};
use crate::records::{
    is_version_of, later_on_chain, must_get_commitment, must_get_content, must_get_manifest, Later,
};
use crate::{CustodianCommitment, UnitEntryTypes};
use hdi::prelude::*;
use media_rules::reach::Audience;
use media_rules::ReplicaState;

/// A custodian's report on its copy of one blob of one piece of content.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct ReplicaStatus {
    /// The version of the ContentNode the custodian read (its blobs and audience govern
    /// who may hold which blob); a refresh may move it to a later version.
    pub content: ActionHash,
    /// The BlobManifest of the blob held.
    pub manifest: ActionHash,
    /// The holder's own CustodianCommitment.
    pub commitment: ActionHash,
    /// A [`ReplicaState`] name.
    pub state: String,
    /// How many of the blob's chunks the holder has.
    pub chunks_held: u32,
    /// When every chunk was last re-read and its hash checked.
    pub last_verified: Option<Timestamp>,
}

impl ReplicaStatus {
    /// The parsed state.
    pub fn state(&self) -> Result<ReplicaState, String> {
        ReplicaState::parse(&self.state).map_err(|e| format!("state: {e}"))
    }
}

/// A new status: a live commitment of the author's own, content whose reach lets the
/// author hold it, a manifest the content uses, and counts that agree with the manifest.
pub fn validate_create_replica_status(
    action: &ActionHeader,
    status: &ReplicaStatus,
) -> ExternResult<ValidateCallbackResult> {
    match check_replica(action, status)? {
        Ok(()) => Ok(ValidateCallbackResult::Valid),
        Err(reason) => verdict("ReplicaStatus", Err(reason)),
    }
}

/// A refresh by the author: the same blob, the same content version or a later one (a
/// rendition or an invitee is added by an update), an allowed state move, and every check
/// of a new status again (the commitment must still be live).
pub fn validate_update_replica_status(
    action: &ActionHeader,
    new: &ReplicaStatus,
    old: &ReplicaStatus,
) -> ExternResult<ValidateCallbackResult> {
    if new.manifest != old.manifest {
        return invalid("ReplicaStatus: an update must keep the manifest");
    }
    if new.content != old.content && !is_version_of(&new.content, &old.content)? {
        return invalid("ReplicaStatus: an update must keep the content, or cite a later version of it");
    }
    let (Ok(from), Ok(to)) = (old.state(), new.state()) else {
        return invalid("ReplicaStatus: state is unknown");
    };
    if !from.can_move_to(to) {
        return invalid(&format!("ReplicaStatus: state cannot move from {from} to {to}"));
    }
    validate_create_replica_status(action, new)
}

fn check_replica(action: &ActionHeader, status: &ReplicaStatus) -> ExternResult<Result<(), String>> {
    let state = rule!(status.state());
    let commitment = rule!(check_commitment(action, &status.commitment)?);
    let content_action = must_get_action(status.content.clone())?;
    if let Some(kept @ (UnitEntryTypes::PrivateContent | UnitEntryTypes::InvitedContent)) =
        unit_of(content_action.action())?
    {
        rule!(check_kept_replica(action, status, content_action.action(), kept)?);
        return Ok(check_verified(state, status, action));
    }
    let (_, manifest) = rule!(must_get_manifest(&status.manifest, "manifest")?);
    let (content_record, content) = rule!(must_get_content(&status.content, "content")?);
    if !content.blobs.contains(&status.manifest) {
        return Ok(Err("manifest is not one of the content's blobs".into()));
    }
    let reach = rule!(content.reach());
    let audience = Audience {
        author: content_record.action().author(),
        invitees: &content.invitees,
        place: content.place.as_ref(),
    };
    if !reach.may_hold(&audience, &action.author, commitment.place.as_ref()) {
        return Ok(Err(format!(
            "content reach {reach} forbids this custodian from holding its blobs"
        )));
    }
    let chunk_count = manifest.chunks.len() as u32;
    if status.chunks_held > chunk_count {
        return Ok(Err(format!(
            "chunks_held {} exceeds the blob's {chunk_count} chunks",
            status.chunks_held
        )));
    }
    if state.holds_bytes() && status.chunks_held != chunk_count {
        return Ok(Err(format!(
            "state {state} requires all {chunk_count} chunks, chunks_held is {}",
            status.chunks_held
        )));
    }
    Ok(check_verified(state, status, action))
}

fn check_verified(state: ReplicaState, status: &ReplicaStatus, action: &ActionHeader) -> Result<(), String> {
    match (state, status.last_verified) {
        (ReplicaState::Verified, None) => Err("last_verified is required for state verified".into()),
        (_, Some(at)) if at > action.timestamp => {
            Err("last_verified must not be later than the status itself".into())
        }
        _ => Ok(()),
    }
}

/// A replica of content kept off the DHT, checked from the actions validators can read:
/// the manifest is a private manifest of the content's author, and private content is
/// held by its author alone. Whether a custodian is invited, and the chunk counts, are
/// for the readers of the statuses to check: they hold the content and its invitee list.
fn check_kept_replica(
    action: &ActionHeader,
    status: &ReplicaStatus,
    content: &Action,
    kept: UnitEntryTypes,
) -> ExternResult<Result<(), String>> {
    if authored_as(
        &status.manifest,
        content.author(),
        UnitEntryTypes::PrivateManifest,
    )?
    .is_none()
    {
        return Ok(Err(
            "manifest must be a private manifest of the content's author".into()
        ));
    }
    if kept == UnitEntryTypes::PrivateContent && &action.author != content.author() {
        return Ok(Err(
            "content reach private forbids this custodian from holding its blobs".into(),
        ));
    }
    Ok(Ok(()))
}

/// The commitment must be the author's own, a storage or cache role, not expired when the
/// status is written, and neither withdrawn (deleted) nor superseded (updated) earlier on
/// the author's chain.
fn check_commitment(
    action: &ActionHeader,
    hash: &ActionHash,
) -> ExternResult<Result<CustodianCommitment, String>> {
    let (record, commitment) = rule!(must_get_commitment(hash, "commitment")?);
    if record.action().author() != &action.author {
        return Ok(Err(
            "commitment must be the custodian's own; no live CustodianCommitment of this agent backs the claim"
                .into(),
        ));
    }
    if commitment.media_role.capacity_bytes() == 0 {
        return Ok(Err(format!(
            "a {} custodian holds no blobs",
            commitment.media_role.name()
        )));
    }
    if !commitment.is_live_at(action.timestamp) {
        return Ok(Err(
            "commitment has expired; no live CustodianCommitment backs the claim".into(),
        ));
    }
    match rule!(later_on_chain(action, hash)?) {
        Later::Nothing => {}
        Later::Deleted => {
            return Ok(Err(
                "commitment was withdrawn; no live CustodianCommitment backs the claim".into(),
            ))
        }
        Later::Updated => {
            return Ok(Err(
                "commitment was superseded by a later version; a status must cite the newest".into(),
            ))
        }
    }
    Ok(Ok(commitment))
}
