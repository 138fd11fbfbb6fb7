//! The seam to the DHT: one typed method per question the sidecar asks of, and per fact it
//! writes to, the media hApp. Three implementations:
//! - the conductor link ([`crate::node::ConductorLink`]): signed zome calls as the node's
//!   agent;
//! - [`Standalone`]: a sidecar without a conductor. It has no agent, so reading has commons
//!   semantics, and every question or write is refused with [`DhtError::Standalone`];
//! - `fake::FakeDht`: an in-memory DHT for the unit tests.
//!
//! Conductor failures are classified once, here: the same failure gets the same status on
//! every route.

#[cfg(test)]
pub(crate) mod fake;

use crate::config::NetworkSettings;
use crate::error::ApiError;
use async_trait::async_trait;
use hdi::prelude::{ActionHash, AgentPubKey, CapSecret, DnaHash, Timestamp};
use media_api::{
    BlobAccess, CommitmentView, ContentView, IssueCallTokenInput, IssueTokenInput, IssuedToken, ManifestView,
    RefreshReplicaInput, ReplicaView, ShareDelivery, StartCallInput, UpdateCommitmentInput,
    UpdateContentInput, VouchInput, VouchView,
};
use media_integrity::{BlobManifest, ContentNode, CustodianCommitment, ReplicaStatus};
use media_rules::{Place, Reach};
use media_store::hash::Hash32;

