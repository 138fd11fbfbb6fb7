//! The conductor link as the sidecar's seam to the DHT: each question is one signed zome
//! call of the media zome, as the node's agent.

use super::ConductorLink;
use async_trait::async_trait;
use hdi::prelude::{ActionHash, AgentPubKey, CapSecret, Timestamp};
use media_api::{
    BlobAccess, CommitmentView, ContentView, IssueCallTokenInput, IssueTokenInput, IssuedToken, ManifestView,
    RefreshReplicaInput, ReplicaView, ShareDelivery, StartCallInput, UpdateCommitmentInput,
    UpdateContentInput, VouchInput, VouchView,
};
use media_integrity::{BlobManifest, ContentNode, CustodianCommitment, ReplicaStatus};
use media_rules::{Place, Reach};
use media_store::hash::Hash32;
use sidecar::config::NetworkSettings;
use sidecar::dht::{Answer, Dht, UiSession};

#[async_trait]
impl Dht for ConductorLink {
    fn agent(&self) -> Option<&AgentPubKey> {
        Some(ConductorLink::agent(self))
    }

    fn network(&self) -> Option<&NetworkSettings> {
        ConductorLink::network(self)
    }

    async fn agent_infos(&self) -> Answer<Vec<String>> {
        self.signed_agent_infos().await
    }

    async fn ui_session(&self, origin: &str, grant: Option<(AgentPubKey, CapSecret)>) -> Answer<UiSession> {
        self.open_ui_session(origin, grant).await
    }

    async fn blob_access(&self, blob: &Hash32) -> Answer<Vec<BlobAccess>> {
        self.call("get_blob_access", blob.to_hex()).await
    }

    async fn agent_place(&self, agent: &AgentPubKey) -> Answer<Option<Place>> {
        self.call("get_agent_place", agent.clone()).await
    }

    async fn manifest(&self, id: &ActionHash) -> Answer<Option<ManifestView>> {
        self.call("get_blob_manifest", id.clone()).await
    }

    async fn manifests_of(&self, blob: &Hash32) -> Answer<Vec<ManifestView>> {
        self.call("find_blob_manifests", blob.to_hex()).await
    }

    async fn content(&self, id: &ActionHash) -> Answer<Option<ContentView>> {
        self.call("get_latest_content", id.clone()).await
    }

    async fn visible_content(&self, since: Option<Timestamp>) -> Answer<Vec<ContentView>> {
        match since {
            Some(since) => self.call("list_visible_content_since", since).await,
            None => self.call("list_visible_content", ()).await,
        }
    }

    async fn endpoint_of(&self, agent: &AgentPubKey) -> Answer<Option<String>> {
        self.call("get_agent_endpoint", agent.clone()).await
    }

    async fn live_commitments(&self) -> Answer<Vec<CommitmentView>> {
        self.call("list_live_commitments", ()).await
    }

    async fn replicas(&self, manifest: &ActionHash) -> Answer<Vec<ReplicaView>> {
        self.call("list_replicas", manifest.clone()).await
    }

    async fn place_vouches(&self, region: &str) -> Answer<Vec<VouchView>> {
        self.call("list_place_vouches", region.to_string()).await
    }

    async fn register_manifest(&self, manifest: BlobManifest, reach: Reach) -> Answer<ManifestView> {
        match reach.is_kept_off_dht() {
            true => self.call("register_private_manifest", manifest).await,
            false => self.call("register_blob_manifest", manifest).await,
        }
    }

    async fn deliver_shares(&self) -> Answer<ShareDelivery> {
        self.call("deliver_shares", ()).await
    }

    async fn create_content(&self, node: ContentNode) -> Answer<ContentView> {
        self.call("create_content", node).await
    }

    async fn update_content(&self, input: UpdateContentInput) -> Answer<ContentView> {
        self.call("update_content", input).await
    }

    async fn start_call(&self, input: StartCallInput) -> Answer<ContentView> {
        self.call("start_call", input).await
    }

    async fn issue_token(&self, input: IssueTokenInput) -> Answer<IssuedToken> {
        self.call("issue_access_token", input).await
    }

    async fn issue_call_token(&self, input: IssueCallTokenInput) -> Answer<IssuedToken> {
        self.call("issue_call_token", input).await
    }

    async fn set_endpoint(&self, url: &str) -> Answer<()> {
        let _: ActionHash = self.call("set_my_endpoint", url.to_string()).await?;
        Ok(())
    }

    async fn set_place(&self, place: &Place) -> Answer<()> {
        let _: ActionHash = self.call("set_my_place", place.clone()).await?;
        Ok(())
    }

    async fn found_place(&self, place: &Place) -> Answer<Vec<VouchView>> {
        self.call("found_place", place.clone()).await
    }

    async fn vouch(&self, input: VouchInput) -> Answer<VouchView> {
        self.call("vouch_for_place", input).await
    }

    async fn revoke_vouch(&self, id: &ActionHash) -> Answer<()> {
        let _: ActionHash = self.call("revoke_place_vouch", id.clone()).await?;
        Ok(())
    }

    async fn commit_as_custodian(&self, commitment: CustodianCommitment) -> Answer<CommitmentView> {
        self.call("commit_as_custodian", commitment).await
    }

    async fn update_commitment(&self, input: UpdateCommitmentInput) -> Answer<CommitmentView> {
        self.call("update_commitment", input).await
    }

    async fn record_replica(&self, status: ReplicaStatus) -> Answer<ReplicaView> {
        self.call("record_replica", status).await
    }

    async fn refresh_replica(&self, input: RefreshReplicaInput) -> Answer<ReplicaView> {
        self.call("refresh_replica", input).await
    }
}
