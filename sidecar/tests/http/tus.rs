//! Resumable uploads (tus 1.0 core, creation, termination, checksum).

use crate::common::*;
use std::time::Duration;

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

pub(crate) async fn create(s: &Server, length: usize, meta: Option<&str>) -> reqwest::Response {
    let mut req = s
        .client()
        .post(format!("{}/api/uploads", s.url))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string());
    if let Some(m) = meta {
        req = req.header("upload-metadata", m);
    }
    req.send().await.unwrap()
}

pub(crate) async fn patch(s: &Server, location: &str, offset: usize, body: &[u8]) -> reqwest::Response {
    s.client()
        .patch(format!("{}{location}", s.url))
        .header(TUS.0, TUS.1)
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn head(s: &Server, location: &str) -> reqwest::Response {
    s.client()
        .head(format!("{}{location}", s.url))
        .header(TUS.0, TUS.1)
        .send()
        .await
        .unwrap()
}

async fn offset(s: &Server, location: &str) -> u64 {
    let resp = head(s, location).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["tus-resumable"], "1.0.0");
    resp.headers()["upload-offset"].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_server_announces_what_it_supports() {
    let s = start().await;
    let resp = s
        .client()
        .request(reqwest::Method::OPTIONS, format!("{}/api/uploads", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["tus-version"], "1.0.0");
    assert_eq!(resp.headers()["tus-extension"], "creation,termination,checksum");
    assert_eq!(resp.headers()["tus-checksum-algorithm"], "sha1,sha256");
    assert_eq!(resp.headers()["tus-max-size"], (64u64 << 20).to_string());
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_its_offset_and_yields_the_same_receipt() {
    let s = start().await;
    let data = bytes(250_000, 5);
    // filetype=audio/ogg, filename=talk.ogg
    let resp = create(
        &s,
        data.len(),
        Some("filetype YXVkaW8vb2dn,filename dGFsay5vZ2c="),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(offset(&s, &location).await, 0);

    // The first PATCH promises 150 000 bytes but the connection drops after 100 000.
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 150000\r\n\r\n"
    );
    let mut req = head.into_bytes();
    req.extend_from_slice(&data[..100_000]);
    s.raw(&req, Duration::from_millis(300)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(offset(&s, &location).await, 100_000, "what arrived is kept");
    assert_eq!(s.blob_count(), 0, "an unfinished upload is no blob");

    // Resuming at the wrong offset is a conflict; at the right one it continues.
    assert_eq!(patch(&s, &location, 0, &data[..10]).await.status(), 409);
    let resp = patch(&s, &location, 100_000, &data[100_000..200_000]).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["upload-offset"], "200000");
    let resp = patch(&s, &location, 200_000, &data[200_000..]).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["x-blob-hash"], sha(&data).as_str());

    // The finished upload answers with the same receipt as a plain upload of the bytes.
    let receipt: serde_json::Value = s.get(&location, &[]).await.json().await.unwrap();
    assert_eq!(receipt["mime"], "audio/ogg");
    let plain = s.upload(&data, "audio/ogg").await;
    assert_eq!(receipt, plain);
    let got = s
        .get(&format!("/api/blob/{}", sha(&data)), &[])
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &data[..]);
    // Nothing more can be appended.
    assert_eq!(patch(&s, &location, 250_000, b"x").await.status(), 409);
}

/// A PATCH naming `Upload-Checksum: <algorithm> <base64 digest>`.
async fn patch_checked(
    s: &Server,
    location: &str,
    offset: usize,
    body: &[u8],
    checksum: &str,
) -> reqwest::Response {
    s.client()
        .patch(format!("{}{location}", s.url))
        .header(TUS.0, TUS.1)
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .header("upload-checksum", checksum)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

fn checksum(algorithm: &str, data: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = match algorithm {
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        _ => sha2::Sha256::digest(data).to_vec(),
    };
    format!(
        "{algorithm} {}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[tokio::test]
async fn a_body_that_does_not_match_its_checksum_is_not_kept() {
    let s = start().await;
    let data = bytes(400_000, 9);
    let location = create(&s, data.len(), None).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let part = |i: usize| &data[i * 100_000..(i + 1) * 100_000];

    // A matching SHA-256 and a matching SHA-1: both kept.
    let resp = patch_checked(&s, &location, 0, part(0), &checksum("sha256", part(0))).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["upload-offset"], "100000");
    let resp = patch_checked(&s, &location, 100_000, part(1), &checksum("sha1", part(1))).await;
    assert_eq!(resp.status(), 204);

    // A body that differs from what its checksum names: 460, and none of it is kept.
    let mut damaged = part(2).to_vec();
    damaged[77_777] ^= 1;
    let resp = patch_checked(&s, &location, 200_000, &damaged, &checksum("sha1", part(2))).await;
    assert_eq!(resp.status(), 460);
    assert_eq!(resp.headers()["tus-resumable"], "1.0.0");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("Upload-Checksum"),
        "{body}"
    );
    assert_eq!(offset(&s, &location).await, 200_000);

    // An algorithm the server does not offer, or a digest of the wrong length: 400, nothing kept.
    let md5 = format!("md5 {}", checksum("sha1", part(2)).split_once(' ').unwrap().1);
    assert_eq!(
        patch_checked(&s, &location, 200_000, part(2), &md5)
            .await
            .status(),
        400
    );
    let short = format!("sha256 {}", checksum("sha1", part(2)).split_once(' ').unwrap().1);
    assert_eq!(
        patch_checked(&s, &location, 200_000, part(2), &short)
            .await
            .status(),
        400
    );
    assert_eq!(offset(&s, &location).await, 200_000);

    // A checked body that breaks off cannot be checked: none of it is kept either (an
    // unchecked one keeps what arrived, as the resume test shows).
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 200000\r\nContent-Type: application/offset+octet-stream\r\nUpload-Checksum: {}\r\nContent-Length: 100000\r\n\r\n",
        checksum("sha256", part(2))
    );
    let mut req = head.into_bytes();
    req.extend_from_slice(&part(2)[..60_000]);
    s.raw(&req, Duration::from_millis(300)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(offset(&s, &location).await, 200_000);

    // The same bytes sent again, whole: the upload completes and the blob is byte-exact.
    let resp = patch_checked(&s, &location, 200_000, part(2), &checksum("sha256", part(2))).await;
    assert_eq!(resp.status(), 204);
    let resp = patch(&s, &location, 300_000, part(3)).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["x-blob-hash"], sha(&data).as_str());
    let got = s.get(&format!("/api/blob/{}", sha(&data)), &[]).await;
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());
}

