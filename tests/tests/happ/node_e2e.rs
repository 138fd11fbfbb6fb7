//! The node end to end: real conductors, and a real sidecar linked to Alice's conductor
//! over its websockets. Alice uploads through HTTP; who may read what is decided by
//! signed tokens and the reach rules, over HTTP.

use crate::common::*;
use media_api::ContentView;
use media_integrity::media_rules::token::AccessToken;

/// Uploads a titled 3-second 720p commons talk to the node: its receipt, blob hash and
/// published content.
async fn post_talk(node: &NodeSidecar) -> (serde_json::Value, String, holochain_types::prelude::ActionHash) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("talk.mp4");
    sidecar::testkit::test_video(&source, 1280, 720, 3, "");
    let headers = [("x-upload-title", "a talk"), ("x-upload-reach", "commons")];
    let receipt = post_blob(node, std::fs::read(&source).unwrap(), "video/mp4", &headers).await;
    let hash = receipt["hash"].as_str().unwrap().to_string();
    let content =
        holochain_types::prelude::ActionHash::try_from(receipt["published"]["content"].as_str().unwrap())
            .unwrap();
    (receipt, hash, content)
}

/// The newest version of content `id` once it lists a source and its three renditions.
async fn with_renditions(net: &Net, who: Agent, id: &holochain_types::prelude::ActionHash) -> ContentView {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let latest: Option<ContentView> = net.call(who, "get_latest_content", id.clone()).await;
            let latest = latest.expect("the content exists");
            if latest.content.blobs.len() == 4 {
                break latest;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    })
    .await
    .expect("the renditions are registered")
}

