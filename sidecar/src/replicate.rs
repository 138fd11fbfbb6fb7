//! Pulling a blob's chunks from elsewhere: from peer sidecars (`/api/chunk/{hash}`), then
//! from the manifest's fallback URLs (range requests on a plain URL of the whole blob), in
//! the order given. Every chunk must hash to its name before it is stored; a source that
//! sends other bytes is skipped for that chunk. A few chunks are fetched at once; a source
//! that fails for a transient reason is retried with backoff. The blob becomes visible only
//! when all its chunks are held and they hash, in order, to the blob's own hash.

use crate::blobs::Keeper;
use crate::error::ApiError;
use crate::fetch_policy;
use crate::hash::Hash32;
use crate::state::Sidecar;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use media_rules::manifest::BlobManifest;
use media_rules::ChunkLayout;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Chunks fetched at once for one blob.
pub const CONCURRENCY: usize = 4;
/// Tries per source for a transient failure (connection error, 5xx).
pub const ATTEMPTS: u32 = 3;
/// The first retry's delay; it doubles each time.
pub const BACKOFF: Duration = Duration::from_millis(200);

/// Where chunks may come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A sidecar, by base URL; `token` is sent for blobs that are not public.
    Peer {
        /// e.g. `http://10.0.0.7:8788`.
        base: String,
        /// An access token naming the blob and that peer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A plain URL serving the whole blob and honouring `Range`.
    Fallback {
        /// The URL.
        url: String,
    },
}

impl Source {
    /// The URL the source is reached at (a peer's base URL).
    pub fn url(&self) -> &str {
        match self {
            Source::Peer { base, .. } => base,
            Source::Fallback { url } => url,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    /// The blob's hash.
    pub hash: String,
    /// Chunks that were already here.
    pub already_held: usize,
    /// Chunks fetched from peers.
    pub from_peers: usize,
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
    sources: &[Source],
    keeper: &Keeper,
) -> Result<PullReport, ApiError> {
    manifest.check().map_err(ApiError::BadRequest)?;
    let layout = ChunkLayout::new(manifest.size, manifest.chunk_size)
        .ok_or_else(|| ApiError::BadRequest("chunk size is zero".into()))?;
    let hashes: Vec<Hash32> = manifest
        .chunks
        .iter()
        .map(|c| c.parse())
        .collect::<Result<_, _>>()?;
    let blob: Hash32 = manifest.hash.parse()?;
    let allow_private = state.config.allow_private_peers;
    let client = fetch_policy::client(allow_private).map_err(|e| ApiError::Io(std::io::Error::other(e)))?;
    let sources: Vec<&Source> = sources
        .iter()
        .filter(|source| match fetch_policy::check(source.url(), allow_private) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!(?source, %why, "source refused");
                false
            }
        })
        .collect();
    if sources.is_empty() && !hashes.is_empty() {
        return Err(ApiError::BadRequest(
            "no source to fetch from: every one given was refused (private or malformed address)".into(),
        ));
    }
    let sources = &sources[..];
    let mut report = PullReport {
        hash: manifest.hash.clone(),
        ..Default::default()
    };
    let store = state.reader.store().clone();
    let jobs = hashes.iter().copied().enumerate().map(|(index, hash)| {
        let client = &client;
        let store = store.clone();
        let span = layout.chunk_range(index as u64);
        async move {
            let span = span.ok_or_else(|| ApiError::BadRequest("more chunks than the size allows".into()))?;
            if store.has(&hash)? {
                return Ok::<_, ApiError>((None, 0));
            }
            let mut rejected = 0;
            for &source in sources {
                let want = Want {
                    blob: &blob,
                    hash: &hash,
                    span: span.clone(),
                };
                match fetch(client, source, &want).await {
                    Ok(bytes) => {
                        let store = store.clone();
                        tokio::task::spawn_blocking(move || store.put(&hash, &[&bytes]))
                            .await
                            .map_err(std::io::Error::other)??;
                        return Ok((Some(source), rejected));
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
            Some(Source::Peer { .. }) => report.from_peers += 1,
            Some(Source::Fallback { .. }) => report.from_fallbacks += 1,
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

/// One chunk of `blob`, lying at `span` in it, from the first of `sources` that sends bytes
/// hashing to `hash`; `None` when none does. (For streaming: one chunk at a time.)
pub async fn fetch_chunk(
    client: &reqwest::Client,
    sources: &[Source],
    blob: &Hash32,
    hash: &Hash32,
    span: std::ops::Range<u64>,
) -> Option<Bytes> {
    for source in sources {
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
