//! Content: create, update, move through the lifecycle, and list as the caller may see it.

use crate::caller::{me, refuse};
use crate::kept;
use crate::places::get_agent_place;
use crate::records::entry_from;
use crate::versions::{latest_record, update_latest};
use hdk::prelude::*;
use media_api::{may_see, ContentView, SetLifecycleInput, UpdateContentInput};
use media_integrity::anchors::{blob_path, reach_path};
use media_integrity::{BlobManifest, ContentNode, EntryTypes, LinkTypes};
use media_rules::Reach;
use std::collections::HashSet;

/// Creates content: private and invited content on the caller's chain only, other content
/// in the DHT, indexed for its author, reach and blobs.
pub fn create_content(node: ContentNode) -> ExternResult<ContentView> {
    if node.reach().map_err(refuse)?.is_kept_off_dht() {
        let id = kept::create(node)?;
        return kept::own_content(&id)?.ok_or_else(|| refuse("content version not found"));
    }
    let id = create_entry(EntryTypes::ContentNode(node.clone()))?;
    let author = me()?;
    create_link(author.clone(), id.clone(), LinkTypes::AuthorToContent, ())?;
    index_version(&id, &id, &node, None)?;
    let record = id_record(&id)?;
    view(id, record)
}

/// Replaces the fields of content the caller authored.
pub fn update_content(input: UpdateContentInput) -> ExternResult<ContentView> {
    let previous = get(input.previous_version.clone(), GetOptions::default())?
        .ok_or_else(|| refuse("previous_version not found"))?;
    let old: ContentNode = entry_from(&previous)?;
    if old.reach().map_err(refuse)?.is_kept_off_dht() {
        let own = kept::own_content(&input.id)?.ok_or_else(|| refuse("content not found"))?;
        if own.version != input.previous_version {
            return Err(refuse(
                "previous_version must be the newest version of this content",
            ));
        }
        kept::update(&input.previous_version, &old, input.content)?;
        return kept::own_content(&input.id)?.ok_or_else(|| refuse("content not found"));
    }
    let version = update_latest(
        &input.id,
        &input.previous_version,
        EntryTypes::ContentNode(input.content.clone()),
    )?;
    index_version(&input.id, &version, &input.content, Some(&old))?;
    view(input.id.clone(), id_record(&version)?)
}

/// Moves content to another lifecycle state, if the state machine allows it.
pub fn set_lifecycle(input: SetLifecycleInput) -> ExternResult<ContentView> {
    let current = match kept::own_content(&input.id)? {
        Some(view) => view,
        None => {
            let record = latest_record(&input.id)?.ok_or_else(|| refuse("content not found"))?;
            view(input.id.clone(), record)?
        }
    };
    let mut node = current.content;
    node.lifecycle = input.lifecycle;
    update_content(UpdateContentInput {
        id: input.id,
        previous_version: current.version,
        content: node,
    })
}

/// Deletes content the caller authored.
pub fn delete_content(id: ActionHash) -> ExternResult<ActionHash> {
    delete_entry(id)
}

/// The newest version of content, if the caller may see it. Content kept off the DHT is
/// found on the caller's own chain: its own, or the copy its author handed it.
pub fn get_visible_content(id: ActionHash) -> ExternResult<Option<ContentView>> {
    let original = get(id.clone(), GetOptions::default())?;
    let public = original
        .as_ref()
        .and_then(|r| r.entry().to_app_option::<ContentNode>().ok().flatten());
    let original = match (original, public) {
        (Some(_), Some(node)) if node.reach().is_ok_and(Reach::is_kept_off_dht) => {
            // Only its author reads the entry of kept content.
            return kept::own_content(&id);
        }
        (Some(original), Some(_)) => original,
        _ => return visible_share(&id),
    };
    let Some(latest) = latest_record(&id)? else {
        return Ok(None);
    };
    let content = view_of(id, original.action().author().clone(), &latest)?;
    let reader = me()?;
    let place = get_agent_place(reader.clone())?;
    Ok(may_see(&content, &reader, place.as_ref()).then_some(content))
}

