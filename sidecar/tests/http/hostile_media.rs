//! Uploads made to attack the transcoder: a playlist that makes ffmpeg read another local
//! file, a live playlist, a picture too large to scale. Each job fails with an error that
//! says why, nothing of the other file is read, and the next upload's ladder still runs.

use crate::common::*;
use sidecar::ladder::{Progress, Stage};
use sidecar::testkit;

/// Uploads `data` as `mime` and follows its ladder job to its end.
async fn ladder_of(s: &Server, data: &[u8], mime: &str) -> Progress {
    let receipt = s.upload(data, mime).await;
    let path = receipt["ladder"]
        .as_str()
        .expect("a media upload gets a ladder job");
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        sidecar::cli::wait_for_ladder(&s.url, path),
    )
    .await
    .expect("the job ends within two minutes")
    .unwrap()
}

fn failed_with(progress: &Progress, words: &str) {
    assert_eq!(progress.stage, Stage::Failed, "{progress:?}");
    let error = progress.error.as_deref().unwrap_or_default();
    assert!(error.contains(words), "the error says {words:?}: {error}");
    assert!(progress.variants.is_empty());
}

/// An HLS playlist naming `segment` as its one segment; `live` leaves out the end tag.
fn playlist(segment: &std::path::Path, live: bool) -> Vec<u8> {
    let end = if live { "" } else { "#EXT-X-ENDLIST\n" };
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://{}\n{end}",
        segment.display()
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_sources_fail_with_a_reason_and_the_next_ladder_still_runs() {
    let s = start().await;
    // A secret video elsewhere on the node's disk that no upload should reach.
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret.mp4");
    tokio::task::spawn_blocking({
        let secret = secret.clone();
        move || testkit::test_video(&secret, 320, 240, 2, "")
    })
    .await
    .unwrap();

    // A playlist that names the local file: ffprobe may not open it as a playlist.
    let job = ladder_of(&s, &playlist(&secret, false), "video/mp4").await;
    failed_with(&job, "cannot read the source");
    // A live playlist (no end tag), which would be polled for ever.
    let job = ladder_of(&s, &playlist(&secret, true), "video/mp4").await;
    failed_with(&job, "cannot read the source");

    // A picture wider than 8K.
    let huge = tokio::task::spawn_blocking(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.mov");
        testkit::ffmpeg([
            "-f",
            "lavfi",
            "-i",
            "color=size=9000x64:duration=1:rate=1",
            "-c:v",
            "mjpeg",
            path.to_str().unwrap(),
        ]);
        std::fs::read(path).unwrap()
    })
    .await
    .unwrap();
    let job = ladder_of(&s, &huge, "video/quicktime").await;
    failed_with(&job, "9000x64");

    // The ladder slot is free again: a real video gets its renditions.
    let video = tokio::task::spawn_blocking(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.mp4");
        testkit::test_video(&path, 320, 240, 2, "");
        std::fs::read(path).unwrap()
    })
    .await
    .unwrap();
    let job = ladder_of(&s, &video, "video/mp4").await;
    assert_eq!(job.stage, Stage::Done, "{job:?}");
    assert!(!job.variants.is_empty());
}
