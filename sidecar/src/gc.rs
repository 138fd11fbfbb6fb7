//! Reclaiming what no blob owns: chunks that no blob record lists — left by an aborted
//! upload, a pull that never finished, or a `PUT` nobody completed — once they have not
//! been stored for a grace period, and tus uploads idle past their expiry. Runs every
//! [`INTERVAL`] in the background of a running sidecar.

use crate::state::Sidecar;
use crate::worker::Step;
use media_store::hash::Hash32;
use std::collections::HashSet;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long an unowned chunk is kept: long enough for the slowest upload or pull in
/// progress to finish and record its blob.
pub const GRACE: Duration = Duration::from_secs(24 * 3600);
/// How long an unfinished tus upload is kept after its last byte arrived.
pub const UPLOAD_EXPIRY: Duration = Duration::from_secs(24 * 3600);
/// Time between sweeps.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// What one sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    /// Unowned chunks deleted.
    pub chunks: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Expired tus uploads removed.
    pub uploads: usize,
}

/// Deletes the chunks no blob record lists that were last stored more than `grace` ago,
/// and the tus uploads idle for `upload_expiry`.
pub fn sweep(state: &Sidecar, grace: Duration, upload_expiry: Duration) -> io::Result<Swept> {
    let uploads = state.uploads.expire(upload_expiry)?;
    // The chunk list is read first: a chunk stored after this moment is not looked at,
    // and one stored before it but owned by a blob recorded since is in the owned set.
    let held = state.reader.store().list()?;
    let mut owned: HashSet<Hash32> = HashSet::new();
    for blob in state.blobs.list()? {
        if let Some(record) = state.blobs.get(&blob)? {
            owned.extend(record.chunk_hashes()?);
        }
    }
    let now = SystemTime::now();
    let mut swept = Swept {
        uploads,
        ..Swept::default()
    };
    for chunk in held {
        if owned.contains(&chunk.hash) || now.duration_since(chunk.stored).unwrap_or_default() < grace {
            continue;
        }
        if state.reader.store().delete(&chunk.hash)? {
            // Nor from its open mapping, its seal or the chunk tier.
            state.reader.forget(&chunk.hash);
            swept.chunks += 1;
            swept.bytes += chunk.len;
        }
    }
    if swept != Swept::default() {
        tracing::info!(
            chunks = swept.chunks,
            bytes = swept.bytes,
            uploads = swept.uploads,
            "swept unowned data"
        );
    }
    Ok(swept)
}

/// Sweeps every [`INTERVAL`] while the sidecar runs, the first time one interval after it
/// started.
pub fn spawn(state: Arc<Sidecar>) {
    let workers = state.workers.clone();
    workers.spawn(Sweeper { state });
}

/// The sweep as background work.
struct Sweeper {
    state: Arc<Sidecar>,
}

#[async_trait::async_trait]
impl crate::worker::Work for Sweeper {
    fn name(&self) -> &'static str {
        "sweep"
    }

    async fn step(&mut self) -> Result<Step, String> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || sweep(&state, GRACE, UPLOAD_EXPIRY))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Step::Idle(INTERVAL))
    }

    fn first_wait(&self) -> Duration {
        INTERVAL
    }
}
