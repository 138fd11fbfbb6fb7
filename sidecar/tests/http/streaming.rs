//! Adaptive streaming end to end on a standalone sidecar: a generated video is uploaded,
//! the ladder is made by ffmpeg, and ffmpeg — a real player — decodes every rendition over
//! HLS and DASH from the playlists the sidecar writes. Also: the delivery cap, podcasts,
//! and CORS.

use crate::common::*;
use sidecar::testkit;
use std::collections::BTreeMap;
use std::process::Command;

/// Runs ffmpeg (quietly) off the runtime and returns its stdout; fails the test on any
/// error output.
async fn ffmpeg(args: Vec<String>) -> Vec<u8> {
    tokio::task::spawn_blocking(move || testkit::ffmpeg(args))
        .await
        .unwrap()
}

/// An H.264/AAC MP4 made from lavfi's test pattern and a sine tone.
async fn video(width: u32, height: u32, seconds: u64) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source.mp4");
        testkit::test_video(&path, width, height, seconds, "");
        std::fs::read(path).unwrap()
    })
    .await
    .unwrap()
}

/// Follows the ladder job of `hash` as the CLI does, until it ends; returns its progress.
async fn ladder(s: &Server, hash: &str) -> serde_json::Value {
    let path = format!("/api/ladder/{hash}");
    let progress = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        sidecar::cli::wait_for_ladder(&s.url, &path),
    )
    .await
    .expect("the ladder finishes in two minutes")
    .unwrap();
    assert_eq!(progress.stage, sidecar::ladder::Stage::Done, "{progress:?}");
    assert_eq!(progress.percent, 100.0);
    serde_json::to_value(progress).unwrap()
}

/// What ffmpeg decoded from `url`: frames per stream, keyed by media type and index.
async fn decode(url: String) -> BTreeMap<String, usize> {
    let out = ffmpeg(
        [
            "-i".into(),
            url,
            "-map".into(),
            "0".into(),
            "-f".into(),
            "framemd5".into(),
            "-".into(),
        ]
        .to_vec(),
    )
    .await;
    let text = String::from_utf8(out).unwrap();
    let kinds: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#media_type "))
        .filter_map(|l| l.split_once(": "))
        .collect();
    let mut frames = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let index = line.split(',').next().unwrap().trim();
        *frames.entry(format!("{}{index}", kinds[index])).or_insert(0) += 1;
    }
    frames
}

/// The frame counts of the streams of one media type (`video`, `audio`), in stream order.
fn of_kind(frames: &BTreeMap<String, usize>, kind: &str) -> Vec<usize> {
    frames
        .iter()
        .filter(|(k, _)| k.starts_with(kind))
        .map(|(_, n)| *n)
        .collect()
}

/// The `#EXT-X-STREAM-INF` lines of a master playlist.
fn stream_infs(master: &str) -> Vec<&str> {
    master
        .lines()
        .filter(|l| l.starts_with("#EXT-X-STREAM-INF:"))
        .collect()
}

fn labels(progress: &serde_json::Value) -> Vec<&str> {
    progress["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect()
}

fn variant<'a>(progress: &'a serde_json::Value, label: &str) -> &'a serde_json::Value {
    progress["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["label"] == label)
        .unwrap()
}

/// The value of `name` in an HLS attribute list.
fn attribute<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[at..];
    Some(match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => rest.split(',').next()?,
    })
}

