//! Peer chunk exchange: `GET`/`HEAD`/`PUT /api/chunk/{hash}` and `POST /api/chunks/have`.

use super::reply::{empty, with_cache_headers};
use crate::access::Purpose;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::state::Sidecar;
use bytes::Bytes;
use media_rules::CachePartition;
use media_store::hash::Hash32;
use media_store::reader::ChunkBytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warp::http::{header, HeaderMap, Method, Response, StatusCode};

/// Most hashes one `have` request may ask about.
pub(crate) const MAX_HAVE: usize = 10_000;

/// Sends one verified chunk whole; `public` when anyone may read it.
pub(crate) fn send_chunk(
    state: &Sidecar,
    hash: Hash32,
    chunk: ChunkBytes,
    public: bool,
    method: &Method,
) -> Result<Response<Body>, ApiError> {
    let bytes = chunk.bytes().clone();
    let len = bytes.len() as u64;
    let builder = with_cache_headers(Response::builder(), public)
        .status(StatusCode::OK)
        .header(header::ETAG, format!("\"{hash}\""))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len);
    if method == Method::HEAD {
        return empty(builder);
    }
    state.metrics.bytes_out.inc_by(len);
    builder
        .body(Body::from(bytes))
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// `GET`/`HEAD /api/chunk/{hash}`. A standalone sidecar serves any chunk. A node serves a
/// chunk only as part of a blob the request may read: `?blob=<hash>` names the blob, which
/// must contain the chunk and pass the blob's access rule (commons, or a token). A blob
/// still being pulled here gives the chunks it has so far (a swarm pull).
pub(crate) async fn get_chunk(
    state: Arc<Sidecar>,
    hash: String,
    method: Method,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    let hash: Hash32 = hash.parse()?;
    let (mut partition, mut public) = (CachePartition::Commons, true);
    if state.is_node() {
        let blob = crate::access::query_param(&query, "blob").ok_or_else(|| {
            ApiError::Unauthorized("name the blob this chunk belongs to with ?blob=<hash>".into())
        })?;
        let named: Hash32 = blob.parse()?;
        // A blob this node is still pulling: peers pulling it too take the chunks it has.
        let pulling = state.blobs.get(&named)?.is_none() && state.pulling.lists(&named, &hash);
        if pulling {
            let token = crate::access::token_of(&headers, &query);
            let grant = crate::access::authorize(&state, &named, token, Purpose::Exchange).await?;
            (partition, public) = (grant.partition, grant.public);
        } else {
            let readable = super::readable::readable_blob(
                &state,
                blob,
                &headers,
                &query,
                Purpose::Exchange,
                super::readable::Serve::Held,
            )
            .await?;
            if !readable.record.manifest.chunks.contains(&hash.to_hex()) {
                return Err(ApiError::Forbidden(
                    "the chunk is not part of the named blob".into(),
                ));
            }
            (partition, public) = (readable.partition, readable.public);
        }
    }
    let chunk = state.reader.chunk(hash, partition).await?;
    send_chunk(&state, hash, chunk, public, &method)
}

/// `PUT /api/chunk/{hash}`: stores the body if it hashes to the name (422 otherwise,
/// storing nothing). 201 when new, 200 when already held. A node takes pushes from
/// its owner only — its peers pull what they keep — so strangers cannot fill its disk; a
/// chunk no blob comes to own is swept after [`crate::gc::GRACE`].
pub(crate) async fn put_chunk(
    state: Arc<Sidecar>,
    hash: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let hash: Hash32 = hash.parse()?;
    if state.is_node() {
        super::requires::owner_only(&state, &headers)?;
    }
    state.metrics.bytes_in.inc_by(body.len() as u64);
    let store = state.reader.store().clone();
    let (actual, stored) = tokio::task::spawn_blocking(move || -> std::io::Result<(Hash32, bool)> {
        let actual = Hash32::of(&body);
        let stored = actual == hash && store.put(&hash, &[&body])?;
        Ok((actual, stored))
    })
    .await
    .map_err(std::io::Error::other)??;
    if actual != hash {
        state.metrics.verification_failures.inc();
        return Err(ApiError::HashMismatch {
            expected: hash.to_hex(),
            actual: actual.to_hex(),
        });
    }
    let status = if stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    empty(
        Response::builder()
            .status(status)
            .header(header::ETAG, format!("\"{hash}\"")),
    )
}

