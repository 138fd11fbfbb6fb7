//! Recording each publisher of a call as it happens: one thread writes every recording,
//! fed by the media thread through a queue whose frames in flight are bounded
//! ([`QUEUE_FRAMES`]; past it frames are dropped from the recording, never from the call).
//! A publisher's first video track goes to `video.ivf` (VP8, VP9, AV1; from its first
//! keyframe), its first audio track to `audio.ogg` (Opus), each timed from its own first
//! frame; `meta.json` says how far each starts after the recording does, for lip sync.
//! Files are synced to disk every [`SYNC_EVERY`]. When the publisher leaves, the recording
//! is handed on ([`Finished`]) to be turned into a blob; one left behind by a crash is
//! found at the next start ([`leftovers`]).

pub(crate) mod ivf;
pub(crate) mod ogg;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{MediaData, Mid, Rid};

/// Frames queued for the recorder at most; more are dropped from the recording.
pub(crate) const QUEUE_FRAMES: usize = 2048;
/// How often recordings are synced to disk.
pub(crate) const SYNC_EVERY: Duration = Duration::from_secs(3);
/// The recording's video file.
pub(crate) const VIDEO: &str = "video.ivf";
/// The recording's audio file.
pub(crate) const AUDIO: &str = "audio.ogg";
/// When each track starts, after the recording does.
pub(crate) const META: &str = "meta.json";

/// A publisher's frame, as the recorder needs it.
struct Frame {
    mid: Mid,
    rid: Option<Rid>,
    codec: Codec,
    /// Media time, in microseconds.
    time_us: u64,
    /// When its first packet arrived.
    at: Instant,
    keyframe: bool,
    data: Arc<[u8]>,
}

/// What the recorder is told.
enum Msg {
    Frame {
        session: String,
        call: String,
        frame: Frame,
    },
    End {
        session: String,
    },
}

/// A recording whose publisher left, ready to become a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The call.
    pub call: String,
    /// The recording's directory.
    pub dir: PathBuf,
}

/// When each track of a recording starts, in microseconds after the recording does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// The call.
    pub call: String,
    /// The video track's start.
    pub video_offset_us: Option<u64>,
    /// The audio track's start.
    pub audio_offset_us: Option<u64>,
}

/// The recorder: cheap to call from the media thread.
pub(crate) struct Recorder {
    tx: Sender<Msg>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    /// Starts the recording thread, writing under `root` (`root/{call}/{member}/`), and
    /// telling `finished` of each recording whose publisher left.
    pub(crate) fn start(
        root: PathBuf,
        finished: tokio::sync::mpsc::UnboundedSender<Finished>,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let writer = Writer {
            root,
            finished,
            queued: queued.clone(),
            recordings: HashMap::new(),
        };
        let thread = std::thread::Builder::new()
            .name("rtc-recorder".into())
            .spawn(move || writer.run(rx))?;
        Ok(Recorder {
            tx,
            queued,
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Some(thread),
        })
    }