async fn text(s: &Server, path: &str, mime: &str) -> String {
    let resp = s.get(path, &[]).await;
    assert_eq!(resp.status(), 200, "{path}");
    assert_eq!(resp.headers()["content-type"], mime, "{path}");
    resp.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_gets_a_ladder_that_ffmpeg_plays_over_hls_and_dash() {
    let s = start().await;
    let source = video(1280, 720, 8).await;
    let receipt = s.upload(&source, "video/mp4").await;
    let hash = receipt["hash"].as_str().unwrap().to_string();
    assert_eq!(receipt["ladder"], format!("/api/ladder/{hash}"));

    // Never above the source: 720p and 480p, and the audio on its own.
    let progress = ladder(&s, &hash).await;
    assert_eq!(labels(&progress), ["720p", "480p", "audio"]);
    // The job ran as the node's ladder worker, which shows in its status.
    let status: serde_json::Value = s.get("/api/node", &[]).await.json().await.unwrap();
    let jobs = status["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == "ladder jobs").cloned())
        .unwrap_or_else(|| panic!("no ladder worker in {status}"));
    assert!(jobs["steps"].as_u64() >= Some(1), "{jobs}");
    assert_eq!(jobs["failures"], 0, "{jobs}");
    let v720 = variant(&progress, "720p");
    assert_eq!(
        (v720["width"].as_u64(), v720["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert!(v720["codecs"].as_str().unwrap().starts_with("avc1.64"), "{v720}");
    let v480 = variant(&progress, "480p");
    assert_eq!(
        (v480["width"].as_u64(), v480["height"].as_u64()),
        (Some(854), Some(480))
    );
    assert!(v480["codecs"].as_str().unwrap().starts_with("avc1.4d"), "{v480}");
    let audio = variant(&progress, "audio");
    assert_eq!(audio["codecs"], "mp4a.40.2");
    let kbps = |v: &serde_json::Value| v["bitrate_kbps"].as_u64().unwrap();
    assert!(kbps(v720) > kbps(v480) && kbps(v480) > kbps(audio) && kbps(audio) > 0);

    // The master playlist: one variant stream per rung, audio from the audio group.
    let base = format!("/api/manifest/{hash}");
    let master = text(&s, &format!("{base}/hls.m3u8"), "application/vnd.apple.mpegurl").await;
    let streams = stream_infs(&master);
    assert_eq!(streams.len(), 2, "{master}");
    assert_eq!(attribute(streams[0], "RESOLUTION"), Some("1280x720"));
    assert_eq!(attribute(streams[1], "RESOLUTION"), Some("854x480"));
    let peak: u64 = attribute(streams[0], "BANDWIDTH").unwrap().parse().unwrap();
    assert_eq!(peak, (kbps(v720) + kbps(audio)) * 1000);
    let average: u64 = attribute(streams[0], "AVERAGE-BANDWIDTH")
        .unwrap()
        .parse()
        .unwrap();
    assert!(average > 0 && average <= peak, "{master}");
    assert_eq!(
        attribute(streams[0], "CODECS").unwrap(),
        format!("{},mp4a.40.2", v720["codecs"].as_str().unwrap())
    );
    assert_eq!(attribute(streams[0], "AUDIO"), Some("audio"));
    assert!(
        master.contains("#EXT-X-MEDIA:TYPE=AUDIO,URI=\"audio.m3u8\""),
        "{master}"
    );
    assert!(master.contains("\n720p.m3u8\n") && master.contains("\n480p.m3u8\n"));

    // A media playlist: version 7, the init segment by EXT-X-MAP, media segments as byte
    // ranges of the rendition blob, each cut on a fragment boundary.
    let media = text(&s, &format!("{base}/720p.m3u8"), "application/vnd.apple.mpegurl").await;
    for tag in [
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-ENDLIST",
    ] {
        assert!(media.contains(tag), "{tag} missing from\n{media}");
    }
    let blob = v720["blob"].as_str().unwrap();
    let map = media.lines().find(|l| l.starts_with("#EXT-X-MAP:")).unwrap();
    assert_eq!(
        attribute(map, "URI"),
        Some(format!("../../blob/{blob}.mp4").as_str())
    );
    let ranges: Vec<(u64, u64)> = std::iter::once(attribute(map, "BYTERANGE").unwrap())
        .chain(media.lines().filter_map(|l| l.strip_prefix("#EXT-X-BYTERANGE:")))
        .map(|r| {
            let (len, offset) = r.split_once('@').unwrap();
            (offset.parse().unwrap(), len.parse().unwrap())
        })
        .collect();
    assert_eq!(
        ranges.len(),
        1 + 4,
        "an init and four 2-second segments:\n{media}"
    );
    assert_eq!(media.matches("#EXTINF:2,").count(), 4, "{media}");
    for (i, (offset, len)) in ranges.iter().enumerate() {
        let range = format!("bytes={offset}-{}", offset + len - 1);
        let resp = s
            .get(&format!("/api/blob/{blob}.mp4"), &[("range", &range)])
            .await;
        assert_eq!(resp.status(), 206);
        let body = resp.bytes().await.unwrap();
        assert_eq!(body.len() as u64, *len);
        let first_box = if i == 0 { "ftyp" } else { "moof" };
        assert_eq!(
            &body[4..8],
            first_box.as_bytes(),
            "range {i} starts a {first_box} box"
        );
    }

    // ffmpeg plays every rendition over HLS, to the end, without an error.
    let url = format!("{}{base}", s.url);
    let frames = decode(format!("{url}/hls.m3u8")).await;
    let video_frames = of_kind(&frames, "video");
    assert_eq!(
        video_frames,
        [240, 240],
        "8 s at 30 fps in both rungs: {frames:?}"
    );
    let audio_frames: usize = of_kind(&frames, "audio").iter().sum();
    assert!(audio_frames >= 8 * 44_100 / 1024, "8 s of AAC frames: {frames:?}");

    // DASH: well-formed XML, one video set with both rungs and an audio set; ffmpeg plays it.
    let mpd = text(&s, &format!("{base}/dash.mpd"), "application/dash+xml").await;
    let checked = tokio::task::spawn_blocking({
        let mpd = mpd.clone();
        move || {
            let mut child = Command::new("xmllint")
                .args(["--noout", "-"])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("xmllint is installed (scripts/setup.sh)");
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), mpd.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(mpd.matches("<Representation ").count(), 3, "{mpd}");
    assert!(mpd.contains("contentType=\"video\"") && mpd.contains("contentType=\"audio\""));
    assert!(mpd.contains("mediaPresentationDuration=\"PT8."), "{mpd}");
    assert_eq!(mpd.matches("<SegmentURL ").count(), 4 + 4 + 4, "{mpd}");
    let frames = decode(format!("{url}/dash.mpd")).await;
    let video_frames = of_kind(&frames, "video");
    // ffmpeg's DASH reader may drop the very last frame of a rung (it does at 480p).
    assert!(
        video_frames.len() == 2 && video_frames.iter().all(|n| *n >= 239),
        "{frames:?}"
    );
    let audio_frames: usize = of_kind(&frames, "audio").iter().sum();
    assert!(audio_frames >= 8 * 44_100 / 1024, "{frames:?}");

    // No rung above the source, no playlist of unknown name, no ladder for other blobs.
    assert_eq!(s.get(&format!("{base}/1080p.m3u8"), &[]).await.status(), 404);
    assert_eq!(
        s.get(&format!("{base}/../../etc/passwd"), &[]).await.status(),
        404
    );
    assert_eq!(s.get(&format!("{base}/master.txt"), &[]).await.status(), 404);
    let plain = s.upload_hash(&bytes(5000, 3), "application/pdf").await;
    let resp = s.get(&format!("/api/manifest/{plain}/hls.m3u8"), &[]).await;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("/api/ladder/"));
    assert_eq!(s.get(&format!("/api/ladder/{plain}"), &[]).await.status(), 404);
    assert_eq!(
        s.get("/api/manifest/not-a-hash/hls.m3u8", &[]).await.status(),
        400
    );
    assert_eq!(s.get("/api/ladder/not-a-hash", &[]).await.status(), 400);

    // The node's player page and its hls.js are served.
    let page = text(&s, &format!("/player?src={hash}"), "text/html; charset=utf-8").await;
    assert!(page.contains("/player/hls.min.js") && page.contains("hls.m3u8"));
    let js = s.get("/player/hls.min.js", &[]).await;
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap().len() > 100_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ladder_job_cut_short_by_a_restart_runs_again() {
    let s = start().await;
    let clip = video(640, 360, 3).await;
    let hash = s.upload_hash(&clip, "video/mp4").await;
    let work = s.dir.path().join("ladder").join(&hash);
    assert!(work.is_dir(), "a queued job is on disk before the upload answers");
    ladder(&s, &hash).await;
    assert!(!work.exists(), "an ended job leaves nothing behind");

    // Another upload whose job the process did not live to finish: its work directory is
    // left behind with a partial source, and the record lists no renditions.
    let resp = s
        .client()
        .post(format!("{}/api/blob", s.url))
        .header("Content-Type", "video/mp4")
        .header("X-Upload-Ladder", "no")
        .body(video(480, 270, 2).await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let cut: serde_json::Value = resp.json().await.unwrap();
    let cut = cut["hash"].as_str().unwrap().to_string();
    assert_eq!(s.get(&format!("/api/ladder/{cut}"), &[]).await.status(), 404);
    let work = s.dir.path().join("ladder").join(&cut);
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("source"), &clip[..1000]).unwrap();
    let gone = s
        .dir
        .path()
        .join("ladder")
        .join(sha(b"a blob this node no longer holds"));
    std::fs::create_dir_all(&gone).unwrap();

    let s = restart(s).await;
    let progress = ladder(&s, &cut).await;
    assert_eq!(labels(&progress), ["360p", "audio"]);
    let master = text(
        &s,
        &format!("/api/manifest/{cut}/hls.m3u8"),
        "application/vnd.apple.mpegurl",
    )
    .await;
    assert_eq!(stream_infs(&master).len(), 1);
    assert!(!work.exists() && !gone.exists());
    // The finished job is not run again at the next start.
    let s = restart(s).await;
    assert_eq!(s.get(&format!("/api/ladder/{cut}"), &[]).await.status(), 200);
    assert!(!work.exists());
    assert_eq!(labels(&ladder(&s, &cut).await), ["360p", "audio"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_low_bandwidth_node_lists_only_what_its_link_carries() {
    let s = start_with(|c| c.bandwidth = media_rules::BandwidthClass::Low).await;
    let hash = s.upload_hash(&video(1280, 720, 4).await, "video/mp4").await;
    let progress = ladder(&s, &hash).await;
    assert_eq!(
        labels(&progress),
        ["720p", "480p", "audio"],
        "the ladder is made whole"
    );
    let base = format!("/api/manifest/{hash}");
    let master = text(&s, &format!("{base}/hls.m3u8"), "application/vnd.apple.mpegurl").await;
    let streams = stream_infs(&master);
    assert_eq!(streams.len(), 1, "low carries 480p at most:\n{master}");
    assert_eq!(attribute(streams[0], "RESOLUTION"), Some("854x480"));
    assert_eq!(s.get(&format!("{base}/720p.m3u8"), &[]).await.status(), 404);
    assert_eq!(s.get(&format!("{base}/480p.m3u8"), &[]).await.status(), 200);
    let mpd = text(&s, &format!("{base}/dash.mpd"), "application/dash+xml").await;
    assert_eq!(
        mpd.matches("<Representation ").count(),
        2,
        "480p and audio:\n{mpd}"
    );

    // Asked for by its own hash, in any form, the 720p rendition is refused too; 480p plays.
    let blob_of = |label: &str| {
        progress["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["label"] == label)
            .unwrap()["blob"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (hd, sd) = (blob_of("720p"), blob_of("480p"));
    let refused = s.get(&format!("/api/blob/{hd}"), &[]).await;
    assert_eq!(refused.status(), 403);
    let why = refused.text().await.unwrap();
    assert!(
        why.contains("the 720p rendition exceeds this node's low bandwidth"),
        "{why}"
    );
    let range = [("range", "bytes=0-99")];
    for path in [format!("/api/blob/{hd}.mp4"), format!("/api/blob/{hd}/0")] {
        assert_eq!(s.get(&path, &range).await.status(), 403, "{path}");
    }
    let head = s
        .client()
        .head(format!("{}/api/blob/{hd}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 403);
    let played = s.get(&format!("/api/blob/{sd}.mp4"), &range).await;
    assert_eq!(played.status(), 206);
    assert_eq!(played.bytes().await.unwrap().len(), 100);
    // Peers may still copy it: the cap limits what this node streams, not what they keep.
    let manifest: serde_json::Value = s
        .get(&format!("/api/manifest/{hd}"), &[])
        .await
        .json()
        .await
        .unwrap();
    let first = manifest["chunks"][0].as_str().unwrap();
    assert_eq!(s.get(&format!("/api/chunk/{first}"), &[]).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_podcast_is_served_by_range_and_as_an_hls_audio_stream() {
    let s = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("episode.mp3");
    ffmpeg(
        format!(
            "-f lavfi -i sine=frequency=330:duration=6 -c:a libmp3lame -b:a 96k {}",
            mp3.display()
        )
        .split_whitespace()
        .map(String::from)
        .collect(),
    )
    .await;
    let data = std::fs::read(&mp3).unwrap();
    let hash = s.upload_hash(&data, "audio/mpeg").await;

    // The file itself, by range, with its type.
    let resp = s
        .get(&format!("/api/blob/{hash}"), &[("range", "bytes=100-199")])
        .await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-type"], "audio/mpeg");
    assert_eq!(resp.bytes().await.unwrap(), data[100..200]);

    // Aliases clients send are served as the registered type a player expects.
    let m4a = s.upload(&bytes(3000, 8), "audio/x-m4a").await;
    assert_eq!(m4a["mime"], "audio/mp4");
    let resp = s
        .get(&format!("/api/blob/{}", m4a["hash"].as_str().unwrap()), &[])
        .await;
    assert_eq!(resp.headers()["content-type"], "audio/mp4");

    // And an HLS audio stream: one variant stream of AAC, no video, no audio group.
    let progress = ladder(&s, &hash).await;
    assert_eq!(labels(&progress), ["audio"]);
    let base = format!("/api/manifest/{hash}");
    let master = text(&s, &format!("{base}/hls.m3u8"), "application/vnd.apple.mpegurl").await;
    let streams = stream_infs(&master);
    assert_eq!(streams.len(), 1, "{master}");
    assert_eq!(attribute(streams[0], "CODECS"), Some("mp4a.40.2"));
    assert_eq!(attribute(streams[0], "RESOLUTION"), None);
    assert!(!master.contains("#EXT-X-MEDIA"), "{master}");
    let frames = decode(format!("{}{base}/hls.m3u8", s.url)).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert!(frames["audio0"] >= 6 * 44_100 / 1024, "{frames:?}");
}

/// A CORS preflight from `origin` for a `method` request to `path` sending `headers`.
async fn preflight(s: &Server, path: &str, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    s.client()
        .request(reqwest::Method::OPTIONS, format!("{}{path}", s.url))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn other_origins_may_read_blobs_and_upload() {
    let s = start().await;
    let data = bytes(200_000, 9);
    let hash = s.upload_hash(&data, "video/mp4").await;
    let origin = "http://ui.example:3000";

    // The preflight of a range request is answered, Range allowed.
    let blob = format!("/api/blob/{hash}");
    let resp = preflight(&s, &blob, origin, "GET", "range").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], origin);
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("range"), "{allowed}");

    // The range response exposes what a player reads.
    let resp = s
        .get(
            &format!("/api/blob/{hash}"),
            &[("origin", origin), ("range", "bytes=0-99")],
        )
        .await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["access-control-allow-origin"], origin);
    // Responses say they vary by Origin, so a cached same-origin copy (without CORS
    // headers) is not reused for another origin.
    let plain = s
        .get(&format!("/api/blob/{hash}"), &[("range", "bytes=0-99")])
        .await;
    assert_eq!(plain.headers()["vary"], "origin");
    assert_eq!(resp.headers()["vary"], "origin");
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in ["content-range", "content-length", "etag", "accept-ranges"] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
    // Errors carry CORS headers too, so a page can read why.
    let resp = s
        .get(&format!("/api/blob/{}", sha(b"absent")), &[("origin", origin)])
        .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["access-control-allow-origin"], origin);

    // A tus upload from another origin is allowed its headers.
    let tus_headers = "tus-resumable,upload-length,upload-metadata";
    let resp = preflight(&s, "/api/uploads", origin, "POST", tus_headers).await;
    assert_eq!(resp.status(), 200);
    // A header nobody allowed is refused at preflight.
    let resp = preflight(&s, &blob, origin, "GET", "x-not-allowed").await;
    assert_eq!(resp.status(), 403);
}
