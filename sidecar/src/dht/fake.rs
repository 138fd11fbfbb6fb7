//! An in-memory DHT for unit tests: one agent with a real ed25519 key (its tokens verify as
//! a conductor's do), and the content, manifests, places, endpoints, custodian commitments
//! and replica statuses a test puts there.
//! It answers reads as the zome does for that agent (the shared access rule decides what
//! it may see) and writes without validation beyond the content's own field checks.

use super::{Answer, Dht, DhtError};
use async_trait::async_trait;
use ed25519_dalek::{Signer, SigningKey};
use hdi::prelude::{ActionHash, AgentPubKey, Timestamp};
use media_api::{
    BlobAccess, CommitmentView, ContentView, IssueCallTokenInput, IssueTokenInput, IssuedToken, ManifestView,
    RefreshReplicaInput, ReplicaView, UpdateCommitmentInput,
};
use media_integrity::{BlobManifest, ContentNode, CustodianCommitment, ReplicaStatus};
use media_rules::token::{AccessToken, Subject, TokenClaims};
use media_rules::Place;
use media_store::hash::Hash32;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// An agent a test controls: its key signs its tokens.
pub(crate) struct FakeAgent {
    key: SigningKey,
    /// Its public key, as the DHT names agents.
    pub pub_key: AgentPubKey,
}

impl FakeAgent {
    /// The agent whose key is derived from `seed`.
    pub(crate) fn new(seed: u8) -> Self {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let pub_key = AgentPubKey::from_raw_32(key.verifying_key().to_bytes().to_vec());
        FakeAgent { key, pub_key }
    }

    /// A token signed by this agent for `subject` at the node `audience`, living `ttl`
    /// seconds.
    pub(crate) fn sign(&self, subject: Subject, audience: String, ttl_seconds: u32) -> Answer<IssuedToken> {
        let expires_at =
            Timestamp::from_micros(crate::clock::now().as_micros() + i64::from(ttl_seconds) * 1_000_000);
        let claims = TokenClaims {
            agent: self.pub_key.get_raw_39().to_vec(),
            subject,
            audience,
            expires_at_micros: expires_at.as_micros(),
        };
        claims.check().map_err(|message| DhtError::Refused {
            function: "issue_access_token",
            message,
        })?;
        let signature = self.key.sign(&claims.signing_bytes()).to_bytes();
        Ok(IssuedToken {
            token: AccessToken { claims, signature }.encode(),
            agent: self.pub_key.clone(),
            expires_at,
        })
    }
}

/// The in-memory DHT, seen by the node's agent `me`.
pub(crate) struct FakeDht {
    me: FakeAgent,
    next: AtomicU32,
    contents: Mutex<Vec<ContentView>>,
    manifests: Mutex<Vec<ManifestView>>,
    places: Mutex<HashMap<AgentPubKey, Place>>,
    endpoints: Mutex<HashMap<AgentPubKey, String>>,
    commitments: Mutex<Vec<CommitmentView>>,
    replicas: Mutex<Vec<ReplicaView>>,
    /// Copies of invited content no invitee has taken yet.
    shares_pending: AtomicU32,
}

impl FakeDht {
    /// An empty DHT whose node agent is `me`.
    pub(crate) fn new(me: FakeAgent) -> Self {
        FakeDht {
            me,
            next: AtomicU32::new(1),
            contents: Default::default(),
            manifests: Default::default(),
            places: Default::default(),
            endpoints: Default::default(),
            commitments: Default::default(),
            replicas: Default::default(),
            shares_pending: AtomicU32::new(0),
        }
    }

    /// Makes `deliver_shares` report `n` copies pending, as when an invitee's node is away.
    pub(crate) fn set_shares_pending(&self, n: u32) {
        self.shares_pending.store(n, Ordering::Relaxed);
    }

    /// The node's agent.
    pub(crate) fn me(&self) -> &FakeAgent {
        &self.me
    }

    fn new_id(&self) -> ActionHash {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut raw = vec![0xa5; 32];
        raw[..4].copy_from_slice(&n.to_le_bytes());
        ActionHash::from_raw_32(raw)
    }

    /// Registers `manifest` as `author`'s.
    pub(crate) fn put_manifest(&self, author: &AgentPubKey, manifest: BlobManifest) -> ManifestView {
        let view = ManifestView {
            id: self.new_id(),
            author: author.clone(),
            manifest,
        };
        self.manifests.lock().unwrap().push(view.clone());
        view
    }

    /// Takes the manifest `id` out of sight, as one that has not reached this node yet.
    pub(crate) fn withhold_manifest(&self, id: &ActionHash) -> ManifestView {
        let mut manifests = self.manifests.lock().unwrap();
        let at = manifests.iter().position(|m| &m.id == id).expect("a manifest");
        manifests.remove(at)
    }