#[tokio::test]
async fn a_whole_upload_becomes_a_blob_even_if_the_client_leaves_before_the_answer() {
    let s = start().await;
    // Large enough that ingesting it takes longer than noticing the client is gone.
    let data = bytes(48 << 20, 3);
    let location = create(&s, data.len(), None).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let last = data.len() - 1000;
    assert_eq!(patch(&s, &location, 0, &data[..last]).await.status(), 204);
    // The last PATCH arrives whole, but its client closes the connection at once.
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {last}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\n"
    );
    let mut req = head.into_bytes();
    req.extend_from_slice(&data[last..]);
    s.raw(&req, Duration::ZERO).await;
    // The upload still becomes the blob, and the receipt says so (409 only while the last
    // bytes are still being written).
    let mut receipt = s.get(&location, &[]).await;
    for _ in 0..50 {
        if receipt.status() != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        receipt = s.get(&location, &[]).await;
    }
    assert_eq!(receipt.status(), 200);
    let receipt: serde_json::Value = receipt.json().await.unwrap();
    assert_eq!(receipt["hash"], sha(&data).as_str());
    assert_eq!(offset(&s, &location).await, data.len() as u64);
    let got = s.get(&format!("/api/blob/{}", sha(&data)), &[]).await;
    assert_eq!(got.bytes().await.unwrap().len(), data.len());
}

