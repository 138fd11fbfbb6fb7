//! The headline scenario: custodians keep media alive without a coordinator. Five agents
//! on real conductors, four real sidecars on loopback, the custodian workers running.
//! Alice uploads and leaves; Dave still streams every byte, verified, from custodians; a
//! custodian dies and another takes its blob over; deprecated content leaves every disk.

use crate::common::*;
use media_api::{ContentView, IssueTokenInput, IssuedToken, ReplicaView, UpdateContentInput};
use sidecar::custodian::{spawn, CustodianConfig};
use std::time::Duration;

/// Replica TTL in this test: a custodian silent this long counts as lost.
const TTL: Duration = Duration::from_secs(30);

fn custodian(endpoint: &str, household: &str) -> CustodianConfig {
    let mut config = CustodianConfig::from_flags(
        "storage:100",
        "high",
        Some(&format!("cascadia/salish-sea/seattle/fremont/{household}")),
        endpoint.into(),
    )
    .unwrap();
    config.interval = Duration::from_secs(1);
    config.replica_ttl = TTL;
    config
}

/// Uploads through Alice's node and publishes; returns (blob hash, content id).
async fn publish(
    node: &NodeSidecar,
    data: &[u8],
    mime: &str,
    title: &str,
    headers: &[(&str, String)],
) -> (String, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/blob", node.url))
        .bearer_auth(node.owner())
        .header("content-type", mime)
        .header("x-upload-title", title);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.body(data.to_vec()).send().await.unwrap();
    let status = resp.status();
    let receipt: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{receipt}");
    (
        receipt["hash"].as_str().unwrap().into(),
        receipt["published"]["content"].as_str().unwrap().into(),
    )
}

/// Polls `check` every second until it holds or `limit` passes.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Every replica of a content's blob as `who` sees it: (custodian, state, age in seconds).
async fn replicas_seen(
    net: &Net,
    who: Agent,
    content: &str,
) -> Vec<(holochain_types::prelude::AgentPubKey, String, i64)> {
    let id = action(content);
    let view: Result<Option<ContentView>, String> = net.try_call(who, "get_latest_content", id).await;
    let Some(view) = view.ok().flatten() else {
        // Not visible (yet) to `who`: no replicas it can see.
        return Vec::new();
    };
    let replicas: Vec<ReplicaView> = net
        .call(who, "list_replicas", view.content.blobs[0].clone())
        .await;
    let now = holochain_types::prelude::Timestamp::now().as_micros();
    replicas
        .into_iter()
        .map(|r| {
            (
                r.custodian,
                r.status.state,
                (now - r.updated_at.as_micros()) / 1_000_000,
            )
        })
        .collect()
}

/// The custodians that verified a replica of a content's blob, as `who` sees them. A
/// status says `verified` only once the bytes hashed right; its age is not judged here,
/// since a viewer's node can see refreshes minutes late under this test's load (that
/// custodians refresh is `sidecar::custodian`'s to test).
async fn holders(net: &Net, who: Agent, content: &str) -> Vec<holochain_types::prelude::AgentPubKey> {
    let mut out: Vec<_> = replicas_seen(net, who, content)
        .await
        .into_iter()
        .filter(|(_, state, _)| state == "verified")
        .map(|(custodian, _, _)| custodian)
        .collect();
    out.sort();
    out
}