    /// Brings a withheld manifest into sight: it reached this node.
    pub(crate) fn deliver_manifest(&self, view: ManifestView) {
        self.manifests.lock().unwrap().push(view);
    }

    /// Publishes `node` as `author`'s content.
    pub(crate) fn put_content(&self, author: &AgentPubKey, node: ContentNode) -> ContentView {
        let id = self.new_id();
        let view = ContentView {
            version: id.clone(),
            id,
            author: author.clone(),
            updated_at: Timestamp::from_micros(crate::clock::now().as_micros()),
            content: node,
        };
        self.contents.lock().unwrap().push(view.clone());
        view
    }

    /// Records `agent`'s proven place.
    pub(crate) fn put_place(&self, agent: &AgentPubKey, place: Place) {
        self.places.lock().unwrap().insert(agent.clone(), place);
    }

    /// Commits `author` as a custodian, its commitment last renewed at `updated_at`.
    pub(crate) fn put_commitment(
        &self,
        author: &AgentPubKey,
        commitment: CustodianCommitment,
        updated_at: Timestamp,
    ) -> CommitmentView {
        let id = self.new_id();
        let view = CommitmentView {
            version: id.clone(),
            id,
            author: author.clone(),
            commitment,
            live: true,
            updated_at,
        };
        self.commitments.lock().unwrap().push(view.clone());
        view
    }

    /// Records `custodian`'s replica `status`, written at `updated_at`.
    pub(crate) fn put_replica(
        &self,
        custodian: &AgentPubKey,
        status: ReplicaStatus,
        updated_at: Timestamp,
    ) -> ReplicaView {
        let id = self.new_id();
        let view = ReplicaView {
            version: id.clone(),
            id,
            custodian: custodian.clone(),
            updated_at,
            status,
            endpoint: None,
        };
        self.replicas.lock().unwrap().push(view.clone());
        view
    }

    /// As validation does: a status the node's agent writes cites the newest version of
    /// one of its commitments.
    fn cites_newest(&self, status: &ReplicaStatus, function: &'static str) -> Answer<()> {
        let all = self.commitments.lock().unwrap();
        match all
            .iter()
            .any(|c| c.author == self.me.pub_key && c.version == status.commitment)
        {
            true => Ok(()),
            false => Err(DhtError::Refused {
                function,
                message: "commitment was superseded by a later version; a status must cite the newest".into(),
            }),
        }
    }

    fn sees(&self, view: &ContentView) -> bool {
        let places = self.places.lock().unwrap();
        media_api::may_see(view, &self.me.pub_key, places.get(&self.me.pub_key))
    }
}

/// Content with `title`, `reach` and `blobs`, published, with no invitees or place.
pub(crate) fn content_node(title: &str, reach: &str, blobs: Vec<ActionHash>) -> ContentNode {
    ContentNode {
        title: title.into(),
        description: String::new(),
        content_format: "video".into(),
        reach: reach.into(),
        lifecycle: "published".into(),
        refresh_interval_days: None,
        retention_days: 30,
        embed_strategy: "stream".into(),
        blobs,
        invitees: Vec::new(),
        place: None,
        codecs: Vec::new(),
    }
}

#[async_trait]
impl Dht for FakeDht {
    fn agent(&self) -> Option<&AgentPubKey> {
        Some(&self.me.pub_key)
    }

    async fn blob_access(&self, blob: &Hash32) -> Answer<Vec<BlobAccess>> {
        let hex = blob.to_hex();
        let manifests = self.manifests.lock().unwrap();
        let naming: Vec<&ActionHash> = manifests
            .iter()
            .filter(|m| m.manifest.hash == hex)
            .map(|m| &m.id)
            .collect();
        let contents = self.contents.lock().unwrap();
        Ok(contents
            .iter()
            .filter(|c| c.content.blobs.iter().any(|b| naming.contains(&b)))
            .map(|c| BlobAccess {
                content_id: c.id.clone(),
                version: c.version.clone(),
                author: c.author.clone(),
                reach: c.content.reach.clone(),
                lifecycle: c.content.lifecycle.clone(),
                retention_days: c.content.retention_days,
                updated_at: c.updated_at,
                invitees: c.content.invitees.clone(),
                place: c.content.place.clone(),
                blobs: c.content.blobs.clone(),
            })
            .collect())
    }

    async fn agent_place(&self, agent: &AgentPubKey) -> Answer<Option<Place>> {
        Ok(self.places.lock().unwrap().get(agent).cloned())
    }

    async fn manifest(&self, id: &ActionHash) -> Answer<Option<ManifestView>> {
        Ok(self
            .manifests
            .lock()
            .unwrap()
            .iter()
            .find(|m| &m.id == id)
            .cloned())
    }

    async fn manifests_of(&self, blob: &Hash32) -> Answer<Vec<ManifestView>> {
        let hex = blob.to_hex();
        let manifests = self.manifests.lock().unwrap();
        Ok(manifests
            .iter()
            .filter(|m| m.manifest.hash == hex)
            .cloned()
            .collect())
    }

