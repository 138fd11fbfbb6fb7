//! The media thread: one UDP socket, every session's [`Rtc`], and the forwarding of frames
//! from publishers to the viewers of their call.
//!
//! Everything here runs on one OS thread, so no lock is held while media moves; the HTTP
//! handlers hand new sessions over by channel and end them through the [`Registry`]. A
//! panic inside one session's WebRTC state ends that session only.

use super::forward::{self, TrackRef};
use super::presence::{Presence, State};
use super::sessions::{Registry, Role};
use media_rules::bandwidth::DeliveryCap;
use media_rules::simulcast::{self, Layer, Take};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid, Rid};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

/// The least time between two keyframe requests to one publisher track: a viewer joining
/// right after another still gets its keyframe, once the window ends.
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);
/// The longest the thread waits for a packet before it looks at new and ended sessions.
const MAX_WAIT: Duration = Duration::from_millis(20);
/// A session whose ICE has not connected by then is dropped.
const CONNECT_WITHIN: Duration = Duration::from_secs(30);
/// A publisher whose media stops for this long shows as stalled.
const STALLED_AFTER: Duration = Duration::from_secs(1);
/// How often the rate sent to viewers (for the Relay's bandwidth budget) and the rate of
/// each simulcast layer are measured.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// The frame interval a viewer track assumes before it has seen two frames (90 kHz ticks,
/// 30 frames a second).
const DEFAULT_FRAME_TICKS: u64 = 3_000;
/// A simulcast layer with no frame for this long is not chosen (a browser pauses its upper
/// layers when its uplink is short).
const LAYER_GONE_AFTER: Duration = Duration::from_secs(1);

/// Sessions a test makes panic inside their WebRTC state, at the thread's next turn.
#[cfg(test)]
pub(super) static PANIC_IN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A session the HTTP layer admitted, with its answered offer.
pub(super) struct NewSession {
    pub id: String,
    pub call: String,
    pub role: Role,
    pub rtc: Rtc,
    /// A viewer's own publishing session, which it is not sent.
    pub besides: Option<String>,
    /// Told once the thread holds the session, so the answer goes out only when the
    /// client's first connectivity check will find it (a lost first check costs the
    /// client a retransmission timeout, about a second).
    pub taken: std::sync::mpsc::SyncSender<()>,
}

/// A layer a publisher track sends: the track itself without simulcast (no rid).
struct Sent {
    rid: Option<Rid>,
    layer: Layer,
    /// Bytes received since the rate was last measured.
    bytes: u64,
    /// When its last frame arrived.
    last_at: Instant,
}

/// One media section of a session.
struct Track {
    mid: Mid,
    kind: MediaKind,
    /// Publisher tracks: the layers a keyframe was asked of and not yet requested.
    keyframe_wanted: Vec<Option<Rid>>,
    last_keyframe_request: Option<Instant>,
    /// Publisher video tracks: the layers it sends, in the order first seen.
    layers: Vec<Sent>,
    /// Viewer video tracks: the layer forwarded now; none before its first keyframe, which
    /// a decoder can start on.
    layer: Option<Option<Rid>>,
    /// Viewer tracks: the publisher track (session id, mid) it was last fed from; another
    /// one (the publishers before moved up) starts again at a keyframe.
    source: Option<(String, Mid)>,
    /// Viewer tracks: added to a forwarded frame's media time, so that time runs on
    /// across a switch of layers or publishers (each has an RTP clock of its own).
    shift: i64,
    /// Viewer tracks: the media time of the last frame forwarded and when it went, and the
    /// interval between the last two.
    last_out: Option<(u64, Instant)>,
    frame_ticks: u64,
}

impl Track {
    fn new(mid: Mid, kind: MediaKind) -> Self {
        Track {
            mid,
            kind,
            keyframe_wanted: Vec::new(),
            last_keyframe_request: None,
            layers: Vec::new(),
            layer: None,
            source: None,
            shift: 0,
            last_out: None,
            frame_ticks: DEFAULT_FRAME_TICKS,
        }
    }

