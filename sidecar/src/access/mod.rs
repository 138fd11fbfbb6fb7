//! Who may read a blob. Standalone sidecars serve everything (commons semantics). A node
//! decides by `media_rules::access`: only the content of the agents it holds the bytes for
//! counts (its own agent for its uploads, the authors whose replicas it keeps), and the
//! narrowest of those uses wins. A blob every counted use makes commons is open; otherwise
//! the request must carry an access token signed by an agent (`Authorization: Bearer …` or
//! `?token=`), naming this blob and this node, not expired — and every counted use must
//! admit that agent (author; invitees; same place for local…regional).

use crate::dht::{DhtError, Node};
use crate::error::ApiError;
use crate::state::Sidecar;
use ed25519_dalek::{Signature, VerifyingKey};
use hdi::prelude::{ActionHash, AgentPubKey};
use media_api::BlobAccess;
use media_rules::access::{self, Decision, Use};
use media_rules::bandwidth::DeliveryCap;
use media_rules::ladder::audio_kbps;
use media_rules::manifest::{BlobManifest, Variant};
use media_rules::reach::Audience;
use media_rules::token::{AccessToken, Subject};
use media_rules::{CachePartition, Lifecycle, Place, Reach};
use media_store::hash::Hash32;
use std::sync::Arc;
use warp::http::HeaderMap;

pub(crate) mod cache;

/// The token a request carries, from the Authorization header or the `token` query parameter.
pub(crate) fn token_of<'a>(headers: &'a HeaderMap, query: &'a str) -> Option<&'a str> {
    headers
        .get(warp::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| query_param(query, "token"))
}

/// The value of parameter `name` in a raw query string (values here need no decoding:
/// tokens and hashes are URL-safe).
pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// What a request may read a blob as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The cache partition the blob's bytes belong to.
    pub partition: CachePartition,
    /// The most this node may send the reader: its bandwidth class's cap, for the reach
    /// the reader is served under.
    pub cap: DeliveryCap,
    /// Whether anyone may read the blob (no token needed): only then may shared caches
    /// keep the response.
    pub public: bool,
}

/// Why a blob is read: the delivery cap limits what this node streams, not what peers copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Played or downloaded by a reader: a rendition above the cap is refused.
    Play,
    /// Copied by a peer that keeps it, or described for one: custodians must be able to
    /// take every rendition from a node whose own link is too slow to stream it.
    Exchange,
}

/// Decides whether the request may read `blob`, and under which delivery cap. A token
/// names one blob; it also covers the renditions that blob's record lists as variants, so
/// a signed master playlist plays every rendition. This node's bandwidth class refuses
/// private content when low; played, a rendition above its delivery cap is refused however
/// it is asked for: through a playlist, by its own hash, or by a token that names it.
pub(crate) async fn authorize(
    state: &Sidecar,
    blob: &Hash32,
    token: Option<&str>,
    purpose: Purpose,
) -> Result<Grant, ApiError> {
    let open = Grant {
        partition: CachePartition::Commons,
        cap: state.config.bandwidth.cap(),
        public: true,
    };
    if purpose == Purpose::Exchange && token.is_some_and(|t| state.owner.matches(t)) {
        // The owner may copy or describe whatever the node holds, without the DHT.
        return Ok(Grant {
            partition: CachePartition::Personal,
            public: false,
            ..open
        });
    }
    let (grant, named, facts) = match state.node() {
        None => (open, None, None),
        Some(link) => {
            let all = blob_facts(state, link, blob).await?;
            let facts = Arc::new(counted_facts(state, link, blob, &all)?);
            if access::decide(&uses(&facts).iter().collect::<Vec<_>>()) == Decision::Open {
                (open, None, Some((link, facts)))
            } else {
                let (grant, named) = reader_grant(state, link, blob, &facts, token).await?;
                (grant, Some(named), Some((link, facts)))
            }
        }
    };
    if purpose == Purpose::Exchange {
        return Ok(grant);
    }
    let rendition = match named {
        Some(named) if named != blob.to_hex() => rendition_of(state, &named, blob),
        _ => rendition_here(state, blob, facts).await?,
    };
    if let Some((variant, audio)) = rendition {
        access::rendition_admitted(&grant.cap, &variant, audio).map_err(|r| refused(r, state))?;
    }
    Ok(grant)
}

