//! Content kept off the DHT: private and invited ContentNodes and their manifests are
//! private entries on the author's chain. An invitee keeps the copy its author handed it
//! (a [`Share`]); the author keeps a [`ShareReceipt`] for each copy an invitee took.

use crate::outcome::{invalid, verdict};
use crate::{BlobManifest, ContentNode};
use hdi::prelude::*;
use media_rules::Reach;

/// A manifest of shared content, with the action hash the content lists it by.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SharedManifest {
    /// The manifest's action hash on the author's chain.
    pub id: ActionHash,
    /// The manifest.
    pub manifest: BlobManifest,
}

/// An invitee's copy of one version of invited content, as its author handed it over; or,
/// without content, the author's word that this version no longer invites the holder.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct Share {
    /// The content's author, who made the remote call that delivered it.
    pub author: AgentPubKey,
    /// The content's original action: its identity.
    pub id: ActionHash,
    /// The version copied.
    pub version: ActionHash,
    /// When that version was written.
    pub updated_at: Timestamp,
    /// Its fields; `None` for an agent this version no longer invites (it learns only that).
    pub content: Option<ContentNode>,
    /// The manifests of the blobs it lists.
    pub manifests: Vec<SharedManifest>,
    /// Random bytes the holder adds when it keeps the copy, so that the entry's public hash
    /// cannot be matched against guessed contents (a revocation holds little else).
    #[serde(default)]
    pub nonce: Vec<u8>,
}

impl Share {
    /// The copy agrees with itself: invited content, valid fields, and manifests only of
    /// blobs it lists (none with a revocation).
    pub fn check(&self) -> Result<(), String> {
        if self.nonce.len() > 64 {
            return Err("nonce is longer than 64 bytes".into());
        }
        let Some(content) = &self.content else {
            return match self.manifests.is_empty() {
                true => Ok(()),
                false => Err("a revocation carries no manifests".into()),
            };
        };
        content.check_fields()?;
        if content.reach()? != Reach::Invited {
            return Err("only invited content is shared".into());
        }
        if self.manifests.len() > content.blobs.len() {
            return Err("more manifests than the content lists".into());
        }
        for (i, m) in self.manifests.iter().enumerate() {
            if !content.blobs.contains(&m.id) {
                return Err(format!("manifests[{i}] is not one of the content's blobs"));
            }
            m.manifest.check().map_err(|e| format!("manifests[{i}]: {e}"))?;
        }
        Ok(())
    }
}

/// That `invitee` took the copy of `version` its author handed it.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct ShareReceipt {
    /// The version delivered.
    pub version: ActionHash,
    /// Who took it.
    pub invitee: AgentPubKey,
    /// Whether it was a revocation: that version no longer invites `invitee`.
    pub revoked: bool,
    /// Random bytes, so that the entry's public hash cannot be matched against guessed
    /// `(version, invitee)` pairs: that would give away who is invited.
    pub nonce: Vec<u8>,
}

/// Private or invited content, as its author writes it: valid fields and the reach its
/// entry type stands for (fixed at creation); new content starts as draft or published.
/// Its blobs are not looked up: they are the author's own private manifests, which no
/// validator but the author can read, and content nobody else sees cannot widen anyone's
/// reach. Of an update, the author's coordinator checks the lifecycle move against the
/// version it replaces: validators cannot read that version.
pub fn validate_kept_content(
    node: &ContentNode,
    reach: Reach,
    created: bool,
) -> ExternResult<ValidateCallbackResult> {
    if let Err(e) = node.check_fields() {
        return verdict("ContentNode", Err(e));
    }
    if node.reach() != Ok(reach) {
        return invalid(match created {
            true => "ContentNode: this entry type holds content of another reach",
            false => "ContentNode: reach cannot change after creation; custodians were chosen by it",
        });
    }
    let fresh = matches!(
        node.lifecycle(),
        Ok(media_rules::Lifecycle::Draft | media_rules::Lifecycle::Published)
    );
    if created && !fresh {
        return invalid("ContentNode: lifecycle of new content must be draft or published");
    }
    Ok(ValidateCallbackResult::Valid)
}
