//! The ladder's overhead and a player's time to first segment.
//!
//! A 1080p source (default 60 s of lavfi testsrc2 + sine) is run twice through the same
//! ffmpeg arguments ([`sidecar::ladder::transcode::plan`]): once by ffmpeg alone (the
//! reference), once through the sidecar — HTTP upload, chunking and hashing, assembling
//! the verified chunks, transcoding, reading each rendition's segment index and storing it
//! as a blob. Prints both wall times and their ratio, then the time a player takes from
//! asking for the master playlist to holding the first media segment of the top rung.
//!
//! Run: `cargo bench -p sidecar --bench ladder --profile dev` (optionally `-- --seconds N`).

use sidecar::config::Config;
use sidecar::ladder::{probe, transcode};
use sidecar::state::Sidecar;
use sidecar::testkit::arg;
use std::path::Path;
use std::time::{Duration, Instant};

async fn reference(source: &Path, dir: &Path) -> Duration {
    let demuxers = media_rules::ladder::demuxers_for("video/mp4").expect("mp4 gets a ladder");
    let probe = probe::probe(source, demuxers).await.expect("probe");
    let (_, args) = transcode::plan(source, demuxers, &probe, dir);
    let started = Instant::now();
    transcode::run(&args, probe.duration_s, |_| {})
        .await
        .expect("ffmpeg alone");
    started.elapsed()
}

async fn through_the_sidecar(source: &Path, data_dir: &Path) -> (Duration, String, String) {
    let config = Config {
        chunk_size: media_rules::limits::DEFAULT_CHUNK_SIZE,
        max_upload_bytes: 16 << 30,
        ..Config::on_loopback(data_dir.to_path_buf())
    };
    let state = Sidecar::open(config.clone()).unwrap();
    let (addr, server) = sidecar::server::bind(state, config.listen, std::future::pending()).unwrap();
    tokio::spawn(server);
    let url = format!("http://{addr}");
    let client = reqwest::Client::new();
    let body = tokio::fs::read(source).await.unwrap();
    let started = Instant::now();
    let receipt: serde_json::Value = client
        .post(format!("{url}/api/blob"))
        .header("content-type", "video/mp4")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ladder = receipt["ladder"].as_str().expect("a ladder job").to_string();
    loop {
        let p: serde_json::Value = client
            .get(format!("{url}{ladder}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match p["stage"].as_str() {
            Some("done") => break,
            Some("failed") => panic!("ladder failed: {p}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    (
        started.elapsed(),
        url,
        receipt["hash"].as_str().unwrap().to_string(),
    )
}

async fn text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// From asking for the master playlist to holding the top rung's first media segment.
async fn first_segment(url: &str, hash: &str) -> Duration {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let base = format!("{url}/api/manifest/{hash}");
    let master = text(&client, format!("{base}/hls.m3u8")).await;
    let top = master
        .lines()
        .find(|l| l.ends_with(".m3u8") && !l.starts_with('#'))
        .unwrap();
    let media = text(&client, format!("{base}/{top}")).await;
    let uri = media.lines().find(|l| l.starts_with("../../blob/")).unwrap();
    let blob = format!("{url}/api/{}", uri.trim_start_matches("../../"));
    let range = |line: &str| {
        let (len, offset) = line.split_once('@').unwrap();
        let (len, offset): (u64, u64) = (len.parse().unwrap(), offset.parse().unwrap());
        format!("bytes={offset}-{}", offset + len - 1)
    };
    let map = media.lines().find(|l| l.starts_with("#EXT-X-MAP:")).unwrap();
    let init = map.split("BYTERANGE=\"").nth(1).unwrap().trim_end_matches('"');
    let first = media
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-BYTERANGE:"))
        .unwrap();
    for r in [range(init), range(first)] {
        let bytes = client
            .get(&blob)
            .header("range", r)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!bytes.is_empty());
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let seconds = arg("--seconds", 60);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    sidecar::testkit::test_video(&source, 1920, 1080, seconds, "-crf 18 -b:a 192k");
    let size = std::fs::metadata(&source).unwrap().len();
    println!(
        "source: {seconds} s of 1920x1080 30 fps H.264 + AAC, {:.1} MiB",
        size as f64 / 1048576.0
    );
    println!("ladder: 1080p/720p/480p H.264 + AAC audio, CMAF, 2 s segments");

    let work = dir.path().join("reference");
    std::fs::create_dir_all(&work).unwrap();
    let alone = reference(&source, &work).await;
    std::fs::remove_dir_all(&work).unwrap();
    let (ours, url, hash) = through_the_sidecar(&source, &dir.path().join("data")).await;
    println!("ffmpeg alone:              {:>8.2} s", alone.as_secs_f64());
    println!("upload → ladder done:      {:>8.2} s", ours.as_secs_f64());
    println!(
        "ratio (sidecar / ffmpeg):  {:>8.3}  (overhead {:+.1} %)",
        ours.as_secs_f64() / alone.as_secs_f64(),
        (ours.as_secs_f64() / alone.as_secs_f64() - 1.0) * 100.0
    );
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..20 {
        times.push(first_segment(&url, &hash).await);
    }
    times.sort();
    println!(
        "time to first segment (master → media playlist → init → segment 1 of the top rung, 20 runs): median {:.1} ms, worst {:.1} ms",
        times[10].as_secs_f64() * 1e3,
        times[19].as_secs_f64() * 1e3
    );
}