/// The grant of a request for a blob that is not public: its token must verify and name
/// the blob (or the source it is a rendition of), and the content's reach must admit the
/// agent who signed it. Returns the grant and the blob the token names.
async fn reader_grant(
    state: &Sidecar,
    link: Node<'_>,
    blob: &Hash32,
    facts: &[BlobAccess],
    token: Option<&str>,
) -> Result<(Grant, String), ApiError> {
    let token = token
        .ok_or_else(|| ApiError::Unauthorized("this blob is not public; send an access token".into()))?;
    let hex = blob.to_hex();
    let (reader, named) = if state.owner.matches(token) {
        // The owner's credential reads as the node's own agent.
        (link.agent().clone(), hex)
    } else {
        let covers = |named: &Subject| match named {
            Subject::Blob(named) => named == &hex || rendition_of(state, named, blob).is_some(),
            Subject::Call(_) => false,
        };
        let (agent, named) = verify_token(token, "blob", covers, &audiences(link))?;
        (agent, named.as_str().to_string())
    };
    // The facts gathered, the rule decides (`media_rules::access::reader_grant`). The
    // place is not asked for the node's own agent reading a blob nothing uses yet.
    let uses = uses(facts);
    let counted: Vec<&Use<'_, AgentPubKey>> = uses.iter().collect();
    let place = match &reader == link.agent() && counted.is_empty() {
        true => None,
        false => reader_place(state, link, &reader).await?,
    };
    let class = state.config.bandwidth;
    let grant = access::reader_grant(&counted, &reader, place.as_ref(), link.agent(), class)
        .map_err(|r| refused(r, state))?;
    Ok((
        Grant {
            partition: grant.partition,
            cap: grant.cap,
            public: false,
        },
        named,
    ))
}

/// A refusal of the access rule, as the reader is told it.
fn refused(refusal: access::Refusal, state: &Sidecar) -> ApiError {
    match refusal {
        access::Refusal::NotInReach => {
            ApiError::Forbidden("the content's reach does not include this agent".into())
        }
        access::Refusal::Bandwidth(why) => ApiError::Forbidden(why),
        access::Refusal::AboveCap { rendition } => ApiError::Forbidden(format!(
            "the {rendition} rendition exceeds this node's {} bandwidth",
            state.config.bandwidth.as_str()
        )),
    }
}

/// The variant `blob` is of the source blob `source` (hex), as this node's record of the
/// source lists it, with the bitrate of the audio it plays with.
fn rendition_of(state: &Sidecar, source: &str, blob: &Hash32) -> Option<(Variant, u32)> {
    let source: Hash32 = source.parse().ok()?;
    let record = state.blobs.get(&source).ok()??;
    let hex = blob.to_hex();
    let variants = &record.manifest.variants;
    let variant = variants.iter().find(|v| v.blob == hex)?.clone();
    Some((variant, audio_kbps(variants)))
}

