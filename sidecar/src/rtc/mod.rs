//! Live calls and live streams: a small SFU that publishers join by WHIP and viewers by
//! WHEP, on one UDP port and one media thread (issue 19).
//!
//! The HTTP handlers admit a session against the Relay budget, answer its SDP offer and
//! hand it to the media thread; frames then flow from each call's publishers to its
//! viewers without passing through the async runtime. Who may join is decided above this
//! module (open on a standalone sidecar; the owner's, on a node).

mod forward;
mod media;
pub mod presence;
pub(crate) mod record;
pub(crate) mod sessions;

pub use sessions::{Role, Usage};

use media_rules::relay::{self, Admission};
use sessions::{Entry, Registry};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use str0m::change::SdpOffer;
use str0m::crypto::CryptoProvider;
use str0m::{Candidate, RtcConfig};

/// Where the SFU listens and what it tells clients.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RtcSettings {
    /// The UDP address media arrives on (port 0 for any free one).
    pub udp: SocketAddr,
    /// The address put in answers as the ICE candidate; the UDP address when it is a
    /// specific one.
    pub candidate: Option<SocketAddr>,
    /// Forwarded tracks carried at once (the Relay role's `max_concurrent_streams`).
    pub max_streams: u32,
    /// Mbit/s sent to viewers at most (the Relay role's `bandwidth_mbps`); uncapped when
    /// absent.
    #[serde(default)]
    pub max_mbps: Option<u32>,
    /// Whether publishers are recorded.
    #[serde(default = "recording_on")]
    pub record: bool,
}

fn recording_on() -> bool {
    true
}

impl RtcSettings {
    /// On loopback, any free port, with the default budget.
    pub fn loopback() -> Self {
        RtcSettings {
            udp: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            candidate: None,
            max_streams: relay::DEFAULT_MAX_STREAMS,
            max_mbps: None,
            record: true,
        }
    }
}

/// Why a join was refused.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The offer is not SDP the SFU can answer, or asks for the wrong direction.
    #[error("bad offer: {0}")]
    BadOffer(String),
    /// The Relay budget is spent.
    #[error("the relay carries all the streams or bandwidth it may; try again in {retry_after_secs} s")]
    OverBudget {
        /// For `Retry-After`.
        retry_after_secs: u32,
    },
    /// The media thread is gone.
    #[error("the media thread has stopped")]
    Stopped,
}

/// An admitted session: its id (the last segment of its `Location`) and the SDP answer.
#[derive(Debug, Clone)]
pub struct Joined {
    /// Unguessable: knowing it is what lets a client end the session.
    pub session: String,
    /// The SDP answer.
    pub answer: String,
}

/// The running SFU. Dropping it stops the media thread.
pub struct Sfu {
    registry: Arc<Registry>,
    presence: Arc<presence::Presence>,
    incoming: Mutex<SyncSender<media::NewSession>>,
    candidate: SocketAddr,
    crypto: Arc<CryptoProvider>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    finished: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<record::Finished>>>,
    recordings: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Sfu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sfu")
            .field("candidate", &self.candidate)
            .finish_non_exhaustive()
    }
}

