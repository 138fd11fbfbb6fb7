//! Live calls are content, and their reach decides who joins: real conductors, real node
//! sidecars, call tokens signed by each agent's own key, WHIP and WHEP over HTTP.

use crate::common::*;
use media_api::{IssueCallTokenInput, IssueTokenInput, IssuedToken};
use sidecar::http::calls::Joining;

/// Posts a WHIP (`whip`) or WHEP offer for `call` to `url`, with `token` if any: the status
/// and the session's `Location`.
async fn offer(url: &str, call: &str, kind: &str, token: Option<&str>) -> (u16, Option<String>) {
    let sdp = match kind {
        "whip" => sidecar::testkit::rtc_client::whip_offer(),
        _ => sidecar::testkit::rtc_client::whep_offer(),
    };
    let mut req = reqwest::Client::new()
        .post(format!("{url}/api/rtc/{call}/{kind}"))
        .header("content-type", "application/sdp")
        .body(sdp);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (resp.status().as_u16(), location)
}

/// `agent`'s own call token for `call` at the node of `host`, signed by the zome.
async fn call_token(net: &Net, agent: Agent, call: &str, host: Agent) -> String {
    let input = IssueCallTokenInput {
        call: holochain_types::prelude::ActionHash::try_from(call).unwrap(),
        audience: net.key(host).to_string(),
        ttl_seconds: 600,
    };
    let issued: IssuedToken = net.call(agent, "issue_call_token", input).await;
    issued.token
}

