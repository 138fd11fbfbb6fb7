//! Pulling a blob's chunks from elsewhere: from peer sidecars (`/api/chunk/{hash}`), then
//! from the manifest's fallback URLs (range requests on a plain URL of the whole blob).
//! Every chunk must hash to its name before it is stored; a source that sends other bytes
//! is skipped for that chunk. A few chunks are fetched at once; a source that fails for a
//! transient reason is retried with backoff. The blob becomes visible only when all its
//! chunks are held and they hash, in order, to the blob's own hash.
//!
//! A swarm pull ([`Sources::swarm`]): each chunk asks the holders in its own rotation, so
//! the load spreads over all of them, and a pull starts at a random chunk, so custodians
//! pulling the same blob at once fetch different chunks first and then take each other's.
//! While a pull runs, the chunks it has are served to peers ([`Pulling`]). The author's
//! node comes after the swarm: its uplink is the scarce one.

use crate::error::ApiError;
use crate::fetch_policy;
use crate::state::Sidecar;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use media_rules::manifest::BlobManifest;
use media_rules::ChunkLayout;
use media_store::blobs::Keeper;
use media_store::hash::Hash32;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub(crate) mod pulling;
pub(crate) mod sources;

pub use pulling::Pulling;
pub use sources::{Source, Sources};

/// Chunks fetched at once for one blob.
pub const CONCURRENCY: usize = 4;
/// Tries per source for a transient failure (connection error, 5xx).
pub const ATTEMPTS: u32 = 3;
/// The first retry's delay; it doubles each time.
pub const BACKOFF: Duration = Duration::from_millis(200);

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    /// The blob's hash.
    pub hash: String,
    /// Chunks that were already here.
    pub already_held: usize,
    /// Chunks fetched from peers.
    pub from_peers: usize,
    /// Of those, chunks fetched from the swarm (not the author's node).
    #[serde(default)]
    pub from_swarm: usize,
    /// Chunks fetched from fallback URLs.
    pub from_fallbacks: usize,
    /// Responses rejected because their bytes did not hash to the chunk's name.
    pub rejected: usize,
}

/// Why one source could not give a chunk.
enum Miss {
    /// Worth another try later (connection failed, 5xx).
    Transient(String),
    /// Not from this source (4xx, wrong bytes).
    Refused(String),
    /// The bytes did not match.
    WrongBytes,
}

