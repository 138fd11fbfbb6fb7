//! Where a blob's chunks can be fetched from, as the DHT tells it: custodians with a live
//! replica and those placed on the blob (a swarm, see [`crate::replicate`]), then the
//! author's node, then the manifest's fallback URLs. Custodian rounds and fetch-through
//! ask the same way.

use crate::dht::Node;
use crate::error::ApiError;
use crate::replicate::{Source, Sources};
use hdi::prelude::AgentPubKey;
use media_api::{IssueTokenInput, IssuedToken, ReplicaView};
use media_rules::manifest::BlobManifest;
use media_rules::ReplicaState;
use media_store::hash::Hash32;
use std::time::Duration;

/// Lifetime of the tokens a node signs to fetch content that is not commons.
pub(crate) const TOKEN_TTL_SECS: u32 = 600;

/// Who holds a blob, besides this node.
pub(crate) struct Holders<'a> {
    /// The replica statuses of the blob's manifest.
    pub replicas: &'a [ReplicaView],
    /// A status older than this is not asked (its custodian may be gone).
    pub live: Duration,
    /// The author, and where its node is reached (if it published where).
    pub author: (&'a AgentPubKey, Option<String>),
    /// Other custodians placed on the blob, and where they are reached: they may still be
    /// pulling it, and give the chunks they have.
    pub assigned: Vec<(AgentPubKey, String)>,
    /// For a blob of content kept off the DHT, the only agents that may be asked for it
    /// (its author and invitees): asking anyone else would tell them its hash. `None`:
    /// anyone the DHT names.
    pub circle: Option<Vec<AgentPubKey>>,
}

impl Holders<'_> {
    /// Whether `agent` may be asked for the blob.
    pub(crate) fn may_ask(&self, agent: &AgentPubKey) -> bool {
        self.circle.as_ref().is_none_or(|circle| circle.contains(agent))
    }
}

/// The circle of content kept off the DHT (see [`Holders::circle`]); `None` for other
/// content, whose blob hashes are public.
pub(crate) fn circle_of(
    reach: media_rules::Reach,
    author: &AgentPubKey,
    invitees: &[AgentPubKey],
) -> Option<Vec<AgentPubKey>> {
    reach
        .is_kept_off_dht()
        .then(|| std::iter::once(author).chain(invitees).cloned().collect())
}

/// The sources of `blob` (described by `manifest`). For a blob that is not `public`, each
/// peer is sent a token this node's agent signs for it.
pub(crate) async fn for_blob(
    link: Node<'_>,
    blob: &Hash32,
    manifest: &BlobManifest,
    holders: Holders<'_>,
    public: bool,
) -> Result<Sources, ApiError> {
    let now = crate::clock::now().as_micros();
    let live = |r: &ReplicaView| {
        Duration::from_micros((now - r.updated_at.as_micros()).max(0) as u64) <= holders.live
    };
    let mut peers: Vec<(AgentPubKey, String)> = holders
        .replicas
        .iter()
        .filter(|r| &r.custodian != link.agent() && live(r) && holders.may_ask(&r.custodian))
        .filter(|r| ReplicaState::parse(&r.status.state).is_ok_and(ReplicaState::holds_bytes))
        .filter_map(|r| Some((r.custodian.clone(), r.endpoint.clone()?)))
        .collect();
    for (agent, endpoint) in &holders.assigned {
        if agent != link.agent() && holders.may_ask(agent) && !peers.iter().any(|(a, _)| a == agent) {
            peers.push((agent.clone(), endpoint.clone()));
        }
    }
    let (author, endpoint) = holders.author;
    let author = match author != link.agent() {
        true => endpoint.map(|e| vec![(author.clone(), e)]).unwrap_or_default(),
        false => Vec::new(),
    };
    let mut then = peer_sources(link, blob, author, public).await?;
    then.extend(
        manifest
            .fallback_urls
            .iter()
            .map(|url| Source::Fallback { url: url.clone() }),
    );
    Ok(Sources {
        swarm: peer_sources(link, blob, peers, public).await?,
        then,
    })
}

/// Peers as sources of `blob`, each with a token this node's agent signs for it when the
/// blob is not `public`.
async fn peer_sources(
    link: Node<'_>,
    blob: &Hash32,
    peers: Vec<(AgentPubKey, String)>,
    public: bool,
) -> Result<Vec<Source>, ApiError> {
    let mut sources = Vec::new();
    for (agent, base) in peers {
        let token = match public {
            true => None,
            false => {
                let issued: IssuedToken = link
                    .issue_token(IssueTokenInput {
                        blob: blob.to_hex(),
                        audience: agent.to_string(),
                        ttl_seconds: TOKEN_TTL_SECS,
                    })
                    .await?;
                Some(issued.token)
            }
        };
        sources.push(Source::Peer { base, token });
    }
    Ok(sources)
}

/// Custodians that keep blobs (storage or cache), live and not among `known`, as the last
/// sources of `blob`, at most `most` of them. A replica status travels the DHT more slowly
/// than the bytes it reports: a custodian may already serve a blob that no status lists yet.
/// One that does not hold it answers `404` at once.
pub(crate) async fn unlisted_custodians(
    link: Node<'_>,
    blob: &Hash32,
    commitments: &[media_api::CommitmentView],
    known: &Sources,
    public: bool,
    most: usize,
) -> Result<Vec<Source>, ApiError> {
    let listed = |url: &str| {
        known
            .all()
            .any(|s| matches!(s, Source::Peer { base, .. } if base.trim_end_matches('/') == url.trim_end_matches('/')))
    };
    let peers: Vec<(AgentPubKey, String)> = commitments
        .iter()
        .filter(|c| c.live && &c.author != link.agent())
        .filter(|c| {
            !matches!(
                c.commitment.media_role,
                media_rules::role::MediaRole::Relay { .. }
            )
        })
        .filter(|c| !c.commitment.endpoint.is_empty() && !listed(&c.commitment.endpoint))
        .take(most)
        .map(|c| (c.author.clone(), c.commitment.endpoint.clone()))
        .collect();
    peer_sources(link, blob, peers, public).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use media_rules::Reach;

    fn agent(n: u8) -> AgentPubKey {
        AgentPubKey::from_raw_32(vec![n; 32])
    }

    fn holders(circle: Option<Vec<AgentPubKey>>) -> Holders<'static> {
        Holders {
            replicas: &[],
            live: Duration::from_secs(60),
            author: (Box::leak(Box::new(agent(1))), None),
            assigned: Vec::new(),
            circle,
        }
    }

    #[test]
    fn a_blob_kept_off_the_dht_is_asked_of_its_author_and_invitees_only() {
        let (author, invitee, stranger) = (agent(1), agent(2), agent(3));
        for reach in [Reach::Private, Reach::Invited] {
            let kept = holders(circle_of(reach, &author, std::slice::from_ref(&invitee)));
            assert!(kept.may_ask(&author) && kept.may_ask(&invitee));
            assert!(!kept.may_ask(&stranger), "{reach}");
        }
        for reach in [Reach::Commons, Reach::Local, Reach::Regional] {
            let public_hash = holders(circle_of(reach, &author, &[]));
            assert!(public_hash.may_ask(&stranger), "{reach}");
        }
    }
}
