//! The CLI's client side against a real sidecar: tus upload, verified and resumable get.

use crate::common::*;

#[tokio::test]
async fn cli_upload_then_get_round_trips_and_resumes_a_partial_download() {
    let s = start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("talk.mp4");
    let data = bytes(300_000, 11);
    std::fs::write(&src, &data).unwrap();

    let receipt = sidecar::cli::upload(&s.url, &src, &Default::default())
        .await
        .unwrap();
    assert_eq!(receipt.hash, sha(&data));
    assert_eq!(receipt.mime, "video/mp4");

    // A partial download: two good chunks, then a corrupted third.
    let out = dir.path().join("copy.mp4");
    let c = CHUNK as usize;
    let mut partial = data[..3 * c].to_vec();
    partial[2 * c + 5] ^= 0xff;
    std::fs::write(out.with_extension("part"), &partial).unwrap();

    sidecar::cli::get(&s.url, &sha(&data), &out, None).await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert!(!out.with_extension("part").exists());
    // Only the two chunks after the good prefix were fetched again (chunk 2 and 3, then 4).
    assert_eq!(
        s.metric("elohim_bytes_out_total").await,
        (data.len() - 2 * c) as f64
    );
}

#[tokio::test]
async fn cli_get_of_an_unknown_blob_fails_clearly() {
    let s = start().await;
    let dir = tempfile::tempdir().unwrap();
    let err = sidecar::cli::get(&s.url, &sha(b"nothing"), &dir.path().join("x"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
