//! ContentNode: what a piece of content is, who may see it and which blobs it uses.

use crate::outcome::{invalid, verdict};
use crate::records::{later_on_chain, must_get_manifest, Later};
use hdi::prelude::*;
use media_rules::content::{ContentFormat, EmbedStrategy};
use media_rules::limits::{self, check_range};
use media_rules::{Lifecycle, Place, Reach};

/// A codec the content uses, and whether it has gone obsolete (H.264 → H.265 → VP9 → AV1).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CodecFact {
    /// RFC 6381 codecs string, e.g. `avc1.64001f`.
    pub codec: String,
    /// Whether players should no longer be expected to decode it.
    pub obsolete: bool,
}

/// What a piece of content is. Enum-like fields hold the names `media_rules` defines, so
/// a UI sends plain strings and validation names any unknown value.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct ContentNode {
    /// Title, 1–300 bytes.
    pub title: String,
    /// Description, up to 20 000 bytes.
    pub description: String,
    /// A [`ContentFormat`] name, e.g. `video-file`.
    pub content_format: String,
    /// A [`Reach`] name, e.g. `commons`. Fixed at creation.
    pub reach: String,
    /// A [`Lifecycle`] name; moves follow the lifecycle state machine.
    pub lifecycle: String,
    /// How often the content should be reviewed, in days.
    pub refresh_interval_days: Option<u32>,
    /// Days the bytes are kept after the content is deprecated or archived.
    pub retention_days: u32,
    /// An [`EmbedStrategy`] name, e.g. `hls`.
    pub embed_strategy: String,
    /// Action hashes of the BlobManifests the content uses (source and renditions).
    pub blobs: Vec<ActionHash>,
    /// Agents who may read invited content.
    pub invitees: Vec<AgentPubKey>,
    /// The place the content belongs to; required for local…regional reach. Fixed at creation.
    pub place: Option<Place>,
    /// Codecs the content uses and whether they are obsolete.
    pub codecs: Vec<CodecFact>,
}

impl ContentNode {
    /// The parsed reach (validation guarantees it parses for stored entries).
    pub fn reach(&self) -> Result<Reach, String> {
        Reach::parse(&self.reach).map_err(|e| format!("reach: {e}"))
    }

    /// The parsed lifecycle state.
    pub fn lifecycle(&self) -> Result<Lifecycle, String> {
        Lifecycle::parse(&self.lifecycle).map_err(|e| format!("lifecycle: {e}"))
    }

    /// Checks every field on its own; the error names the field.
    pub fn check_fields(&self) -> Result<(), String> {
        if !limits::TITLE_LEN.contains(&self.title.trim().len()) || self.title.len() > 300 {
            return Err("title must be 1 to 300 bytes".into());
        }
        if self.description.len() > limits::MAX_DESCRIPTION_LEN {
            return Err(format!(
                "description is longer than {} bytes",
                limits::MAX_DESCRIPTION_LEN
            ));
        }
        ContentFormat::parse(&self.content_format).map_err(|e| format!("content_format: {e}"))?;
        EmbedStrategy::parse(&self.embed_strategy).map_err(|e| format!("embed_strategy: {e}"))?;
        let reach = self.reach()?;
        self.lifecycle()?;
        if let Some(days) = self.refresh_interval_days {
            check_range("refresh_interval_days", days, limits::REFRESH_DAYS)?;
        }
        check_range("retention_days", self.retention_days, limits::RETENTION_DAYS)?;
        if self.blobs.len() > limits::MAX_BLOBS {
            return Err(format!("blobs lists more than {} manifests", limits::MAX_BLOBS));
        }
        if self.invitees.len() > limits::MAX_INVITEES {
            return Err(format!(
                "invitees lists more than {} agents",
                limits::MAX_INVITEES
            ));
        }
        if reach != Reach::Invited && !self.invitees.is_empty() {
            return Err(format!("invitees are only for invited reach, not {reach}"));
        }
        match (&self.place, reach.needs_place()) {
            (None, true) => return Err(format!("place is required for {reach} reach")),
            (Some(_), false) => return Err(format!("place is only for local…regional reach, not {reach}")),
            (Some(place), true) => place.check().map_err(|e| format!("place: {e}"))?,
            (None, false) => {}
        }
        for (i, fact) in self.codecs.iter().enumerate() {
            if fact.codec.is_empty() || fact.codec.len() > 255 {
                return Err(format!("codecs[{i}].codec must be 1 to 255 bytes"));
            }
        }
        Ok(())
    }
}