#[tokio::test(flavor = "multi_thread")]
async fn reach_decides_who_reads_each_upload_over_http() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let node = NodeSidecar::start(&net, alice).await;
    let url = node.url.clone();
    let alice_node = net.key(alice).to_string();

    // Alice uploads a private, an invited (Bob) and a commons file through her node.
    let diary = b"alice's private diary".repeat(5000);
    let call = b"recording of the call with bob".repeat(5000);
    let talk = b"an open lecture for everyone".repeat(5000);
    let diary_hash = upload(&node, &diary, "diary", "private", None).await;
    let call_hash = upload(&node, &call, "call", "invited", Some(net.key(bob).to_string())).await;
    let talk_hash = upload(&node, &talk, "talk", "commons", None).await;
    net.sync().await;

    // Bob reads the invited and the commons file, byte-exact; the private one is refused.
    let t = token(&net, bob, &call_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &call_hash, Some(&t)).await, (200, call.clone()));
    let t = token(&net, bob, &talk_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &talk_hash, Some(&t)).await, (200, talk.clone()));
    let t = token(&net, bob, &diary_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &diary_hash, Some(&t)).await.0, 403);

    // Carol, not invited, is refused the call.
    let t = token(&net, carol, &call_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &call_hash, Some(&t)).await.0, 403);

    // Anonymous clients get the commons file and 401 for the rest.
    assert_eq!(get(&url, &talk_hash, None).await, (200, talk.clone()));
    assert_eq!(get(&url, &call_hash, None).await.0, 401);
    assert_eq!(get(&url, &diary_hash, None).await.0, 401);

    // The token also works as ?token=, as players need.
    let t = token(&net, bob, &call_hash, alice_node.clone(), 600).await;
    let resp = reqwest::get(format!("{url}/api/blob/{call_hash}?token={t}"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A token signed by Bob but naming Alice's key is refused.
    let mut forged = AccessToken::parse(&t).unwrap();
    forged.claims.agent = net.key(alice).get_raw_39().to_vec();
    assert_eq!(get(&url, &call_hash, Some(&forged.encode())).await.0, 403);
    // So are tokens for another blob, another node, or past their expiry.
    let other_blob = token(&net, bob, &talk_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &call_hash, Some(&other_blob)).await.0, 403);
    let other_node = token(&net, bob, &call_hash, net.key(carol).to_string(), 600).await;
    assert_eq!(get(&url, &call_hash, Some(&other_node)).await.0, 403);
    let short = token(&net, bob, &call_hash, alice_node.clone(), 1).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(get(&url, &call_hash, Some(&short)).await.0, 403);
    assert_eq!(get(&url, &call_hash, Some("garbage")).await.0, 403);

    // Alice, the author, reads her own diary.
    let t = token(&net, alice, &diary_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &diary_hash, Some(&t)).await, (200, diary.clone()));

    // Peer chunk exchange does not bypass reach: a chunk is served only as part of a blob
    // the request may read.
    let first_chunk = |data: &[u8]| media_store::hash::Hash32::of(&data[..64 * 1024]).to_hex();
    let chunk = |hash: String, query: String| {
        let url = url.clone();
        async move {
            reqwest::get(format!("{url}/api/chunk/{hash}{query}"))
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(chunk(first_chunk(&diary), String::new()).await, 401);
    assert_eq!(
        chunk(first_chunk(&diary), format!("?blob={diary_hash}")).await,
        401
    );
    let bobs = token(&net, bob, &diary_hash, alice_node.clone(), 600).await;
    assert_eq!(
        chunk(first_chunk(&diary), format!("?blob={diary_hash}&token={bobs}")).await,
        403
    );
    assert_eq!(
        chunk(first_chunk(&diary), format!("?blob={talk_hash}")).await,
        403
    );
    assert_eq!(chunk(first_chunk(&talk), format!("?blob={talk_hash}")).await, 200);
    let alices = token(&net, alice, &diary_hash, alice_node.clone(), 600).await;
    assert_eq!(
        chunk(first_chunk(&diary), format!("?blob={diary_hash}&token={alices}")).await,
        200
    );

    // The owner's routes (behind `elohim-media ls`, `token`, `status`).
    let owner = sidecar::cli::client(Some(node.owner())).unwrap();
    let listed: Vec<serde_json::Value> = owner_get(&node, "/api/content").await;
    let mut titles: Vec<&str> = listed
        .iter()
        .map(|v| v["content"]["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["call", "diary", "talk"]);
    assert!(listed
        .iter()
        .all(|v| v["id"].as_str().unwrap().starts_with("uhCkk")));
    let signed: serde_json::Value = owner
        .post(format!("{url}/api/token"))
        .json(&serde_json::json!({ "blob": diary_hash }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed_url = signed["url"]
        .as_str()
        .unwrap()
        .replace("127.0.0.1:0", url.trim_start_matches("http://"));
    let resp = reqwest::get(signed_url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), diary);
    let status: serde_json::Value = owner
        .get(format!("{url}/api/node"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["agent"], alice_node.as_str());
    assert_eq!(status["blobs"], 3);

    // The caches keep each audience's bytes apart: the invited call and the private diary
    // were served again from the personal partition, the lecture from the commons one.
    let hits = complete_tier(&url, "elohim_cache_hits_total", "personal").await;
    assert!(hits >= 2.0, "{hits}");
    assert!(complete_tier(&url, "elohim_cache_hits_total", "commons").await >= 1.0);
    let held = complete_tier(&url, "elohim_cache_bytes", "personal").await;
    assert!(held >= (call.len() + diary.len()) as f64, "{held}");
    // A cached blob is still checked on every request: no token, or the wrong agent's, is
    // refused as before, and the refusals do not touch the cache.
    assert_eq!(get(&url, &call_hash, None).await.0, 401);
    let t = token(&net, carol, &call_hash, alice_node.clone(), 600).await;
    assert_eq!(get(&url, &call_hash, Some(&t)).await.0, 403);
    assert_eq!(
        complete_tier(&url, "elohim_cache_hits_total", "personal").await,
        hits
    );
}

/// A complete-tier metric of one partition, from the sidecar's `/metrics`.
async fn complete_tier(url: &str, name: &str, partition: &str) -> f64 {
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = format!("{name}{{partition=\"{partition}\",tier=\"complete\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key)?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_video_streams_to_its_invitee_from_one_signed_master_url() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let node = NodeSidecar::start(&net, alice).await;
    let url = node.url.clone();
    let alice_node = net.key(alice).to_string();

    // Alice uploads a 720p call recording for Bob.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("call.mp4");
    sidecar::testkit::test_video(&source, 1280, 720, 4, "");
    let bob_key = net.key(bob).to_string();
    let headers = [
        ("x-upload-title", "call with bob"),
        ("x-upload-reach", "invited"),
        ("x-upload-invite", bob_key.as_str()),
    ];
    let receipt = post_blob(&node, std::fs::read(&source).unwrap(), "video/mp4", &headers).await;
    let hash = receipt["hash"].as_str().unwrap().to_string();
    let progress = ladder_of(&node, &receipt).await;
    let renditions: Vec<String> = progress.variants.iter().map(|v| v.blob.clone()).collect();
    assert_eq!(renditions.len(), 3, "720p, 480p, audio: {progress:?}");
    net.sync().await;

    // The content Bob sees now lists the source and its renditions, their codecs, and HLS.
    // (Alice's node hands Bob each version in the background.)
    let call = until_seen(&net, bob, "call with bob", |v| v.content.blobs.len() == 4).await;
    assert_eq!(call.content.embed_strategy, "hls");
    let codecs: Vec<&str> = call.content.codecs.iter().map(|c| c.codec.as_str()).collect();
    assert!(
        codecs.iter().any(|c| c.starts_with("avc1.")) && codecs.contains(&"mp4a.40.2"),
        "{codecs:?}"
    );

    // Bob's token for the source plays the whole ladder: it rides in every URI.
    let t = token(&net, bob, &hash, alice_node.clone(), 600).await;
    let master_url = format!("{url}/api/manifest/{hash}/hls.m3u8?token={t}");
    let master = reqwest::get(&master_url).await.unwrap();
    assert_eq!(master.status(), 200);
    let master = master.text().await.unwrap();
    let uris: Vec<&str> = master
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(uris.len(), 2);
    assert!(
        uris.iter().all(|u| u.ends_with(&format!("?token={t}"))),
        "{master}"
    );
    let media = reqwest::get(format!("{url}/api/manifest/{hash}/480p.m3u8?token={t}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(media
        .lines()
        .filter(|l| l.starts_with("../../blob/"))
        .all(|l| l.ends_with(&format!("?token={t}"))));
    let frames = tokio::task::spawn_blocking({
        let master_url = master_url.clone();
        move || {
            let out = sidecar::testkit::ffmpeg(["-i", &master_url, "-map", "0", "-f", "framemd5", "-"]);
            String::from_utf8(out).unwrap()
        }
    })
    .await
    .unwrap();
    for stream in ["0", "1", "2"] {
        let n = frames
            .lines()
            .filter(|l| l.split(',').next().map(str::trim) == Some(stream))
            .count();
        assert!(n >= 4 * 30 - 1, "stream {stream} decoded {n} frames");
    }
    // The content's id names the same stream.
    let content = receipt["published"]["content"].as_str().unwrap();
    let by_content = reqwest::get(format!("{url}/api/manifest/{content}/hls.m3u8?token={t}"))
        .await
        .unwrap();
    assert_eq!(by_content.status(), 200);
    assert_eq!(by_content.text().await.unwrap(), master);
    let dash = reqwest::get(format!("{url}/api/manifest/{hash}/dash.mpd?token={t}"))
        .await
        .unwrap();
    assert_eq!(dash.status(), 200);
    assert!(dash.text().await.unwrap().contains(&format!("?token={t}")));

    // Nobody else plays it: no token, Carol's token, or Bob's token for another blob.
    let status = |path: String| {
        let target = format!("{url}{path}");
        async move { reqwest::get(target).await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("/api/manifest/{hash}/hls.m3u8")).await, 401);
    assert_eq!(status(format!("/api/blob/{}.mp4", renditions[0])).await, 401);
    let carol_token = token(&net, carol, &hash, alice_node.clone(), 600).await;
    assert_eq!(
        status(format!("/api/manifest/{hash}/hls.m3u8?token={carol_token}")).await,
        403
    );
    assert_eq!(
        status(format!("/api/blob/{}?token={carol_token}", renditions[1])).await,
        403
    );
    let other = upload(
        &node,
        b"some other file".repeat(100).as_slice(),
        "other",
        "invited",
        Some(net.key(bob).to_string()),
    )
    .await;
    let other_token = token(&net, bob, &other, alice_node.clone(), 600).await;
    assert_eq!(
        status(format!("/api/blob/{}?token={other_token}", renditions[0])).await,
        403
    );
    assert_eq!(
        status(format!("/api/blob/{}?token={t}", renditions[0])).await,
        200
    );

    // Bob keeps copies of the renditions on his own node, whose link is slow. His node
    // learns what each one is from the DHT: it does not stream the 720p one, asked for by its
    // own hash with a token naming it, yet a peer may copy its chunks; 480p plays.
    let bob_node =
        NodeSidecar::start_with(&net, bob, |c| c.bandwidth = media_rules::BandwidthClass::Low).await;
    let from_alice = [sidecar::replicate::Source::Peer {
        base: url.clone(),
        token: Some(t.clone()),
    }];
    let mut pulled = Vec::new();
    for variant in &progress.variants {
        let views: Vec<media_api::ManifestView> =
            net.call(bob, "find_blob_manifests", variant.blob.clone()).await;
        let keeper = media_store::blobs::Keeper::ReplicaOf(views[0].author.to_string());
        sidecar::replicate::pull(
            &bob_node.state,
            &views[0].manifest,
            &sidecar::replicate::Sources::in_order(from_alice.to_vec()),
            &keeper,
        )
        .await
        .unwrap();
        pulled.push((variant, views[0].manifest.chunks[0].clone()));
    }
    for (variant, chunk) in pulled {
        let (rendition, label) = (&variant.blob, &variant.label);
        let t = token(&net, bob, rendition, bob_key.clone(), 600).await;
        let resp = reqwest::Client::new()
            .get(format!("{}/api/blob/{rendition}", bob_node.url))
            .bearer_auth(&t)
            .header("range", "bytes=0-99")
            .send()
            .await
            .unwrap();
        if label == "720p" {
            assert_eq!(resp.status(), 403, "{label}");
            let why = resp.text().await.unwrap();
            assert!(
                why.contains("the 720p rendition exceeds this node's low bandwidth"),
                "{why}"
            );
        } else {
            assert_eq!(resp.status(), 206, "{label}");
        }
        let copied = reqwest::Client::new()
            .get(format!("{}/api/chunk/{chunk}?blob={rendition}", bob_node.url))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(copied.status(), 200, "{label}: a peer copies every rendition");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_low_bandwidth_node_refuses_private_content() {
    let (net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start_with(&net, alice, |c| c.bandwidth = media_rules::BandwidthClass::Low).await;
    let url = node.url.clone();
    let alice_node = net.key(alice).to_string();
    let diary = b"alice's private diary, on a slow link".repeat(3000);
    let talk = b"an open lecture, on a slow link".repeat(3000);
    let diary_hash = upload(&node, &diary, "diary", "private", None).await;
    let talk_hash = upload(&node, &talk, "talk", "commons", None).await;
    net.sync().await;

    // Even its author is refused private content over a low-bandwidth node (seed Gap 4) ...
    let t = token(&net, alice, &diary_hash, alice_node.clone(), 600).await;
    let resp = reqwest::Client::new()
        .get(format!("{url}/api/blob/{diary_hash}"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("low-bandwidth"));
    // ... while commons content is served.
    assert_eq!(get(&url, &talk_hash, None).await, (200, talk));
}

#[tokio::test(flavor = "multi_thread")]
async fn renditions_recorded_but_not_registered_when_the_node_stopped_are_registered_at_restart() {
    let (net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start(&net, alice).await;

    // A video is uploaded and its ladder made; no content uses it yet, so nothing is
    // registered.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("talk.mp4");
    sidecar::testkit::test_video(&source, 1280, 720, 3, "");
    let receipt = post_blob(&node, std::fs::read(&source).unwrap(), "video/mp4", &[]).await;
    let hash = receipt["hash"].as_str().unwrap().to_string();
    let progress = ladder_of(&node, &receipt).await;
    assert_eq!(progress.variants.len(), 3, "{progress:?}");

    // The node stopped between recording the renditions and registering them: the talk is
    // published with its source manifest only, and the job's work directory is still there.
    let record = node.state.blobs.get(&hash.parse().unwrap()).unwrap().unwrap();
    let mut uploaded = record.manifest.clone();
    uploaded.variants.clear();
    let view: media_api::ManifestView = net
        .call(
            alice,
            "register_blob_manifest",
            media_integrity::BlobManifest(uploaded),
        )
        .await;
    let talk: ContentView = net
        .call(
            alice,
            "create_content",
            media_integrity::ContentNode {
                blobs: vec![view.id],
                ..content("a talk", "commons")
            },
        )
        .await;
    let marker = node.dir.path().join("ladder").join(&hash);
    std::fs::create_dir_all(&marker).unwrap();

    // At restart the node registers the renditions and lists them in the content.
    let node = node.restart(&net, alice).await;
    let published = with_renditions(&net, alice, &talk.id).await;
    assert_eq!(published.content.embed_strategy, "hls");
    assert!(forgotten(&marker).await, "the job's directory is gone");
    for variant in &progress.variants {
        let found: Vec<media_api::ManifestView> =
            net.call(alice, "find_blob_manifests", variant.blob.clone()).await;
        assert_eq!(found.len(), 1, "{} is registered once", variant.label);
    }
    // The ladder was not made again: the renditions are the ones recorded before.
    let after = node.state.blobs.get(&hash.parse().unwrap()).unwrap().unwrap();
    assert_eq!(after.manifest.variants, progress.variants);
    // Anyone plays the talk by the content's id.
    let master = reqwest::get(format!("{}/api/manifest/{}/hls.m3u8", node.url, talk.id))
        .await
        .unwrap();
    assert_eq!(master.status(), 200);
    let master = master.text().await.unwrap();
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 2, "{master}");
}

/// Whether a ladder job's directory goes within 10 s: it is removed once the renditions
/// are registered, just after the last zome call returns.
async fn forgotten(marker: &std::path::Path) -> bool {
    for _ in 0..100 {
        if !marker.exists() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn renditions_the_conductor_could_not_take_are_registered_when_the_node_next_starts() {
    let (mut net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start(&net, alice).await;
    let (receipt, hash, content) = post_talk(&node).await;

    // The conductor goes away while the ladder is made: the renditions are recorded, but
    // registering them fails, and the job says it will be tried again.
    net.conductors[alice.0].shutdown().await;
    let progress = ladder_ends(&node, &receipt, sidecar::ladder::Stage::Failed).await;
    let error = progress.error.unwrap_or_default();
    assert!(error.contains("and when the node next starts"), "{error}");
    let recorded = node.state.blobs.get(&hash.parse().unwrap()).unwrap().unwrap();
    assert_eq!(recorded.manifest.variants.len(), 3);
    let marker = node.dir.path().join("ladder").join(&hash);
    assert!(marker.is_dir(), "the job is remembered");

    // With the conductor back, the node's next start registers them in the content.
    net.conductors[alice.0].startup().await;
    let node = node.restart(&net, alice).await;
    let published = with_renditions(&net, alice, &content).await;
    assert_eq!(published.content.embed_strategy, "hls");
    assert!(forgotten(&marker).await, "nothing is left to do");
    let master = reqwest::get(format!("{}/api/manifest/{hash}/hls.m3u8", node.url))
        .await
        .unwrap();
    assert_eq!(master.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn renditions_the_app_could_not_take_are_registered_once_it_can_without_a_restart() {
    let (net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start_with(&net, alice, |c| c.register_retry_secs = 2).await;
    let (receipt, hash, content) = post_talk(&node).await;

    // The app is disabled while the ladder is made (the conductor and its ports stay):
    // registering the renditions fails and the job says when it is tried again.
    let conductor = &net.conductors[alice.0];
    conductor
        .raw_handle()
        .disable_app(
            "elohim_media".into(),
            holochain_types::prelude::DisabledAppReason::User,
        )
        .await
        .unwrap();
    let progress = ladder_ends(&node, &receipt, sidecar::ladder::Stage::Failed).await;
    let error = progress.error.unwrap_or_default();
    assert!(error.contains("tried again every 2 s"), "{error}");
    let marker = node.dir.path().join("ladder").join(&hash);
    assert!(marker.is_dir(), "the job is remembered");

    // Once the app is enabled again, the running node registers them on its own, and the
    // job reports them.
    conductor
        .raw_handle()
        .enable_app("elohim_media".into())
        .await
        .unwrap();
    let published = with_renditions(&net, alice, &content).await;
    assert_eq!(published.content.embed_strategy, "hls");
    assert!(forgotten(&marker).await, "nothing is left to do");
    let done = ladder_of(&node, &receipt).await;
    assert_eq!(done.variants.len(), 3);
}
