//! Content kept off the DHT. Private and invited content, and the manifests of its blobs,
//! are private entries: the author finds them on its own chain. Each invitee gets a copy
//! of every version by a remote call from the author ([`deliver_shares`]) and finds it
//! on its own chain; strangers find nothing.

use crate::caller::{me, refuse};
use crate::records::entry_from;
use hdk::prelude::*;
use media_api::{ContentView, ManifestView, ShareDelivery};
use media_integrity::{
    authored_as, BlobManifest, ContentNode, EntryTypes, Share, ShareReceipt, SharedManifest, UnitEntryTypes,
};
use media_rules::Reach;
use std::collections::{BTreeMap, BTreeSet};

/// The function an author calls on each invitee's cell; `init` grants it to everyone.
pub const RECEIVE_SHARE: &str = "receive_share";

/// Writes new kept content on the caller's chain; the entry type follows the reach.
pub fn create(node: ContentNode) -> ExternResult<ActionHash> {
    node.check_fields().map_err(refuse)?;
    create_entry(typed(node)?)
}

/// Writes a new version of kept content, after `previous`, its newest version.
pub fn update(previous: &ActionHash, old: &ContentNode, node: ContentNode) -> ExternResult<ActionHash> {
    node.check_fields().map_err(refuse)?;
    let (from, to) = (
        old.lifecycle().map_err(refuse)?,
        node.lifecycle().map_err(refuse)?,
    );
    from.check_move(to).map_err(refuse)?;
    if node.reach != old.reach || node.place != old.place {
        return Err(refuse(
            "ContentNode: reach cannot change after creation; custodians were chosen by it",
        ));
    }
    update_entry(previous.clone(), typed(node)?)
}

/// Registers a manifest that only the caller (and, through shares, its invitees) can read.
pub fn register_manifest(manifest: BlobManifest) -> ExternResult<ManifestView> {
    manifest.check().map_err(refuse)?;
    let id = create_entry(EntryTypes::PrivateManifest(manifest.clone()))?;
    Ok(ManifestView {
        id,
        author: me()?,
        manifest,
    })
}

fn typed(node: ContentNode) -> ExternResult<EntryTypes> {
    match node.reach().map_err(refuse)? {
        Reach::Private => Ok(EntryTypes::PrivateContent(node)),
        Reach::Invited => Ok(EntryTypes::InvitedContent(node)),
        other => Err(refuse(format!("{other} content is public in the DHT"))),
    }
}

fn own_records(units: &[UnitEntryTypes]) -> ExternResult<Vec<Record>> {
    let mut out = Vec::new();
    for unit in units {
        let filter = ChainQueryFilter::new()
            .entry_type(EntryType::try_from(*unit)?)
            .include_entries(true);
        out.extend(query(filter)?);
    }
    Ok(out)
}

/// The versions of each piece of the caller's kept content that is not deleted, oldest
/// first: validation lets only the newest version be updated, so chain order is version
/// order.
fn own_versions(units: &[UnitEntryTypes]) -> ExternResult<Vec<Vec<Record>>> {
    let records = own_records(units)?;
    let deleted: BTreeSet<ActionHash> = query(ChainQueryFilter::new().action_type(ActionType::Delete))?
        .iter()
        .filter_map(|r| match &r.action().data {
            ActionData::Delete(d) => Some(d.deletes_address.clone()),
            _ => None,
        })
        .collect();
    let mut pieces: BTreeMap<ActionHash, Vec<Record>> = BTreeMap::new();
    let mut root_of: BTreeMap<ActionHash, ActionHash> = BTreeMap::new();
    for record in records {
        let root = match &record.action().data {
            ActionData::Update(u) => root_of
                .get(&u.original_action_address)
                .cloned()
                .unwrap_or_else(|| u.original_action_address.clone()),
            _ => record.action_address().clone(),
        };
        root_of.insert(record.action_address().clone(), root.clone());
        pieces.entry(root).or_default().push(record);
    }
    Ok(pieces
        .into_iter()
        .filter(|(id, _)| !deleted.contains(id))
        .map(|(_, versions)| versions)
        .collect())
}

/// A piece of the caller's kept content, as its newest version.
fn newest(versions: &[Record]) -> ExternResult<Option<ContentView>> {
    let (Some(first), Some(latest)) = (versions.first(), versions.last()) else {
        return Ok(None);
    };
    Ok(Some(ContentView {
        id: first.action_address().clone(),
        version: latest.action_address().clone(),
        author: first.action().author().clone(),
        updated_at: latest.action().timestamp(),
        content: entry_from(latest)?,
    }))
}

