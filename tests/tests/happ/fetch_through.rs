//! A viewer's own node plays what it does not hold: it checks the reader's access first,
//! then fetches each chunk from the nodes that hold the blob, verifies it and streams it,
//! keeping nothing on disk.

use crate::common::*;
use holochain::prelude::*;

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i * 7919) as u8).wrapping_add(seed)).collect()
}

/// Alice (an author whose node publishes where it is reached) and Dave (a viewer who keeps
/// nothing), each with a node.
async fn author_and_viewer() -> (Net, [Agent; 2], NodeSidecar, NodeSidecar) {
    let (net, [alice, dave]) = setup::<2>().await;
    let a = NodeSidecar::start(&net, alice).await;
    let d = NodeSidecar::start(&net, dave).await;
    let _: ActionHash = net.call(alice, "set_my_endpoint", a.url.clone()).await;
    (net, [alice, dave], a, d)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewers_own_node_streams_content_it_does_not_hold_after_the_access_check() {
    let (net, [_, dave], a, d) = author_and_viewer().await;
    let open_bytes = data(600_000, 1);
    let open = upload(&a, &open_bytes, "field recording", "commons", None).await;
    let secret = upload(&a, &data(200_000, 2), "diary", "private", None).await;
    net.sync().await;

    // Anyone asking Dave's node gets the commons blob, whole and by range, though Dave's
    // node never held it: every byte came from Alice's node, verified.
    let (status, body) = get(&d.url, &open, None).await;
    assert_eq!(status, 200);
    assert!(body == open_bytes, "the whole blob, byte for byte");
    let ranged = reqwest::Client::new()
        .get(format!("{}/api/blob/{open}", d.url))
        .header("range", "bytes=100000-299999")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(
        ranged.headers()["content-range"],
        format!("bytes 100000-299999/{}", open_bytes.len()).as_str()
    );
    assert!(ranged.bytes().await.unwrap()[..] == open_bytes[100_000..300_000]);
    assert!(
        d.state.blobs.get(&open.parse().unwrap()).unwrap().is_none(),
        "no record kept"
    );
    assert!(
        d.state.reader.store().list().unwrap().is_empty(),
        "nothing written to disk"
    );

    // The CLI's verified download works against the viewer's own node.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("recording.bin");
    sidecar::cli::get(&d.url, &open, &out, None).await.unwrap();
    assert!(std::fs::read(&out).unwrap() == open_bytes);

    // The access check comes first: Alice's private blob goes to no one through Dave's
    // node, not even to Dave's own agent. The DHT holds no trace of its hash, so Dave's
    // node cannot tell it from a blob nobody published: not found, and no fetch.
    let unknown = media_store::hash::Hash32::of(b"never uploaded").to_hex();
    for blob in [&secret, &unknown] {
        assert_eq!(get(&d.url, blob, None).await.0, 401, "anonymous");
        let daves = token(&net, dave, blob, net.key(dave).to_string(), 300).await;
        assert_eq!(get(&d.url, blob, Some(&daves)).await.0, 404, "Dave");
        assert_eq!(get(&d.url, blob, Some(d.owner())).await.0, 404, "the owner");
    }
    assert!(
        d.state.reader.store().list().unwrap().is_empty(),
        "nothing fetched"
    );

    // Peers cannot make Dave's node fetch for them: its chunk route serves only what it holds.
    let chunk = reqwest::get(format!(
        "{}/api/chunk/{}?blob={open}",
        d.url,
        media_store::hash::Hash32::of(&open_bytes[..64 * 1024]).to_hex()
    ))
    .await
    .unwrap();
    assert_eq!(chunk.status(), 404);
}

/// A player pointed at the viewer's own node plays a video that node never held: the
/// playlists name the author's renditions, and every segment is fetched through.
#[tokio::test(flavor = "multi_thread")]
async fn a_player_pointed_at_the_viewers_own_node_plays_a_video_it_does_not_hold() {
    let (net, _, a, d) = author_and_viewer().await;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("talk.mp4");
    sidecar::testkit::test_video(&source, 1280, 720, 3, "");
    let headers = [("x-upload-title", "a talk"), ("x-upload-reach", "commons")];
    let receipt = post_blob(&a, std::fs::read(&source).unwrap(), "video/mp4", &headers).await;
    let hash = receipt["hash"].as_str().unwrap().to_string();
    ladder_of(&a, &receipt).await;

    // Once Dave's conductor has the renditions, his node lists them in the master playlist.
    let master_url = format!("{}/api/manifest/{hash}/hls.m3u8", d.url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let master = loop {
        net.sync().await;
        let resp = reqwest::get(&master_url).await.unwrap();
        let text = resp.text().await.unwrap();
        if text.contains("#EXT-X-STREAM-INF") && text.matches(".m3u8").count() >= 2 {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no master playlist with renditions on Dave's node: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert!(master.contains("RESOLUTION=1280x720"), "{master}");

    // ffmpeg, as a player, decodes every frame through Dave's node.
    let decoded = tokio::task::spawn_blocking(move || sidecar::testkit::decoded_frames(&master_url))
        .await
        .unwrap();
    assert!(decoded >= 3 * 30 - 1, "decoded {decoded} frames");
    assert!(
        d.state.reader.store().list().unwrap().is_empty(),
        "nothing written to Dave's disk"
    );
}