/// The variant `blob` is, if it is a rendition: from this node's record of it when its
/// ladder ran here, or else from the manifests of the content that uses it (`facts`, on a
/// node), one of which lists it among its variants.
async fn rendition_here(
    state: &Sidecar,
    blob: &Hash32,
    facts: Option<(Node<'_>, Arc<Vec<BlobAccess>>)>,
) -> Result<Option<(Variant, u32)>, ApiError> {
    let made_here = state.blobs.get(blob)?.and_then(|r| r.rendition_of.clone());
    if let Some(found) = made_here.and_then(|source| rendition_of(state, &source, blob)) {
        return Ok(Some(found));
    }
    let Some((link, facts)) = facts else {
        return Ok(None);
    };
    let hex = blob.to_hex();
    for id in facts.iter().flat_map(|a| &a.blobs) {
        let Some(manifest) = manifest_by_id(state, link, id).await? else {
            continue;
        };
        if let Some(variant) = manifest.variants.iter().find(|v| v.blob == hex) {
            return Ok(Some((variant.clone(), audio_kbps(&manifest.variants))));
        }
    }
    Ok(None)
}

/// A manifest registered in the DHT, by its action hash.
async fn manifest_by_id(
    state: &Sidecar,
    link: Node<'_>,
    id: &ActionHash,
) -> Result<Option<Arc<BlobManifest>>, ApiError> {
    let ask = link.manifest(id);
    cached(&state.access.manifests, id.clone(), ask, |view| {
        view.map(|v| Arc::new(v.manifest.0))
    })
    .await
}

/// The agents this node holds `blob`'s bytes for: its own agent for an upload or a
/// rendition made here, the authors whose replica it keeps. For a blob it does not hold
/// (which it can only fetch through from others), every author whose content uses it.
fn owners(
    state: &Sidecar,
    link: Node<'_>,
    blob: &Hash32,
    facts: &[BlobAccess],
) -> Result<Vec<AgentPubKey>, ApiError> {
    let Some(record) = state.blobs.get(blob)? else {
        let mut authors: Vec<AgentPubKey> = facts.iter().map(|a| a.author.clone()).collect();
        authors.push(link.agent().clone());
        return Ok(authors);
    };
    let mut owners: Vec<AgentPubKey> = record
        .replica_of
        .iter()
        .filter_map(|a| AgentPubKey::try_from(a.as_str()).ok())
        .collect();
    if record.own {
        owners.push(link.agent().clone());
    }
    Ok(owners)
}

/// The facts of the content by the agents this node holds the blob for: content by others
/// that names the same hash never decides who reads these bytes.
fn counted_facts(
    state: &Sidecar,
    link: Node<'_>,
    blob: &Hash32,
    facts: &[BlobAccess],
) -> Result<Vec<BlobAccess>, ApiError> {
    let owners = owners(state, link, blob, facts)?;
    Ok(facts
        .iter()
        .filter(|a| owners.contains(&a.author))
        .cloned()
        .collect())
}

/// The facts as uses for the shared access rule.
fn uses(facts: &[BlobAccess]) -> Vec<Use<'_, AgentPubKey>> {
    facts
        .iter()
        .map(|a| Use {
            reach: Reach::parse(&a.reach).ok(),
            lifecycle: Lifecycle::parse(&a.lifecycle).ok(),
            audience: Audience {
                author: &a.author,
                invitees: &a.invitees,
                place: a.place.as_ref(),
            },
        })
        .collect()
}

/// The audience this node answers to: its agent key (a URL could be shared by nodes).
pub(crate) fn audiences(link: Node<'_>) -> [String; 1] {
    [link.agent().to_string()]
}

/// Parses and checks a token for something `covers` accepts (`wanted` is what the request
/// asks for: `blob` or `call`, to name in a refusal); returns the agent who signed it and what it names.
pub(crate) fn verify_token(
    token: &str,
    wanted: &str,
    covers: impl Fn(&Subject) -> bool,
    audiences: &[String],
) -> Result<(AgentPubKey, Subject), ApiError> {
    let token = AccessToken::parse(token).map_err(ApiError::Forbidden)?;
    let claims = &token.claims;
    let key = claims
        .ed25519_key()
        .ok_or_else(|| ApiError::Forbidden("token agent is malformed".into()))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| ApiError::Forbidden("token agent is not an ed25519 key".into()))?;
    key.verify_strict(&claims.signing_bytes(), &Signature::from_bytes(&token.signature))
        .map_err(|_| ApiError::Forbidden("token signature does not match its agent".into()))?;
    if !covers(&claims.subject) {
        let named = claims.subject.kind();
        return Err(ApiError::Forbidden(match named == wanted {
            true => format!("token is for another {named}"),
            false => format!("token is for a {named}, not a {wanted}"),
        }));
    }
    if !audiences.iter().any(|a| a == &claims.audience) {
        return Err(ApiError::Forbidden("token is for another node".into()));
    }
    claims
        .check_lifetime(crate::clock::now().as_micros())
        .map_err(ApiError::Forbidden)?;
    let agent = AgentPubKey::try_from_raw_39(claims.agent.clone())
        .map_err(|_| ApiError::Forbidden("token agent is malformed".into()))?;
    Ok((agent, token.claims.subject))
}

async fn blob_facts(
    state: &Sidecar,
    link: Node<'_>,
    blob: &Hash32,
) -> Result<Arc<Vec<BlobAccess>>, ApiError> {
    let ask = link.blob_access(blob);
    cached(&state.access.blobs, *blob, ask, Arc::new).await
}

/// The place `reader` declared, as the DHT says (cached).
pub(crate) async fn reader_place(
    state: &Sidecar,
    link: Node<'_>,
    reader: &AgentPubKey,
) -> Result<Option<Place>, ApiError> {
    let ask = link.agent_place(reader);
    cached(&state.access.places, reader.clone(), ask, |place| place).await
}

