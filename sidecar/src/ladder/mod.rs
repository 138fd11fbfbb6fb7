//! The adaptive-bitrate ladder: after a video or audio upload, ffmpeg makes CMAF
//! renditions ([`transcode`]), each is read for its segment index ([`fmp4`]) and stored as
//! a blob of its own, and the source's manifest lists them as variants. Jobs run one at
//! a time (transcoding takes every core) and report their progress. A job's work directory,
//! `ladder/<source>` under the data directory, is made when the job is queued and removed
//! when it ends, so a job that a restart cut short is found and run again ([`resume`]).

pub(crate) mod fmp4;
pub(crate) mod jobs;
pub mod probe;
pub(crate) mod sandbox;
pub mod transcode;

pub use jobs::{Ladders, Progress, Stage};

use crate::error::ApiError;
use crate::ingest::ingest_file;
use crate::state::Sidecar;
use media_rules::manifest::{BlobManifest, Variant};
use media_store::blobs::BlobRecord;
use media_store::hash::Hash32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

impl Ladders {
    /// Starts a job for `source` unless one is queued or running; answers whether it did.
    pub fn start(state: &Arc<Sidecar>, source: Hash32) -> bool {
        {
            let Ok(mut jobs) = state.ladders.jobs.lock() else {
                return false;
            };
            if jobs.get(&source).is_some_and(|p| !p.finished()) {
                return false;
            }
            jobs.insert(source, Progress::at(Stage::Queued, 0.0));
        }
        let work = work_dir(state, &source);
        if let Err(e) = std::fs::create_dir_all(&work) {
            tracing::warn!(blob = %source, error = %e, "a ladder job that a restart cuts short will not resume");
        }
        state
            .ladders
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(source);
        state.ladders.queued.notify_one();
        if !state
            .ladders
            .worker
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            state.workers.spawn(Jobs { state: state.clone() });
        }
        true
    }
}

/// Ladder jobs as background work: one job a unit, in the order they were queued.
struct Jobs {
    state: Arc<Sidecar>,
}

#[async_trait::async_trait]
impl crate::worker::Work for Jobs {
    fn name(&self) -> &'static str {
        "ladder jobs"
    }

    /// Runs the next queued job. A job that fails (media ffmpeg cannot read, a conductor
    /// that does not answer) says so in its progress; the worker goes on with the next.
    async fn step(&mut self) -> Result<crate::worker::Step, String> {
        let next = self
            .state
            .ladders
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        let Some(source) = next else {
            return Ok(crate::worker::Step::Idle(IDLE));
        };
        // On a task of its own, so that a job that panics fails alone, not the worker.
        let state = self.state.clone();
        let job = tokio::spawn(async move { run_job(&state, source, &work_dir(&state, &source)).await });
        if let Err(e) = job.await {
            tracing::error!(blob = %source, error = %e, "a ladder job panicked");
            let failed = Progress {
                error: Some("the ladder job stopped unexpectedly".into()),
                ..Progress::at(Stage::Failed, 0.0)
            };
            self.state.ladders.set(&source, failed);
        }
        Ok(crate::worker::Step::Busy)
    }

    fn wake(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(self.state.ladders.queued.clone())
    }
}

/// How long the ladder worker waits, with nothing queued, before it looks again (a queued
/// job wakes it at once).
const IDLE: Duration = Duration::from_secs(3600);

/// Runs the ladder job of `source` in its work directory `work`, and records how it ended.
async fn run_job(state: &Arc<Sidecar>, source: Hash32, work: &Path) {
    let result = run(state, source, work).await;
    let _ = tokio::fs::remove_dir_all(work).await;
    if result.is_err() && recorded_but_unregistered(state, &source) {
        // Registering failed (the conductor was unreachable): an empty work
        // directory makes the next start register the renditions.
        let _ = tokio::fs::create_dir_all(work).await;
    }
    let progress = match result {
        Ok(variants) => Progress {
            variants,
            ..Progress::at(Stage::Done, 100.0)
        },
        Err(e) => {
            tracing::warn!(blob = %source, error = %e, "ladder failed");
            Progress {
                error: Some(e),
                ..Progress::at(Stage::Failed, 0.0)
            }
        }
    };
    state.ladders.set(&source, progress);
}