#[tokio::test]
async fn protocol_errors_are_refused_and_change_nothing() {
    let s = start_with_limit(1000).await;
    // Too large for this server.
    assert_eq!(create(&s, 1001, None).await.status(), 413);
    // Missing Upload-Length, missing or wrong Tus-Resumable.
    let resp = s
        .client()
        .post(format!("{}/api/uploads", s.url))
        .header(TUS.0, TUS.1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = s
        .client()
        .post(format!("{}/api/uploads", s.url))
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 412);
    assert_eq!(resp.headers()["tus-version"], "1.0.0");
    // Malformed metadata.
    assert_eq!(create(&s, 10, Some("filename !!notbase64")).await.status(), 400);

    let location = create(&s, 10, None).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    // A body beyond Upload-Length is refused and nothing of it is kept; errors too say
    // which protocol answers.
    let resp = patch(&s, &location, 0, &[1u8; 11]).await;
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.headers()["tus-resumable"], "1.0.0");
    assert_eq!(offset(&s, &location).await, 0);
    // The wrong content type.
    let resp = s
        .client()
        .patch(format!("{}{location}", s.url))
        .header(TUS.0, TUS.1)
        .header("upload-offset", "0")
        .body(vec![1u8; 5])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Unknown and malformed ids.
    assert_eq!(
        s.client()
            .head(format!("{}/api/uploads/{}", s.url, "0".repeat(32)))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        s.client()
            .head(format!("{}/api/uploads/..%2F..%2Fetc", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn a_terminated_upload_is_gone() {
    let s = start().await;
    let location = create(&s, 100, None).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(patch(&s, &location, 0, &[7u8; 50]).await.status(), 204);
    let resp = s
        .client()
        .delete(format!("{}{location}", s.url))
        .header(TUS.0, TUS.1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        s.client()
            .head(format!("{}{location}", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        std::fs::read_dir(s.dir.path().join("uploads")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn a_whole_upload_whose_finish_fails_says_why_and_is_not_ingested_again_before_its_retry() {
    let s = start().await;
    let data = bytes(3 * CHUNK as usize, 61);
    let resp = create(&s, data.len(), None).await;
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let id = location.rsplit('/').next().unwrap().to_string();
    // The fan-out directory of the first chunk is a file now: storing that chunk fails.
    let fanout = s
        .dir
        .path()
        .join("chunks")
        .join(&sha(&data[..CHUNK as usize])[..2]);
    std::fs::remove_dir_all(&fanout).unwrap();
    std::fs::write(&fanout, b"in the way").unwrap();
    let resp = patch(&s, &location, 0, &data).await;
    assert_eq!(resp.status(), 500, "the last PATCH answers the failure");
    assert_eq!(resp.headers()["tus-resumable"], "1.0.0");

    // HEAD and GET report it without ingesting again until the retry time.
    let state_file = s.dir.path().join("uploads").join(format!("{id}.json"));
    let attempts = || -> u64 {
        let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
        state["failed"]["attempts"].as_u64().unwrap()
    };
    assert_eq!(attempts(), 1);
    assert_eq!(offset(&s, &location).await, data.len() as u64);
    let resp = s.get(&location, &[]).await;
    assert_eq!(resp.status(), 500);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("finishing this upload failed"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(attempts(), 1, "neither HEAD nor GET ingested it again");

    // Once the cause is gone and the retry is due, the next GET finishes it.
    std::fs::remove_file(&fanout).unwrap();
    std::fs::create_dir(&fanout).unwrap();
    let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    state["failed"]["retry_at"] = 0.into();
    std::fs::write(&state_file, serde_json::to_vec(&state).unwrap()).unwrap();
    let resp = s.get(&location, &[]).await;
    assert_eq!(resp.status(), 200);
    let receipt: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(receipt["hash"], sha(&data));
    assert_eq!(
        s.get(&format!("/api/blob/{}", sha(&data)), &[])
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        data
    );
}

#[tokio::test]
async fn metadata_is_checked_before_any_byte_is_stored() {
    let s = start().await;
    // A standalone sidecar cannot publish: a title is refused at creation.
    let title = format!("title {}", base64_of("a talk"));
    let resp = create(&s, 1000, Some(&title)).await;
    assert_eq!(resp.status(), 400);
    // Line breaks in a value could forge headers or log lines.
    let forged = format!("filename {}", base64_of("x\r\nX-Evil: 1"));
    let resp = create(&s, 1000, Some(&forged)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        std::fs::read_dir(s.dir.path().join("uploads")).unwrap().count(),
        0,
        "no upload made"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
