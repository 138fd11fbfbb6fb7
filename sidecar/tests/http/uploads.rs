//! `POST /api/blob` and whole-blob `GET`/`HEAD`.

use crate::common::*;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn uploads_come_back_byte_exact_at_every_interesting_size() {
    let s = start().await;
    for (i, size) in interesting_sizes().into_iter().enumerate() {
        let data = bytes(size, i as u8);
        let receipt = s.upload(&data, "video/mp4").await;
        assert_eq!(receipt["hash"], sha(&data));
        assert_eq!(receipt["size"], size as u64);
        assert_eq!(receipt["chunk_size"], CHUNK);
        assert_eq!(receipt["mime"], "video/mp4");
        let chunks = receipt["chunks"].as_array().unwrap();
        assert_eq!(chunks.len(), size.div_ceil(CHUNK as usize));
        if let Some(first) = chunks.first() {
            assert_eq!(first, &sha(&data[..size.min(CHUNK as usize)]));
        }
        let resp = s.get(&format!("/api/blob/{}", sha(&data)), &[]).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "video/mp4");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[..], "size {size}");
    }
}

#[tokio::test]
async fn a_blob_carries_the_cache_and_range_headers() {
    let s = start().await;
    let data = bytes(200_000, 1);
    let receipt = s.upload(&data, "audio/mpeg").await;
    let hash = receipt["hash"].as_str().unwrap();
    let resp = s
        .client()
        .head(format!("{}/api/blob/{hash}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["etag"], format!("\"{hash}\""));
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["content-length"], "200000");
    assert_eq!(h["content-type"], "audio/mpeg");
    assert!(resp.bytes().await.unwrap().is_empty(), "HEAD has no body");
}

#[tokio::test]
async fn the_same_bytes_twice_are_one_blob_with_chunks_stored_once() {
    let s = start().await;
    let data = bytes(300_000, 2);
    let a = s.upload(&data, "application/octet-stream").await;
    let used = s.state.reader.store().bytes_used().unwrap();
    let b = s.upload(&data, "application/octet-stream").await;
    assert_eq!(a, b);
    assert_eq!(s.state.reader.store().bytes_used().unwrap(), used);
    assert_eq!(used, 300_000);
    assert_eq!(s.blob_count(), 1);
}

#[tokio::test]
async fn a_named_hash_that_does_not_match_stores_no_blob() {
    let s = start().await;
    let resp = s
        .client()
        .post(format!("{}/api/blob", s.url))
        .header("x-content-sha256", sha(b"something else"))
        .body(b"the real body".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("does not match"));
    assert_eq!(s.blob_count(), 0);
    assert_eq!(
        s.get(&format!("/api/blob/{}", sha(b"the real body")), &[])
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn rfc_9530_digests_are_checked_on_upload_and_sent_with_the_blob() {
    let s = start().await;
    let body = b"a body with a digest".to_vec();
    let b64 = |data: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
    };
    let post = |field: &'static str, value: String| {
        s.client()
            .post(format!("{}/api/blob", s.url))
            .header(field, value)
            .body(body.clone())
            .send()
    };
    // A digest of other bytes: 422, and no blob.
    let resp = post("content-digest", format!("sha-256=:{}:", b64(b"other bytes")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(s.blob_count(), 0);
    // A sha-256 that is not 32 bytes of base64: 400, and no blob.
    let resp = post("repr-digest", "sha-256=:bm90IDMyIGJ5dGVz:".into())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("RFC 9530"), "{err}");
    assert_eq!(s.blob_count(), 0);
    // Only an algorithm the sidecar does not check: accepted.
    let resp = post("content-digest", "sha-512=:AAAA:".into()).await.unwrap();
    assert_eq!(resp.status(), 201);
    // The right one, beside another algorithm: accepted.
    let member = format!("sha-256=:{}:", b64(&body));
    let resp = post("content-digest", format!("md5=:AAAA:, {member}"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let hash = resp.json::<serde_json::Value>().await.unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string();
    // Downloads carry the blob's digest, whole or in part.
    for range in ["bytes=0-", "bytes=2-5"] {
        let resp = s.get(&format!("/api/blob/{hash}"), &[("range", range)]).await;
        assert_eq!(resp.headers()["repr-digest"], member.as_str(), "{range}");
    }
}

#[tokio::test]
async fn health_and_metrics_report() {
    let s = start().await;
    let health: serde_json::Value = s.get("/health", &[]).await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let data = bytes(100_000, 3);
    s.upload(&data, "application/octet-stream").await;
    let _ = s
        .get(&format!("/api/blob/{}", sha(&data)), &[])
        .await
        .bytes()
        .await
        .unwrap();
    let _ = s.get("/api/blob/nothex", &[]).await;
    let text = s.get("/metrics", &[]).await.text().await.unwrap();
    assert!(
        text.contains(r#"elohim_http_requests_total{route="/api/blob",status="201"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/blob/{hash}",status="200""#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/blob/{hash}",status="400""#),
        "{text}"
    );
    assert_eq!(s.metric("elohim_bytes_in_total").await, 100_000.0);
    assert_eq!(s.metric("elohim_bytes_out_total").await, 100_000.0);
    assert_eq!(s.metric("elohim_chunks_verified_total").await, 2.0);
}