impl Sfu {
    /// Binds the UDP socket and starts the media thread; with `settings.record`, the
    /// recorder too, writing under `recordings`.
    /// Viewers get the simulcast layer that fits `cap`, the node's delivery cap.
    pub fn start(
        settings: &RtcSettings,
        recordings: &std::path::Path,
        cap: media_rules::bandwidth::DeliveryCap,
    ) -> std::io::Result<Sfu> {
        let socket = UdpSocket::bind(settings.udp)?;
        let bound = socket.local_addr()?;
        let candidate = settings.candidate.unwrap_or_else(|| {
            if !bound.ip().is_unspecified() {
                return bound;
            }
            tracing::warn!(%bound, "the RTC socket listens on every address and no --rtc-candidate was given; clients are told loopback");
            let ip = match bound.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(ip, bound.port())
        });
        let registry = Arc::new(Registry::new(relay::Budget {
            streams: settings.max_streams,
            mbps: settings.max_mbps,
        }));
        let (tx, rx) = std::sync::mpsc::sync_channel(256);
        let stop = Arc::new(AtomicBool::new(false));
        let presence = Arc::new(presence::Presence::new(settings.record));
        let (done, finished) = tokio::sync::mpsc::unbounded_channel();
        let recorder = match settings.record {
            true => Some(record::Recorder::start(recordings.to_path_buf(), done)?),
            false => None,
        };
        let media_loop = media::MediaLoop::new(
            socket,
            candidate,
            registry.clone(),
            presence.clone(),
            recorder,
            cap,
        );
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rtc-media".into())
            .spawn(move || media_loop.run(rx, thread_stop))?;
        tracing::info!(
            udp = %bound,
            %candidate,
            max_streams = settings.max_streams,
            max_mbps = ?settings.max_mbps,
            "SFU listening"
        );
        Ok(Sfu {
            registry,
            presence,
            incoming: Mutex::new(tx),
            candidate,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
            stop,
            thread: Some(thread),
            finished: Mutex::new(Some(finished)),
            recordings: settings.record.then(|| recordings.to_path_buf()),
        })
    }

    /// Where recordings are written, when publishers are recorded.
    pub fn recordings(&self) -> Option<&std::path::Path> {
        self.recordings.as_deref()
    }

