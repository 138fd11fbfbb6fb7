//! The media zome's inputs and outputs, as the coordinator zome, the sidecar, the tests and
//! UIs see them. Holochain's data types only (hash, key and time types, via `hdi`): no
//! conductor, no host functions.

use hdi::prelude::*;
use media_integrity::{BlobManifest, ContentNode, CustodianCommitment, ReplicaStatus};
use media_rules::access::Use;
use media_rules::reach::Audience;
use media_rules::Place;

/// A manifest and where it lives in the DHT.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ManifestView {
    /// The manifest's action hash.
    pub id: ActionHash,
    /// Who registered it.
    pub author: AgentPubKey,
    /// The manifest.
    pub manifest: BlobManifest,
}

/// The facts a sidecar needs to decide who may read a blob: for each piece of content
/// that uses it, its author and audience (not its title or description).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct BlobAccess {
    /// The content's identity.
    pub content_id: ActionHash,
    /// The newest version's action.
    pub version: ActionHash,
    /// The content's author.
    pub author: AgentPubKey,
    /// Reach name.
    pub reach: String,
    /// Lifecycle name.
    pub lifecycle: String,
    /// Days the bytes are kept after deprecation or archiving.
    pub retention_days: u32,
    /// When the newest version was written.
    pub updated_at: Timestamp,
    /// Invitees (invited reach).
    pub invitees: Vec<AgentPubKey>,
    /// Place (place-bound reach).
    pub place: Option<Place>,
    /// The manifests the newest version uses.
    pub blobs: Vec<ActionHash>,
}

/// A call or live stream to start.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct StartCallInput {
    /// Title, 1–300 bytes.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// A reach name, e.g. `invited`.
    pub reach: String,
    /// Who is invited (invited reach only).
    #[serde(default)]
    pub invitees: Vec<AgentPubKey>,
    /// The place, for local…regional reach.
    #[serde(default)]
    pub place: Option<Place>,
    /// A broadcast (`live-stream`: only the author and invitees publish) rather than a call
    /// (`call-recording`: everyone admitted speaks).
    #[serde(default)]
    pub live_stream: bool,
}

/// A piece of content as a UI sees it: its identity, newest version and fields.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ContentView {
    /// The original action: the content's identity.
    pub id: ActionHash,
    /// The newest version's action.
    pub version: ActionHash,
    /// Who created it.
    pub author: AgentPubKey,
    /// When the newest version was written.
    pub updated_at: Timestamp,
    /// The newest version's fields.
    pub content: ContentNode,
}

/// Replace the fields of a piece of content (reach and place stay fixed).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct UpdateContentInput {
    /// The content's identity.
    pub id: ActionHash,
    /// The version being replaced (the newest one the caller saw).
    pub previous_version: ActionHash,
    /// The new fields.
    pub content: ContentNode,
}

/// Move content to another lifecycle state.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SetLifecycleInput {
    /// The content's identity.
    pub id: ActionHash,
    /// The target state's name.
    pub lifecycle: String,
}

/// A commitment as the network sees it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CommitmentView {
    /// The original action: the commitment's identity.
    pub id: ActionHash,
    /// The newest version's action (what replica statuses cite).
    pub version: ActionHash,
    /// The custodian.
    pub author: AgentPubKey,
    /// The newest version's fields.
    pub commitment: CustodianCommitment,
    /// Whether it has not expired yet.
    pub live: bool,
    /// When its newest version was written: a running custodian renews it often, so an
    /// old one marks a custodian that went silent.
    pub updated_at: Timestamp,
}

/// Renew or change a commitment.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct UpdateCommitmentInput {
    /// The commitment's identity.
    pub id: ActionHash,
    /// The new fields.
    pub commitment: CustodianCommitment,
}

/// A vouch to write.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct VouchInput {
    /// Who belongs.
    pub member: AgentPubKey,
    /// Their place, down to the household.
    pub place: Place,
    /// How far down: `region` … `household`.
    pub level: String,
}

/// A vouch as the DHT holds it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct VouchView {
    /// Its action: what revoking names.
    pub id: ActionHash,
    /// Who vouched.
    pub by: AgentPubKey,
    /// Who belongs (`by` itself for a founding).
    pub member: AgentPubKey,
    /// The place.
    pub place: Place,
    /// How far down.
    pub level: String,
    /// When it was written.
    pub at: Timestamp,
}

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

/// What to sign.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct IssueTokenInput {
    /// The blob's SHA-256, lowercase hex.
    pub blob: String,
    /// The node that should accept it: its agent key.
    pub audience: String,
    /// How long it lives, at most a day.
    pub ttl_seconds: u32,
}

/// What to sign for a call.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct IssueCallTokenInput {
    /// The call's ContentNode id.
    pub call: ActionHash,
    /// The node that hosts the call: its agent key.
    pub audience: String,
    /// How long it lives, at most a day.
    pub ttl_seconds: u32,
}

/// A signed token, ready for `Authorization: Bearer` or `?token=`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct IssuedToken {
    /// The encoded token.
    pub token: String,
    /// Who signed it.
    pub agent: AgentPubKey,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// What one round of handing invited content to its invitees did.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShareDelivery {
    /// Copies an invitee took in this round.
    pub delivered: u32,
    /// Copies still to hand over (the invitee's node did not answer).
    pub pending: u32,
}

impl BlobAccess {
    /// The audience facts of `content`, as a use of one of its blobs.
    pub fn of(content: &ContentView) -> Self {
        let node = &content.content;
        BlobAccess {
            content_id: content.id.clone(),
            version: content.version.clone(),
            author: content.author.clone(),
            reach: node.reach.clone(),
            lifecycle: node.lifecycle.clone(),
            retention_days: node.retention_days,
            updated_at: content.updated_at,
            invitees: node.invitees.clone(),
            place: node.place.clone(),
            blobs: node.blobs.clone(),
        }
    }
}

/// Whether `reader` (who declared `place`) may see `content` now: the shared access rule
/// (the reach table; only the author sees drafts and forgotten content).
pub fn may_see(content: &ContentView, reader: &AgentPubKey, place: Option<&Place>) -> bool {
    use_of(content).admits(reader, place)
}

/// Content as the shared access rules see it: reach, lifecycle, author, invitees and place.
pub fn use_of(content: &ContentView) -> Use<'_, AgentPubKey> {
    let node = &content.content;
    Use {
        reach: node.reach().ok(),
        lifecycle: node.lifecycle().ok(),
        audience: Audience {
            author: &content.author,
            invitees: &node.invitees,
            place: node.place.as_ref(),
        },
    }
}