/// The newest version of each piece of the caller's kept content that is not deleted.
pub fn own_contents() -> ExternResult<Vec<ContentView>> {
    let pieces = own_versions(&[UnitEntryTypes::PrivateContent, UnitEntryTypes::InvitedContent])?;
    let mut out = Vec::new();
    for versions in &pieces {
        out.extend(newest(versions)?);
    }
    Ok(out)
}

/// The caller's kept content `id`, newest version.
pub fn own_content(id: &ActionHash) -> ExternResult<Option<ContentView>> {
    Ok(own_contents()?.into_iter().find(|v| &v.id == id))
}

/// The caller's private manifests.
pub fn own_manifests() -> ExternResult<Vec<ManifestView>> {
    let author = me()?;
    own_records(&[UnitEntryTypes::PrivateManifest])?
        .iter()
        .map(|r| {
            Ok(ManifestView {
                id: r.action_address().clone(),
                author: author.clone(),
                manifest: entry_from(r)?,
            })
        })
        .collect()
}

/// A copy the caller holds, and when it arrived.
pub struct Held {
    /// The copy.
    pub share: Share,
    /// When the caller took it.
    pub arrived: Timestamp,
}

/// The newest copy of each piece of invited content handed to the caller (by author and
/// content id), revocations included.
pub fn shares() -> ExternResult<Vec<Held>> {
    let mut newest: BTreeMap<(AgentPubKey, ActionHash), Held> = BTreeMap::new();
    for record in own_records(&[UnitEntryTypes::Share])? {
        let share: Share = entry_from(&record)?;
        let key = (share.author.clone(), share.id.clone());
        if newest
            .get(&key)
            .is_none_or(|h| h.share.updated_at < share.updated_at)
        {
            let arrived = record.action().timestamp();
            newest.insert(key, Held { share, arrived });
        }
    }
    Ok(newest.into_values().collect())
}

/// A copy as the content it stands for; `None` for a revocation.
pub fn view_of(share: &Share) -> Option<ContentView> {
    Some(ContentView {
        id: share.id.clone(),
        version: share.version.clone(),
        author: share.author.clone(),
        updated_at: share.updated_at,
        content: share.content.clone()?,
    })
}

/// The manifests carried by the copies `held`.
pub fn shared_manifests(held: &[Held]) -> impl Iterator<Item = ManifestView> + '_ {
    held.iter().flat_map(|h| {
        h.share.manifests.iter().map(|m| ManifestView {
            id: m.id.clone(),
            author: h.share.author.clone(),
            manifest: m.manifest.clone(),
        })
    })
}

/// Takes a copy its author hands over. Everything in it is checked against the author's
/// public actions: the version is the caller's invited content, leads back to `id`, was
/// written at `updated_at`, and hashes to the content handed over; each manifest is the
/// caller's private manifest and hashes to the one handed over. A copy must invite this
/// agent; an older version than the one held, or a revocation of nothing held, changes
/// nothing.
pub fn receive(mut share: Share) -> ExternResult<()> {
    let from = call_info()?.provenance;
    if from != share.author {
        return Err(refuse("a share must come from the content's author"));
    }
    share.check().map_err(refuse)?;
    // What costs nothing first: a copy that does not invite this agent, or that changes
    // nothing held, goes no further.
    let held = shares()?
        .into_iter()
        .find(|h| h.share.author == from && h.share.id == share.id);
    match (&share.content, &held) {
        (Some(content), _) if !content.invitees.contains(&me()?) => {
            return Err(refuse("this content does not invite you"));
        }
        // A revocation of what was never handed over changes nothing.
        (None, None) => return Ok(()),
        (_, Some(h)) if h.share.updated_at >= share.updated_at => return Ok(()),
        _ => {}
    }
    let version = authored_as(&share.version, &from, UnitEntryTypes::InvitedContent)?
        .filter(|v| v.timestamp() == share.updated_at)
        .ok_or_else(|| refuse("version must be the sender's invited content, written at updated_at"))?;
    if let Some(content) = &share.content {
        if version.entry_hash() != Some(&hash_entry(content.clone())?) {
            return Err(refuse("content is not the version's entry"));
        }
    }
    leads_back(
        &share.version,
        &share.id,
        &from,
        held.as_ref().map(|h| &h.share.version),
    )?;
    for m in &share.manifests {
        let registered = authored_as(&m.id, &from, UnitEntryTypes::PrivateManifest)?;
        if registered.and_then(|a| a.entry_hash().cloned()) != Some(hash_entry(m.manifest.clone())?) {
            return Err(refuse(
                "each manifest must be the sender's private manifest, as registered",
            ));
        }
    }
    share.nonce = random_bytes(32)?.to_vec();
    create_entry(EntryTypes::Share(share))?;
    Ok(())
}