    /// Queues a publisher's frame, or drops it from the recording when the queue is full.
    pub(crate) fn frame(&self, session: &str, call: &str, data: &MediaData) {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= QUEUE_FRAMES {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            let before = self.dropped.fetch_add(1, Ordering::Relaxed);
            if (before + 1).is_power_of_two() {
                tracing::warn!(
                    dropped = before + 1,
                    "the recording writer falls behind: frames are dropped from recordings (not from the call)"
                );
            }
            return;
        }
        let sent = self.tx.send(Msg::Frame {
            session: session.to_string(),
            call: call.to_string(),
            frame: Frame {
                mid: data.mid,
                rid: data.rid,
                codec: data.params.spec().codec,
                time_us: data.time.as_micros(),
                at: data.network_time,
                keyframe: data.is_keyframe(),
                data: data.data.clone(),
            },
        });
        if sent.is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The publisher `session` left: its recording is closed and handed on.
    pub(crate) fn end(&self, session: &str) {
        let _ = self.tx.send(Msg::End {
            session: session.to_string(),
        });
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Closing the channel ends the thread, which leaves open recordings on disk for
        // the next start.
        let (tx, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Recordings on disk under `root` that no publisher is writing (at a start: all of them).
pub(crate) fn leftovers(root: &Path) -> Vec<Finished> {
    let mut out = Vec::new();
    let Ok(calls) = std::fs::read_dir(root) else {
        return out;
    };
    for call in calls.flatten().filter(|e| e.path().is_dir()) {
        let Ok(members) = std::fs::read_dir(call.path()) else {
            continue;
        };
        for member in members.flatten().filter(|e| e.path().is_dir()) {
            out.push(Finished {
                call: call.file_name().to_string_lossy().into_owned(),
                dir: member.path(),
            });
        }
    }
    out
}

struct Video {
    mid: Mid,
    rid: Option<Rid>,
    first_us: Option<u64>,
    out: Option<ivf::IvfWriter<BufWriter<File>>>,
}

struct Audio {
    mid: Mid,
    first_us: u64,
    out: ogg::OggOpusWriter<BufWriter<File>>,
}

struct Recording {
    call: String,
    dir: PathBuf,
    started: Instant,
    meta: Meta,
    video: Option<Video>,
    audio: Option<Audio>,
    synced: Instant,
}

impl Recording {
    fn open(root: &Path, call: &str, session: &str, at: Instant) -> io::Result<Self> {
        let dir = root.join(call).join(super::presence::member_id(session));
        std::fs::create_dir_all(&dir)?;
        Ok(Recording {
            call: call.to_string(),
            dir,
            started: at,
            meta: Meta {
                call: call.to_string(),
                ..Meta::default()
            },
            video: None,
            audio: None,
            synced: Instant::now(),
        })
    }

    fn offset_us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_micros() as u64
    }

    fn write_meta(&self) -> io::Result<()> {
        let json = serde_json::to_vec(&self.meta).map_err(io::Error::other)?;
        media_store::atomic::write_atomic(&self.dir.join(META), &json)
    }

    fn frame(&mut self, f: &Frame) -> io::Result<()> {
        match f.codec {
            Codec::Opus => self.audio(f),
            Codec::Vp8 | Codec::Vp9 | Codec::Av1 => self.video(f),
            _ => Ok(()), // not recorded (H.264 and others have no container here yet)
        }
    }

    fn audio(&mut self, f: &Frame) -> io::Result<()> {
        let (mid, time_us, at, data) = (f.mid, f.time_us, f.at, &f.data[..]);
        if self.audio.is_none() {
            let file = BufWriter::new(File::create(self.dir.join(AUDIO))?);
            let out = ogg::OggOpusWriter::new(file, 1, 2)?;
            self.audio = Some(Audio {
                mid,
                first_us: time_us,
                out,
            });
            self.meta.audio_offset_us = Some(self.offset_us(at));
            self.write_meta()?;
        }
        let audio = self.audio.as_mut().expect("opened above");
        if audio.mid != mid {
            return Ok(());
        }
        let start = time_us.saturating_sub(audio.first_us) * 48 / 1000;
        audio.out.packet(start + ogg::opus_samples(data), data)
    }

    fn video(&mut self, f: &Frame) -> io::Result<()> {
        let (mid, rid, codec, time_us, at, keyframe, data) =
            (f.mid, f.rid, f.codec, f.time_us, f.at, f.keyframe, &f.data[..]);
        let video = self.video.get_or_insert(Video {
            mid,
            rid,
            first_us: None,
            out: None,
        });
        if video.mid != mid || video.rid != rid {
            return Ok(());
        }
        if video.out.is_none() {
            // A recording's video starts at a keyframe: frames before it decode to nothing.
            if !keyframe {
                return Ok(());
            }
            let (fourcc, (width, height)) = match codec {
                Codec::Vp8 => (*b"VP80", ivf::vp8_size(data).unwrap_or((0, 0))),
                Codec::Vp9 => (*b"VP90", (0, 0)),
                _ => (*b"AV01", (0, 0)),
            };
            let file = BufWriter::new(File::create(self.dir.join(VIDEO))?);
            video.out = Some(ivf::IvfWriter::new(file, fourcc, width, height)?);
            video.first_us = Some(time_us);
            self.meta.video_offset_us = Some(self.offset_us(at));
            self.write_meta()?;
        }
        let video = self.video.as_mut().expect("set above");
        let pts = time_us.saturating_sub(video.first_us.unwrap_or(time_us));
        video.out.as_mut().expect("opened above").frame(pts, data)
    }

    /// Flushes both files and syncs them to disk.
    fn sync(&mut self) -> io::Result<()> {
        if let Some(out) = self.video.as_mut().and_then(|v| v.out.as_mut()) {
            out.get_mut().flush()?;
            out.get_mut().get_ref().sync_data()?;
        }
        if let Some(audio) = self.audio.as_mut() {
            audio.out.get_mut().flush()?;
            audio.out.get_mut().get_ref().sync_data()?;
        }
        self.synced = Instant::now();
        Ok(())
    }

    /// Closes the files (the IVF header gets its frame count).
    fn close(mut self) -> io::Result<Finished> {
        self.sync()?;
        if let Some(out) = self.video.take().and_then(|v| v.out) {
            out.finish()?.flush()?;
        }
        Ok(Finished {
            call: self.call,
            dir: self.dir,
        })
    }
}

struct Writer {
    root: PathBuf,
    finished: tokio::sync::mpsc::UnboundedSender<Finished>,
    queued: Arc<AtomicUsize>,
    recordings: HashMap<String, Recording>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            match rx.recv_timeout(SYNC_EVERY) {
                Ok(Msg::Frame { session, call, frame }) => {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    let recording = match self.recordings.entry(session) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            match Recording::open(&self.root, &call, e.key(), frame.at) {
                                Ok(r) => e.insert(r),
                                Err(err) => {
                                    tracing::warn!(error = %err, %call, "a recording could not be opened");
                                    continue;
                                }
                            }
                        }
                    };
                    if let Err(e) = recording.frame(&frame) {
                        tracing::warn!(error = %e, call = %recording.call, "writing a recording failed");
                    }
                }
                Ok(Msg::End { session }) => {
                    if let Some(recording) = self.recordings.remove(&session) {
                        match recording.close() {
                            Ok(done) => {
                                let _ = self.finished.send(done);
                            }
                            Err(e) => tracing::warn!(error = %e, "closing a recording failed"),
                        }
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    for r in self.recordings.values_mut() {
                        let _ = r.sync();
                    }
                    return;
                }
            }
            for r in self
                .recordings
                .values_mut()
                .filter(|r| r.synced.elapsed() >= SYNC_EVERY)
            {
                if let Err(e) = r.sync() {
                    tracing::warn!(error = %e, call = %r.call, "syncing a recording failed");
                }
            }
        }
    }
}
