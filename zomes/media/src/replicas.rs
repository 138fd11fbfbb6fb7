//! Replica statuses: what custodians report they hold.

use crate::caller::refuse;
use crate::records::entry_from;
use crate::versions::{latest_record, latest_version, update_latest};
use hdk::prelude::*;
use media_api::{LinkReplicaInput, RefreshReplicaInput, ReplicaView};
use media_integrity::{CustodianCommitment, EntryTypes, LinkTypes, ReplicaStatus};

/// Records a new replica status and links it from the blob's manifest.
pub fn record_replica(status: ReplicaStatus) -> ExternResult<ReplicaView> {
    let manifest = status.manifest.clone();
    let id = create_entry(EntryTypes::ReplicaStatus(status))?;
    link_replica(LinkReplicaInput {
        manifest,
        replica: id.clone(),
    })?;
    replica_view(&id)?.ok_or_else(|| refuse("replica not found after recording it"))
}

/// Links `replica` from `manifest`; validation checks that the status is the caller's own
/// and reports on that manifest.
pub fn link_replica(input: LinkReplicaInput) -> ExternResult<ActionHash> {
    create_link(input.manifest, input.replica, LinkTypes::ManifestToReplica, ())
}

/// Writes a newer status for one of the caller's replicas.
pub fn refresh_replica(input: RefreshReplicaInput) -> ExternResult<ReplicaView> {
    let previous = latest_version(&input.id)?;
    update_latest(&input.id, &previous, EntryTypes::ReplicaStatus(input.status))?;
    replica_view(&input.id)?.ok_or_else(|| refuse("replica not found after refreshing it"))
}

/// Every replica reported for the blob whose manifest is `manifest`, newest status each.
pub fn list_replicas(manifest: ActionHash) -> ExternResult<Vec<ReplicaView>> {
    let links = get_links(
        LinkQuery::try_new(manifest, LinkTypes::ManifestToReplica)?,
        GetStrategy::default(),
    )?;
    let mut out = Vec::new();
    for id in links.into_iter().filter_map(|l| l.target.into_action_hash()) {
        if let Some(view) = replica_view(&id)? {
            out.push(view);
        }
    }
    Ok(out)
}

fn replica_view(id: &ActionHash) -> ExternResult<Option<ReplicaView>> {
    let Some(latest) = latest_record(id)? else {
        return Ok(None);
    };
    let status: ReplicaStatus = entry_from(&latest)?;
    let endpoint = match get(status.commitment.clone(), GetOptions::default())? {
        Some(record) => Some(entry_from::<CustodianCommitment>(&record)?.endpoint),
        None => None,
    };
    Ok(Some(ReplicaView {
        id: id.clone(),
        version: latest.action_address().clone(),
        custodian: latest.action().author().clone(),
        updated_at: latest.action().timestamp(),
        status,
        endpoint,
    }))
}
