//! A WebRTC client for tests and benchmarks of the SFU: str0m on its own loopback UDP
//! socket, the offers it makes, the loop that drives it, and test frames.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaData, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

/// A WebRTC client on its own loopback socket, before its offer is answered.
pub struct Client {
    /// Its WebRTC state.
    pub rtc: Rtc,
    /// Its UDP socket on 127.0.0.1.
    pub socket: UdpSocket,
    pending: Option<SdpPendingOffer>,
    /// The SDP offer to post.
    pub offer: String,
    mids: Vec<(Mid, MediaKind)>,
}

impl Client {
    /// A client that sends (`publish`) or receives `kinds`.
    pub fn new(publish: bool, kinds: &[MediaKind]) -> Client {
        Client::offering(publish, kinds, None)
    }

    /// A client that publishes one video track in the simulcast layers `rids`, as a
    /// browser does with several `sendEncodings`.
    pub fn simulcast_publisher(rids: &[&str]) -> Client {
        let mut simulcast = str0m::media::Simulcast::new();
        for rid in rids {
            simulcast.add_send_layer(str0m::media::SimulcastLayer::new(rid));
        }
        Client::offering(true, &[MediaKind::Video], Some(simulcast))
    }

    fn offering(publish: bool, kinds: &[MediaKind], simulcast: Option<str0m::media::Simulcast>) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rtc = RtcConfig::new()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        let dir = if publish {
            Direction::SendOnly
        } else {
            Direction::RecvOnly
        };
        let mut api = rtc.sdp_api();
        let mids = kinds
            .iter()
            .map(|k| (api.add_media(*k, dir, None, None, simulcast.clone()), *k))
            .collect();
        let (offer, pending) = api.apply().unwrap();
        Client {
            rtc,
            socket,
            pending: Some(pending),
            offer: offer.to_sdp_string(),
            mids,
        }
    }

    /// Takes the SDP answer.
    pub fn accept(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).expect("the answer is SDP");
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    /// The mid of its first track of `kind`.
    pub fn mid(&self, kind: MediaKind) -> Mid {
        self.mids.iter().find(|(_, k)| *k == kind).unwrap().0
    }

    /// Receives on a thread of its own until `stop` (at most 60 s), handing each media
    /// frame to `media`; its offer must have been answered.
    pub fn receive(
        self,
        stop: Arc<AtomicBool>,
        mut media: impl FnMut(MediaData) + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            drive(
                self.rtc,
                self.socket,
                stop,
                |_| {},
                move |_, e| {
                    if let Event::MediaData(d) = e {
                        media(d);
                    }
                },
            )
        })
    }
}

/// Drives `rtc` on `socket` until `stop` (at most 60 s), calling `tick` every loop turn (to
/// write media) and `event` for each event.
pub fn drive(
    rtc: Rtc,
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    tick: impl FnMut(&mut Rtc),
    event: impl FnMut(&mut Rtc, Event),
) {
    let limit = Duration::from_secs(60);
    drive_counting(rtc, socket, stop, limit, &AtomicU64::new(0), tick, event)
}

/// [`drive`] for at most `limit`, counting the datagrams it receives in `received`.
pub fn drive_counting(
    mut rtc: Rtc,
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    limit: Duration,
    received: &AtomicU64,
    mut tick: impl FnMut(&mut Rtc),
    mut event: impl FnMut(&mut Rtc, Event),
) {
    let local = socket.local_addr().unwrap();
    let mut buf = vec![0u8; 2000];
    let deadline = Instant::now() + limit;
    while !stop.load(Ordering::Acquire) && Instant::now() < deadline && rtc.is_alive() {
        tick(&mut rtc);
        let timeout = loop {
            match rtc.poll_output().unwrap() {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    socket.send_to(&t.contents, t.destination).unwrap();
                }
                Output::Event(e) => event(&mut rtc, e),
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(5));
        socket.set_read_timeout(Some(wait)).unwrap();
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                received.fetch_add(1, Ordering::Relaxed);
                Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: local,
                        contents: buf[..n].try_into().unwrap(),
                    },
                )
            }
            Err(_) => Input::Timeout(Instant::now()),
        };
        rtc.handle_input(input).unwrap();
    }
}

/// Writes `frame` on `mid` in `codec`, stamped `rtp_time` and now.
pub fn write_frame(rtc: &mut Rtc, mid: Mid, codec: Codec, rtp_time: MediaTime, frame: Vec<u8>) {
    write_layer_frame(rtc, mid, None, codec, rtp_time, frame);
}