/// Why the DHT did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhtError {
    /// The conductor could not be reached, even after reconnecting.
    #[error("conductor unreachable: {0}")]
    Unreachable(String),
    /// The conductor took the call but did not answer in time (a DHT read waiting on
    /// peers that do not answer, say). A write may still have been committed; the link
    /// reconnects only if the connection itself closed.
    #[error("no answer to {0} in time")]
    NoAnswer(&'static str),
    /// The zome ran and refused (validation, a refusal, bad input).
    #[error("zome call {function} failed: {message}")]
    Refused {
        /// The zome function.
        function: &'static str,
        /// What the conductor said.
        message: String,
    },
    /// A payload could not be (de)serialized: the node's own fault.
    #[error("payload encoding: {0}")]
    Encoding(String),
    /// This sidecar runs without a conductor, so it cannot do `what`.
    #[error("this sidecar runs standalone, without a conductor: {0} needs a node")]
    Standalone(&'static str),
}

/// The one classification of DHT failures, the same on every route: a zome's refusal
/// (validation, bad input) is `422` with its words, a conductor that cannot be reached or does not answer
/// in time is `503`, a payload that does not (de)serialize is the node's own fault (`500`), and asking a
/// standalone sidecar for what only a node does is the client's mistake (`400`).
impl From<DhtError> for ApiError {
    fn from(e: DhtError) -> Self {
        match e {
            DhtError::Refused { message, .. } => ApiError::Rejected(message),
            DhtError::Unreachable(why) => ApiError::Conductor(why),
            e @ DhtError::NoAnswer(_) => ApiError::Conductor(e.to_string()),
            DhtError::Encoding(why) => ApiError::Internal(format!("zome payload encoding: {why}")),
            DhtError::Standalone(what) => ApiError::NeedsNode(what),
        }
    }
}

/// What a web UI needs to make zome calls as the node's agent.
#[derive(Debug, Clone)]
pub struct UiSession {
    /// The app websocket's port on 127.0.0.1, admitting the UI's origin.
    pub app_port: u16,
    /// A single-use app authentication token.
    pub token: Vec<u8>,
    /// The installed app id.
    pub app_id: String,
    /// The DNA role the UI calls.
    pub role: String,
    /// The media cell's DNA.
    pub dna: DnaHash,
}

/// The answer of a DHT question.
pub type Answer<T> = Result<T, DhtError>;

/// Everything the sidecar asks of and writes to the DHT. Writes act as the node's agent.
/// Each method refuses with [`DhtError::Standalone`] unless an implementation answers it.
#[async_trait]
pub trait Dht: Send + Sync {
    /// The node's agent; `None` for a standalone sidecar, which has commons semantics.
    fn agent(&self) -> Option<&AgentPubKey>;

    /// The settings of the network this node's embedded conductor joined (an attached
    /// conductor keeps its own, which the node does not know).
    fn network(&self) -> Option<&NetworkSettings> {
        None
    }

    /// The signed agent infos of every peer the conductor knows (kitsune2's JSON).
    async fn agent_infos(&self) -> Answer<Vec<String>> {
        Err(DhtError::Standalone("knowing peers"))
    }

    /// An app websocket for a web UI on `origin`, and, with `grant` (the UI's signing key
    /// and secret), a capability for that key.
    async fn ui_session(&self, _origin: &str, _grant: Option<(AgentPubKey, CapSecret)>) -> Answer<UiSession> {
        Err(DhtError::Standalone("a UI session"))
    }

    /// Who uses `blob`, with each use's audience.
    async fn blob_access(&self, _blob: &Hash32) -> Answer<Vec<BlobAccess>> {
        Err(DhtError::Standalone("access facts"))
    }

    /// The place `agent` has proven.
    async fn agent_place(&self, _agent: &AgentPubKey) -> Answer<Option<Place>> {
        Err(DhtError::Standalone("places"))
    }

    /// A manifest, by its action hash.
    async fn manifest(&self, _id: &ActionHash) -> Answer<Option<ManifestView>> {
        Err(DhtError::Standalone("manifests"))
    }

    /// Every manifest registered for `blob`.
    async fn manifests_of(&self, _blob: &Hash32) -> Answer<Vec<ManifestView>> {
        Err(DhtError::Standalone("manifests"))
    }

    /// The newest version of content the node's agent may see.
    async fn content(&self, _id: &ActionHash) -> Answer<Option<ContentView>> {
        Err(DhtError::Standalone("content"))
    }

    /// The content the node's agent may see, or only what was indexed after `since`.
    async fn visible_content(&self, _since: Option<Timestamp>) -> Answer<Vec<ContentView>> {
        Err(DhtError::Standalone("content"))
    }

    /// Where `agent`'s node is reached, if it said.
    async fn endpoint_of(&self, _agent: &AgentPubKey) -> Answer<Option<String>> {
        Err(DhtError::Standalone("endpoints"))
    }

    /// The custodian commitments that have not expired.
    async fn live_commitments(&self) -> Answer<Vec<CommitmentView>> {
        Err(DhtError::Standalone("custodians"))
    }

    /// The replica statuses of a manifest.
    async fn replicas(&self, _manifest: &ActionHash) -> Answer<Vec<ReplicaView>> {
        Err(DhtError::Standalone("replicas"))
    }

    /// The vouches of a region.
    async fn place_vouches(&self, _region: &str) -> Answer<Vec<VouchView>> {
        Err(DhtError::Standalone("places"))
    }

    /// Registers a manifest for content of `reach`: on the agent's chain only when that
    /// reach keeps content off the DHT (`Reach::is_kept_off_dht`), else in the DHT.
    async fn register_manifest(&self, _manifest: BlobManifest, _reach: Reach) -> Answer<ManifestView> {
        Err(DhtError::Standalone("publishing"))
    }

    /// Hands each invitee of the agent's invited content the copy it has not taken yet.
    async fn deliver_shares(&self) -> Answer<ShareDelivery> {
        Err(DhtError::Standalone("sharing"))
    }

    /// Creates content.
    async fn create_content(&self, _node: ContentNode) -> Answer<ContentView> {
        Err(DhtError::Standalone("publishing"))
    }

    /// Replaces the fields of the node's agent's content.
    async fn update_content(&self, _input: UpdateContentInput) -> Answer<ContentView> {
        Err(DhtError::Standalone("publishing"))
    }

    /// Starts a call or live stream.
    async fn start_call(&self, _input: StartCallInput) -> Answer<ContentView> {
        Err(DhtError::Standalone("calls"))
    }

    /// A blob access token signed by the node's agent.
    async fn issue_token(&self, _input: IssueTokenInput) -> Answer<IssuedToken> {
        Err(DhtError::Standalone("tokens"))
    }

    /// A call token signed by the node's agent.
    async fn issue_call_token(&self, _input: IssueCallTokenInput) -> Answer<IssuedToken> {
        Err(DhtError::Standalone("tokens"))
    }

    /// Publishes where the node's agent is reached.
    async fn set_endpoint(&self, _url: &str) -> Answer<()> {
        Err(DhtError::Standalone("endpoints"))
    }

    /// Declares the node's agent's place.
    async fn set_place(&self, _place: &Place) -> Answer<()> {
        Err(DhtError::Standalone("places"))
    }

    /// Founds a place (its first member's vouches).
    async fn found_place(&self, _place: &Place) -> Answer<Vec<VouchView>> {
        Err(DhtError::Standalone("places"))
    }

    /// Vouches for a member of a place.
    async fn vouch(&self, _input: VouchInput) -> Answer<VouchView> {
        Err(DhtError::Standalone("places"))
    }

    /// Takes back a vouch.
    async fn revoke_vouch(&self, _id: &ActionHash) -> Answer<()> {
        Err(DhtError::Standalone("places"))
    }

    /// Commits the node's agent as custodian.
    async fn commit_as_custodian(&self, _commitment: CustodianCommitment) -> Answer<CommitmentView> {
        Err(DhtError::Standalone("a custodian"))
    }

    /// Renews or changes the node's agent's commitment.
    async fn update_commitment(&self, _input: UpdateCommitmentInput) -> Answer<CommitmentView> {
        Err(DhtError::Standalone("a custodian"))
    }

    /// Records a replica the node's agent keeps.
    async fn record_replica(&self, _status: ReplicaStatus) -> Answer<ReplicaView> {
        Err(DhtError::Standalone("a custodian"))
    }

    /// A newer status of a replica the node's agent keeps.
    async fn refresh_replica(&self, _input: RefreshReplicaInput) -> Answer<ReplicaView> {
        Err(DhtError::Standalone("a custodian"))
    }
}

/// The DHT as a node's agent sees it: what the sidecar asks when it serves a node (who
/// reads, who hosts, whose tokens it accepts). A standalone sidecar has none.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    dht: &'a dyn Dht,
    agent: &'a AgentPubKey,
}