    /// Asks for a keyframe of `rid` at the next request.
    fn want_keyframe(&mut self, rid: Option<Rid>) {
        if !self.keyframe_wanted.contains(&rid) {
            self.keyframe_wanted.push(rid);
        }
    }

    /// Publisher tracks: the layer to forward under `cap` (`None`: none fits), among those
    /// still arriving (all of them when none is); the track itself before any media
    /// arrived.
    fn chosen(&self, cap: DeliveryCap) -> Option<Option<Rid>> {
        if self.layers.is_empty() {
            return Some(None);
        }
        let arriving: Vec<&Sent> = self
            .layers
            .iter()
            .filter(|l| l.last_at.elapsed() <= LAYER_GONE_AFTER)
            .collect();
        let candidates = match arriving.is_empty() {
            true => self.layers.iter().collect(),
            false => arriving,
        };
        let layers: Vec<Layer> = candidates.iter().map(|l| l.layer).collect();
        simulcast::layer_for(&layers, cap).map(|i| candidates[i].rid)
    }

    /// Publisher tracks: whether it sends simulcast layers (rather than the track itself).
    fn is_simulcast(&self) -> bool {
        self.layers.iter().any(|l| l.rid.is_some())
    }

    /// Publisher tracks: counts a frame of layer `rid`, and its height if it says; the
    /// layer's index.
    fn count(&mut self, data: &MediaData) -> usize {
        let at = match self.layers.iter().position(|l| l.rid == data.rid) {
            Some(at) => at,
            None => {
                self.layers.push(Sent {
                    rid: data.rid,
                    layer: Layer::default(),
                    bytes: 0,
                    last_at: Instant::now(),
                });
                self.layers.len() - 1
            }
        };
        let sent = &mut self.layers[at];
        sent.bytes += data.data.len() as u64;
        sent.last_at = Instant::now();
        if let Some(height) = simulcast::vp8_keyframe_height(&data.data) {
            sent.layer.height = Some(height);
        }
        at
    }

    /// Viewer tracks: the media time to send a frame stamped `time` with, `now`. A frame
    /// that starts a new layer or publisher follows the last one sent by the time that
    /// passed since, and at least one frame interval.
    fn rebased(&mut self, time: MediaTime, switched: bool, now: Instant) -> MediaTime {
        if switched {
            self.shift = match self.last_out {
                Some((last, at)) => {
                    let hz = u64::from(time.frequency().get());
                    let passed =
                        u64::try_from(now.duration_since(at).as_micros() * u128::from(hz) / 1_000_000)
                            .unwrap_or(u64::MAX);
                    last.wrapping_add(passed.clamp(self.frame_ticks, 10 * hz))
                        .wrapping_sub(time.numer()) as i64
                }
                None => 0,
            };
        }
        let out = time.numer().wrapping_add_signed(self.shift);
        if let Some((last, _)) = self.last_out {
            let step = out.wrapping_sub(last);
            if (1..=90_000).contains(&step) {
                self.frame_ticks = step;
            }
        }
        self.last_out = Some((out, now));
        MediaTime::new(out, time.frequency())
    }
}

struct Session {
    id: String,
    call: String,
    role: Role,
    rtc: Rtc,
    /// A viewer's own publishing session, which it is not sent.
    besides: Option<String>,
    tracks: Vec<Track>,
    created: Instant,
    connected: bool,
    next_timeout: Instant,
    /// Has input or forwarded media that `poll_output` has not yet drained.
    dirty: bool,
    /// Its WebRTC state panicked; it is dropped at the next sweep.
    broken: bool,
    /// What presence last said of it.
    state: State,
    /// When a publisher's last frame arrived.
    last_media: Option<Instant>,
}

impl Session {
    fn new(n: NewSession) -> Self {
        let now = Instant::now();
        Session {
            id: n.id,
            call: n.call,
            role: n.role,
            rtc: n.rtc,
            besides: n.besides,
            tracks: Vec::new(),
            created: now,
            connected: false,
            next_timeout: now,
            dirty: true,
            broken: false,
            state: State::Joined,
            last_media: None,
        }
    }