    async fn content(&self, id: &ActionHash) -> Answer<Option<ContentView>> {
        let found = self
            .contents
            .lock()
            .unwrap()
            .iter()
            .find(|c| &c.id == id)
            .cloned();
        Ok(found.filter(|c| self.sees(c)))
    }

    async fn visible_content(&self, since: Option<Timestamp>) -> Answer<Vec<ContentView>> {
        let all = self.contents.lock().unwrap().clone();
        Ok(all
            .into_iter()
            .filter(|c| since.is_none_or(|s| c.updated_at > s) && self.sees(c))
            .collect())
    }

    async fn endpoint_of(&self, agent: &AgentPubKey) -> Answer<Option<String>> {
        Ok(self.endpoints.lock().unwrap().get(agent).cloned())
    }

    async fn live_commitments(&self) -> Answer<Vec<CommitmentView>> {
        let now = crate::clock::now();
        let all = self.commitments.lock().unwrap();
        Ok(all
            .iter()
            .filter(|c| c.commitment.expires_at > now)
            .cloned()
            .collect())
    }

    async fn replicas(&self, manifest: &ActionHash) -> Answer<Vec<ReplicaView>> {
        let all = self.replicas.lock().unwrap();
        Ok(all
            .iter()
            .filter(|r| &r.status.manifest == manifest)
            .cloned()
            .collect())
    }

    async fn commit_as_custodian(&self, commitment: CustodianCommitment) -> Answer<CommitmentView> {
        Ok(self.put_commitment(&self.me.pub_key.clone(), commitment, crate::clock::now()))
    }

    async fn update_commitment(&self, input: UpdateCommitmentInput) -> Answer<CommitmentView> {
        let version = self.new_id();
        let mut all = self.commitments.lock().unwrap();
        let mine = all
            .iter_mut()
            .find(|c| c.id == input.id && c.author == self.me.pub_key)
            .ok_or(DhtError::Refused {
                function: "update_commitment",
                message: "not this agent's commitment".into(),
            })?;
        mine.commitment = input.commitment;
        mine.version = version;
        mine.updated_at = crate::clock::now();
        Ok(mine.clone())
    }

    async fn record_replica(&self, status: ReplicaStatus) -> Answer<ReplicaView> {
        self.cites_newest(&status, "record_replica")?;
        Ok(self.put_replica(&self.me.pub_key.clone(), status, crate::clock::now()))
    }

    async fn refresh_replica(&self, input: RefreshReplicaInput) -> Answer<ReplicaView> {
        self.cites_newest(&input.status, "refresh_replica")?;
        let version = self.new_id();
        let mut all = self.replicas.lock().unwrap();
        let mine = all
            .iter_mut()
            .find(|r| r.id == input.id && r.custodian == self.me.pub_key)
            .ok_or(DhtError::Refused {
                function: "refresh_replica",
                message: "not this agent's replica".into(),
            })?;
        mine.status = input.status;
        mine.version = version;
        mine.updated_at = crate::clock::now();
        Ok(mine.clone())
    }

    async fn deliver_shares(&self) -> Answer<media_api::ShareDelivery> {
        Ok(media_api::ShareDelivery {
            pending: self.shares_pending.load(Ordering::Relaxed),
            ..Default::default()
        })
    }

    async fn register_manifest(
        &self,
        manifest: BlobManifest,
        _reach: media_rules::Reach,
    ) -> Answer<ManifestView> {
        let me = self.me.pub_key.clone();
        let known = self
            .manifests
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.author == me && m.manifest == manifest)
            .cloned();
        Ok(known.unwrap_or_else(|| self.put_manifest(&me, manifest)))
    }

    async fn create_content(&self, node: ContentNode) -> Answer<ContentView> {
        node.check_fields().map_err(|message| DhtError::Refused {
            function: "create_content",
            message,
        })?;
        Ok(self.put_content(&self.me.pub_key.clone(), node))
    }

    async fn issue_token(&self, input: IssueTokenInput) -> Answer<IssuedToken> {
        self.me
            .sign(Subject::Blob(input.blob), input.audience, input.ttl_seconds)
    }

    async fn issue_call_token(&self, input: IssueCallTokenInput) -> Answer<IssuedToken> {
        self.me.sign(
            Subject::Call(input.call.to_string()),
            input.audience,
            input.ttl_seconds,
        )
    }

    async fn set_endpoint(&self, url: &str) -> Answer<()> {
        self.endpoints
            .lock()
            .unwrap()
            .insert(self.me.pub_key.clone(), url.into());
        Ok(())
    }

    async fn set_place(&self, place: &Place) -> Answer<()> {
        self.put_place(&self.me.pub_key.clone(), place.clone());
        Ok(())
    }
}