/// [`write_frame`] in simulcast layer `rid` (none: the track itself).
pub fn write_layer_frame(
    rtc: &mut Rtc,
    mid: Mid,
    rid: Option<&str>,
    codec: Codec,
    rtp_time: MediaTime,
    frame: Vec<u8>,
) {
    let mut writer = rtc.writer(mid).expect("the track is negotiated");
    if let Some(rid) = rid {
        writer = writer.rid(rid.into());
    }
    let pt = writer
        .payload_params()
        .find(|p| p.spec().codec == codec)
        .expect("the codec is negotiated")
        .pt();
    writer
        .write(pt, Instant::now(), rtp_time, frame)
        .expect("the frame is written");
}

/// Frame `n` of simulcast layer `marker`, `len` bytes long (at least 15): a VP8 keyframe
/// header saying `height` lines (16:9) when `key`, then `marker` and `n`, then a pattern.
pub fn layer_frame(n: u32, key: bool, height: u16, marker: u8, len: usize) -> Vec<u8> {
    let mut f = vec![if key { 0x10 } else { 0x11 }, 0x02, 0x00, 0x9d, 0x01, 0x2a];
    f.extend_from_slice(&(height * 16 / 9).to_le_bytes());
    f.extend_from_slice(&height.to_le_bytes());
    f.push(marker);
    f.extend_from_slice(&n.to_be_bytes());
    let pattern = (f.len()..len.max(f.len())).map(|i| (i as u32).wrapping_mul(31) as u8 ^ marker);
    f.extend(pattern.collect::<Vec<u8>>());
    f
}

/// Frame `n` of the test video: a VP8 keyframe tag when `key` (the low bit of the first
/// byte clear), then `n`, then a pattern; several RTP packets long.
pub fn video_frame(n: u32, key: bool) -> Vec<u8> {
    let mut f = vec![if key { 0x10 } else { 0x11 }, 0x02, 0x00, 0x9d, 0x01, 0x2a];
    f.extend_from_slice(&n.to_be_bytes());
    f.extend((0..2500u32).map(|i| (i.wrapping_mul(31) ^ n) as u8));
    f
}

/// Audio frame `n`: `n`, then a pattern.
pub fn audio_frame(n: u32) -> Vec<u8> {
    let mut f = n.to_be_bytes().to_vec();
    f.extend((0..60u32).map(|i| (i ^ n) as u8));
    f
}

/// A WHEP offer for one video track, as a viewer sends.
pub fn whep_offer() -> String {
    Client::new(false, &[MediaKind::Video]).offer
}

/// A client that publishes one video track.
pub fn video_publisher() -> Client {
    Client::new(true, &[MediaKind::Video])
}

/// A publisher's offer of one video track, for tests that need only a WHIP request.
pub fn whip_offer() -> String {
    Client::new(true, &[MediaKind::Video]).offer
}

/// The frames of a VP8 IVF file made by ffmpeg, with their timestamps in 90 kHz ticks: real
/// video for tests that record a call.
pub fn vp8_frames(seconds: u32) -> Vec<(u64, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.ivf");
    let line = format!(
        "-f lavfi -i testsrc2=size=320x240:rate=30:duration={seconds} -c:v libvpx -deadline realtime -g 30 -b:v 300k"
    );
    let mut args: Vec<String> = line.split_whitespace().map(String::from).collect();
    args.push(path.display().to_string());
    super::ffmpeg(args);
    let bytes = std::fs::read(&path).unwrap();
    let den = u64::from(u32::from_le_bytes(bytes[16..20].try_into().unwrap()));
    let num = u64::from(u32::from_le_bytes(bytes[20..24].try_into().unwrap()));
    let mut frames = Vec::new();
    let mut at = 32;
    while at + 12 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let pts = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap());
        frames.push((pts * num * 90_000 / den, bytes[at + 12..at + 12 + size].to_vec()));
        at += 12 + size;
    }
    frames
}

/// Publishes `frames` (90 kHz timestamps, VP8) on `client`'s video track at their own pace
/// once connected, then returns (at most 60 s).
pub fn publish_frames(client: Client, frames: Vec<(u64, Vec<u8>)>) {
    let video = client.mid(MediaKind::Video);
    let stop = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let seen = connected.clone();
    let done = stop.clone();
    let mut next = 0;
    drive(
        client.rtc,
        client.socket,
        stop,
        move |rtc| {
            let Some(since) = *connected.lock().unwrap() else {
                return;
            };
            while let Some((pts, frame)) = frames.get(next) {
                if since.elapsed() < Duration::from_micros(pts * 1_000_000 / 90_000) {
                    return;
                }
                write_frame(rtc, video, Codec::Vp8, MediaTime::from_90khz(*pts), frame.clone());
                next += 1;
            }
            done.store(true, Ordering::Release);
        },
        move |_, e| {
            if matches!(e, Event::Connected) {
                *seen.lock().unwrap() = Some(Instant::now());
            }
        },
    );
}
