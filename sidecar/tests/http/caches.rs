//! The cache tiers under real requests: small blobs from the complete tier, hot chunks
//! from the chunk tier, byte-exact either way, counted on `/metrics`.

use crate::common::*;

fn tier(name: &str, tier: &str) -> String {
    format!("{name}{{partition=\"commons\",tier=\"{tier}\"}}")
}

#[tokio::test]
async fn a_small_blob_is_served_whole_from_the_complete_tier() {
    let s = start().await;
    let data = bytes(200_000, 3);
    let hash = s.upload_hash(&data, "application/json").await;
    let path = format!("/api/blob/{hash}");
    for _ in 0..3 {
        let resp = s.get(&path, &[]).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
    }
    let resp = s.get(&path, &[("range", "bytes=70000-70009,-5")]).await;
    assert_eq!(resp.status(), 206);
    let body = resp.bytes().await.unwrap();
    let needle = &data[70000..70010];
    assert!(
        body.windows(10).any(|w| w == needle),
        "first part is in the multipart body"
    );
    assert_eq!(
        s.metric(&tier("elohim_cache_misses_total", "complete")).await,
        1.0
    );
    assert_eq!(s.metric(&tier("elohim_cache_hits_total", "complete")).await, 3.0);
    assert!(s.metric(&tier("elohim_cache_bytes", "complete")).await >= 200_000.0);
}

#[tokio::test]
async fn a_chunk_read_again_is_kept_and_served_from_memory() {
    let s = start().await;
    let data = bytes(40 * CHUNK as usize + 123, 4);
    let hash = s.upload_hash(&data, "video/mp4").await;
    let path = format!("/api/blob/{hash}");
    // The first read streams from disk; the second finds the chunks hot and keeps them.
    for _ in 0..3 {
        let resp = s.get(&path, &[]).await;
        assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
    }
    let from_memory = s.metric(&tier("elohim_cache_hits_total", "chunk")).await;
    assert!(
        from_memory >= 41.0,
        "third read came from the chunk tier: {from_memory} hits"
    );
    // Ranges cut from cached chunks are exact, across chunk boundaries too.
    let start = 5 * CHUNK as usize - 7;
    let resp = s
        .get(&path, &[("range", &format!("bytes={start}-{}", start + 99))])
        .await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data[start..start + 100]);
    // The tier's bytes stay within its budget's commons share (512 MiB by default).
    let held = s.metric(&tier("elohim_cache_bytes", "chunk")).await;
    assert!(
        held >= data.len() as f64 && held <= 512.0 * 1024.0 * 1024.0,
        "{held}"
    );
}

#[tokio::test]
async fn with_no_chunk_budget_every_read_goes_to_disk() {
    let s = start_with(|c| c.cache.chunk_mib = 0).await;
    let data = bytes(10 * CHUNK as usize, 5);
    let hash = s.upload_hash(&data, "video/mp4").await;
    for _ in 0..3 {
        let resp = s.get(&format!("/api/blob/{hash}"), &[]).await;
        assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
    }
    assert_eq!(s.metric(&tier("elohim_cache_hits_total", "chunk")).await, 0.0);
    assert_eq!(s.metric(&tier("elohim_cache_budget_bytes", "chunk")).await, 0.0);
}