/// A new ContentNode: fields valid, starts as draft or published, every blob a manifest.
pub fn validate_create_content_node(
    action: &ActionHeader,
    node: &ContentNode,
) -> ExternResult<ValidateCallbackResult> {
    if let Err(e) = node.check_fields() {
        return verdict("ContentNode", Err(e));
    }
    if let Ok(reach) = node.reach() {
        if reach.is_kept_off_dht() {
            return invalid(&format!(
                "ContentNode: {reach} content is kept off the DHT; write it as {}",
                match reach {
                    media_rules::Reach::Private => "PrivateContent",
                    _ => "InvitedContent",
                }
            ));
        }
    }
    if !matches!(node.lifecycle(), Ok(Lifecycle::Draft | Lifecycle::Published)) {
        return invalid("ContentNode: lifecycle of new content must be draft or published");
    }
    validate_blobs(&action.author, node)
}

/// An update: same author (checked by the caller), of the newest version (an older one
/// would fork the content and could revive what was archived or forgotten), same reach
/// and place, an allowed lifecycle move.
pub fn validate_update_content_node(
    action: &ActionHeader,
    updated: &ActionHash,
    new: &ContentNode,
    old: &ContentNode,
) -> ExternResult<ValidateCallbackResult> {
    if let Err(e) = new.check_fields() {
        return verdict("ContentNode", Err(e));
    }
    match later_on_chain(action, updated)? {
        Ok(Later::Nothing) => {}
        Ok(Later::Updated) => {
            return invalid("ContentNode: this version was already updated; update the newest version")
        }
        Ok(Later::Deleted) => return invalid("ContentNode: this content was deleted"),
        Err(e) => return verdict("ContentNode", Err(e)),
    }
    if new.reach != old.reach {
        return invalid("ContentNode: reach cannot change after creation; custodians were chosen by it");
    }
    if new.place != old.place {
        return invalid("ContentNode: place cannot change after creation; custodians were chosen by it");
    }
    let (Ok(from), Ok(to)) = (old.lifecycle(), new.lifecycle()) else {
        return invalid("ContentNode: lifecycle is unknown");
    };
    if let Err(e) = from.check_move(to) {
        return verdict("ContentNode", Err(e));
    }
    validate_blobs(&action.author, new)
}

/// Every blob is a manifest the content's own author registered: listing someone else's
/// manifest would let any agent widen the reach of bytes that are not theirs.
fn validate_blobs(author: &AgentPubKey, node: &ContentNode) -> ExternResult<ValidateCallbackResult> {
    for (i, hash) in node.blobs.iter().enumerate() {
        // The author is read from the action, which is public even when the manifest is
        // kept on its author's chain.
        if must_get_action(hash.clone())?.action().author() != author {
            return invalid(&format!(
                "ContentNode: blobs[{i}] is a manifest registered by another agent; content may list only its author's manifests"
            ));
        }
        match must_get_manifest(hash, &format!("blobs[{i}]"))? {
            Err(e) => return verdict("ContentNode", Err(e)),
            Ok((record, _)) if record.action().author() != author => {
                return invalid(&format!(
                    "ContentNode: blobs[{i}] is a manifest registered by another agent; content may list only its author's manifests"
                ));
            }
            Ok(_) => {}
        }
    }
    Ok(ValidateCallbackResult::Valid)
}