/// Whether the renditions of `source` are recorded here but a node has not registered them.
fn recorded_but_unregistered(state: &Sidecar, source: &Hash32) -> bool {
    let recorded = matches!(state.blobs.get(source), Ok(Some(r)) if !r.manifest.variants.is_empty());
    recorded && state.is_node()
}

/// Where the job for `source` works; it exists while the job is queued or running, and
/// after a job whose renditions a node could not register, until it registers them.
fn work_dir(state: &Sidecar, source: &Hash32) -> PathBuf {
    state.config.data_dir.join("ladder").join(source.to_hex())
}

/// The jobs whose work directories are there, by source (see [`work_dir`]).
fn jobs_left(state: &Sidecar) -> Vec<(Hash32, PathBuf)> {
    let entries = std::fs::read_dir(state.config.data_dir.join("ladder"));
    entries
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let source = entry.file_name().to_str()?.parse::<Hash32>().ok()?;
            Some((source, entry.path()))
        })
        .collect()
}

/// Runs again the jobs that were queued or running when the sidecar last stopped: each left
/// its work directory behind. A job whose renditions were already recorded only registers
/// them (on a node), now and then every `register_retry_secs` until that succeeds; a
/// directory of a blob no longer held is removed.
pub fn resume(state: &Arc<Sidecar>) {
    for (source, dir) in jobs_left(state) {
        match state.blobs.get(&source) {
            Ok(Some(record)) if record.manifest.variants.is_empty() => {
                let _ = std::fs::remove_dir_all(dir);
                tracing::info!(blob = %source, "resuming a ladder job cut short");
                Ladders::start(state, source);
            }
            Ok(Some(_)) => {} // registered by the retries below
            Ok(None) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Err(e) => tracing::warn!(blob = %source, error = %e, "ladder job not resumed"),
        }
    }
    let workers = state.workers.clone();
    workers.spawn(Registrations { state: state.clone() });
}

/// Registering recorded renditions as background work: every `register_retry_secs`, and
/// as often after a failure.
struct Registrations {
    state: Arc<Sidecar>,
}

#[async_trait::async_trait]
impl crate::worker::Work for Registrations {
    fn name(&self) -> &'static str {
        "rendition registrations"
    }

    async fn step(&mut self) -> Result<crate::worker::Step, String> {
        register_recorded(&self.state).await?;
        Ok(crate::worker::Step::Idle(self.every()))
    }

    fn retry_after(&self, _failures: u32) -> Duration {
        self.every()
    }
}

impl Registrations {
    fn every(&self) -> Duration {
        Duration::from_secs(self.state.config.register_retry_secs.max(1))
    }
}

