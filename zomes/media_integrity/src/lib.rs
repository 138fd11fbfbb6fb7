//! Integrity zome of Elohim Media: the entry and link types, and the one `validate`
//! callback that checks every create, update and delete of each of them.
//!
//! The rules themselves (reach, lifecycle, chunk math, capacities) live in `media_rules`,
//! which the sidecar uses too.

use hdi::prelude::*;

/// Unwraps a rule's `Result<T, String>`, returning the broken rule as the caller's answer.
macro_rules! rule {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reason) => return Ok(Err(reason)),
        }
    };
}

mod agent_place;
pub mod anchors;
mod blob_manifest;
mod content_node;
mod custodian_commitment;
mod links;
mod node_endpoint;
mod outcome;
mod place_vouch;
mod records;
mod replica_status;
mod share;
mod validate;

pub use agent_place::AgentPlace;
pub use blob_manifest::BlobManifest;
pub use content_node::{CodecFact, ContentNode};
pub use custodian_commitment::CustodianCommitment;
pub use media_rules;
pub use node_endpoint::NodeEndpoint;
pub use place_vouch::PlaceVouch;
pub use records::{authored_as, unit_of};
pub use replica_status::ReplicaStatus;
pub use share::{Share, ShareReceipt, SharedManifest};

/// Every entry type of the media DNA.
#[hdk_entry_types]
#[unit_enum(UnitEntryTypes)]
pub enum EntryTypes {
    ContentNode(ContentNode),
    BlobManifest(BlobManifest),
    CustodianCommitment(CustodianCommitment),
    ReplicaStatus(ReplicaStatus),
    AgentPlace(AgentPlace),
    NodeEndpoint(NodeEndpoint),
    PlaceVouch(PlaceVouch),
    /// Private content: on its author's chain only.
    #[entry_type(visibility = "private")]
    PrivateContent(ContentNode),
    /// Invited content: on its author's chain, copied to each invitee by a remote call.
    #[entry_type(visibility = "private")]
    InvitedContent(ContentNode),
    /// A manifest of a blob that private or invited content uses.
    #[entry_type(visibility = "private")]
    PrivateManifest(BlobManifest),
    /// An invitee's copy of invited content.
    #[entry_type(visibility = "private")]
    Share(Share),
    /// The author's note that an invitee took a version.
    #[entry_type(visibility = "private")]
    ShareReceipt(ShareReceipt),
}

/// Every link type of the media DNA; [`links`] says what each may join.
#[hdk_link_types]
pub enum LinkTypes {
    /// Author's agent key → a ContentNode they created.
    AuthorToContent,
    /// Invitee's agent key → an invited ContentNode that lists them (tag: the version).
    InviteeToContent,
    /// Reach anchor (commons, or a place-bound reach and place) → ContentNode.
    ReachIndex,
    /// Blob anchor → the BlobManifest describing that blob.
    BlobToManifest,
    /// Blob anchor → a ContentNode that uses the blob (tag: the version).
    BlobToContent,
    /// Custodians anchor → a CustodianCommitment.
    AllCommitments,
    /// Custodian's agent key → their CustodianCommitment.
    AgentToCommitment,
    /// BlobManifest → a ReplicaStatus of that blob.
    ManifestToReplica,
    /// Agent key → the AgentPlace they declared.
    AgentToPlace,
    /// Original entry → a later version of it, by the same author.
    Updates,
    /// Agent key → the NodeEndpoint it published.
    AgentToEndpoint,
    /// A region's vouches anchor → a PlaceVouch for a place in that region.
    RegionToVouch,
}
