//! One sidecar filling itself from others: peers first, then fallback URLs, every chunk
//! verified; a source that sends other bytes is skipped.

use crate::common::*;
use serde_json::json;

async fn pull(s: &Server, hash: &str, from: serde_json::Value) -> reqwest::Response {
    s.client()
        .post(format!("{}/api/pull", s.url))
        .json(&json!({ "hash": hash, "from": from }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_blob_is_pulled_from_a_peer_and_then_served_here() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(9 * CHUNK as usize + 17, 21);
    let hash = origin.upload_hash(&data, "video/mp4").await;
    assert_eq!(edge.get(&format!("/api/blob/{hash}"), &[]).await.status(), 404);

    let resp = pull(&edge, &hash, json!([{ "kind": "peer", "base": origin.url }])).await;
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(report["from_peers"], 10);
    assert_eq!(report["rejected"], 0);
    let resp = edge.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);

    // A second pull finds everything held.
    let report: serde_json::Value = pull(&edge, &hash, json!([{ "kind": "peer", "base": origin.url }]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["already_held"], 10);
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
    let resp = pull(&edge, &hash, from).await;
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
    let resp = pull(&edge, &hash, json!([{ "kind": "peer", "base": origin.url }])).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(edge.get(&format!("/api/blob/{hash}"), &[]).await.status(), 404);
    // Nobody describes an unknown blob; a malformed hash is refused outright.
    let unknown = sha(b"nothing");
    let resp = pull(&edge, &unknown, json!([{ "kind": "peer", "base": origin.url }])).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(pull(&edge, "../etc", json!([])).await.status(), 400);
}

#[tokio::test]
async fn a_chunk_found_corrupt_is_fetched_again() {
    let origin = start().await;
    let edge = start().await;
    let data = bytes(6 * CHUNK as usize, 25);
    let hash = origin.upload_hash(&data, "video/mp4").await;
    let from = json!([{ "kind": "peer", "base": origin.url }]);
    assert_eq!(pull(&edge, &hash, from.clone()).await.status(), 200);
    let third = chunk_file(&edge, &sha(&data[2 * CHUNK as usize..3 * CHUNK as usize]));
    let mut raw = std::fs::read(&third).unwrap();
    raw[0] ^= 1;
    std::fs::write(&third, raw).unwrap();
    // Reading finds the damage and quarantines the chunk; the next pull fetches it alone.
    let resp = edge
        .get(&format!("/api/blob/{hash}"), &[("range", "bytes=131072-131073")])
        .await;
    assert_eq!(resp.status(), 502);
    let report: serde_json::Value = pull(&edge, &hash, from).await.json().await.unwrap();
    assert_eq!(report["from_peers"], 1, "{report}");
    assert_eq!(report["already_held"], 5, "{report}");
    let resp = edge.get(&format!("/api/blob/{hash}"), &[]).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
}

#[tokio::test]
async fn dropping_a_blob_keeps_the_chunks_another_blob_uses() {
    let s = start().await;
    let shared = bytes(CHUNK as usize, 26);
    let a = [shared.clone(), bytes(2 * CHUNK as usize, 27)].concat();
    let b = [shared.clone(), bytes(CHUNK as usize, 28)].concat();
    let a_hash = s.upload_hash(&a, "audio/mpeg").await;
    let b_hash = s.upload_hash(&b, "audio/mpeg").await;
    let kept = std::collections::HashSet::from([b_hash.parse().unwrap()]);
    let dropped = sidecar::replicate::drop_blob(&s.state, &a_hash.parse().unwrap(), &kept).unwrap();
    assert_eq!(dropped, 2, "a's own two chunks go, the shared one stays");
    assert_eq!(s.get(&format!("/api/blob/{a_hash}"), &[]).await.status(), 404);
    assert!(chunk_file(&s, &sha(&shared)).exists());
    assert!(!chunk_file(&s, &sha(&a[CHUNK as usize..2 * CHUNK as usize])).exists());
    let resp = s.get(&format!("/api/blob/{b_hash}"), &[]).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), b);
}