/// Registers the renditions of every job that recorded them but could not register them
/// (its directory stays until this succeeds), and marks the job done. Says why the first
/// that failed did, after trying every one.
async fn register_recorded(state: &Arc<Sidecar>) -> Result<(), String> {
    if !state.is_node() {
        return Ok(()); // nothing to register with; a node started on this data dir will
    }
    let mut failed = None;
    for (source, dir) in jobs_left(state) {
        if state.ladders.progress(&source).is_some_and(|p| !p.finished()) {
            continue;
        }
        let Ok(Some(record)) = state.blobs.get(&source) else {
            continue;
        };
        if record.manifest.variants.is_empty() {
            continue;
        }
        match crate::publish::publish_ladder(state, &record.manifest).await {
            Ok(_) => {
                let _ = tokio::fs::remove_dir_all(dir).await;
                tracing::info!(blob = %source, "renditions registered");
                state.ladders.set(
                    &source,
                    Progress {
                        variants: record.manifest.variants.clone(),
                        ..Progress::at(Stage::Done, 100.0)
                    },
                );
            }
            Err(e) => {
                tracing::warn!(blob = %source, error = %e, "registering the renditions failed; tried again later");
                failed.get_or_insert(format!("registering the renditions of {source}: {e}"));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Whether a blob of this MIME type gets a ladder: a video or audio container the
/// transcoder may read ([`media_rules::ladder::demuxers_for`]).
pub fn wants_ladder(mime: &str) -> bool {
    media_rules::ladder::demuxers_for(mime).is_some()
}

async fn run(state: &Arc<Sidecar>, source: Hash32, work: &Path) -> Result<Vec<Variant>, String> {
    let ladders = &state.ladders;
    ladders.set(&source, Progress::at(Stage::Probing, 0.0));
    let record = state
        .blobs
        .get(&source)
        .map_err(|e| e.to_string())?
        .ok_or("the source blob is not held here")?;
    tokio::fs::create_dir_all(work).await.map_err(|e| e.to_string())?;
    let file = work.join("source");
    assemble(state, &record, &file)
        .await
        .map_err(|e| format!("reading the source: {e}"))?;
    let mime = &record.manifest.mime_type;
    let demuxers = media_rules::ladder::demuxers_for(mime)
        .ok_or_else(|| format!("{mime} is not a type a ladder is made for"))?;
    let probe = probe::probe(&file, demuxers).await?;
    media_rules::ladder::SOURCE_BOUNDS.check(&probe.facts())?;
    let (outputs, args) = transcode::plan(&file, demuxers, &probe, work);
    if outputs.is_empty() {
        return Err("the source has neither video nor audio".into());
    }
    transcode::run(&args, probe.duration_s, |done| {
        ladders.set(
            &source,
            Progress::at(Stage::Transcoding, (done * 1000.0).round() / 10.0),
        );
    })
    .await?;
    ladders.set(&source, Progress::at(Stage::Storing, 100.0));
    let mut variants = Vec::new();
    for output in &outputs {
        variants.push(store_rendition(state, &source, &output.label, &output.path).await?);
    }
    let mut manifest = record.manifest.clone();
    manifest.variants = variants.clone();
    manifest.duration_ms = Some((probe.duration_s * 1000.0) as u64);
    manifest.check()?;
    state
        .blobs
        .put(BlobRecord {
            manifest: manifest.clone(),
            ..(*record).clone()
        })
        .map_err(|e| e.to_string())?;
    if state.is_node() {
        ladders.set(&source, Progress::at(Stage::Publishing, 100.0));
        crate::publish::publish_ladder(state, &manifest)
            .await
            .map_err(|e| {
                format!(
                    "registering the renditions: {e} (tried again every {} s, and when the node next starts)",
                    state.config.register_retry_secs
                )
            })?;
    }
    Ok(variants)
}

/// Writes the source's verified chunks into one file for ffmpeg.
async fn assemble(state: &Sidecar, record: &BlobRecord, path: &PathBuf) -> Result<(), ApiError> {
    let mut out = tokio::fs::File::create(path).await?;
    for hash in record.chunk_hashes()? {
        let bytes = state.reader.load_quietly(hash).await?;
        out.write_all(&bytes).await?;
    }
    out.flush().await?;
    Ok(())
}

/// Stores one rendition file of `source` as a blob with its segment index, and describes it.
async fn store_rendition(
    state: &Sidecar,
    source: &Hash32,
    label: &str,
    path: &Path,
) -> Result<Variant, String> {
    let layout = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || fmp4::read_layout(&mut std::fs::File::open(path)?))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{label}: {e}"))?
    };
    let mime = if layout.height == 0 {
        "audio/mp4"
    } else {
        "video/mp4"
    };
    let mut manifest: BlobManifest = ingest_file(state, path, mime.into())
        .await
        .map_err(|e| format!("{label}: {e}"))?;
    let peak = layout
        .index
        .segments
        .iter()
        .map(|s| s.span.len * 8 / u64::from(s.duration_ms))
        .max()
        .unwrap_or(1);
    let average = manifest.size * 8 / layout.duration_ms.max(1);
    manifest.codec = Some(layout.codecs.clone());
    manifest.bitrate_kbps = Some(average.max(1) as u32);
    manifest.duration_ms = Some(layout.duration_ms);
    manifest.segments = Some(layout.index);
    manifest.check().map_err(|e| format!("{label}: {e}"))?;
    let blob = manifest.hash.clone();
    state
        .blobs
        .put(BlobRecord {
            rendition_of: Some(source.to_hex()),
            ..BlobRecord::new(manifest)
        })
        .map_err(|e| e.to_string())?;
    Ok(Variant {
        label: label.into(),
        blob,
        width: layout.width,
        height: layout.height,
        bitrate_kbps: peak.max(1) as u32,
        codecs: layout.codecs,
    })
}