    /// The recordings whose publishers left, as they come (once: the first caller takes
    /// them).
    pub fn take_finished(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<record::Finished>> {
        self.finished.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The address clients send media to.
    pub fn candidate(&self) -> SocketAddr {
        self.candidate
    }

    /// Who is in which call, and what they do.
    pub fn presence(&self) -> &presence::Presence {
        &self.presence
    }

    /// What the relay carries now.
    pub fn usage(&self) -> Usage {
        self.registry.usage()
    }

    /// Admits a publisher (`Role::Publish`) or viewer into `call` with its SDP offer. A
    /// viewer may name a publishing session of the call that it is not to be sent
    /// (`besides`: its own).
    pub fn join(
        &self,
        call: &str,
        role: Role,
        offer: &str,
        besides: Option<String>,
    ) -> Result<Joined, JoinError> {
        let sections = relay::sections(offer);
        let streams = relay::check_offer(&sections, role == Role::Publish).map_err(JoinError::BadOffer)?;
        let parsed = SdpOffer::from_sdp_string(offer).map_err(|e| JoinError::BadOffer(e.to_string()))?;
        let session = random_id();
        let entry = Entry {
            call: call.to_string(),
            role,
            streams,
        };
        if let Admission::Refuse { retry_after_secs } = self.registry.admit(&session, entry) {
            return Err(JoinError::OverBudget { retry_after_secs });
        }
        let answered = (|| {
            let mut rtc = RtcConfig::new()
                .set_crypto_provider(self.crypto.clone())
                .set_ice_lite(true)
                .build(Instant::now());
            let candidate = Candidate::host(self.candidate, "udp")
                .map_err(|e| JoinError::BadOffer(format!("the SFU's candidate: {e}")))?;
            rtc.add_local_candidate(candidate);
            let answer = rtc
                .sdp_api()
                .accept_offer(parsed)
                .map_err(|e| JoinError::BadOffer(e.to_string()))?;
            Ok((rtc, answer.to_sdp_string()))
        })();
        let (rtc, answer) = match answered {
            Ok(v) => v,
            Err(e) => {
                self.registry.forget(&session);
                return Err(e);
            }
        };
        let (taken, held) = std::sync::mpsc::sync_channel(1);
        let handed = self
            .incoming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(media::NewSession {
                id: session.clone(),
                call: call.to_string(),
                role,
                rtc,
                besides,
                taken,
            })
            .is_ok()
            && held.recv_timeout(std::time::Duration::from_secs(5)).is_ok();
        if !handed {
            self.registry.forget(&session);
            return Err(JoinError::Stopped);
        }
        Ok(Joined { session, answer })
    }

    /// Ends session `session` of `call`; whether there was one.
    pub fn leave(&self, call: &str, session: &str) -> bool {
        self.registry.end(call, session)
    }
}

impl Drop for Sfu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// 128 random bits, hex.
fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::rtc_client::{publish_frames, video_publisher, vp8_frames, Client};
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;
    use str0m::media::MediaKind;

    /// A viewer of `call`'s video on its own thread, counting the frames it receives.
    fn watch(
        sfu: &Sfu,
        call: &str,
        stop: &Arc<AtomicBool>,
    ) -> (String, Arc<AtomicU64>, std::thread::JoinHandle<()>) {
        let mut viewer = Client::new(false, &[MediaKind::Video]);
        let joined = sfu.join(call, Role::View, &viewer.offer, None).unwrap();
        viewer.accept(&joined.answer);
        let frames = Arc::new(AtomicU64::new(0));
        let counted = frames.clone();
        let thread = viewer.receive(stop.clone(), move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        (joined.session, frames, thread)
    }

    /// Waits (at most 20 s) until `frames` counts at least `n`; whether it did.
    fn until_frames(frames: &AtomicU64, n: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if frames.load(Ordering::Relaxed) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Whether presence lists `session` in `call` as anything but gone.
    fn present(sfu: &Sfu, call: &str, session: &str) -> bool {
        let member = presence::member_id(session);
        sfu.presence().snapshot(call).0.iter().any(|m| m.member == member)
    }

    #[test]
    fn a_panic_in_one_session_closes_that_session_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let settings = RtcSettings {
            record: false,
            ..RtcSettings::loopback()
        };
        let sfu = Sfu::start(&settings, dir.path(), media_rules::BandwidthClass::High.cap()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        // Two calls, each with a publisher of real VP8 (a keyframe a second) and a viewer.
        let video = vp8_frames(12);
        let mut viewers = Vec::new();
        for call in ["a", "b"] {
            let (session, frames, thread) = watch(&sfu, call, &stop);
            viewers.push((session, frames));
            threads.push(thread);
            let mut publisher = video_publisher();
            let joined = sfu.join(call, Role::Publish, &publisher.offer, None).unwrap();
            publisher.accept(&joined.answer);
            let video = video.clone();
            std::thread::spawn(move || publish_frames(publisher, video));
        }
        for (_, frames) in &viewers {
            assert!(until_frames(frames, 10), "both viewers receive video first");
        }
        assert_eq!(sfu.usage().streams, 2);

        // Call a's viewer panics inside its WebRTC state.
        let (broken, _) = &viewers[0];
        media::PANIC_IN.lock().unwrap().push(broken.clone());
        let deadline = Instant::now() + Duration::from_secs(5);
        while present(&sfu, "a", broken) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !present(&sfu, "a", broken),
            "the session that panicked left its call"
        );
        assert_eq!(sfu.usage().streams, 1, "its stream is back in the budget");
        assert!(!sfu.leave("a", broken), "it is no longer a session");

        // The other call's viewer still receives video, and call a's publisher still
        // reaches a viewer who joins now: the media thread and the other sessions live on.
        let (_, b_frames) = &viewers[1];
        let seen = b_frames.load(Ordering::Relaxed);
        assert!(
            until_frames(b_frames, seen + 30),
            "call b's viewer keeps receiving video"
        );
        let (_, late, thread) = watch(&sfu, "a", &stop);
        threads.push(thread);
        assert!(
            until_frames(&late, 10),
            "a new viewer of call a receives its publisher's video"
        );

        stop.store(true, Ordering::Release);
        for t in threads {
            t.join().unwrap();
        }
    }
}
