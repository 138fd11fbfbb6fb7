//! Custodian commitments: promise to keep or serve media, renew, withdraw, list.

use crate::caller::{me, refuse};
use crate::records::entry_from;
use crate::versions::{latest_record, newest_of, update_latest, version_links};
use hdk::prelude::*;
use media_api::{CommitmentView, UpdateCommitmentInput};
use media_integrity::anchors::custodians_path;
use media_integrity::{CustodianCommitment, EntryTypes, LinkTypes};

/// Commits the caller as a custodian and lists it for placement.
pub fn commit_as_custodian(commitment: CustodianCommitment) -> ExternResult<CommitmentView> {
    let id = create_entry(EntryTypes::CustodianCommitment(commitment))?;
    create_link(
        custodians_path().path_entry_hash()?,
        id.clone(),
        LinkTypes::AllCommitments,
        (),
    )?;
    create_link(me()?, id.clone(), LinkTypes::AgentToCommitment, ())?;
    commitment_view(&id)?.ok_or_else(|| refuse("commitment not found after creating it"))
}

/// Writes a new version of the caller's commitment. A custodian renews it often (its
/// heartbeat, and every so many replica statuses), so the links to versions before the
/// previous one are deleted: finding the newest reads two live links, however many renewals
/// came before. The previous version's link stays, so a peer that sees the deletes before
/// the new link still finds a recent version, not the first one.
pub fn update_commitment(input: UpdateCommitmentInput) -> ExternResult<CommitmentView> {
    let me = me()?;
    let links = version_links(&input.id)?;
    let previous = newest_of(&input.id, &links);
    update_latest(
        &input.id,
        &previous,
        EntryTypes::CustodianCommitment(input.commitment),
    )?;
    for link in links {
        let superseded = link.target.clone().into_action_hash().as_ref() != Some(&previous);
        if superseded && link.author == me {
            delete_link(link.create_link_hash, GetOptions::default())?;
        }
    }
    commitment_view(&input.id)?.ok_or_else(|| refuse("commitment not found after updating it"))
}

/// Withdraws a commitment: its original and the versions still linked are deleted (a claim
/// citing an older version is refused already, as superseded) and it is no longer listed,
/// so no further replica claim can cite it.
pub fn withdraw_commitment(id: ActionHash) -> ExternResult<ActionHash> {
    let me = me()?;
    for (base, link_type) in [
        (
            AnyLinkableHash::from(custodians_path().path_entry_hash()?),
            LinkTypes::AllCommitments,
        ),
        (me.clone().into(), LinkTypes::AgentToCommitment),
    ] {
        for link in get_links(LinkQuery::try_new(base, link_type)?, GetStrategy::default())? {
            if link.target.clone().into_action_hash().as_ref() == Some(&id) && link.author == me {
                delete_link(link.create_link_hash, GetOptions::default())?;
            }
        }
    }
    for version in version_links(&id)?
        .into_iter()
        .filter_map(|l| l.target.into_action_hash())
    {
        delete_entry(version)?;
    }
    delete_entry(id)
}

/// Every listed commitment that has not expired.
pub fn list_live_commitments() -> ExternResult<Vec<CommitmentView>> {
    let links = get_links(
        LinkQuery::try_new(custodians_path().path_entry_hash()?, LinkTypes::AllCommitments)?,
        GetStrategy::default(),
    )?;
    let mut out = Vec::new();
    for id in links.into_iter().filter_map(|l| l.target.into_action_hash()) {
        if let Some(view) = commitment_view(&id)?.filter(|v| v.live) {
            out.push(view);
        }
    }
    Ok(out)
}

fn commitment_view(id: &ActionHash) -> ExternResult<Option<CommitmentView>> {
    let Some(original) = get(id.clone(), GetOptions::default())? else {
        return Ok(None);
    };
    let Some(latest) = latest_record(id)? else {
        return Ok(None);
    };
    let commitment: CustodianCommitment = entry_from(&latest)?;
    Ok(Some(CommitmentView {
        id: id.clone(),
        version: latest.action_address().clone(),
        author: original.action().author().clone(),
        live: commitment.is_live_at(sys_time()?),
        updated_at: latest.action().timestamp(),
        commitment,
    }))
}
