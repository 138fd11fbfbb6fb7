//! A WebRTC client for tests and benchmarks of the SFU: str0m on its own loopback UDP
//! socket, the offers it makes, the loop that drives it, and test frames.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
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
            .map(|k| (api.add_media(*k, dir, None, None, None), *k))
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
    let writer = rtc.writer(mid).expect("the track is negotiated");
    let pt = writer
        .payload_params()
        .find(|p| p.spec().codec == codec)
        .expect("the codec is negotiated")
        .pt();
    writer
        .write(pt, Instant::now(), rtp_time, frame)
        .expect("the frame is written");
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
