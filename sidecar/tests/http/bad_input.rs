//! Hostile and broken requests get a clear 4xx and change nothing.

use crate::common::*;
use std::time::Duration;

#[tokio::test]
async fn malformed_hashes_and_path_tricks_are_400() {
    let s = start().await;
    let data = bytes(1000, 6);
    s.upload(&data, "text/plain").await;
    for path in [
        "/api/blob/nothex",
        "/api/blob/ABCDEF",
        &format!("/api/blob/{}", sha(&data).to_uppercase()),
        &format!("/api/blob/{}0", sha(&data)),
        "/api/blob/..%2F..%2Fetc%2Fpasswd",
        "/api/chunk/%2e%2e%2fchunks",
    ] {
        let resp = s.get(path, &[]).await;
        assert_eq!(resp.status(), 400, "{path}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert!(err["error"].as_str().unwrap().contains("hash"), "{path}: {err}");
    }
    // Raw `..` segments a client would normally collapse never reach a file either.
    for target in [
        "/api/blob/../../../etc/passwd",
        "/api/blob/%2e%2e",
        "/api/blob/..",
        "/api/chunk/..%2f..%2fblobs",
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let raw = s.raw(req.as_bytes(), Duration::from_secs(2)).await;
        assert!(
            raw.starts_with("HTTP/1.1 400") || raw.starts_with("HTTP/1.1 404"),
            "{target}: {raw}"
        );
        assert!(!raw.contains("root:"), "{raw}");
    }
}

#[tokio::test]
async fn unknown_blobs_and_routes_are_404() {
    let s = start().await;
    assert_eq!(
        s.get(&format!("/api/blob/{}", sha(b"nothing")), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        s.get(&format!("/api/chunk/{}", sha(b"nothing")), &[])
            .await
            .status(),
        404
    );
    assert_eq!(s.get("/api/nothing", &[]).await.status(), 404);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_stores_nothing() {
    let s = start_with_limit(100_000).await;
    // Announced too large: refused before reading.
    let resp = s
        .client()
        .post(format!("{}/api/blob", s.url))
        .body(vec![0u8; 100_001])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Streamed without a length and too large: refused when the limit is crossed.
    let stream = futures_util::stream::iter((0..4).map(|_| Ok::<_, std::io::Error>(vec![1u8; 40_000])));
    let resp = s
        .client()
        .post(format!("{}/api/blob", s.url))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(s.blob_count(), 0);
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_leaves_no_blob() {
    let s = start().await;
    let data = bytes(100_000, 8);
    let mut req = b"POST /api/blob HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n".to_vec();
    req.extend_from_slice(&data);
    // The client sends half and hangs up.
    s.raw(&req, Duration::from_millis(300)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.blob_count(), 0);
    assert_eq!(
        s.get(&format!("/api/blob/{}", sha(&data)), &[]).await.status(),
        404
    );
}

#[tokio::test]
async fn bytes_beyond_the_content_length_are_not_part_of_the_blob() {
    let s = start().await;
    let mut req = b"POST /api/blob HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789".to_vec();
    req.extend_from_slice(b"EXTRA GARBAGE\r\n\r\n");
    let raw = s.raw(&req, Duration::from_secs(2)).await;
    // The declared ten bytes are the blob; what follows is a malformed second request.
    assert!(raw.starts_with("HTTP/1.1 201"), "{raw}");
    assert!(raw.contains("HTTP/1.1 400"), "{raw}");
    assert_eq!(s.blob_count(), 1);
    let body = s
        .get(&format!("/api/blob/{}", sha(b"0123456789")), &[])
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), b"0123456789");
}

#[tokio::test]
async fn a_malformed_content_type_is_400() {
    let s = start().await;
    let resp = s
        .client()
        .post(format!("{}/api/blob", s.url))
        .header("content-type", "not a type")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(s.blob_count(), 0);
}