/// Whether `version` is `id` or an update chain by `author` leading back to it, `id`
/// itself a creation. The walk stops early at `known`, a version of `id` checked before.
fn leads_back(
    version: &ActionHash,
    id: &ActionHash,
    author: &AgentPubKey,
    known: Option<&ActionHash>,
) -> ExternResult<()> {
    const MAX_VERSIONS: usize = 10_000;
    let mut at = version.clone();
    for _ in 0..MAX_VERSIONS {
        if Some(&at) == known {
            return Ok(());
        }
        let action = must_get_action(at.clone())?;
        if action.action().author() != author {
            break;
        }
        match &action.action().data {
            ActionData::Create(_) if &at == id => return Ok(()),
            ActionData::Update(u) => at = u.original_action_address.clone(),
            _ => break,
        }
    }
    Err(refuse("version must be a version of the content id"))
}

/// How long a failed ask of an invitee's node took for the node to count as away (not
/// answering) rather than refusing that one copy: the network's connect timeout is 7 s on
/// an embedded node, 22 s on Holochain's defaults.
const UNANSWERED_AFTER_MICROS: i64 = 5_000_000;

/// Hands the newest version of each piece of the caller's invited content to every agent
/// any version invited (one dropped from the invitees learns so), once per version and
/// agent. An invitee whose node does not answer is tried again on the next call.
pub fn deliver_shares() -> ExternResult<ShareDelivery> {
    // Every receipt, oldest first.
    let receipts: Vec<ShareReceipt> = own_records(&[UnitEntryTypes::ShareReceipt])?
        .iter()
        .map(entry_from::<ShareReceipt>)
        .collect::<ExternResult<_>>()?;
    let zome = zome_info()?.name;
    let manifests = own_manifests()?;
    let mut report = ShareDelivery::default();
    let mut unanswered: BTreeSet<AgentPubKey> = BTreeSet::new();
    for all in own_versions(&[UnitEntryTypes::InvitedContent])? {
        let Some(view) = newest(&all)? else { continue };
        let versions: BTreeSet<&ActionHash> = all.iter().map(|r| r.action_address()).collect();
        let invited: BTreeSet<AgentPubKey> = view.content.invitees.iter().cloned().collect();
        let mut recipients = invited.clone();
        for record in &all {
            if let Ok(node) = entry_from::<ContentNode>(record) {
                recipients.extend(node.invitees);
            }
        }
        recipients.remove(&view.author);
        let copy = Share {
            author: view.author.clone(),
            id: view.id.clone(),
            version: view.version.clone(),
            updated_at: view.updated_at,
            manifests: manifests
                .iter()
                .filter(|m| view.content.blobs.contains(&m.id))
                .map(|m| SharedManifest {
                    id: m.id.clone(),
                    manifest: m.manifest.clone(),
                })
                .collect(),
            content: Some(view.content.clone()),
            nonce: Vec::new(),
        };
        // Who this version no longer invites learns only that, and once.
        let revocation = Share {
            content: None,
            manifests: Vec::new(),
            ..copy.clone()
        };
        for invitee in recipients {
            let revoked = !invited.contains(&invitee);
            let last = receipts
                .iter()
                .rev()
                .find(|r| r.invitee == invitee && versions.contains(&r.version));
            let done = match last {
                Some(r) if r.version == view.version => true,
                Some(r) => revoked && r.revoked,
                None => false,
            };
            if done {
                continue;
            }
            // An invitee whose node did not answer one copy is not asked again in this
            // call: each ask of a node that is away waits out the network's timeout.
            if unanswered.contains(&invitee) {
                report.pending += 1;
                continue;
            }
            let share = match revoked {
                true => &revocation,
                false => &copy,
            };
            let asked = sys_time()?;
            match call_remote(invitee.clone(), zome.clone(), RECEIVE_SHARE.into(), None, share)? {
                ZomeCallResponse::Ok(_) => {
                    create_entry(EntryTypes::ShareReceipt(ShareReceipt {
                        version: view.version.clone(),
                        invitee,
                        revoked,
                        nonce: random_bytes(32)?.to_vec(),
                    }))?;
                    report.delivered += 1;
                }
                _ => {
                    // A quick failure is this copy refused: the invitee's other copies
                    // are still asked.
                    let waited = sys_time()?.as_micros() - asked.as_micros();
                    if waited >= UNANSWERED_AFTER_MICROS {
                        unanswered.insert(invitee);
                    }
                    report.pending += 1;
                }
            }
        }
    }
    Ok(report)
}