    fn alive(&self) -> bool {
        !self.broken && self.rtc.is_alive() && (self.connected || self.created.elapsed() < CONNECT_WITHIN)
    }

    /// Runs `f` on this session's state; a panic marks the session broken instead of
    /// ending the thread.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Rtc) -> T) -> Option<T> {
        if self.broken {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| f(&mut self.rtc))) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::error!(session = %self.id, call = %self.call, "a WebRTC session panicked; it is closed");
                self.broken = true;
                None
            }
        }
    }

    /// Tracks of `kind`, by index, in their order.
    fn tracks_of(&self, kind: MediaKind) -> Vec<usize> {
        (0..self.tracks.len())
            .filter(|i| self.tracks[*i].kind == kind)
            .collect()
    }
}

/// The thread's state.
pub(super) struct MediaLoop {
    socket: UdpSocket,
    local: SocketAddr,
    sessions: Vec<Session>,
    /// Which session last accepted packets from an address.
    by_source: HashMap<SocketAddr, String>,
    registry: Arc<Registry>,
    seen_generation: u64,
    presence: Arc<Presence>,
    recorder: Option<super::record::Recorder>,
    /// Bytes sent to viewers since `window_start`.
    sent_to_viewers: u64,
    window_start: Instant,
    /// The node's delivery cap, which decides the simulcast layer viewers get.
    cap: DeliveryCap,
}

impl MediaLoop {
    pub(super) fn new(
        socket: UdpSocket,
        local: SocketAddr,
        registry: Arc<Registry>,
        presence: Arc<Presence>,
        recorder: Option<super::record::Recorder>,
        cap: DeliveryCap,
    ) -> Self {
        MediaLoop {
            cap,
            presence,
            recorder,
            socket,
            local,
            sessions: Vec::new(),
            by_source: HashMap::new(),
            seen_generation: registry.generation(),
            registry,
            sent_to_viewers: 0,
            window_start: Instant::now(),
        }
    }

