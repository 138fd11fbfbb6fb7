//! Turning a call's recordings into blobs: when a publisher leaves (or, after a crash, at
//! the next start), its recorded video and audio are put into one WebM without
//! re-encoding (ffmpeg, confined as for uploads), ingested like an upload (chunks,
//! SHA-256s, manifest), kept as this node's own, and sent through the ladder (H.264 and
//! HLS). On a node that wrote the call, the call's ContentNode then lists the recording, so
//! custodians replicate it like any upload. The temporary files go once the blob is stored;
//! what each call's recordings became is kept in `recordings/{call}/finished.json`.

use crate::error::ApiError;
use crate::ladder::sandbox;
use crate::rtc::record::{self, Finished, Meta};
use crate::state::Sidecar;
use hdi::prelude::ActionHash;
use media_rules::manifest::BlobManifest;
use media_store::blobs::Keeper;
use media_store::hash::Hash32;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Each call's list of stored recordings, in its directory.
pub const INDEX: &str = "finished.json";
/// Left in a recording's directory that could not be stored, with the reason; such a
/// recording is not tried again.
pub const FAILED: &str = "failed.txt";
/// The CPU seconds and wall-clock seconds the muxing may take.
const CPU_SECS: u64 = 300;
const WALL_SECS: u64 = 900;

/// A recording stored as a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The publisher's public id in the call's presence.
    pub member: String,
    /// The blob.
    pub hash: String,
    /// Its type: `video/webm`, or `audio/webm` without video.
    pub mime: String,
    /// Its ladder job, to follow.
    pub ladder: Option<String>,
    /// The manifest the call's content lists, on the node that wrote the call.
    pub manifest: Option<String>,
}

/// Stores the recordings a crash left behind, then each one whose publisher leaves, one
/// at a time, for as long as the SFU runs.
pub fn spawn(state: &Arc<Sidecar>) {
    let Some(sfu) = state.rtc.clone() else {
        return;
    };
    let (Some(root), Some(mut finished)) = (sfu.recordings().map(Path::to_path_buf), sfu.take_finished())
    else {
        return;
    };
    let state = state.clone();
    tokio::spawn(async move {
        for left in record::leftovers(&root) {
            if !left.dir.join(FAILED).exists() {
                store_logged(&state, &left).await;
            }
        }
        while let Some(done) = finished.recv().await {
            store_logged(&state, &done).await;
        }
    });
}

async fn store_logged(state: &Arc<Sidecar>, finished: &Finished) {
    match store(state, finished).await {
        Ok(Some(stored)) => {
            tracing::info!(call = %finished.call, hash = %stored.hash, "a call recording is stored")
        }
        Ok(None) => tracing::debug!(call = %finished.call, "a recording without media is dropped"),
        Err(e) => {
            tracing::warn!(call = %finished.call, error = %e, "a call recording could not be stored");
            let _ = std::fs::write(finished.dir.join(FAILED), e.to_string());
        }
    }
}