/// Waits (at most `limit`) until the holders `who` sees of a content satisfy `enough`;
/// returns them. On time out, says what every replica looked like.
async fn until_held(
    net: &Net,
    who: Agent,
    content: &str,
    what: &str,
    limit: Duration,
    enough: impl Fn(&[holochain_types::prelude::AgentPubKey]) -> bool,
) -> Vec<holochain_types::prelude::AgentPubKey> {
    let start = std::time::Instant::now();
    loop {
        let now = holders(net, who, content).await;
        if enough(&now) {
            return now;
        }
        if start.elapsed() >= limit {
            let seen = replicas_seen(net, who, content).await;
            panic!("timed out waiting until {what}; replicas seen (custodian, state, age s): {seen:?}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// An action hash from its base64 form.
fn action(s: &str) -> holochain_types::prelude::ActionHash {
    holochain_types::prelude::ActionHashB64::from_b64_str(s)
        .unwrap()
        .into()
}

fn chunk_files(dir: &std::path::Path) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .map(|d| {
                d.flatten()
                    .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&dir.join("chunks"))
}

#[tokio::test(flavor = "multi_thread")]
async fn custodians_keep_media_alive_after_the_author_leaves() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (mut net, [alice, bob, carol, dave, erin]) = setup::<5>().await;
    let custodians = [bob, carol, erin];
    // Alice founded Fremont; she vouches her neighbors in.
    let _: Vec<media_api::VouchView> = net
        .call(alice, "found_place", place("seattle", "fremont", "a"))
        .await;
    for (who, household) in [(alice, "a"), (bob, "b"), (carol, "c"), (dave, "d"), (erin, "e")] {
        let _: holochain_types::prelude::ActionHash = net
            .call(who, "set_my_place", place("seattle", "fremont", household))
            .await;
        if who.0 != alice.0 {
            let vouch = media_api::VouchInput {
                member: net.key(who),
                place: place("seattle", "fremont", household),
                level: "neighborhood".into(),
            };
            let _: media_api::VouchView = net.call(alice, "vouch_for_place", vouch).await;
        }
    }
    // Alice's node publishes its endpoint by committing too; Bob, Carol and Erin keep media.
    let mut alice_node = NodeSidecar::start(&net, alice).await;
    let alice_worker = spawn(alice_node.state.clone(), custodian(&alice_node.url, "a"))
        .await
        .unwrap();
    let mut nodes = Vec::new();
    for (who, household) in [(bob, "b"), (carol, "c"), (erin, "e")] {
        let node = NodeSidecar::start(&net, who).await;
        let worker = spawn(node.state.clone(), custodian(&node.url, household))
            .await
            .unwrap();
        nodes.push((who, node, worker));
    }
    net.sync().await;

    // Alice uploads a commons video (60 MB), a neighborhood podcast, a call for her three
    // custodian friends, and an old episode she will deprecate.
    let video = sidecar::testkit::noise(60_000_000, 1);
    let podcast = sidecar::testkit::noise(3_000_000, 2);
    let call = sidecar::testkit::noise(2_000_000, 3);
    let old = sidecar::testkit::noise(1_500_000, 4);
    let home = (
        "x-upload-place",
        "cascadia/salish-sea/seattle/fremont/a".to_string(),
    );
    let reach = |r: &str| ("x-upload-reach", r.to_string());
    let (video_hash, video_id) =
        publish(&alice_node, &video, "video/mp4", "video", &[reach("commons")]).await;
    let (podcast_hash, podcast_id) = publish(
        &alice_node,
        &podcast,
        "audio/mpeg",
        "podcast",
        &[reach("neighborhood"), home.clone()],
    )
    .await;
    let invite = custodians.map(|c| net.key(c).to_string()).join(",");
    let (_, call_id) = publish(
        &alice_node,
        &call,
        "video/webm",
        "call",
        &[reach("invited"), ("x-upload-invite", invite)],
    )
    .await;
    let (old_hash, old_id) = publish(&alice_node, &old, "audio/mpeg", "old", &[reach("commons")]).await;

    // Everything reaches its replica count: all three custodians hold the commons and
    // neighborhood items (they want 25 and 5), two of the three invitees hold the call.
    let mut all_three: Vec<_> = custodians.iter().map(|c| net.key(*c)).collect();
    all_three.sort();
    // (Dave is not invited to the call, so Bob looks at its replicas.)
    for (what, id) in [("video", &video_id), ("podcast", &podcast_id), ("old", &old_id)] {
        until_held(
            &net,
            dave,
            id,
            &format!("all three custodians hold the {what}"),
            Duration::from_secs(240),
            |now| now == all_three.as_slice(),
        )
        .await;
    }
    let call_holders = until_held(
        &net,
        bob,
        &call_id,
        "two of the three invitees hold the call",
        Duration::from_secs(240),
        |now| now.len() >= 2,
    )
    .await;
    assert!(call_holders.iter().all(|h| all_three.contains(h)));
    // Alice's node never counts as a custodian of her own uploads.
    for id in [&video_id, &podcast_id, &old_id] {
        assert!(!holders(&net, dave, id).await.contains(&net.key(alice)));
    }

    // Alice deprecates the old episode with no retention: it leaves every custodian's disk.
    let id = action(&old_id);
    let view: Option<ContentView> = net.call(alice, "get_latest_content", id.clone()).await;
    let view = view.unwrap();
    let mut node = view.content.clone();
    node.lifecycle = "deprecated".into();
    node.retention_days = 0;
    let input = UpdateContentInput {
        id,
        previous_version: view.version.clone(),
        content: node,
    };
    // Alice's own worker writes to her chain too (its heartbeat): a write that lands
    // between the two is refused with HeadMoved, and is tried again, as a UI would.
    let mut tries = 0;
    loop {
        let updated: Result<ContentView, String> = net.try_call(alice, "update_content", input.clone()).await;
        match updated {
            Ok(_) => break,
            Err(e) if e.contains("HeadMoved") && tries < 5 => tries += 1,
            Err(e) => panic!("update_content: {e}"),
        }
    }
    for (_, n, _) in &nodes {
        let dir = n.dir.path().to_path_buf();
        let old_blob = old_hash.clone();
        eventually(
            "the deprecated episode is evicted",
            Duration::from_secs(120),
            || {
                let state = n.state.clone();
                let dir = dir.clone();
                let old_blob = old_blob.clone();
                async move {
                    let gone = state.blobs.get(&old_blob.parse().unwrap()).unwrap().is_none();
                    gone && chunk_files(&dir) > 0
                }
            },
        )
        .await;
        // Its chunks are left to the one deleter, the sweep, which takes what no record lists.
        let old_chunk = media_store::hash::Hash32::of(&old[..64 * 1024]);
        sidecar::gc::sweep(&n.state, Duration::ZERO, sidecar::gc::UPLOAD_EXPIRY).unwrap();
        assert!(!n.state.reader.store().has(&old_chunk).unwrap());
    }
    // Every custodian says so, or has not refreshed a verified status within the TTL.
    eventually(
        "the old episode's replicas read evicted",
        Duration::from_secs(60),
        || async {
            let seen = replicas_seen(&net, dave, &old_id).await;
            seen.iter()
                .all(|(_, state, age)| state != "verified" || *age >= TTL.as_secs() as i64)
        },
    )
    .await;

    // Alice closes her laptop: worker, sidecar and conductor go away.
    alice_worker.abort();
    alice_node.stop().await;
    net.conductors[alice.0].shutdown().await;

    // Dave streams both from custodians, every chunk checked against the manifest.
    let out = tempfile::tempdir().unwrap();
    let (_, bob_node, _) = &nodes[0];
    let (_, carol_node, _) = &nodes[1];
    let video_file = out.path().join("video.mp4");
    sidecar::cli::get(&bob_node.url, &video_hash, &video_file, None)
        .await
        .unwrap();
    assert!(
        std::fs::read(&video_file).unwrap() == video,
        "the video came back byte for byte"
    );
    let token: IssuedToken = net
        .call(
            dave,
            "issue_access_token",
            IssueTokenInput {
                blob: podcast_hash.clone(),
                audience: net.key(carol).to_string(),
                ttl_seconds: 600,
            },
        )
        .await;
    let podcast_file = out.path().join("podcast.mp3");
    sidecar::cli::get(&carol_node.url, &podcast_hash, &podcast_file, Some(&token.token))
        .await
        .unwrap();
    assert!(std::fs::read(&podcast_file).unwrap() == podcast);
    // Without a token the neighborhood podcast stays closed to anonymous clients.
    let resp = reqwest::get(format!("{}/api/blob/{podcast_hash}", carol_node.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // One of the call's holders dies; the third invitee takes the call over.
    let victim = call_holders[0].clone();
    let index = nodes
        .iter()
        .position(|(who, _, _)| net.key(*who) == victim)
        .unwrap();
    let (who, mut node, worker) = nodes.remove(index);
    worker.abort();
    node.stop().await;
    net.conductors[who.0].shutdown().await;
    let witness = nodes[0].0;
    // Both survivors come to hold every byte of the call, verified (the third invitee
    // pulls it), and the third invitee's own status says so.
    let blob = media_store::hash::Hash32::of(&call);
    eventually(
        "the third invitee takes the call over",
        Duration::from_secs(240),
        || async {
            nodes
                .iter()
                .all(|(_, node, _)| node.state.blobs.get(&blob).unwrap().is_some())
        },
    )
    .await;
    if let Some(taker) = all_three.iter().find(|k| !call_holders.contains(k)) {
        until_held(
            &net,
            witness,
            &call_id,
            "the third invitee's status says verified",
            Duration::from_secs(120),
            |now| now.contains(taker),
        )
        .await;
    }
}
