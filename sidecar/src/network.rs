//! What a node knows of its network, for `elohim-media status` and `GET /api/node`: the
//! peers its conductor knows (from their signed agent infos), which of them are custodians,
//! whether the bootstrap server and relay answer, and when a peer was last heard from.

use crate::config::NetworkSettings;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hdi::prelude::AgentPubKey;
use media_api::CommitmentView;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The network as this node sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct NetworkStatus {
    /// The node keeps to itself (`--offline`).
    pub offline: bool,
    /// The bootstrap server, when this node's embedded conductor uses one.
    pub bootstrap_url: Option<String>,
    /// The relay, likewise.
    pub relay_url: Option<String>,
    /// Whether the bootstrap server answered just now.
    pub bootstrap_answers: Option<bool>,
    /// Whether the relay answered just now.
    pub relay_answers: Option<bool>,
    /// Other agents of the media network that the conductor knows.
    pub peers: Vec<Peer>,
    /// When a peer last signed the info this node holds (µs since the Unix epoch).
    pub last_heard_from_peer: Option<i64>,
}

/// One peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Peer {
    /// Its agent key.
    pub agent: String,
    /// Where its conductor is reached, if it said.
    pub url: Option<String>,
    /// When it last signed its info (µs).
    pub seen_at: i64,
    /// Its custodian commitment, if it keeps others' media.
    pub custodian: Option<CustodianSummary>,
}

/// What a custodian committed to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CustodianSummary {
    /// `storage`, `cache` or `relay`.
    pub role: String,
    /// The room it offers, in bytes.
    pub capacity_bytes: u64,
    /// Its bandwidth class.
    pub bandwidth: String,
    /// Where its sidecar is reached.
    pub endpoint: String,
}

/// The peers in `agent_infos` (kitsune2's signed JSON), without `me` and without agents
/// that went offline, joined with the custodians' commitments.
pub(crate) fn peers(agent_infos: &[String], me: &AgentPubKey, commitments: &[CommitmentView]) -> Vec<Peer> {
    let mut out: Vec<Peer> = Vec::new();
    for signed in agent_infos {
        let Some(info) = parse(signed) else { continue };
        let Ok(raw) = B64.decode(&info.agent) else {
            continue;
        };
        if raw.len() != 32 || info.is_tombstone {
            continue;
        }
        let agent = AgentPubKey::from_raw_32(raw);
        if &agent == me || out.iter().any(|p| p.agent == agent.to_string()) {
            continue;
        }
        let custodian = commitments
            .iter()
            .find(|c| c.author == agent)
            .map(|c| CustodianSummary {
                role: c.commitment.media_role.name().into(),
                capacity_bytes: c.commitment.media_role.capacity_bytes(),
                bandwidth: c.commitment.bandwidth_class.clone(),
                endpoint: c.commitment.endpoint.clone(),
            });
        out.push(Peer {
            agent: agent.to_string(),
            url: info.url,
            seen_at: info.created_at.parse().unwrap_or_default(),
            custodian,
        });
    }
    out
}

#[derive(Deserialize)]
struct Signed {
    #[serde(rename = "agentInfo")]
    agent_info: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    agent: String,
    created_at: String,
    #[serde(default)]
    is_tombstone: bool,
    url: Option<String>,
}

fn parse(signed: &str) -> Option<Info> {
    let outer: Signed = serde_json::from_str(signed).ok()?;
    serde_json::from_str(&outer.agent_info).ok()
}

/// The network part of a node's status, with `settings` when its conductor is embedded.
pub(crate) async fn status(settings: Option<&NetworkSettings>, peers: Vec<Peer>) -> NetworkStatus {
    let last_heard_from_peer = peers.iter().map(|p| p.seen_at).max();
    let mut status = NetworkStatus {
        peers,
        last_heard_from_peer,
        ..NetworkStatus::default()
    };
    let Some(settings) = settings else {
        return status;
    };
    status.offline = settings.offline;
    if settings.offline {
        return status;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .ok();
    let answers = |url: String| {
        let client = client.clone();
        async move {
            let client = client?;
            Some(
                client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success()),
            )
        }
    };
    let base = |u: &str| u.trim_end_matches('/').to_string();
    status.bootstrap_answers = answers(format!("{}/health", base(&settings.bootstrap_url))).await;
    status.relay_answers = answers(format!("{}/ping", base(&settings.relay_url))).await;
    status.bootstrap_url = Some(settings.bootstrap_url.clone());
    status.relay_url = Some(settings.relay_url.clone());
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_come_from_signed_agent_infos_without_this_node_or_tombstones() {
        let key = |n: u8| AgentPubKey::from_raw_32(vec![n; 32]);
        let info = |n: u8, tomb: bool| {
            let inner = serde_json::json!({
                "agent": B64.encode([n; 32]), "space": "x", "createdAt": format!("{}", 1000 + u64::from(n)),
                "expiresAt": "9", "isTombstone": tomb, "url": format!("ws://peer{n}"),
            });
            serde_json::json!({ "agentInfo": inner.to_string(), "signature": "" }).to_string()
        };
        let infos = [info(1, false), info(2, false), info(3, true), "garbage".into()];
        let found = peers(&infos, &key(1), &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].agent, key(2).to_string());
        assert_eq!(found[0].url.as_deref(), Some("ws://peer2"));
        assert_eq!(found[0].seen_at, 1002);
    }
}