/// Every piece of content the caller may see: their own, what invites them, commons, and
/// place-bound content of the places they declared. With `since`, only the content indexed
/// after it: new content and new versions (a custodian tops up what it knows without
/// reading it all again).
pub fn list_visible_content(since: Option<Timestamp>) -> ExternResult<Vec<ContentView>> {
    let reader = me()?;
    let place = get_agent_place(reader.clone())?;
    let mut ids: Vec<ActionHash> = Vec::new();
    let mut seen: HashSet<ActionHash> = HashSet::new();
    let mut bases: Vec<(AnyLinkableHash, LinkTypes)> = vec![
        (reader.clone().into(), LinkTypes::AuthorToContent),
        (reader.clone().into(), LinkTypes::InviteeToContent),
    ];
    let mut reaches = vec![Reach::Commons];
    if place.is_some() {
        reaches.extend([
            Reach::Local,
            Reach::Neighborhood,
            Reach::Municipal,
            Reach::Bioregional,
            Reach::Regional,
        ]);
    }
    for reach in reaches {
        if let Some(path) = reach_path(reach, place.as_ref()) {
            bases.push((path.path_entry_hash()?.into(), LinkTypes::ReachIndex));
        }
    }
    for (base, link_type) in bases {
        let mut query = LinkQuery::try_new(base, link_type)?;
        if let Some(since) = since {
            query = query.after(since);
        }
        for link in get_links(query, GetStrategy::default())? {
            if let Some(id) = link.target.into_action_hash() {
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
        }
    }
    let mut out = Vec::new();
    for id in ids {
        if let Some(view) = get_visible_content(id)? {
            out.push(view);
        }
    }
    // New since `since`: kept content by when its version was written, copies by when
    // they arrived.
    let is_new = |at: Timestamp| since.is_none_or(|since| at > since);
    out.extend(kept::own_contents()?.into_iter().filter(|v| is_new(v.updated_at)));
    for held in kept::shares()? {
        match kept::view_of(&held.share) {
            Some(view) if is_new(held.arrived) && may_see(&view, &reader, place.as_ref()) => out.push(view),
            _ => {}
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.updated_at));
    Ok(out)
}

/// The caller's copy of invited content `id`, if it still lists the caller.
fn visible_share(id: &ActionHash) -> ExternResult<Option<ContentView>> {
    let reader = me()?;
    Ok(kept::shares()?
        .iter()
        .filter(|h| &h.share.id == id)
        .find_map(|h| kept::view_of(&h.share))
        .filter(|v| may_see(v, &reader, None)))
}

/// Links a version under its reach (every version, so a reader topping up what it knows
/// with `list_visible_content` and `since` sees edits, not only new content), and to its
/// new invitees and blobs (what the previous version lacked).
fn index_version(
    id: &ActionHash,
    version: &ActionHash,
    node: &ContentNode,
    old: Option<&ContentNode>,
) -> ExternResult<()> {
    let tag = LinkTag::new(version.get_raw_39().to_vec());
    if let Some(path) = reach_path(node.reach().map_err(refuse)?, node.place.as_ref()) {
        create_link(
            path.path_entry_hash()?,
            id.clone(),
            LinkTypes::ReachIndex,
            tag.clone(),
        )?;
    }
    for invitee in &node.invitees {
        if old.is_none_or(|o| !o.invitees.contains(invitee)) {
            create_link(
                invitee.clone(),
                id.clone(),
                LinkTypes::InviteeToContent,
                tag.clone(),
            )?;
        }
    }
    for blob in &node.blobs {
        if old.is_none_or(|o| !o.blobs.contains(blob)) {
            // Anything that is not a manifest is left for validation to name.
            let record = get(blob.clone(), GetOptions::default())?;
            if let Some(Ok(Some(manifest))) = record.map(|r| r.entry().to_app_option::<BlobManifest>()) {
                let anchor = blob_path(&manifest.hash).path_entry_hash()?;
                create_link(anchor, id.clone(), LinkTypes::BlobToContent, tag.clone())?;
            }
        }
    }
    Ok(())
}

fn id_record(version: &ActionHash) -> ExternResult<Record> {
    get(version.clone(), GetOptions::default())?.ok_or_else(|| refuse("content version not found"))
}

fn view(id: ActionHash, latest: Record) -> ExternResult<ContentView> {
    view_of(id, latest.action().author().clone(), &latest)
}

fn view_of(id: ActionHash, author: AgentPubKey, latest: &Record) -> ExternResult<ContentView> {
    Ok(ContentView {
        id,
        version: latest.action_address().clone(),
        author,
        updated_at: latest.action().timestamp(),
        content: entry_from(latest)?,
    })
}