/// Pulls every chunk of `manifest` not held yet, then records the blob as kept for
/// `keeper`.
pub async fn pull(
    state: &Sidecar,
    manifest: &BlobManifest,
    sources: &Sources,
    keeper: &Keeper,
) -> Result<PullReport, ApiError> {
    manifest.check().map_err(ApiError::InvalidManifest)?;
    let layout = ChunkLayout::new(manifest.size, manifest.chunk_size)
        .ok_or_else(|| ApiError::InvalidManifest("chunk size is zero".into()))?;
    let hashes: Vec<Hash32> = manifest
        .chunks
        .iter()
        .map(|c| c.parse())
        .collect::<Result<_, _>>()?;
    let blob: Hash32 = manifest.hash.parse()?;
    let allow_private = state.config.allow_private_peers;
    let client = fetch_policy::client(allow_private).map_err(|e| ApiError::Io(std::io::Error::other(e)))?;
    let mut sources = sources.clone();
    sources.retain(|source| match fetch_policy::check(source.url(), allow_private) {
        Ok(()) => true,
        Err(why) => {
            tracing::warn!(?source, %why, "source refused");
            false
        }
    });
    if sources.all().next().is_none() && !hashes.is_empty() {
        return Err(ApiError::NoSource);
    }
    let sources = &sources;
    let _pulling = state.pulling.enter(blob, &hashes);
    // Pulls of one blob on several nodes start at different chunks (see the module notes).
    let start = match hashes.len() {
        0 => 0,
        n => rand::Rng::gen_range(&mut rand::thread_rng(), 0..n),
    };
    let mut report = PullReport {
        hash: manifest.hash.clone(),
        ..Default::default()
    };
    let store = state.reader.store().clone();
    let unreachable = std::sync::Mutex::new(std::collections::HashSet::new());
    let unreachable = &unreachable;
    let order = (start..hashes.len()).chain(0..start);
    let jobs = order.map(|index| (index, hashes[index])).map(|(index, hash)| {
        let client = &client;
        let store = store.clone();
        let span = layout.chunk_range(index as u64);
        async move {
            let span = span.ok_or_else(|| ApiError::InvalidManifest("more chunks than the size allows".into()))?;
            if store.has(&hash)? {
                return Ok::<_, ApiError>((None, 0));
            }
            let mut rejected = 0;
            for source in sources.for_chunk(index) {
                let in_swarm = sources.swarm.iter().any(|s| std::ptr::eq(s, source));
                if in_swarm && unreachable.lock().unwrap_or_else(|e| e.into_inner()).contains(source.url()) {
                    continue;
                }
                let want = Want {
                    blob: &blob,
                    hash: &hash,
                    span: span.clone(),
                };
                // A swarm member that does not answer is not waited for again: the others,
                // and the author's node after them, have the chunk.
                let fetched = match in_swarm {
                    true => fetch_once(client, source, &want).await,
                    false => fetch(client, source, &want).await,
                };
                match fetched {
                    Ok(bytes) => {
                        let store = store.clone();
                        tokio::task::spawn_blocking(move || store.put(&hash, &[&bytes]))
                            .await
                            .map_err(std::io::Error::other)??;
                        return Ok((Some((source, in_swarm)), rejected));
                    }
                    Err(Miss::Transient(why)) if in_swarm => {
                        tracing::debug!(?source, why, "swarm member unreachable; not asked again in this pull");
                        unreachable.lock().unwrap_or_else(|e| e.into_inner()).insert(source.url().to_string());
                    }
                    Err(Miss::WrongBytes) => {
                        rejected += 1;
                        state.metrics.verification_failures.inc();
                        tracing::warn!(chunk = %hash, ?source, "source sent bytes that do not match the chunk");
                    }
                    Err(Miss::Refused(why) | Miss::Transient(why)) => {
                        tracing::debug!(chunk = %hash, ?source, why, "source could not give the chunk");
                    }
                }
            }
            Err(ApiError::NotFound("chunk at any source"))
        }
    });
    let mut results = stream::iter(jobs).buffer_unordered(CONCURRENCY);
    while let Some(result) = results.next().await {
        let (source, rejected) = result?;
        report.rejected += rejected;
        match source {
            None => report.already_held += 1,
            Some((Source::Peer { .. }, in_swarm)) => {
                report.from_peers += 1;
                report.from_swarm += usize::from(in_swarm);
            }
            Some((Source::Fallback { .. }, _)) => report.from_fallbacks += 1,
        }
    }
    drop(results);
    check_whole(state, &blob, &hashes).await?;
    state.blobs.keep(manifest.clone(), keeper)?;
    Ok(report)
}

/// Checks that the chunks, in order, make the blob: a manifest could list good chunks of
/// some other blob.
async fn check_whole(state: &Sidecar, blob: &Hash32, hashes: &[Hash32]) -> Result<(), ApiError> {
    let mut whole = Sha256::new();
    for hash in hashes {
        whole.update(&state.reader.load_quietly(*hash).await?);
    }
    let actual = Hash32(whole.finalize().into());
    if &actual != blob {
        return Err(ApiError::HashMismatch {
            expected: blob.to_hex(),
            actual: actual.to_hex(),
        });
    }
    Ok(())
}

/// Chunk `index` of `blob`, named `hash` and lying at `span` in it, from the first of
/// `sources` (in the chunk's order, [`Sources::for_chunk`]) that sends bytes hashing to
/// `hash`; `None` when none does. (For streaming: one chunk at a time.)
pub async fn fetch_chunk(
    client: &reqwest::Client,
    sources: &Sources,
    blob: &Hash32,
    (index, hash): (usize, &Hash32),
    span: std::ops::Range<u64>,
) -> Option<Bytes> {
    for source in sources.for_chunk(index) {
        let want = Want {
            blob,
            hash,
            span: span.clone(),
        };
        match fetch(client, source, &want).await {
            Ok(bytes) => return Some(bytes),
            Err(Miss::WrongBytes) => {
                tracing::warn!(chunk = %hash, ?source, "source sent bytes that do not match the chunk")
            }
            Err(Miss::Refused(why) | Miss::Transient(why)) => {
                tracing::debug!(chunk = %hash, ?source, why, "source could not give the chunk")
            }
        }
    }
    None
}

/// The chunk a fetch asks for.
struct Want<'a> {
    /// The blob it belongs to.
    blob: &'a Hash32,
    /// Its hash.
    hash: &'a Hash32,
    /// Where it lies in the blob.
    span: std::ops::Range<u64>,
}