/// The body of `POST /api/chunks/have`.
#[derive(Debug, Deserialize)]
pub(crate) struct HaveRequest {
    /// Chunk hashes, lowercase hex.
    pub hashes: Vec<String>,
    /// The blob they belong to: on a node, which answers only about the chunks of a blob
    /// the request may read (with a token in `Authorization`, when it is not public).
    #[serde(default)]
    pub blob: Option<String>,
}

/// The answer: the subset held here, in the order asked.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct HaveResponse {
    /// Chunk hashes held.
    pub have: Vec<Hash32>,
}

/// `POST /api/chunks/have`.
pub(crate) async fn have(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    req: HaveRequest,
) -> Result<Response<Body>, ApiError> {
    if req.hashes.len() > MAX_HAVE {
        return Err(ApiError::TooManyItems {
            what: "hashes",
            max: MAX_HAVE,
        });
    }
    let mut hashes: Vec<Hash32> = req.hashes.iter().map(|h| h.parse()).collect::<Result<_, _>>()?;
    if state.is_node() {
        // What a node holds says what its agent keeps: answered per readable blob only.
        let blob = req.blob.as_deref().ok_or_else(|| {
            ApiError::Unauthorized("name the blob these chunks belong to in \"blob\"".into())
        })?;
        let readable = super::readable::readable_blob(
            &state,
            blob,
            &headers,
            "",
            Purpose::Exchange,
            super::readable::Serve::Held,
        )
        .await?;
        let listed: std::collections::HashSet<&str> = readable
            .record
            .manifest
            .chunks
            .iter()
            .map(String::as_str)
            .collect();
        hashes.retain(|h| listed.contains(h.to_hex().as_str()));
    }
    let store = state.reader.store().clone();
    let have = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Hash32>> {
        let mut out = Vec::new();
        for h in hashes {
            if store.has(&h)? {
                out.push(h);
            }
        }
        Ok(out)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(super::reply::json(StatusCode::OK, &HaveResponse { have }))
}

#[cfg(test)]
mod tests {
    use crate::dht::fake::{content_node, FakeAgent, FakeDht};
    use crate::replicate::{pull, Source, Sources};
    use crate::state::Sidecar;
    use media_rules::manifest::BlobManifest;
    use media_store::blobs::Keeper;
    use media_store::hash::Hash32;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::watch;

    const CHUNK: usize = 64 * 1024;

    /// A peer on loopback that serves `chunks` by hash at `/api/chunk/{hash}`, but answers
    /// for `held_back` only once `release` turns true (every request for it, a retry too):
    /// a pull from it stays half done until then.
    async fn slow_peer(
        chunks: HashMap<String, Vec<u8>>,
        held_back: String,
        release: watch::Receiver<bool>,
    ) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let chunks = Arc::new(chunks);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (chunks, held_back, mut release) = (chunks.clone(), held_back.clone(), release.clone());
                tokio::spawn(async move {
                    let mut head = vec![0u8; 4096];
                    let n = socket.read(&mut head).await.unwrap_or(0);
                    let line = String::from_utf8_lossy(&head[..n])
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let path = line.split(' ').nth(1).unwrap_or("");
                    let hash = path
                        .trim_start_matches("/api/chunk/")
                        .split('?')
                        .next()
                        .unwrap_or("");
                    if hash == held_back && release.wait_for(|go| *go).await.is_err() {
                        return;
                    }
                    let reply = match chunks.get(hash) {
                        Some(body) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend_from_slice(body);
                            r
                        }
                        None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_vec(),
                    };
                    let _ = socket.write_all(&reply).await;
                });
            }
        });
        format!("http://{addr}")
    }

    /// A node with the fake DHT attached, serving on loopback.
    async fn serving_node(dir: &std::path::Path) -> (Arc<Sidecar>, Arc<FakeDht>, String) {
        let state = Sidecar::open(crate::config::Config::on_loopback(dir.to_path_buf())).unwrap();
        let dht = Arc::new(FakeDht::new(FakeAgent::new(1)));
        state.attach(dht.clone());
        let (addr, server) = crate::server::bind(
            state.clone(),
            "127.0.0.1:0".parse().unwrap(),
            std::future::pending(),
        )
        .unwrap();
        tokio::spawn(server);
        (state, dht, format!("http://{addr}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_node_still_pulling_a_blob_serves_peers_the_chunks_it_has_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let (state, dht, node) = serving_node(dir.path()).await;
        // A two-chunk commons blob by another author.
        let data: Vec<u8> = (0..2 * CHUNK).map(|i| (i % 251) as u8).collect();
        let (first, second) = (&data[..CHUNK], &data[CHUNK..]);
        let (a, b) = (Hash32::of(first).to_hex(), Hash32::of(second).to_hex());
        let blob = Hash32::of(&data).to_hex();
        let manifest = BlobManifest {
            hash: blob.clone(),
            size: data.len() as u64,
            mime_type: "video/mp4".into(),
            codec: None,
            chunk_size: CHUNK as u32,
            chunks: vec![a.clone(), b.clone()],
            bitrate_kbps: None,
            duration_ms: None,
            variants: Vec::new(),
            segments: None,
            fallback_urls: Vec::new(),
        };
        let author = FakeAgent::new(2).pub_key;
        let view = dht.put_manifest(&author, media_integrity::BlobManifest(manifest.clone()));
        dht.put_content(&author, content_node("a talk", "commons", vec![view.id]));
        // The author's node gives the first chunk at once and holds the second back.
        let (release, released) = watch::channel(false);
        let chunks = HashMap::from([(a.clone(), first.to_vec()), (b.clone(), second.to_vec())]);
        let origin = slow_peer(chunks, b.clone(), released).await;
        let pulling = {
            let (state, manifest) = (state.clone(), manifest.clone());
            tokio::spawn(async move {
                let sources = Sources::in_order(vec![Source::Peer {
                    base: origin,
                    token: None,
                }]);
                pull(
                    &state,
                    &manifest,
                    &sources,
                    &Keeper::ReplicaOf(author.to_string()),
                )
                .await
            })
        };
        let client = reqwest::Client::new();
        let get =
            |chunk: &str, blob: &str| client.get(format!("{node}/api/chunk/{chunk}?blob={blob}")).send();
        // A peer pulling the same blob gets the first chunk as soon as this node has it.
        let mut served = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while tokio::time::Instant::now() < deadline {
            let response = get(&a, &blob).await.unwrap();
            if response.status() == 200 {
                served = Some(response.bytes().await.unwrap());
                break;
            }
            assert_eq!(response.status(), 404, "a chunk not here yet is 404");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(served.as_deref(), Some(first), "the first chunk, byte for byte");
        // The held-back chunk is not here yet; a chunk the blob does not list, or one named
        // with a blob this node neither pulls nor holds, is not served.
        assert_eq!(get(&b, &blob).await.unwrap().status(), 404);
        let stranger = Hash32::of(b"another blob").to_hex();
        assert_eq!(
            get(&a, &stranger).await.unwrap().status(),
            401,
            "no commons content lists that blob: an anonymous peer gets nothing of it"
        );
        // Stored here, but not a chunk of the blob named: not served under its name.
        let unrelated = b"a chunk stored here for another blob";
        state
            .reader
            .store()
            .put(&Hash32::of(unrelated), &[unrelated])
            .unwrap();
        let unrelated = Hash32::of(unrelated).to_hex();
        assert_eq!(get(&unrelated, &blob).await.unwrap().status(), 404);
        assert!(!pulling.is_finished());

        release.send(true).unwrap();
        let report = tokio::time::timeout(Duration::from_secs(30), pulling)
            .await
            .expect("the pull ends once the second chunk comes")
            .unwrap()
            .unwrap();
        assert_eq!(report.hash, blob);
        assert!(!state.pulling.lists(&blob.parse().unwrap(), &a.parse().unwrap()));
        let whole = client
            .get(format!("{node}/api/blob/{blob}"))
            .send()
            .await
            .unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(
            whole.bytes().await.unwrap(),
            data,
            "the blob, byte for byte, once whole"
        );
    }
}
