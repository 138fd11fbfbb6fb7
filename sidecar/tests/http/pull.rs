//! One sidecar filling itself from others: peers first, then fallback URLs, every chunk
//! verified; a source that sends other bytes is skipped.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn a_blob_is_pulled_from_a_peer_and_then_served_here() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(9 * CHUNK as usize + 17, 21);
    let hash = origin.upload_hash(&data, "video/mp4").await;
    assert_eq!(edge.get(&format!("/api/blob/{hash}"), &[]).await.status(), 404);

    let resp = edge
        .pull(&hash, json!([{ "kind": "peer", "base": origin.url }]))
        .await;
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(report["from_peers"], 10);
    assert_eq!(report["rejected"], 0);
    let resp = edge.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);

    // A second pull finds everything held.
    let report: serde_json::Value = edge
        .pull(&hash, json!([{ "kind": "peer", "base": origin.url }]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["already_held"], 10);
}

#[tokio::test]
async fn a_custodian_takes_what_another_already_holds_and_the_author_sends_the_blob_once() {
    let author = start().await;
    let first = start().await;
    let second = start().await;
    let data = bytes(24 * CHUNK as usize + 5, 26);
    let hash = author.upload_hash(&data, "video/mp4").await;
    let from_author = json!([{ "kind": "peer", "base": author.url }]);
    let report: serde_json::Value = first
        .swarm_pull(
            &hash,
            json!([{ "kind": "peer", "base": second.url }]),
            from_author.clone(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["from_swarm"], 0, "the second had nothing yet: {report}");
    assert_eq!(report["from_peers"], 25, "{report}");
    // The second spreads over the first and a swarm member that does not answer (asked
    // once, then left alone), before the author.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("http://127.0.0.1:{port}");
    let swarm = json!([{ "kind": "peer", "base": gone }, { "kind": "peer", "base": first.url }]);
    let resp = second.swarm_pull(&hash, swarm, from_author).await;
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        report["from_swarm"], 25,
        "every chunk came from the swarm: {report}"
    );
    let sent = author.metric("elohim_bytes_out_total").await;
    assert!(
        sent >= data.len() as f64 && sent < data.len() as f64 * 1.05,
        "the author's node sent {sent} bytes for a blob of {}",
        data.len()
    );
    let resp = second.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
}

#[tokio::test]
async fn fallback_urls_are_range_requested_and_wrong_bytes_are_skipped() {
    let origin = start().await;
    let mirror = start().await;
    let liar = start().await;
    let edge = start().await;
    let data = bytes(5 * CHUNK as usize, 22);
    let hash = origin.upload_hash(&data, "audio/mpeg").await;
    mirror.upload(&data, "audio/mpeg").await;
    // The liar serves other bytes of the same size.
    let other = bytes(5 * CHUNK as usize, 23);
    let other_hash = liar.upload_hash(&other, "audio/mpeg").await;
    // The origin still describes the blob but has lost its chunks.
    for c in data.chunks(CHUNK as usize) {
        let chunk = sha(c);
        let path = chunk_file(&origin, &chunk);
        std::fs::remove_file(path).unwrap();
    }
    let from = json!([
        { "kind": "peer", "base": origin.url },
        { "kind": "fallback", "url": format!("{}/api/blob/{other_hash}", liar.url) },
        { "kind": "fallback", "url": format!("{}/api/blob/{hash}", mirror.url) },
    ]);
    let resp = edge.pull(&hash, from).await;
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(report["from_peers"], 0, "{report}");
    assert_eq!(report["from_fallbacks"], 5, "{report}");
    assert_eq!(
        report["rejected"], 5,
        "every chunk was first offered wrong by the liar"
    );
    assert_eq!(edge.metric("elohim_chunk_verification_failures_total").await, 5.0);
    let resp = edge.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
}

#[tokio::test]
async fn a_blob_no_source_can_give_stays_invisible() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(3 * CHUNK as usize, 24);
    let hash = origin.upload_hash(&data, "audio/mpeg").await;
    let last = sha(&data[2 * CHUNK as usize..]);
    let path = chunk_file(&origin, &last);
    std::fs::remove_file(path).unwrap();
    let resp = edge
        .pull(&hash, json!([{ "kind": "peer", "base": origin.url }]))
        .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(edge.get(&format!("/api/blob/{hash}"), &[]).await.status(), 404);
    // Nobody describes an unknown blob; a malformed hash is refused outright.
    let unknown = sha(b"nothing");
    let resp = edge
        .pull(&unknown, json!([{ "kind": "peer", "base": origin.url }]))
        .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(edge.pull("../etc", json!([])).await.status(), 400);
}