/// One chunk from one source, retried on transient failures.
async fn fetch(client: &reqwest::Client, source: &Source, want: &Want<'_>) -> Result<Bytes, Miss> {
    let mut delay = BACKOFF;
    let mut attempt = 1;
    loop {
        match fetch_once(client, source, want).await {
            Err(Miss::Transient(why)) if attempt < ATTEMPTS => {
                tracing::debug!(chunk = %want.hash, why, attempt, "retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn fetch_once(client: &reqwest::Client, source: &Source, want: &Want<'_>) -> Result<Bytes, Miss> {
    let Want { blob, hash, span } = want;
    let request = match source {
        Source::Peer { base, token } => {
            let mut url = format!("{}/api/chunk/{hash}?blob={blob}", base.trim_end_matches('/'));
            if let Some(token) = token {
                url.push_str("&token=");
                url.push_str(token);
            }
            client.get(url)
        }
        Source::Fallback { url } => client
            .get(url)
            .header("range", format!("bytes={}-{}", span.start, span.end - 1)),
    };
    let resp = request.send().await.map_err(|e| Miss::Transient(e.to_string()))?;
    let status = resp.status();
    if status.is_server_error() {
        return Err(Miss::Transient(format!("status {status}")));
    }
    // A fallback server that ignores Range answers 200 with the whole blob: not a chunk.
    let wanted = match source {
        Source::Peer { .. } => status == reqwest::StatusCode::OK,
        Source::Fallback { .. } => status == reqwest::StatusCode::PARTIAL_CONTENT,
    };
    if !wanted {
        return Err(Miss::Refused(format!("status {status}")));
    }
    let expected_len = span.end - span.start;
    if resp.content_length().is_some_and(|n| n != expected_len) {
        return Err(Miss::WrongBytes);
    }
    let bytes = match fetch_policy::body_within(resp, expected_len).await {
        Ok(bytes) => bytes,
        Err(fetch_policy::BodyError::TooLong(_)) => return Err(Miss::WrongBytes),
        Err(fetch_policy::BodyError::Transfer(e)) => return Err(Miss::Transient(e.to_string())),
    };
    if bytes.len() as u64 != expected_len || Hash32::of(&bytes) != **hash {
        return Err(Miss::WrongBytes);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> Source {
        Source::Peer {
            base: format!("http://10.0.0.{n}:8788"),
            token: None,
        }
    }

    #[test]
    fn each_chunk_asks_the_swarm_in_its_own_rotation_and_the_author_last() {
        let sources = Sources {
            swarm: vec![peer(1), peer(2), peer(3)],
            then: vec![peer(9)],
        };
        let order = |i| sources.for_chunk(i).cloned().collect::<Vec<_>>();
        assert_eq!(order(0), [peer(1), peer(2), peer(3), peer(9)]);
        assert_eq!(order(1), [peer(2), peer(3), peer(1), peer(9)]);
        assert_eq!(order(5), [peer(3), peer(1), peer(2), peer(9)]);
        let firsts: Vec<Source> = (0..30).map(|i| order(i)[0].clone()).collect();
        for n in 1..=3 {
            assert_eq!(firsts.iter().filter(|s| **s == peer(n)).count(), 10);
        }
        let alone = Sources::in_order(vec![peer(9), peer(8)]);
        assert_eq!(
            alone.for_chunk(7).cloned().collect::<Vec<_>>(),
            [peer(9), peer(8)]
        );
    }

    #[test]
    fn a_pull_lists_its_chunks_while_it_runs() {
        let pulling = Pulling::default();
        let blob = Hash32::of(b"blob");
        let chunk = Hash32::of(b"chunk");
        let first = pulling.enter(blob, &[chunk]);
        let second = pulling.enter(blob, &[chunk]);
        assert!(pulling.lists(&blob, &chunk));
        assert!(!pulling.lists(&blob, &Hash32::of(b"other")));
        drop(first);
        assert!(pulling.lists(&blob, &chunk), "another pull of it still runs");
        drop(second);
        assert!(!pulling.lists(&blob, &chunk));
    }

    #[test]
    fn sources_read_as_tagged_json() {
        let s: Vec<Source> = serde_json::from_str(
            r#"[{"kind":"peer","base":"http://a:1"},{"kind":"fallback","url":"https://cdn/x"}]"#,
        )
        .unwrap();
        assert_eq!(
            s[0],
            Source::Peer {
                base: "http://a:1".into(),
                token: None
            }
        );
        assert_eq!(
            s[1],
            Source::Fallback {
                url: "https://cdn/x".into()
            }
        );
    }
}
