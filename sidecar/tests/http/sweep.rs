//! The sweep of unowned data: chunks no blob lists and idle tus uploads go, after their
//! grace period; every chunk of every recorded blob stays.

use crate::common::*;
use crate::tus::{create, head, patch};
use sidecar::gc::{sweep, Swept, GRACE, UPLOAD_EXPIRY};
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_takes_only_what_no_blob_owns() {
    let s = start().await;
    let kept = bytes(3 * CHUNK as usize + 7, 1);
    let kept_hash = s.upload_hash(&kept, "application/octet-stream").await;

    // A chunk pushed by PUT that no blob ever listed.
    let orphan = bytes(1000, 2);
    let resp = s
        .client()
        .put(format!("{}/api/chunk/{}", s.url, sha(&orphan)))
        .body(orphan.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Read twice: its file is mapped, and it is hot enough for the chunk tier.
    let orphan_path = format!("/api/chunk/{}", sha(&orphan));
    for _ in 0..2 {
        assert_eq!(s.get(&orphan_path, &[]).await.bytes().await.unwrap(), orphan);
    }
    // A plain upload cut off after two chunks: its chunks are stored, no blob is recorded.
    let mut aborted = format!(
        "POST /api/blob HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nContent-Length: {}\r\n\r\n",
        5 * CHUNK
    )
    .into_bytes();
    aborted.extend(bytes(2 * CHUNK as usize + 10, 3));
    s.raw(&aborted, Duration::from_millis(300)).await;
    // A tus upload abandoned after 100 of 1000 bytes.
    let resp = create(&s, 1000, None).await;
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(patch(&s, &location, 0, &bytes(100, 4)).await.status(), 204);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let store = s.state.reader.store().clone();
    let held = || {
        store
            .list()
            .unwrap()
            .into_iter()
            .map(|c| c.hash)
            .collect::<HashSet<_>>()
    };
    let owned: HashSet<_> = s
        .state
        .blobs
        .get(&kept_hash.parse().unwrap())
        .unwrap()
        .unwrap()
        .chunk_hashes()
        .unwrap()
        .into_iter()
        .collect();
    let before = held();
    assert!(
        before.len() > owned.len(),
        "the orphan (and the cut-off upload's chunks) are held"
    );

    // Within the grace period nothing goes.
    let state = s.state.clone();
    let swept = tokio::task::spawn_blocking(move || sweep(&state, GRACE, UPLOAD_EXPIRY).unwrap())
        .await
        .unwrap();
    assert_eq!(swept, Swept::default());
    assert_eq!(held(), before);

    // Past it, exactly what no blob owns goes, and the idle upload with it.
    let state = s.state.clone();
    let swept = tokio::task::spawn_blocking(move || sweep(&state, Duration::ZERO, Duration::ZERO).unwrap())
        .await
        .unwrap();
    assert_eq!(held(), owned);
    assert_eq!(swept.chunks, before.len() - owned.len());
    assert!(swept.bytes >= orphan.len() as u64);
    assert_eq!(swept.uploads, 1);
    assert_eq!(head(&s, &location).await.status(), 404);
    assert_eq!(s.state.reader.store().bytes_used().unwrap(), kept.len() as u64);
    assert_eq!(
        s.get(&orphan_path, &[]).await.status(),
        404,
        "a swept chunk is not served from its mapping or the chunk tier either"
    );

    // The blob that owns its chunks still reads back whole.
    let resp = s.get(&format!("/api/blob/{kept_hash}"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap(), kept);
}

#[tokio::test(flavor = "multi_thread")]
async fn storing_a_chunk_again_renews_it() {
    let s = start().await;
    let data = bytes(500, 5);
    let hash: media_store::hash::Hash32 = sha(&data).parse().unwrap();
    let store = s.state.reader.store().clone();
    assert!(store.put(&hash, &[&data]).unwrap());
    let first = store.list().unwrap()[0].stored;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // An upload that reuses a held chunk stores it again: its time moves on, so a sweep
    // does not take it from under the upload.
    assert!(!store.put(&hash, &[&data]).unwrap());
    let second = store.list().unwrap()[0].stored;
    assert!(second > first, "{first:?} then {second:?}");
}

#[tokio::test]
async fn the_node_status_shows_what_each_background_worker_does() {
    let s = start().await;
    let mut workers = serde_json::Value::Null;
    for _ in 0..100 {
        let status: serde_json::Value = s.get("/api/node", &[]).await.json().await.unwrap();
        workers = status["workers"].clone();
        if workers
            .as_array()
            .is_some_and(|w| w.len() >= 2 && w.iter().all(|w| w["activity"] == "idle"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let named = |name: &str| {
        workers
            .as_array()
            .and_then(|w| w.iter().find(|w| w["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no {name} worker in {workers}"))
    };
    let sweep = named("sweep");
    assert_eq!(sweep["activity"], "idle", "{sweep}");
    assert_eq!(sweep["failures"], 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let next = sweep["next_at"].as_u64().unwrap();
    assert!(
        (now + 3500..=now + 3700).contains(&next),
        "the first sweep is an hour away: {sweep}"
    );
    assert_eq!(named("rendition registrations")["activity"], "idle");
}