#[tokio::test]
async fn a_chunk_found_corrupt_is_fetched_again() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(6 * CHUNK as usize, 25);
    let hash = origin.upload_hash(&data, "video/mp4").await;
    let from = json!([{ "kind": "peer", "base": origin.url }]);
    assert_eq!(edge.pull(&hash, from.clone()).await.status(), 200);
    let third = chunk_file(&edge, &sha(&data[2 * CHUNK as usize..3 * CHUNK as usize]));
    let mut raw = std::fs::read(&third).unwrap();
    raw[0] ^= 1;
    std::fs::write(&third, raw).unwrap();
    // Reading finds the damage and quarantines the chunk; the next pull fetches it alone.
    let resp = edge
        .get(&format!("/api/blob/{hash}"), &[("range", "bytes=131072-131073")])
        .await;
    assert_eq!(resp.status(), 502);
    let report: serde_json::Value = edge.pull(&hash, from).await.json().await.unwrap();
    assert_eq!(report["from_peers"], 1, "{report}");
    assert_eq!(report["already_held"], 5, "{report}");
    let resp = edge.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
}

/// The author a replica is kept for in these tests.
const AUTHOR: &str = "uhCAkAuthor";

/// Has `s` pull blob `hash` from `origin` and keep it as a replica of [`AUTHOR`]'s content.
async fn keep_as_replica(s: &Server, origin: &Server, hash: &str) {
    let record = origin.state.blobs.get(&hash.parse().unwrap()).unwrap().unwrap();
    let from = [sidecar::replicate::Source::Peer {
        base: origin.url.clone(),
        token: None,
    }];
    let keeper = media_store::blobs::Keeper::ReplicaOf(AUTHOR.into());
    sidecar::replicate::pull(
        &s.state,
        &record.manifest,
        &sidecar::replicate::Sources::in_order(from.to_vec()),
        &keeper,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_evicted_replica_leaves_its_chunks_to_the_sweep_which_keeps_what_another_blob_uses() {
    let origin = start().await;
    let s = start().await;
    let shared = bytes(CHUNK as usize, 26);
    let a = [shared.clone(), bytes(2 * CHUNK as usize, 27)].concat();
    let b = [shared.clone(), bytes(CHUNK as usize, 28)].concat();
    let a_hash = origin.upload_hash(&a, "audio/mpeg").await;
    let b_hash = s.upload_hash(&b, "audio/mpeg").await;
    // `a` is kept here as a replica of some author's content, then given up.
    keep_as_replica(&s, &origin, &a_hash).await;
    assert!(s.state.blobs.release(&a_hash.parse().unwrap(), AUTHOR).unwrap());
    assert_eq!(s.get(&format!("/api/blob/{a_hash}"), &[]).await.status(), 404);
    // The sweep deletes a's own two chunks; the shared one stays, as b lists it.
    let swept = sidecar::gc::sweep(&s.state, std::time::Duration::ZERO, sidecar::gc::UPLOAD_EXPIRY).unwrap();
    assert_eq!(swept.chunks, 2, "a's own two chunks go, the shared one stays");
    assert!(chunk_file(&s, &sha(&shared)).exists());
    assert!(!chunk_file(&s, &sha(&a[CHUNK as usize..2 * CHUNK as usize])).exists());
    let resp = s.get(&format!("/api/blob/{b_hash}"), &[]).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), b);
}

#[tokio::test]
async fn giving_up_a_replica_of_a_blob_the_node_uploaded_itself_keeps_the_upload() {
    let origin = start().await;
    let s = start().await;
    let data = bytes(3 * CHUNK as usize, 29);
    let hash = origin.upload_hash(&data, "video/mp4").await;
    // The node uploads the same bytes itself, then keeps them as another author's replica
    // too; placement later takes the replica away.
    assert_eq!(s.upload_hash(&data, "video/mp4").await, hash);
    keep_as_replica(&s, &origin, &hash).await;
    assert!(!s.state.blobs.release(&hash.parse().unwrap(), AUTHOR).unwrap());
    sidecar::gc::sweep(&s.state, std::time::Duration::ZERO, sidecar::gc::UPLOAD_EXPIRY).unwrap();
    let resp = s.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
}
