//! The ladder jobs of a sidecar and how far each has come.

use media_rules::manifest::Variant;
use media_store::hash::Hash32;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Where a ladder job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Waiting for the job before it.
    Queued,
    /// Reading the source.
    Probing,
    /// ffmpeg is running.
    Transcoding,
    /// Renditions are being cut into chunks and recorded.
    Storing,
    /// The renditions are being registered in the DHT.
    Publishing,
    /// Every rendition is stored and listed.
    Done,
    /// The job stopped; `error` says why.
    Failed,
}

/// A ladder job's progress, as `GET /api/ladder/{hash}` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The stage.
    pub stage: Stage,
    /// Percent of the transcode done (0–100).
    pub percent: f64,
    /// The renditions made, once stored.
    pub variants: Vec<Variant>,
    /// Why the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Progress {
    pub(super) fn at(stage: Stage, percent: f64) -> Self {
        Progress {
            stage,
            percent,
            variants: Vec::new(),
            error: None,
        }
    }

    /// Whether the job has ended, well or not.
    pub fn finished(&self) -> bool {
        matches!(self.stage, Stage::Done | Stage::Failed)
    }
}

/// The ladder jobs of this sidecar.
#[derive(Default)]
pub struct Ladders {
    pub(super) jobs: Mutex<HashMap<Hash32, Progress>>,
    /// The sources waiting for their job, first queued first; the ladder worker runs one
    /// at a time (transcoding takes every core).
    pub(super) queue: Mutex<VecDeque<Hash32>>,
    /// Wakes the ladder worker when a job is queued.
    pub(super) queued: Arc<Notify>,
    /// Whether the ladder worker was started.
    pub(super) worker: AtomicBool,
}

impl Ladders {
    /// The progress of the job for `source`, if one was started since this process began.
    pub fn progress(&self, source: &Hash32) -> Option<Progress> {
        self.jobs.lock().ok()?.get(source).cloned()
    }

    pub(super) fn set(&self, source: &Hash32, progress: Progress) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(*source, progress);
        }
    }
}