/// The recordings stored for `call` (`GET /api/rtc/{call}/recordings`).
pub fn list(state: &Sidecar, call: &str) -> Result<Vec<Stored>, ApiError> {
    let path = state.config.recordings_dir().join(call).join(INDEX);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ApiError::Io(std::io::Error::other(e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Stores one recording; `None` when it holds no media.
async fn store(state: &Arc<Sidecar>, finished: &Finished) -> Result<Option<Stored>, ApiError> {
    let dir = &finished.dir;
    let meta: Meta = std::fs::read(dir.join(record::META))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // An IVF header alone, or Ogg headers alone, hold no media.
    let has = |name: &str, header: u64| std::fs::metadata(dir.join(name)).is_ok_and(|m| m.len() > header);
    let (video, audio) = (has(record::VIDEO, 32), has(record::AUDIO, 128));
    if !video && !audio {
        std::fs::remove_dir_all(dir)?;
        return Ok(None);
    }
    let out = dir.join("recording.webm");
    mux(dir, &out, &meta, video, audio)
        .await
        .map_err(|e| ApiError::Internal(format!("muxing the recording: {e}")))?;
    let mime = match video {
        true => "video/webm",
        false => "audio/webm",
    };
    let manifest = crate::ingest::ingest_file(state, &out, mime.to_string()).await?;
    let hash: Hash32 = manifest.hash.parse()?;
    state.blobs.keep(manifest.clone(), &Keeper::Own)?;
    let published = match publish(state, &finished.call, &manifest).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(call = %finished.call, error = %e, "the call's content does not list its recording");
            None
        }
    };
    let ladder = crate::ladder::wants_ladder(mime).then(|| {
        crate::ladder::Ladders::start(state, hash);
        format!("/api/ladder/{hash}")
    });
    let stored = Stored {
        member: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        hash: hash.to_hex(),
        mime: mime.to_string(),
        ladder,
        manifest: published,
    };
    let index = dir.parent().unwrap_or(dir).join(INDEX);
    let mut all = list(state, &finished.call).unwrap_or_default();
    all.retain(|s| s.member != stored.member);
    all.push(stored.clone());
    let json = serde_json::to_vec_pretty(&all).map_err(|e| ApiError::Io(std::io::Error::other(e)))?;
    media_store::atomic::write_atomic(&index, &json)?;
    std::fs::remove_dir_all(dir)?;
    Ok(Some(stored))
}

/// Puts the recorded tracks into one WebM, each starting where it started in the call.
async fn mux(dir: &Path, out: &Path, meta: &Meta, video: bool, audio: bool) -> Result<(), String> {
    let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y"]
        .map(String::from)
        .to_vec();
    let mut input = |file: PathBuf, format: &str, offset_us: Option<u64>| {
        let offset = offset_us.unwrap_or(0) as f64 / 1e6;
        args.extend([
            "-itsoffset".to_string(),
            format!("{offset:.6}"),
            "-protocol_whitelist".into(),
            "file".into(),
            "-format_whitelist".into(),
            format.into(),
            "-f".into(),
            format.into(),
            "-i".into(),
            format!("file:{}", file.display()),
        ]);
    };
    if video {
        input(dir.join(record::VIDEO), "ivf", meta.video_offset_us);
    }
    if audio {
        input(dir.join(record::AUDIO), "ogg", meta.audio_offset_us);
    }
    if video {
        args.extend(["-map".into(), "0:v:0".into()]);
    }
    if audio {
        args.extend(["-map".into(), format!("{}:a:0", usize::from(video))]);
    }
    args.extend(["-c", "copy", "-f", "webm"].map(String::from));
    args.push(format!("file:{}", out.display()));
    let run = async {
        let output = sandbox::command("ffmpeg", CPU_SECS)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .await
            .map_err(|e| format!("ffmpeg could not start: {e}"))?;
        match output.status.success() {
            true => Ok(()),
            false => Err(format!(
                "{}: {}",
                sandbox::ended("muxing the recording", output.status, CPU_SECS),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    };
    sandbox::within("muxing the recording", WALL_SECS, run).await
}

/// On a node whose agent wrote the call, registers the recording's manifest and lists it
/// in the call's content; returns the manifest's id. A recording of another agent's call
/// stays this node's unpublished blob: only the author may change the call's content.
async fn publish(state: &Sidecar, call: &str, manifest: &BlobManifest) -> Result<Option<String>, ApiError> {
    let Some(link) = state.node() else {
        return Ok(None);
    };
    let Ok(id) = ActionHash::try_from(call.to_string()) else {
        return Ok(None);
    };
    let view = link.content(&id).await?;
    let Some(view) = view.filter(|v| &v.author == link.agent()) else {
        return Ok(None);
    };
    let reach = view
        .content
        .reach()
        .map_err(|why| ApiError::Invalid { field: "reach", why })?;
    let registered = link
        .register_manifest(media_integrity::BlobManifest(manifest.clone()), reach)
        .await?;
    let mut content = view.content.clone();
    content.blobs.push(registered.id.clone());
    crate::publish::replace_content(&*link, &view, content).await?;
    state.access.invalidate(&manifest.hash.parse()?).await;
    if reach.is_kept_off_dht() {
        state.deliver_shares();
    }
    Ok(Some(registered.id.to_string()))
}
