//! Replication trusts nothing it fetches: a node refuses private addresses unless its
//! operator allows them, follows no redirect, and reads no more of a body than the chunk's
//! length.

use crate::common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the fake peer answers chunk requests (it describes the blob honestly).
#[derive(Clone, Copy)]
enum Chunks {
    /// `302 Found` to the same path at another server.
    RedirectTo(std::net::SocketAddr),
    /// `200` with no length, then bytes until the client goes away.
    Endless,
}

/// A peer on loopback that answers `/api/manifest/…` with `manifest` and chunk requests as
/// `chunks` says; stops with the test's runtime.
async fn fake_peer(manifest: String, chunks: Chunks) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let manifest = manifest.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = socket.read(&mut head).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&head[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                if path.starts_with("/api/manifest/") {
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{manifest}",
                        manifest.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    return;
                }
                match chunks {
                    Chunks::RedirectTo(to) => {
                        let reply = format!(
                            "HTTP/1.1 302 Found\r\nlocation: http://{to}{path}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        );
                        let _ = socket.write_all(reply.as_bytes()).await;
                    }
                    Chunks::Endless => {
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
                            .await;
                        let block = vec![7u8; 64 * 1024];
                        for _ in 0..4096 {
                            if socket.write_all(&block).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

async fn manifest_of(origin: &Server, hash: &str) -> String {
    origin
        .get(&format!("/api/manifest/{hash}"), &[])
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_node_refuses_private_addresses_unless_its_operator_allows_them() {
    let origin = start().await;
    let edge = start_with(|c| c.allow_private_peers = false).await;
    let data = bytes(2 * CHUNK as usize, 41);
    let hash = origin.upload_hash(&data, "audio/mpeg").await;
    let peer = json!([{ "kind": "peer", "base": origin.url }]);
    let resp = edge.pull(&hash, peer).await;
    assert_eq!(resp.status(), 404, "the manifest is not even asked for");
    // A manifest whose fallback URLs aim at a cloud metadata service and at loopback.
    let record = origin.state.blobs.get(&hash.parse().unwrap()).unwrap().unwrap();
    let sources = [
        sidecar::replicate::Source::Fallback {
            url: "http://169.254.169.254/latest/meta-data".into(),
        },
        sidecar::replicate::Source::Fallback {
            url: format!("{}/api/blob/{hash}", origin.url),
        },
    ];
    let refused = sidecar::replicate::pull(
        &edge.state,
        &record.manifest,
        &sidecar::replicate::Sources::in_order(sources.to_vec()),
        &media_store::blobs::Keeper::Own,
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("refused"), "{refused}");
    assert_eq!(edge.get(&format!("/api/blob/{hash}"), &[]).await.status(), 404);
    assert!(
        edge.state.reader.store().list().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn a_peer_that_redirects_is_not_followed() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(3 * CHUNK as usize, 42);
    let hash = origin.upload_hash(&data, "audio/mpeg").await;
    let redirector = fake_peer(manifest_of(&origin, &hash).await, Chunks::RedirectTo(origin.addr)).await;
    let resp = edge
        .pull(&hash, json!([{ "kind": "peer", "base": redirector }]))
        .await;
    assert_eq!(resp.status(), 404, "no chunk came from the redirecting peer");
    assert!(
        edge.state.reader.store().list().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn a_peer_that_sends_more_than_the_chunk_is_cut_off() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(CHUNK as usize, 43);
    let hash = origin.upload_hash(&data, "audio/mpeg").await;
    let flood = fake_peer(manifest_of(&origin, &hash).await, Chunks::Endless).await;
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        edge.pull(&hash, json!([{ "kind": "peer", "base": flood }])),
    )
    .await
    .expect("the flood is cut off at the chunk's length, not read to a timeout");
    assert_eq!(resp.status(), 404);
    assert!(edge.metric("elohim_chunk_verification_failures_total").await >= 1.0);
    assert!(
        edge.state.reader.store().list().unwrap().is_empty(),
        "nothing stored"
    );
}
