//! Replica statuses: what custodians report they hold.

use crate::content::entry_from;
use crate::refuse;
use crate::versions::{latest_record, latest_version, update_latest};
use hdk::prelude::*;
use media_integrity::{CustodianCommitment, EntryTypes, LinkTypes, ReplicaStatus};

/// A replica as the network sees it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReplicaView {
    /// The original status action: the replica's identity.
    pub id: ActionHash,
    /// The newest version's action.
    pub version: ActionHash,
    /// The custodian holding it.
    pub custodian: AgentPubKey,
    /// When the newest version was written.
    pub updated_at: Timestamp,
    /// The newest status.
    pub status: ReplicaStatus,
    /// The custodian's sidecar URL, from the commitment the status cites.
    pub endpoint: Option<String>,
}

/// A newer status for a replica.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct RefreshReplicaInput {
    /// The replica's identity.
    pub id: ActionHash,
    /// The new status.
    pub status: ReplicaStatus,
}

/// Lists a replica status under a manifest (again, e.g. after the link was deleted).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct LinkReplicaInput {
    /// The BlobManifest the status reports on.
    pub manifest: ActionHash,
    /// The ReplicaStatus.
    pub replica: ActionHash,
}

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