/// Starts a call on `node` as its owner with the `POST /api/calls` body `body`; asserts the
/// `201` and returns where to join.
async fn start_call(node: &NodeSidecar, body: serde_json::Value) -> Joining {
    let resp = sidecar::cli::client(Some(node.owner()))
        .unwrap()
        .post(format!("{}/api/calls", node.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_call_admits_its_author_and_invitee_and_refuses_strangers() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let rtc = |c: &mut sidecar::config::Config| c.rtc = Some(sidecar::rtc::RtcSettings::loopback());
    let alices = NodeSidecar::start_with(&net, alice, rtc).await;
    let bobs = NodeSidecar::start(&net, bob).await;
    let carols = NodeSidecar::start_with(&net, carol, rtc).await;
    let url = alices.url.clone();

    // Bad input to the owner's call and place routes is 400 and says what is wrong; what the
    // zome refuses (a call with no title) is 422 with its words, as on every route.
    let owner = sidecar::cli::client(Some(alices.owner())).unwrap();
    let bob_key = net.key(bob).to_string();
    let bad = [
        owner.post(format!("{url}/api/calls")).json(&serde_json::json!({
            "title": "t", "reach": "invited", "invitees": ["not-a-key"],
        })),
        owner
            .put(format!("{url}/api/place"))
            .json(&serde_json::json!({ "place": "a//b" })),
        owner
            .post(format!("{url}/api/place/vouch"))
            .json(&serde_json::json!({
                "member": "not-a-key", "place": "r/b/m/n/h",
            })),
        owner
            .post(format!("{url}/api/place/vouch"))
            .json(&serde_json::json!({
                "member": bob_key, "place": "r/b/m/n/h", "level": "galaxy",
            })),
        owner.delete(format!("{url}/api/place/vouch/uhCkk-not-a-vouch")),
        owner
            .post(format!("{url}/api/calls/not-a-call/join"))
            .json(&serde_json::json!({})),
    ];
    for req in bad {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let said: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{said}");
        assert!(said["error"].as_str().is_some_and(|e| !e.is_empty()), "{said}");
    }
    let untitled = owner
        .post(format!("{url}/api/calls"))
        .json(&serde_json::json!({ "title": " ", "reach": "commons" }))
        .send()
        .await
        .unwrap();
    assert_eq!(untitled.status(), 422);
    let said: serde_json::Value = untitled.json().await.unwrap();
    assert!(said["error"].as_str().unwrap().contains("rejected"), "{said}");

    // Alice starts a call with Bob from her node: it is content, with no blobs yet.
    let invited = serde_json::json!({
        "title": "standup", "reach": "invited", "invitees": [net.key(bob).to_string()],
    });
    let started = start_call(&alices, invited).await;
    let call = started.call.clone();
    assert_eq!(started.host, None, "hosted by the node that started it");
    assert_eq!(started.page, format!("/call/{call}?token={}", started.token));
    let view: Option<media_api::ContentView> = net
        .call(
            alice,
            "get_latest_content",
            holochain_types::prelude::ActionHash::try_from(call.as_str()).unwrap(),
        )
        .await;
    let view = view.expect("the call is content");
    assert_eq!(view.content.content_format, "call-recording");
    assert!(view.content.blobs.is_empty());

    // Alice publishes with the token her node signed for her.
    let (status, alice_session) = offer(&url, &call, "whip", Some(&started.token)).await;
    assert_eq!(status, 201);
    net.sync().await;

    // Bob's node signs Bob's token for Alice's node, once Alice's has handed it the call;
    // Bob publishes and watches with it.
    until_seen(&net, bob, "standup", |_| true).await;
    let joined = sidecar::cli::client(Some(bobs.owner()))
        .unwrap()
        .post(format!("{}/api/calls/{call}/join", bobs.url))
        .json(&serde_json::json!({ "host": url }))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
    let joined: Joining = joined.json().await.unwrap();
    assert_eq!(joined.host.as_deref(), Some(url.as_str()));
    assert_eq!(offer(&url, &call, "whip", Some(&joined.token)).await.0, 201);
    assert_eq!(offer(&url, &call, "whep", Some(&joined.token)).await.0, 201);
    let events = |token: Option<&str>| {
        let mut req = reqwest::Client::new().get(format!("{url}/api/rtc/{call}/events"));
        if let Some(t) = token {
            req = req.query(&[("token", t)]);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(events(Some(&joined.token)).await, 200);

    // Nobody else: no token is 401; Carol's own token, a token for another call, Bob's
    // blob token and a forged one are 403.
    assert_eq!(offer(&url, &call, "whep", None).await.0, 401);
    assert_eq!(offer(&url, &call, "whip", None).await.0, 401);
    assert_eq!(events(None).await, 401);
    let carols_token = call_token(&net, carol, &call, alice).await;
    assert_eq!(offer(&url, &call, "whep", Some(&carols_token)).await.0, 403);
    assert_eq!(offer(&url, &call, "whip", Some(&carols_token)).await.0, 403);
    assert_eq!(events(Some(&carols_token)).await, 403);
    let blob_token: IssuedToken = net
        .call(
            bob,
            "issue_access_token",
            IssueTokenInput {
                blob: "ab".repeat(32),
                audience: net.key(alice).to_string(),
                ttl_seconds: 600,
            },
        )
        .await;
    assert_eq!(offer(&url, &call, "whep", Some(&blob_token.token)).await.0, 403);
    let other_call = holochain_types::prelude::ActionHash::from_raw_32(vec![0xdb; 32]).to_string();
    let for_other = call_token(&net, bob, &other_call, alice).await;
    assert_eq!(offer(&url, &call, "whep", Some(&for_other)).await.0, 403);
    // Bob's token with a later expiry no longer matches his signature.
    let mut parts: Vec<String> = joined.token.split('.').map(String::from).collect();
    parts[4] = (parts[4].parse::<i64>().unwrap() + 1).to_string();
    assert_eq!(offer(&url, &call, "whep", Some(&parts.join("."))).await.0, 403);
    // A token Bob signed for Carol's node does not open Alice's.
    let for_carol = call_token(&net, bob, &call, carol).await;
    assert_eq!(offer(&url, &call, "whep", Some(&for_carol)).await.0, 403);

    // Carol's node does not host a call she is not in, whoever asks: its SFU would see
    // the media in clear.
    assert_eq!(offer(&carols.url, &call, "whep", Some(&for_carol)).await.0, 404);
    // A call id that is not a call's is no call.
    let not_a_call = view.author.to_string();
    assert_eq!(offer(&url, &not_a_call, "whep", Some(&joined.token)).await.0, 404);

    // Ending Alice's session needs its Location; the join page is served with a policy
    // that keeps its token from leaving as a referrer.
    let location = alice_session.unwrap();
    let ended = reqwest::Client::new()
        .delete(format!("{url}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    let page = reqwest::get(format!("{url}{}", started.page)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().await.unwrap().contains("/call/assets/call.js"));
}

#[tokio::test(flavor = "multi_thread")]
async fn anyone_watches_a_commons_live_stream_and_only_its_author_broadcasts() {
    let (net, [alice, carol]) = setup::<2>().await;
    let alices = NodeSidecar::start_with(&net, alice, |c| {
        c.rtc = Some(sidecar::rtc::RtcSettings::loopback())
    })
    .await;
    let url = alices.url.clone();
    let stream = serde_json::json!({ "title": "a talk", "reach": "commons", "live_stream": true });
    let started = start_call(&alices, stream).await;
    let call = started.call.clone();
    net.sync().await;

    // Anyone watches, with no token.
    assert_eq!(offer(&url, &call, "whep", None).await.0, 201);
    // Publishing needs to say who you are, and a viewer may not broadcast.
    assert_eq!(offer(&url, &call, "whip", None).await.0, 401);
    let carols = call_token(&net, carol, &call, alice).await;
    assert_eq!(offer(&url, &call, "whep", Some(&carols)).await.0, 201);
    assert_eq!(offer(&url, &call, "whip", Some(&carols)).await.0, 403);
    assert_eq!(offer(&url, &call, "whip", Some(&started.token)).await.0, 201);
    // The owner's credential joins as the node's agent, the stream's author.
    assert_eq!(offer(&url, &call, "whip", Some(alices.owner())).await.0, 201);
    // Only owners start calls.
    let stranger = reqwest::Client::new()
        .post(format!("{url}/api/calls"))
        .json(&serde_json::json!({ "title": "x", "reach": "commons" }))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calls_recording_becomes_its_content_and_only_its_audience_reads_it() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let alices = NodeSidecar::start_with(&net, alice, |c| {
        c.rtc = Some(sidecar::rtc::RtcSettings::loopback())
    })
    .await;
    let url = alices.url.clone();
    let invited = serde_json::json!({
        "title": "design review", "reach": "invited", "invitees": [net.key(bob).to_string()],
    });
    let started = start_call(&alices, invited).await;
    let call = started.call.clone();

    // Alice publishes three seconds of real VP8, then hangs up.
    let frames = sidecar::testkit::rtc_client::vp8_frames(3);
    let mut client = sidecar::testkit::rtc_client::video_publisher();
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/rtc/{call}/whip"))
        .bearer_auth(&started.token)
        .header("content-type", "application/sdp")
        .body(client.offer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    client.accept(&resp.text().await.unwrap());
    tokio::task::spawn_blocking(move || sidecar::testkit::rtc_client::publish_frames(client, frames))
        .await
        .unwrap();
    let ended = reqwest::Client::new()
        .delete(format!("{url}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);

    // The recording is stored and the call's content lists it.
    let id = holochain_types::prelude::ActionHash::try_from(call.as_str()).unwrap();
    let listed = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let view: Option<media_api::ContentView> =
                net.call(alice, "get_latest_content", id.clone()).await;
            if let Some(view) = view.filter(|v| !v.content.blobs.is_empty()) {
                break view;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    })
    .await
    .expect("the call's content lists its recording");
    assert_eq!(listed.content.content_format, "call-recording");
    // (The node lists the call's recordings just after the content lists them.)
    let listing = format!("{url}/api/rtc/{call}/recordings");
    let recordings = until(
        "the node lists the recording",
        std::time::Duration::from_secs(10),
        || async {
            let stored: Vec<sidecar::recordings::Stored> = reqwest::Client::new()
                .get(&listing)
                .bearer_auth(&started.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (!stored.is_empty()).then_some(stored)
        },
    )
    .await;
    assert_eq!(recordings.len(), 1);
    let recording = &recordings[0];
    assert_eq!(recording.mime, "video/webm");
    assert_eq!(
        recording.member,
        sidecar::rtc::presence::member_id(location.rsplit('/').next().unwrap())
    );
    net.sync().await;

    // Bob, invited, reads it with his own token: WebM with VP8, about three seconds long.
    let hash = recording.hash.clone();
    let blob_token = |who: Agent| {
        let input = IssueTokenInput {
            blob: hash.clone(),
            audience: net.key(alice).to_string(),
            ttl_seconds: 600,
        };
        let net = &net;
        async move {
            let issued: IssuedToken = net.call(who, "issue_access_token", input).await;
            issued.token
        }
    };
    let read = |token: Option<String>| {
        let mut req = reqwest::Client::new().get(format!("{url}/api/blob/{}", recording.hash));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.bytes().await.unwrap())
        }
    };
    let (status, bytes) = read(Some(blob_token(bob).await)).await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("recording.webm");
    std::fs::write(&file, &bytes).unwrap();
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name:format=duration",
            "-of",
            "default=nw=1",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let probe = String::from_utf8_lossy(&probe.stdout).to_string();
    assert!(probe.contains("codec_name=vp8"), "{probe}");
    let seconds: f64 = probe
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    assert!((2.5..4.0).contains(&seconds), "{probe}");

    // Carol, not invited, and anonymous readers are refused.
    assert_eq!(read(Some(blob_token(carol).await)).await.0, 403);
    assert_eq!(read(None).await.0, 401);
}