/// The conductor's answer kept in `cache` under `key`, or else `ask`'s, kept as `keep` makes
/// it. (`ask` is a zome call not yet sent: it is sent only on a miss.)
async fn cached<K, V, O>(
    cache: &moka::future::Cache<K, V>,
    key: K,
    ask: impl std::future::Future<Output = Result<O, DhtError>>,
    keep: impl FnOnce(O) -> V,
) -> Result<V, ApiError>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    if let Some(known) = cache.get(&key).await {
        return Ok(known);
    }
    let answer = keep(ask.await.map_err(ApiError::from)?);
    cache.insert(key, answer.clone()).await;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::dht::fake::{content_node, FakeAgent, FakeDht};
    use media_rules::manifest::BlobManifest;
    use media_store::blobs::BlobRecord;

    /// A node whose agent uploaded one blob and published it with `reach`, over the fake
    /// DHT; or, with `reach` `None`, a standalone sidecar holding the blob.
    struct Setup {
        _dir: tempfile::TempDir,
        state: Arc<Sidecar>,
        dht: Arc<FakeDht>,
        blob: Hash32,
    }

    fn setup(reach: Option<&str>) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let state = Sidecar::open(Config::on_loopback(dir.path().to_path_buf())).unwrap();
        let blob = Hash32::of(b"a talk");
        let manifest = BlobManifest {
            hash: blob.to_hex(),
            size: 6,
            mime_type: "video/mp4".into(),
            codec: None,
            chunk_size: media_rules::limits::DEFAULT_CHUNK_SIZE,
            chunks: vec![blob.to_hex()],
            bitrate_kbps: None,
            duration_ms: None,
            variants: Vec::new(),
            segments: None,
            fallback_urls: Vec::new(),
        };
        state.blobs.put(BlobRecord::new(manifest.clone())).unwrap();
        let dht = Arc::new(FakeDht::new(FakeAgent::new(1)));
        if let Some(reach) = reach {
            let me = dht.me().pub_key.clone();
            let view = dht.put_manifest(&me, media_integrity::BlobManifest(manifest));
            dht.put_content(&me, content_node("a talk", reach, vec![view.id]));
            state.attach(dht.clone());
        }
        Setup {
            _dir: dir,
            state,
            dht,
            blob,
        }
    }

    fn token(by: &FakeAgent, blob: &Hash32, node: &FakeDht) -> String {
        let audience = node.me().pub_key.to_string();
        by.sign(Subject::Blob(blob.to_hex()), audience, 60).unwrap().token
    }

    async fn status(s: &Setup, token: Option<&str>) -> Result<Grant, u16> {
        authorize(&s.state, &s.blob, token, Purpose::Play)
            .await
            .map_err(|e| e.status().as_u16())
    }

    #[tokio::test]
    async fn on_a_node_a_commons_blob_is_read_without_a_token() {
        let s = setup(Some("commons"));
        let grant = status(&s, None).await.unwrap();
        assert!(grant.public, "shared caches may keep it");
        assert_eq!(grant.partition, CachePartition::Commons);
    }

    #[tokio::test]
    async fn on_a_node_a_private_blob_is_read_by_its_author_only() {
        let s = setup(Some("private"));
        assert_eq!(status(&s, None).await.unwrap_err(), 401, "no token");
        let stranger = FakeAgent::new(2);
        let theirs = token(&stranger, &s.blob, &s.dht);
        assert_eq!(
            status(&s, Some(&theirs)).await.unwrap_err(),
            403,
            "not in the reach"
        );
        let mine = token(s.dht.me(), &s.blob, &s.dht);
        let grant = status(&s, Some(&mine)).await.unwrap();
        assert!(!grant.public, "no shared cache keeps private bytes");
        let mut forged = mine.clone();
        forged.replace_range(forged.len() - 4.., "AAAA");
        assert_eq!(status(&s, Some(&forged)).await.unwrap_err(), 403, "forged");
        let another_node = FakeAgent::new(3).pub_key.to_string();
        let elsewhere = s.dht.me().sign(Subject::Blob(s.blob.to_hex()), another_node, 60);
        let elsewhere = elsewhere.unwrap().token;
        assert_eq!(
            status(&s, Some(&elsewhere)).await.unwrap_err(),
            403,
            "for another node"
        );
    }

    #[tokio::test]
    async fn a_standalone_sidecar_serves_what_it_holds_as_commons() {
        let s = setup(None);
        assert!(s.state.node().is_none());
        let grant = status(&s, None).await.unwrap();
        assert!(grant.public);
    }
}