impl<'a> Node<'a> {
    /// `dht` as its agent's, or `None` when it has no agent (standalone).
    pub fn of(dht: &'a dyn Dht) -> Option<Self> {
        Some(Node {
            agent: dht.agent()?,
            dht,
        })
    }

    /// The node's agent.
    pub fn agent(&self) -> &'a AgentPubKey {
        self.agent
    }
}

impl<'a> std::ops::Deref for Node<'a> {
    type Target = dyn Dht + 'a;

    fn deref(&self) -> &Self::Target {
        self.dht
    }
}

/// A sidecar without a conductor: no agent, so every blob reads as commons; every
/// question and write is refused with [`DhtError::Standalone`].
pub struct Standalone;

#[async_trait]
impl Dht for Standalone {
    fn agent(&self) -> Option<&AgentPubKey> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route answers a DHT failure with the status of its kind.
    #[test]
    fn a_conductor_failure_has_one_status_whatever_the_route() {
        let status = |e: DhtError| ApiError::from(e).status().as_u16();
        let refused = DhtError::Refused {
            function: "vouch_for_place",
            message: "a place is vouched for by its members only".into(),
        };
        assert_eq!(status(refused), 422);
        assert_eq!(status(DhtError::Unreachable("connection refused".into())), 503);
        assert_eq!(status(DhtError::NoAnswer("list_replicas")), 503);
        assert_eq!(status(DhtError::Encoding("missing field `id`".into())), 500);
        assert_eq!(status(DhtError::Standalone("publishing")), 400);
        let said = ApiError::from(DhtError::Refused {
            function: "start_call",
            message: "the title is empty".into(),
        });
        assert!(said.to_string().contains("the title is empty"), "{said}");
    }

    #[tokio::test]
    async fn a_standalone_sidecar_refuses_to_publish_and_says_why() {
        let refused = Standalone
            .create_content(serde_json_content())
            .await
            .expect_err("standalone cannot publish");
        let said = ApiError::from(refused);
        assert_eq!(said.status().as_u16(), 400);
        assert!(said.to_string().contains("publishing needs a node"), "{said}");
        assert!(Standalone.agent().is_none());
    }

    fn serde_json_content() -> ContentNode {
        fake::content_node("a talk", "public", Vec::new())
    }
}
