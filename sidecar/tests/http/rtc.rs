//! Live calls: WHIP publishers and WHEP viewers against the sidecar's SFU, with a real
//! WebRTC stack (str0m) as the client on its own loopback UDP socket, and every status the
//! two protocols answer with.

use crate::common::{start_with, Server};
use sidecar::rtc::presence::member_id;
use sidecar::rtc::RtcSettings;
use sidecar::testkit::rtc_client::{
    audio_frame, drive, layer_frame, video_frame, video_publisher, write_frame, write_layer_frame, Client,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{MediaKind, MediaTime};
use str0m::Event;

async fn start_sfu(max_streams: u32) -> Server {
    start_with(|c| {
        c.rtc = Some(RtcSettings {
            max_streams,
            ..RtcSettings::loopback()
        })
    })
    .await
}

/// POSTs `offer` to `url` as application/sdp.
async fn post_offer(url: &str, offer: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/sdp")
        .body(offer.to_string())
        .send()
        .await
        .unwrap()
}

/// Joins `call` by WHIP or WHEP and takes the answer; returns the session's Location.
async fn join(server: &Server, call: &str, protocol: &str, client: &mut Client) -> String {
    let resp = post_offer(
        &format!("{}/api/rtc/{call}/{protocol}", server.url),
        &client.offer,
    )
    .await;
    assert_eq!(resp.status(), 201, "{protocol} join");
    assert_eq!(resp.headers()["content-type"], "application/sdp");
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    client.accept(&resp.text().await.unwrap());
    location
}

/// What a viewer received: (is video, bytes), in order of arrival.
type Received = Arc<Mutex<Vec<(bool, Vec<u8>)>>>;

/// A viewer of audio and video that joins `call` by WHEP and records what it receives on
/// its own thread until `stop`.
async fn spawn_viewer(
    server: &Server,
    call: &str,
    stop: Arc<AtomicBool>,
) -> (Received, std::thread::JoinHandle<()>) {
    let mut viewer = Client::new(false, &[MediaKind::Audio, MediaKind::Video]);
    join(server, call, "whep", &mut viewer).await;
    let got: Received = Default::default();
    let video_mid = viewer.mid(MediaKind::Video);
    let recorded = got.clone();
    let thread = viewer.receive(stop, move |d| {
        recorded
            .lock()
            .unwrap()
            .push((d.mid == video_mid, d.data.to_vec()));
    });
    (got, thread)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whip_publisher_reaches_two_whep_viewers_frame_for_frame() {
    let server = start_sfu(100).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();

    // One viewer joins before the publisher, the other once the call is under way (below).
    // Neither asks for a keyframe itself: the SFU must.
    let mut received: Vec<Received> = Vec::new();
    let (got, thread) = spawn_viewer(&server, "standup", stop.clone()).await;
    received.push(got);
    threads.push(thread);

    // The publisher sends 30 video and 50 audio frames a second, and a keyframe whenever
    // it is asked for one (the SFU asks when a viewer connects).
    let mut publisher = Client::new(true, &[MediaKind::Audio, MediaKind::Video]);
    join(&server, "standup", "whip", &mut publisher).await;
    let (audio, video) = (publisher.mid(MediaKind::Audio), publisher.mid(MediaKind::Video));
    let keyframes_asked = Arc::new(Mutex::new(0u32));
    let sent = Arc::new(Mutex::new((0u32, 0u32)));
    {
        let stop = stop.clone();
        let keyframes_asked = keyframes_asked.clone();
        let sent = sent.clone();
        let start = Instant::now();
        let mut key_wanted = true;
        threads.push(std::thread::spawn(move || {
            // Set by events, read by ticks.
            let (connected, key_flag) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
            let (connected_events, key_flag_events) = (connected.clone(), key_flag.clone());
            drive(
                publisher.rtc,
                publisher.socket,
                stop,
                move |rtc| {
                    if !connected.load(Ordering::Acquire) {
                        return;
                    }
                    if key_flag.swap(false, Ordering::AcqRel) {
                        key_wanted = true;
                    }
                    let elapsed = start.elapsed();
                    let mut s = sent.lock().unwrap();
                    while s.0 < (elapsed.as_millis() / 33) as u32 {
                        let n = s.0;
                        write_frame(
                            rtc,
                            video,
                            Codec::Vp8,
                            MediaTime::from_90khz(u64::from(n) * 3000),
                            video_frame(n, key_wanted),
                        );
                        key_wanted = false;
                        s.0 += 1;
                    }
                    while s.1 < (elapsed.as_millis() / 20) as u32 {
                        let n = s.1;
                        write_frame(
                            rtc,
                            audio,
                            Codec::Opus,
                            MediaTime::new(u64::from(n) * 960, str0m::media::Frequency::FORTY_EIGHT_KHZ),
                            audio_frame(n),
                        );
                        s.1 += 1;
                    }
                },
                move |_, e| match e {
                    Event::Connected => connected_events.store(true, Ordering::Release),
                    Event::KeyframeRequest(_) => {
                        *keyframes_asked.lock().unwrap() += 1;
                        key_flag_events.store(true, Ordering::Release);
                    }
                    _ => {}
                },
            )
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let (got, thread) = spawn_viewer(&server, "standup", stop.clone()).await;
    received.push(got);
    threads.push(thread);

    // Bounded: until each viewer has 60 video frames, at most 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let enough = received
            .iter()
            .all(|r| r.lock().unwrap().iter().filter(|(v, _)| *v).count() >= 60);
        if enough {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Release);
    for t in threads {
        t.join().unwrap();
    }

    assert!(
        *keyframes_asked.lock().unwrap() >= 1,
        "the SFU asked the publisher for a keyframe"
    );
    for (i, got) in received.iter().enumerate() {
        let got = got.lock().unwrap();
        let video: Vec<&Vec<u8>> = got.iter().filter(|(v, _)| *v).map(|(_, b)| b).collect();
        let audio: Vec<&Vec<u8>> = got.iter().filter(|(v, _)| !*v).map(|(_, b)| b).collect();
        assert!(video.len() >= 60, "viewer {i} got {} video frames", video.len());
        assert!(audio.len() >= 50, "viewer {i} got {} audio frames", audio.len());
        assert_eq!(video[0][0] & 1, 0, "viewer {i}'s first video frame is a keyframe");
        // Every frame is one the publisher sent, byte for byte, with none missing or
        // reordered after the first.
        let first = u32::from_be_bytes(video[0][6..10].try_into().unwrap());
        for (k, frame) in video.iter().enumerate() {
            let n = first + k as u32;
            let key = frame[0] & 1 == 0;
            assert!(
                **frame == video_frame(n, key),
                "viewer {i}: video frame {k} is frame {n} exactly"
            );
        }
        let first = u32::from_be_bytes(audio[0][..4].try_into().unwrap());
        for (k, frame) in audio.iter().enumerate() {
            assert!(
                **frame == audio_frame(first + k as u32),
                "viewer {i}: audio frame {k} in order"
            );
        }
    }
    let usage = server.state.rtc.as_ref().unwrap().usage();
    assert_eq!(usage.streams, 4, "two viewers with two tracks each");
}

/// What a viewer of a simulcast call received: (layer marker, frame number, media time in
/// 90 kHz ticks, keyframe), in order of arrival.
type Layered = Arc<Mutex<Vec<(u8, u32, u64, bool)>>>;

#[tokio::test(flavor = "multi_thread")]
async fn a_low_node_forwards_the_simulcast_layer_within_its_cap_and_switches_down_at_a_keyframe() {
    let server = start_with(|c| {
        c.bandwidth = media_rules::BandwidthClass::Low;
        c.rtc = Some(RtcSettings::loopback());
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut viewer = one_video_viewer();
    join(&server, "lecture", "whep", &mut viewer).await;
    let got: Layered = Default::default();
    let recorded = got.clone();
    threads.push(viewer.receive(stop.clone(), move |d| {
        let n = u32::from_be_bytes(d.data[11..15].try_into().unwrap());
        let key = d.data[0] & 1 == 0;
        recorded
            .lock()
            .unwrap()
            .push((d.data[10], n, d.time.numer(), key));
    }));

    // Three layers, 30 frames a second each, as a browser sends them: 720p ("f"), 360p
    // ("h") and 180p ("q"), each on an RTP clock of its own. After two seconds the 360p
    // layer grows to about 2.9 Mbit/s, over a low node's 2 Mbit/s. Keyframes come first
    // and then only when the SFU asks for them, layer by layer.
    let layers: [(&str, u16, u64); 3] = [
        ("f", 720, 1_000_000),
        ("h", 360, 5_000_000),
        ("q", 180, 9_000_000),
    ];
    let mut publisher = Client::simulcast_publisher(&["f", "h", "q"]);
    join(&server, "lecture", "whip", &mut publisher).await;
    let video = publisher.mid(MediaKind::Video);
    let asked: Arc<Mutex<Vec<String>>> = Default::default();
    {
        let (stop, asked) = (stop.clone(), asked.clone());
        threads.push(std::thread::spawn(move || {
            let connected = Arc::new(Mutex::new(None::<Instant>));
            let key_wanted = Arc::new(Mutex::new([true; 3]));
            let (seen, wanted) = (connected.clone(), key_wanted.clone());
            let mut sent = 0u32;
            drive(
                publisher.rtc,
                publisher.socket,
                stop,
                move |rtc| {
                    let Some(since) = *connected.lock().unwrap() else {
                        return;
                    };
                    let elapsed = since.elapsed();
                    while sent < (elapsed.as_millis() / 33) as u32 {
                        let grown = elapsed > Duration::from_secs(2);
                        let mut wanted = key_wanted.lock().unwrap();
                        for (i, (rid, height, base)) in layers.iter().enumerate() {
                            let len = match (*rid, grown) {
                                ("f", _) => 3_000,
                                ("h", false) => 2_500,
                                ("h", true) => 12_000,
                                _ => 1_000,
                            };
                            let frame = layer_frame(sent, wanted[i], *height, rid.as_bytes()[0], len);
                            wanted[i] = false;
                            let time = MediaTime::from_90khz(base + u64::from(sent) * 3_000);
                            write_layer_frame(rtc, video, Some(rid), Codec::Vp8, time, frame);
                        }
                        sent += 1;
                    }
                },
                move |_, e| match e {
                    Event::Connected => *seen.lock().unwrap() = Some(Instant::now()),
                    Event::KeyframeRequest(req) => {
                        let rid = req.rid.map(|r| r.to_string()).unwrap_or_default();
                        let mut wanted = wanted.lock().unwrap();
                        for (i, (layer, _, _)) in layers.iter().enumerate() {
                            if rid.is_empty() || rid == *layer {
                                wanted[i] = true;
                            }
                        }
                        asked.lock().unwrap().push(rid);
                    }
                    _ => {}
                },
            )
        }));
    }

    // Bounded: until the viewer has 30 frames of the 180p layer, at most 20 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if got.lock().unwrap().iter().filter(|f| f.0 == b'q').count() >= 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Release);
    for t in threads {
        t.join().unwrap();
    }

    let got = got.lock().unwrap();
    let order: String = got.iter().map(|f| f.0 as char).collect();
    assert!(!order.contains('f'), "nothing above 480p: {order}");
    let (high, low) = order.split_at(order.find('q').unwrap_or(order.len()));
    assert!(
        high.len() >= 30 && high.chars().all(|c| c == 'h'),
        "first the tallest layer within the cap, 360p: {order}"
    );
    assert!(
        low.len() >= 30 && low.chars().all(|c| c == 'q'),
        "then, once 360p ran over 2 Mbit/s, 180p only: {order}"
    );
    assert!(got[0].3, "the first frame is a keyframe");
    assert!(got[high.len()].3, "the switch is at a keyframe of the new layer");
    assert!(
        asked.lock().unwrap().iter().any(|rid| rid == "q"),
        "the SFU asked for a keyframe of the 180p layer: {:?}",
        asked.lock().unwrap()
    );
    // Frames come in capture order, and time runs on across the switch: the layers'
    // clocks are millions of ticks apart, the viewer's steps never more than a second.
    for pair in got.windows(2) {
        let ((_, n0, t0, _), (_, n1, t1, _)) = (pair[0], pair[1]);
        assert!(n1 > n0, "frame {n1} after frame {n0}");
        assert!(
            t1.checked_sub(t0)
                .is_some_and(|step| (1..=90_000).contains(&step)),
            "time steps from {t0} to {t1} (frames {n0}, {n1})"
        );
    }
}

/// A viewer's offer for one video track.
fn one_video_viewer() -> Client {
    Client::new(false, &[MediaKind::Video])
}

#[tokio::test]
async fn whip_and_whep_answer_with_the_statuses_of_their_specs() {
    let server = start_sfu(2).await;
    let whep = format!("{}/api/rtc/room-1/whep", server.url);
    let whip = format!("{}/api/rtc/room-1/whip", server.url);
    let http = reqwest::Client::new();
    let offer = one_video_viewer().offer;

    // 415 for what is not SDP; 400 for SDP that is not an offer the SFU can answer, or that
    // flows the wrong way for the protocol, or a call id that is not a plain name.
    let resp = http
        .post(&whep)
        .header("content-type", "application/json")
        .body(offer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(post_offer(&whep, "v=0\r\nthis is not sdp").await.status(), 400);
    assert_eq!(
        post_offer(&whip, &offer).await.status(),
        400,
        "a WHIP offer that only receives"
    );
    let publisher_offer = Client::new(true, &[MediaKind::Video]).offer;
    assert_eq!(
        post_offer(&whep, &publisher_offer).await.status(),
        400,
        "a WHEP offer that only sends"
    );
    let bad_call = format!("{}/api/rtc/..%2Fetc/whep", server.url);
    assert_eq!(post_offer(&bad_call, &offer).await.status(), 400);
    // `besides` names a viewer's own publishing session: 32 hex digits, and only on WHEP.
    let besides = |url: &str, value: &str| format!("{url}?besides={value}");
    assert_eq!(post_offer(&besides(&whep, "../x"), &offer).await.status(), 400);
    assert_eq!(
        post_offer(&besides(&whep, &"a".repeat(33)), &offer)
            .await
            .status(),
        400
    );
    assert_eq!(
        post_offer(&besides(&whip, &"a".repeat(32)), &publisher_offer)
            .await
            .status(),
        400,
        "a publisher has no own session to leave out"
    );

    // 201 with an SDP answer and the session's Location.
    let resp = post_offer(&whep, &offer).await;
    assert_eq!(resp.status(), 201);
    let first = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(first.starts_with("/api/rtc/room-1/session/"), "{first}");
    assert!(resp.text().await.unwrap().starts_with("v=0"));

    // The budget is two forwarded tracks: the second viewer gets in, the third is told to
    // come back later, and gets in once one has left.
    let second = post_offer(&whep, &one_video_viewer().offer).await;
    assert_eq!(second.status(), 201);
    let third = post_offer(&whep, &one_video_viewer().offer).await;
    assert_eq!(third.status(), 503);
    assert!(
        third.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            > 0
    );
    // Publishers take no streams: one still gets in.
    assert_eq!(post_offer(&whip, &publisher_offer).await.status(), 201);

    // PATCH (trickle ICE) is not taken; DELETE ends the session, once.
    let session = format!("{}{first}", server.url);
    let resp = http.patch(&session).body("a=candidate").send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "DELETE");
    let wrong_call = session.replace("/room-1/", "/room-2/");
    assert_eq!(http.delete(&wrong_call).send().await.unwrap().status(), 404);
    assert_eq!(http.delete(&session).send().await.unwrap().status(), 200);
    assert_eq!(http.delete(&session).send().await.unwrap().status(), 404);
    assert_eq!(post_offer(&whep, &one_video_viewer().offer).await.status(), 201);

    // The refusal is on /metrics.
    assert_eq!(server.metric("elohim_rtc_refused_total").await, 1.0);
    assert_eq!(server.metric("elohim_rtc_streams").await, 2.0);

    // A page on another origin may send an offer and read the Location (CORS).
    let resp = http
        .request(reqwest::Method::OPTIONS, &whep)
        .header("origin", "https://call.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(&whep)
        .header("origin", "https://call.example")
        .header("content-type", "application/sdp")
        .body(one_video_viewer().offer)
        .send()
        .await
        .unwrap();
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(exposed.contains("location"), "{exposed}");
}

#[tokio::test]
async fn a_sidecar_without_live_calls_says_so() {
    let server = crate::common::start().await;
    let resp = post_offer(
        &format!("{}/api/rtc/room/whep", server.url),
        &one_video_viewer().offer,
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert!(resp.text().await.unwrap().contains("live calls are off"));
}

/// The address the SFU tells clients, when none is given, is where it listens.
#[tokio::test]
async fn the_candidate_is_the_address_the_sfu_listens_on() {
    let server = start_sfu(10).await;
    let candidate: SocketAddr = server.state.rtc.as_ref().unwrap().candidate();
    assert!(
        candidate.ip().is_loopback() && candidate.port() != 0,
        "{candidate}"
    );
    let resp = post_offer(
        &format!("{}/api/rtc/room/whep", server.url),
        &one_video_viewer().offer,
    )
    .await;
    let answer = resp.text().await.unwrap();
    let wanted = format!("{} {} typ host", candidate.ip(), candidate.port());
    assert!(answer.contains(&wanted), "{answer}");
}

/// One Server-Sent Event: (`id`, `event`, `data`).
type Sse = (String, String, serde_json::Value);

/// Reads `url`'s event stream into a channel (`last` as `Last-Event-ID`).
async fn subscribe(url: &str, last: Option<&str>) -> tokio::sync::mpsc::UnboundedReceiver<Sse> {
    use futures_util::StreamExt;
    let mut req = reqwest::Client::new().get(url);
    if let Some(id) = last {
        req = req.header("last-event-id", id);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut body = resp.bytes_stream();
    tokio::spawn(async move {
        let mut text = String::new();
        while let Some(Ok(bytes)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .unwrap_or_default()
                        .to_string()
                };
                if block.starts_with(':') {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&field("data:")).unwrap_or_default();
                if tx.send((field("id:"), field("event:"), data)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The next event, waiting at most 10 s.
async fn next_event(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Sse>) -> Sse {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_says_who_joined_publishes_stalls_and_leaves_and_a_reconnect_resumes() {
    let server = start_sfu(10).await;
    let events = format!("{}/api/rtc/room/events", server.url);
    let mut rx = subscribe(&events, None).await;
    let (_, kind, data) = next_event(&mut rx).await;
    assert_eq!((kind.as_str(), data), ("snapshot", serde_json::json!([])));

    // A publisher joins and sends video while `sending` holds, a keyframe a second.
    let mut publisher = Client::new(true, &[MediaKind::Video]);
    let location = join(&server, "room", "whip", &mut publisher).await;
    let session = location.rsplit('/').next().unwrap().to_string();
    let video = publisher.mid(MediaKind::Video);
    let (stop, sending) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(true)));
    let thread = {
        let (stop, sending) = (stop.clone(), sending.clone());
        std::thread::spawn(move || {
            let connected = Arc::new(AtomicBool::new(false));
            let connected_events = connected.clone();
            let mut n = 0;
            let mut last = Instant::now();
            drive(
                publisher.rtc,
                publisher.socket,
                stop,
                move |rtc| {
                    if connected.load(Ordering::Acquire)
                        && sending.load(Ordering::Acquire)
                        && last.elapsed() > Duration::from_millis(33)
                    {
                        last = Instant::now();
                        write_frame(
                            rtc,
                            video,
                            Codec::Vp8,
                            MediaTime::from_90khz(u64::from(n) * 3000),
                            video_frame(n, n % 30 == 0),
                        );
                        n += 1;
                    }
                },
                move |_, e| {
                    if matches!(e, Event::Connected) {
                        connected_events.store(true, Ordering::Release);
                    }
                },
            )
        })
    };
    let mut seen = Vec::new();
    let mut publishing_id = String::new();
    while seen.last().map(String::as_str) != Some("publishing") {
        let (id, kind, data) = next_event(&mut rx).await;
        assert_eq!(kind, "presence");
        // Members are named by a public id: the session id ends the session, so it is
        // never shown to the others in the call.
        assert_eq!(
            (data["member"].as_str(), data["role"].as_str()),
            (Some(member_id(&session).as_str()), Some("publish"))
        );
        assert!(!data.to_string().contains(&session));
        // This SFU records its publishers, and says so once one's media arrives.
        assert_eq!(data["recording"], data["state"] == "publishing", "{data}");
        publishing_id = id;
        seen.push(data["state"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["joined", "publishing"]);

    // Its media stops: it shows as stalled; it leaves: it shows as left.
    sending.store(false, Ordering::Release);
    let stopped = Instant::now();
    let (_, _, data) = next_event(&mut rx).await;
    assert_eq!(data["state"], "stalled");
    eprintln!("stalled shown {:?} after the media stopped", stopped.elapsed());
    let http = reqwest::Client::new();
    let resp = http
        .delete(format!("{}{location}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, _, data) = next_event(&mut rx).await;
    assert_eq!(data["state"], "left");

    // A client that reconnects after `publishing` gets what it missed, in order.
    let mut again = subscribe(&events, Some(&publishing_id)).await;
    let states =
        [next_event(&mut again).await, next_event(&mut again).await].map(|(_, k, d)| (k, d["state"].clone()));
    assert_eq!(
        states,
        [
            ("presence".to_string(), serde_json::json!("stalled")),
            ("presence".to_string(), serde_json::json!("left"))
        ]
    );
    // One whose id is unknown starts from a snapshot: the room is empty again.
    let mut fresh = subscribe(&events, Some("999999")).await;
    let (_, kind, data) = next_event(&mut fresh).await;
    assert_eq!((kind.as_str(), data), ("snapshot", serde_json::json!([])));

    stop.store(true, Ordering::Release);
    thread.join().unwrap();
}

/// What the relay sent to viewers over the last second, in kbit/s, once `enough` holds of it
/// (polled for at most 20 s).
async fn sent_kbps_once(server: &Server, enough: impl Fn(u64) -> bool) -> u64 {
    let sfu = server.state.rtc.as_ref().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !enough(sfu.usage().kbps) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sfu.usage().kbps
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_over_its_bandwidth_refuses_new_viewers_until_one_leaves() {
    // A Relay of 1 Mbit/s with room for 100 streams: bandwidth is what runs out.
    let server = start_with(|c| {
        c.rtc = Some(RtcSettings {
            max_mbps: Some(1),
            ..RtcSettings::loopback()
        })
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();

    // A publisher of a 3.4 KB keyframe 30 times a second: about 850 kbit/s on the wire.
    let mut publisher = video_publisher();
    join(&server, "talk", "whip", &mut publisher).await;
    let video = publisher.mid(MediaKind::Video);
    {
        let stop = stop.clone();
        let connected = Arc::new(AtomicBool::new(false));
        let seen = connected.clone();
        let mut sent = 0u32;
        let mut since = None;
        threads.push(std::thread::spawn(move || {
            drive(
                publisher.rtc,
                publisher.socket,
                stop,
                move |rtc| {
                    if !connected.load(Ordering::Acquire) {
                        return;
                    }
                    let since = *since.get_or_insert_with(Instant::now);
                    while sent < (since.elapsed().as_millis() / 33) as u32 {
                        let rtp_time = MediaTime::from_90khz(u64::from(sent) * 3000);
                        let mut frame = video_frame(sent, true);
                        frame.resize(3_400, 0x5a);
                        write_frame(rtc, video, Codec::Vp8, rtp_time, frame);
                        sent += 1;
                    }
                },
                move |_, e| {
                    if matches!(e, Event::Connected) {
                        seen.store(true, Ordering::Release);
                    }
                },
            )
        }));
    }

    // The first viewer gets in (nothing is forwarded yet) and receives the video.
    let whep = format!("{}/api/rtc/talk/whep", server.url);
    let mut first = one_video_viewer();
    let location = join(&server, "talk", "whep", &mut first).await;
    threads.push(std::thread::spawn({
        let stop = stop.clone();
        move || drive(first.rtc, first.socket, stop, |_| {}, |_, _| {})
    }));
    let kbps = sent_kbps_once(&server, |k| k > 550).await;
    assert!(kbps > 550, "one viewer takes about 850 kbit/s, measured {kbps}");

    // A second viewer would take as much again, over the 1 Mbit/s: 503, come back later.
    let refused = post_offer(&whep, &one_video_viewer().offer).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        server.state.rtc.as_ref().unwrap().usage().streams,
        1,
        "the refused viewer took nothing"
    );

    // Once the first viewer leaves and nothing is sent, the second gets in.
    let http = reqwest::Client::new();
    let ended = http
        .delete(format!("{}{location}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    assert_eq!(
        sent_kbps_once(&server, |k| k == 0).await,
        0,
        "nothing is sent once it left"
    );
    assert_eq!(post_offer(&whep, &one_video_viewer().offer).await.status(), 201);

    assert_eq!(server.metric("elohim_rtc_refused_total").await, 1.0);
    assert_eq!(server.metric("elohim_rtc_max_mbps").await, 1.0);
    stop.store(true, Ordering::Release);
    for t in threads {
        t.join().unwrap();
    }
}