    /// Runs until `stop` is set.
    pub(super) fn run(mut self, incoming: Receiver<NewSession>, stop: Arc<AtomicBool>) {
        let mut buf = vec![0u8; 2000];
        while !stop.load(Ordering::Acquire) {
            while let Ok(n) = incoming.try_recv() {
                self.presence.set(&n.call, &n.id, n.role, State::Joined);
                let taken = n.taken.clone();
                self.sessions.push(Session::new(n));
                let _ = taken.try_send(());
            }
            #[cfg(test)]
            self.panic_where_asked();
            self.sweep();
            self.mark_stalled();
            self.drain();
            self.request_keyframes();
            self.drain();
            self.measure_rate();
            let now = Instant::now();
            let next = self.sessions.iter().map(|s| s.next_timeout).min();
            let wait = next
                .map_or(MAX_WAIT, |t| t.saturating_duration_since(now))
                .clamp(Duration::from_millis(1), MAX_WAIT);
            if self.socket.set_read_timeout(Some(wait)).is_err() {
                tracing::error!("the RTC socket refuses a read timeout; the media thread stops");
                return;
            }
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => self.receive(&buf[..n], source),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => tracing::warn!(error = %e, "RTC socket read failed"),
            }
            let now = Instant::now();
            for s in self.sessions.iter_mut().filter(|s| s.next_timeout <= now) {
                if s.guarded(|rtc| rtc.handle_input(Input::Timeout(now)))
                    .is_some_and(|r| r.is_err())
                {
                    s.rtc.disconnect();
                }
                s.dirty = true;
            }
        }
    }

    /// Drops sessions that ended (by `DELETE`), died, or never connected.
    fn sweep(&mut self) {
        let generation = self.registry.generation();
        let registry_changed = generation != self.seen_generation;
        self.seen_generation = generation;
        let registry = &self.registry;
        let mut ended = Vec::new();
        let presence = &self.presence;
        let recorder = &self.recorder;
        self.sessions.retain_mut(|s| {
            let keep = s.alive() && (!registry_changed || registry.contains(&s.id));
            if !keep {
                if s.rtc.is_alive() && !s.broken {
                    s.rtc.disconnect();
                }
                // Its streams go back to the budget before anyone is told it left.
                registry.forget(&s.id);
                presence.set(&s.call, &s.id, s.role, State::Left);
                if let (Some(recorder), Role::Publish) = (recorder, s.role) {
                    recorder.end(&s.id);
                }
                ended.push(s.id.clone());
            }
            keep
        });
        for id in ended {
            tracing::debug!(session = %id, "RTC session ended");
            self.by_source.retain(|_, v| *v != id);
        }
    }

    /// Panics inside the WebRTC state of the sessions a test named in [`PANIC_IN`].
    #[cfg(test)]
    fn panic_where_asked(&mut self) {
        let mut named = PANIC_IN.lock().unwrap();
        for s in self.sessions.iter_mut().filter(|s| named.contains(&s.id)) {
            s.guarded(|_| panic!("a panic a test asked for"));
        }
        // Each thread takes only its own sessions: other tests run other SFUs.
        named.retain(|id| self.sessions.iter().all(|s| &s.id != id));
    }

    /// Tells the registry the rate sent to viewers over the last window.
    fn measure_rate(&mut self) {
        let elapsed = self.window_start.elapsed();
        if elapsed < RATE_WINDOW {
            return;
        }
        let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.registry
            .set_kbps(media_rules::relay::kbps(self.sent_to_viewers, millis));
        self.sent_to_viewers = 0;
        let layers = self
            .sessions
            .iter_mut()
            .filter(|s| s.role == Role::Publish)
            .flat_map(|s| s.tracks.iter_mut())
            .flat_map(|t| t.layers.iter_mut());
        for sent in layers {
            let kbps = media_rules::relay::kbps(std::mem::take(&mut sent.bytes), millis);
            let kbps = u32::try_from(kbps).unwrap_or(u32::MAX);
            // Averaged with the window before, so one burst (a keyframe, a catch-up) does
            // not move viewers to another layer.
            sent.layer.kbps = match sent.layer.kbps {
                0 => kbps,
                before => before / 2 + kbps / 2,
            };
        }
        self.window_start = Instant::now();
    }

    /// Says so of publishers whose media stopped.
    fn mark_stalled(&mut self) {
        let now = Instant::now();
        for s in self.sessions.iter_mut().filter(|s| s.state == State::Publishing) {
            if s.last_media
                .is_some_and(|t| now.duration_since(t) >= STALLED_AFTER)
            {
                s.state = State::Stalled;
                self.presence.set(&s.call, &s.id, s.role, State::Stalled);
            }
        }
    }

    /// Records a session's new state, for presence.
    fn show(&mut self, i: usize, state: State) {
        let s = &mut self.sessions[i];
        if s.state != state {
            s.state = state;
            self.presence.set(&s.call, &s.id, s.role, state);
        }
    }

    fn receive(&mut self, packet: &[u8], source: SocketAddr) {
        let Ok(contents) = packet.try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        let known = self
            .by_source
            .get(&source)
            .and_then(|id| self.sessions.iter().position(|s| &s.id == id))
            .filter(|i| !self.sessions[*i].broken && self.sessions[*i].rtc.accepts(&input));
        let Some(i) = known.or_else(|| {
            self.sessions
                .iter()
                .position(|s| !s.broken && s.rtc.accepts(&input))
        }) else {
            return;
        };
        let s = &mut self.sessions[i];
        if s.guarded(|rtc| rtc.handle_input(input))
            .is_some_and(|r| r.is_err())
        {
            s.rtc.disconnect();
        }
        s.dirty = true;
        if known.is_none() {
            self.by_source.insert(source, s.id.clone());
        }
    }

    /// Polls every session with pending work until each waits on time, sends what they
    /// transmit, and acts on their events (forwarding may make viewers dirty again).
    fn drain(&mut self) {
        for _ in 0..4 {
            let mut events = Vec::new();
            let mut sent_to_viewers = 0u64;
            for (i, s) in self.sessions.iter_mut().enumerate().filter(|(_, s)| s.dirty) {
                s.dirty = false;
                loop {
                    if !s.rtc.is_alive() {
                        break;
                    }
                    match s.guarded(|rtc| rtc.poll_output()) {
                        Some(Ok(Output::Transmit(t))) => {
                            match self.socket.send_to(&t.contents, t.destination) {
                                Ok(n) if s.role == Role::View => sent_to_viewers += n as u64,
                                Ok(_) => {}
                                Err(e) => tracing::debug!(error = %e, to = %t.destination, "RTC send failed"),
                            }
                        }
                        Some(Ok(Output::Timeout(t))) => {
                            s.next_timeout = t;
                            break;
                        }
                        Some(Ok(Output::Event(e))) => events.push((i, e)),
                        Some(Err(e)) => {
                            tracing::debug!(session = %s.id, error = %e, "RTC session failed");
                            s.rtc.disconnect();
                            break;
                        }
                        None => break,
                    }
                }
            }
            self.sent_to_viewers += sent_to_viewers;
            if events.is_empty() {
                return;
            }
            for (i, event) in events {
                self.on_event(i, event);
            }
        }
    }

    fn on_event(&mut self, i: usize, event: Event) {
        match event {
            Event::Connected => {
                self.sessions[i].connected = true;
                if self.sessions[i].role == Role::View {
                    self.show(i, State::Watching);
                    self.want_keyframes_for(i);
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.sessions[i].rtc.disconnect();
            }
            Event::MediaAdded(added) => {
                let s = &mut self.sessions[i];
                s.tracks.push(Track::new(added.mid, added.kind));
                // A viewer that joins a call already under way, or a publisher that joins
                // one already watched: either way, viewers want a keyframe. (str0m tells of
                // media after the connection is up, so this is where a new viewer's first
                // keyframe is asked for.)
                if added.kind == MediaKind::Video {
                    match s.role {
                        Role::Publish => s.tracks.last_mut().expect("just pushed").want_keyframe(None),
                        Role::View => self.want_keyframes_for(i),
                    }
                }
            }
            Event::MediaData(data) if self.sessions[i].role == Role::Publish => {
                if let Some(recorder) = &self.recorder {
                    recorder.frame(&self.sessions[i].id, &self.sessions[i].call, &data);
                }
                self.sessions[i].last_media = Some(Instant::now());
                self.show(i, State::Publishing);
                self.forward(i, data)
            }
            Event::KeyframeRequest(req) if self.sessions[i].role == Role::View => {
                let Some(t) = self.sessions[i].tracks.iter().position(|t| t.mid == req.mid) else {
                    return;
                };
                if let Some(from) = self.source_of(i, t) {
                    self.want_chosen_keyframe(from);
                }
            }
            _ => {}
        }
    }

    /// The publisher tracks of `kind` in call `call`, in the forwarding order.
    fn publisher_tracks(&self, call: &str, kind: MediaKind) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for (si, s) in self.sessions.iter().enumerate() {
            if s.role == Role::Publish && s.call == call {
                out.extend(
                    s.tracks_of(kind)
                        .into_iter()
                        .map(|track| TrackRef { session: si, track }),
                );
            }
        }
        out
    }

    /// The index of the session viewer `i` leaves out, if it is here.
    fn besides(&self, i: usize) -> Option<usize> {
        let besides = self.sessions[i].besides.as_deref()?;
        self.sessions.iter().position(|s| s.id == besides)
    }

    /// The publisher track feeding viewer `i`'s track `t`.
    fn source_of(&self, i: usize, t: usize) -> Option<TrackRef> {
        let viewer = &self.sessions[i];
        let kind = viewer.tracks[t].kind;
        forward::source(
            &self.publisher_tracks(&viewer.call, kind),
            &viewer.tracks_of(kind),
            t,
            self.besides(i),
        )
    }

    /// Asks every publisher whose video viewer `i` receives for a keyframe.
    fn want_keyframes_for(&mut self, i: usize) {
        let video = self.sessions[i].tracks_of(MediaKind::Video);
        for t in video {
            if let Some(from) = self.source_of(i, t) {
                self.want_chosen_keyframe(from);
            }
        }
    }

    /// Asks a publisher track for a keyframe of the layer viewers are to get.
    fn want_chosen_keyframe(&mut self, from: TrackRef) {
        let track = &mut self.sessions[from.session].tracks[from.track];
        if let Some(rid) = track.chosen(self.cap) {
            track.want_keyframe(rid);
        }
    }

    /// Sends the keyframe requests that are wanted and out of their throttle window.
    fn request_keyframes(&mut self) {
        let now = Instant::now();
        let cap = self.cap;
        for s in self
            .sessions
            .iter_mut()
            .filter(|s| s.role == Role::Publish && s.connected)
        {
            for t in 0..s.tracks.len() {
                let track = &s.tracks[t];
                let throttled = track
                    .last_keyframe_request
                    .is_some_and(|at| now.duration_since(at) < KEYFRAME_INTERVAL);
                if track.keyframe_wanted.is_empty() || throttled {
                    continue;
                }
                let mid = track.mid;
                // Asked of the track as a whole, a simulcast one: of the layer viewers are to
                // get, if any (a request without a rid goes to any of its layers).
                let rids: Vec<Option<Rid>> = track
                    .keyframe_wanted
                    .iter()
                    .filter_map(|rid| match (rid, track.is_simulcast()) {
                        (None, true) => track.chosen(cap).flatten().map(Some),
                        (rid, _) => Some(*rid),
                    })
                    .collect();
                s.guarded(|rtc| {
                    if let Some(mut writer) = rtc.writer(mid) {
                        for rid in rids {
                            let _ = writer.request_keyframe(rid, KeyframeRequestKind::Pli);
                        }
                    }
                });
                let track = &mut s.tracks[t];
                track.keyframe_wanted.clear();
                track.last_keyframe_request = Some(now);
                s.dirty = true;
            }
        }
    }

    /// Sends a publisher's frame to every viewer of its call whose track takes it. The
    /// frame's bytes are shared, not copied; each viewer's stack packetizes and encrypts
    /// them for its own connection.
    fn forward(&mut self, from_session: usize, data: MediaData) {
        let Some(t) = self.sessions[from_session]
            .tracks
            .iter()
            .position(|t| t.mid == data.mid)
        else {
            return;
        };
        let cap = self.cap;
        let track = &mut self.sessions[from_session].tracks[t];
        let keyframe = data.is_keyframe();
        // Video: which layer this frame is, and which one viewers are to get.
        let layers = (track.kind == MediaKind::Video).then(|| {
            let at = track.count(&data);
            let target = track.chosen(cap);
            // A gap in the layer viewers get: their decoders need a keyframe.
            if !data.contiguous && target == Some(data.rid) {
                track.want_keyframe(data.rid);
            }
            (target, track.layers[at].layer.fits(cap))
        });
        let kind = track.kind;
        let call = self.sessions[from_session].call.clone();
        let source = (self.sessions[from_session].id.clone(), data.mid);
        let publishers = self.publisher_tracks(&call, kind);
        let from = TrackRef {
            session: from_session,
            track: t,
        };
        let Some(slot) = forward::slot(&publishers, from, None) else {
            return;
        };
        let mut keyframe_wanted = false;
        let mut restart = false;
        for vi in 0..self.sessions.len() {
            let viewer = &self.sessions[vi];
            if viewer.role != Role::View || viewer.call != call || !viewer.connected {
                continue;
            }
            let slot = match viewer.besides {
                None => Some(slot),
                Some(_) => forward::slot(&publishers, from, self.besides(vi)),
            };
            let Some(vt) = slot.and_then(|slot| forward::target(&viewer.tracks_of(kind), slot)) else {
                continue;
            };
            let viewer = &mut self.sessions[vi];
            let track = &mut viewer.tracks[vt];
            if track.source.as_ref() != Some(&source) {
                // Fed by another publisher track now: from its next keyframe on.
                track.source = Some(source.clone());
                track.layer = None;
            }
            let switched = match layers {
                None => false,
                Some((target, fits)) => {
                    let current = track.layer.as_ref();
                    match simulcast::take(current, target.as_ref(), &data.rid, keyframe, fits) {
                        Take::Forward => false,
                        Take::Switch => true,
                        Take::AwaitKeyframe => {
                            keyframe_wanted = true;
                            continue;
                        }
                        Take::Restart => {
                            track.layer = None;
                            restart = true;
                            continue;
                        }
                        Take::Skip => continue,
                    }
                }
            };
            if switched {
                track.layer = Some(data.rid);
            }
            let time = track.rebased(data.time, switched, Instant::now());
            let mid = track.mid;
            let written = viewer.guarded(|rtc| {
                let writer = rtc.writer(mid)?;
                let pt = writer.match_params(data.params)?;
                Some(writer.write(pt, data.network_time, time, data.data.clone()))
            });
            match written.flatten() {
                Some(Err(e)) => {
                    tracing::debug!(session = %viewer.id, error = %e, "forwarding failed; the viewer is dropped");
                    viewer.rtc.disconnect();
                }
                Some(Ok(())) => viewer.dirty = true,
                None => {}
            }
        }
        if keyframe_wanted {
            self.sessions[from_session].tracks[t].want_keyframe(data.rid);
        }
        if restart {
            self.want_chosen_keyframe(from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use media_rules::BandwidthClass;

    fn sent(rid: &str, height: u32, kbps: u32, last_at: Instant) -> Sent {
        Sent {
            rid: Some(rid.into()),
            layer: Layer {
                height: Some(height),
                kbps,
            },
            bytes: 0,
            last_at,
        }
    }

    fn video_track() -> Track {
        Track::new(Mid::from("0"), MediaKind::Video)
    }

    #[test]
    fn a_layer_that_stops_arriving_is_not_chosen() {
        let mut track = video_track();
        let now = Instant::now();
        let stopped = now.checked_sub(Duration::from_secs(2)).unwrap();
        track.layers = vec![sent("h", 360, 600, stopped), sent("q", 180, 150, now)];
        let low = BandwidthClass::Low.cap();
        assert_eq!(track.chosen(low), Some(Some("q".into())));
        // Once every layer stopped (a stalled publisher), the choice stands as it was.
        track.layers[1].last_at = stopped;
        assert_eq!(track.chosen(low), Some(Some("h".into())));
    }

    #[test]
    fn media_time_runs_on_across_a_switch_of_layers() {
        let mut track = video_track();
        let at = |ticks| MediaTime::from_90khz(ticks);
        let start = Instant::now();
        let after = |millis| start + Duration::from_millis(millis);
        assert_eq!(track.rebased(at(1_000), true, after(0)).numer(), 1_000);
        assert_eq!(track.rebased(at(4_000), false, after(33)).numer(), 4_000);
        // Another layer, its clock millions of ticks away, right after: one frame on, then
        // its own pace.
        assert_eq!(track.rebased(at(9_000_000), true, after(40)).numer(), 7_000);
        assert_eq!(track.rebased(at(9_003_000), false, after(73)).numer(), 10_000);
        // A layer whose clock is behind: still forward.
        assert_eq!(track.rebased(at(500), true, after(80)).numer(), 13_000);
        // A switch half a second after the last frame: half a second on (45 000 ticks).
        assert_eq!(track.rebased(at(77), true, after(580)).numer(), 58_000);
    }
}
