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

/// An invitee's copy of one version of invited content, as its author handed it over.
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
    /// Its fields (invitees included: a revoked invitee gets a version without itself).
    pub content: ContentNode,
    /// The manifests of the blobs it lists.
    pub manifests: Vec<SharedManifest>,
}

impl Share {
    /// The copy agrees with itself: invited content, valid fields, and a manifest for
    /// every blob it lists.
    pub fn check(&self) -> Result<(), String> {
        self.content.check_fields()?;
        if self.content.reach()? != Reach::Invited {
            return Err("only invited content is shared".into());
        }
        if self.manifests.len() > self.content.blobs.len() {
            return Err("more manifests than the content lists".into());
        }
        for (i, m) in self.manifests.iter().enumerate() {
            if !self.content.blobs.contains(&m.id) {
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
}

/// Private or invited content, as its author writes it: valid fields, the reach its entry
/// type stands for, created as draft or published. Its blobs are not looked up: they are
/// the author's own private manifests, which no validator but the author can read, and
/// content nobody else sees cannot widen anyone's reach.
pub fn validate_create_kept_content(
    node: &ContentNode,
    reach: Reach,
) -> ExternResult<ValidateCallbackResult> {
    if let Err(e) = node.check_fields() {
        return verdict("ContentNode", Err(e));
    }
    if node.reach() != Ok(reach) {
        return invalid(&format!(
            "ContentNode: this entry type holds {reach} content only"
        ));
    }
    match node.lifecycle() {
        Ok(media_rules::Lifecycle::Draft | media_rules::Lifecycle::Published) => {
            Ok(ValidateCallbackResult::Valid)
        }
        _ => invalid("ContentNode: lifecycle of new content must be draft or published"),
    }
}

/// An update of kept content: valid fields of the same reach. The author's coordinator
/// checks the lifecycle move against the version it replaces; validators cannot read it.
pub fn validate_update_kept_content(
    node: &ContentNode,
    reach: Reach,
) -> ExternResult<ValidateCallbackResult> {
    if let Err(e) = node.check_fields() {
        return verdict("ContentNode", Err(e));
    }
    if node.reach() != Ok(reach) {
        return invalid("ContentNode: reach cannot change after creation; custodians were chosen by it");
    }
    Ok(ValidateCallbackResult::Valid)
}
