//! Coordinator zome of Elohim Media: the API a UI (or the sidecar) calls. Each extern is a
//! thin wrapper over a plain function in the module named for what it works on.

use hdk::prelude::*;
use std::collections::HashSet;

mod blobs;
mod caller;
mod calls;
mod content;
mod custodians;
mod endpoints;
mod kept;
mod places;
mod records;
mod replicas;
mod tokens;
mod versions;

pub use media_api::{
    use_of, BlobAccess, CommitmentView, ContentView, IssueCallTokenInput, IssueTokenInput, IssuedToken,
    LinkReplicaInput, ManifestView, RefreshReplicaInput, ReplicaView, SetLifecycleInput, ShareDelivery,
    StartCallInput, UpdateCommitmentInput, UpdateContentInput, VouchInput, VouchView,
};

use media_integrity::{AgentPlace, BlobManifest, ContentNode, CustodianCommitment, ReplicaStatus, Share};
use media_rules::Place;

/// Lets every agent call [`receive_share`]: an author hands its invitees their copies.
#[hdk_extern]
pub fn init() -> ExternResult<InitCallbackResult> {
    let functions =
        GrantedFunctions::Listed(HashSet::from([(zome_info()?.name, kept::RECEIVE_SHARE.into())]));
    create_cap_grant(CapGrant::new_zome_call_grant(
        "invitees receive their copies".into(),
        GrantConstraint::Unrestricted,
        functions,
    ))?;
    Ok(InitCallbackResult::Pass)
}

#[hdk_extern]
pub fn create_content(node: ContentNode) -> ExternResult<ContentView> {
    content::create_content(node)
}

#[hdk_extern]
pub fn get_latest_content(id: ActionHash) -> ExternResult<Option<ContentView>> {
    content::get_visible_content(id)
}

#[hdk_extern]
pub fn update_content(input: UpdateContentInput) -> ExternResult<ContentView> {
    content::update_content(input)
}

#[hdk_extern]
pub fn set_lifecycle(input: SetLifecycleInput) -> ExternResult<ContentView> {
    content::set_lifecycle(input)
}

#[hdk_extern]
pub fn delete_content(id: ActionHash) -> ExternResult<ActionHash> {
    content::delete_content(id)
}

#[hdk_extern]
pub fn list_visible_content(_: ()) -> ExternResult<Vec<ContentView>> {
    content::list_visible_content(None)
}

/// The visible content indexed after `since` (what is new since a custodian last looked).
#[hdk_extern]
pub fn list_visible_content_since(since: Timestamp) -> ExternResult<Vec<ContentView>> {
    content::list_visible_content(Some(since))
}

#[hdk_extern]
pub fn register_blob_manifest(manifest: BlobManifest) -> ExternResult<ManifestView> {
    blobs::register_blob_manifest(manifest)
}

/// Registers a manifest for private or invited content: kept on the caller's chain.
#[hdk_extern]
pub fn register_private_manifest(manifest: BlobManifest) -> ExternResult<ManifestView> {
    kept::register_manifest(manifest)
}

/// Hands each invitee its copy of the caller's invited content (what is not yet handed).
#[hdk_extern]
pub fn deliver_shares(_: ()) -> ExternResult<ShareDelivery> {
    kept::deliver_shares()
}

/// Takes the copy of invited content its author hands over (a remote call).
#[hdk_extern]
pub fn receive_share(share: Share) -> ExternResult<()> {
    kept::receive(share)
}

#[hdk_extern]
pub fn get_blob_manifest(id: ActionHash) -> ExternResult<Option<ManifestView>> {
    blobs::get_blob_manifest(id)
}

#[hdk_extern]
pub fn find_blob_manifests(blob_hash: String) -> ExternResult<Vec<ManifestView>> {
    blobs::find_blob_manifests(&blob_hash)
}

#[hdk_extern]
pub fn get_blob_access(blob_hash: String) -> ExternResult<Vec<BlobAccess>> {
    blobs::get_blob_access(&blob_hash)
}

#[hdk_extern]
pub fn commit_as_custodian(commitment: CustodianCommitment) -> ExternResult<CommitmentView> {
    custodians::commit_as_custodian(commitment)
}

#[hdk_extern]
pub fn update_commitment(input: UpdateCommitmentInput) -> ExternResult<CommitmentView> {
    custodians::update_commitment(input)
}

#[hdk_extern]
pub fn withdraw_commitment(id: ActionHash) -> ExternResult<ActionHash> {
    custodians::withdraw_commitment(id)
}

#[hdk_extern]
pub fn list_live_commitments(_: ()) -> ExternResult<Vec<CommitmentView>> {
    custodians::list_live_commitments()
}

#[hdk_extern]
pub fn record_replica(status: ReplicaStatus) -> ExternResult<ReplicaView> {
    replicas::record_replica(status)
}

#[hdk_extern]
pub fn refresh_replica(input: RefreshReplicaInput) -> ExternResult<ReplicaView> {
    replicas::refresh_replica(input)
}

#[hdk_extern]
pub fn link_replica(input: LinkReplicaInput) -> ExternResult<ActionHash> {
    replicas::link_replica(input)
}

#[hdk_extern]
pub fn list_replicas(manifest: ActionHash) -> ExternResult<Vec<ReplicaView>> {
    replicas::list_replicas(manifest)
}

#[hdk_extern]
pub fn set_my_place(place: Place) -> ExternResult<ActionHash> {
    places::set_my_place(AgentPlace { place })
}

#[hdk_extern]
pub fn get_agent_place(agent: AgentPubKey) -> ExternResult<Option<Place>> {
    places::get_agent_place(agent)
}

#[hdk_extern]
pub fn set_my_endpoint(url: String) -> ExternResult<ActionHash> {
    endpoints::set_my_endpoint(url)
}

#[hdk_extern]
pub fn get_agent_endpoint(agent: AgentPubKey) -> ExternResult<Option<String>> {
    endpoints::get_agent_endpoint(agent)
}

#[hdk_extern]
pub fn issue_access_token(input: IssueTokenInput) -> ExternResult<IssuedToken> {
    tokens::issue_access_token(input)
}

#[hdk_extern]
pub fn vouch_for_place(input: VouchInput) -> ExternResult<VouchView> {
    places::vouch_for_place(input)
}

#[hdk_extern]
pub fn found_place(place: Place) -> ExternResult<Vec<VouchView>> {
    places::found_place(place)
}

#[hdk_extern]
pub fn revoke_place_vouch(id: ActionHash) -> ExternResult<ActionHash> {
    places::revoke_place_vouch(id)
}

#[hdk_extern]
pub fn list_place_vouches(region: String) -> ExternResult<Vec<VouchView>> {
    places::list_place_vouches(region)
}

#[hdk_extern]
pub fn issue_call_token(input: IssueCallTokenInput) -> ExternResult<IssuedToken> {
    tokens::issue_call_token(input)
}

#[hdk_extern]
pub fn start_call(input: StartCallInput) -> ExternResult<ContentView> {
    calls::start_call(input)
}
