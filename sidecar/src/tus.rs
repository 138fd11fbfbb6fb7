//! Resumable uploads after the tus 1.0 protocol (core, creation, termination): the bytes
//! of an unfinished upload live in `uploads/<id>.part`, its state in `uploads/<id>.json`.
//! Only when the last byte arrives is the file ingested into chunks and the blob recorded.

use crate::error::ApiError;
use crate::upload_meta::UploadMeta;
use media_store::atomic::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The state format this version writes.
pub(crate) const FORMAT: u32 = 1;

/// An upload's persisted state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadState {
    /// Format version.
    pub format: u32,
    /// The announced length.
    pub length: u64,
    /// The client's metadata (decoded `Upload-Metadata`).
    pub meta: UploadMeta,
    /// Set when the upload is finished: the resulting blob's receipt.
    pub done: Option<crate::receipt::Receipt>,
    /// Set when finishing a whole upload failed: it is not tried again before
    /// `retry_at`, so a failure is not repeated on every HEAD or GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<FinishFailure>,
    /// The client that created it without the owner's credential (see
    /// [`crate::anonymous`]): its blob is kept for that client, unpublished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<std::net::IpAddr>,
}

/// A failed attempt to turn a whole upload into a blob, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishFailure {
    /// The status the failure answered with.
    pub status: u16,
    /// What went wrong.
    pub error: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before this (seconds since the Unix epoch).
    pub retry_at: u64,
}

/// The first wait after a failed finish; it doubles with each attempt, up to [`RETRY_MAX`].
pub(crate) const RETRY_FIRST: u64 = 60;
/// The longest wait between attempts to finish an upload.
pub(crate) const RETRY_MAX: u64 = 3600;

impl FinishFailure {
    /// The record of one more failure after `previous` (if any), at `now`.
    pub fn after(previous: Option<&FinishFailure>, status: u16, error: String, now: u64) -> Self {
        let attempts = previous.map_or(0, |f| f.attempts) + 1;
        let wait = (RETRY_FIRST << (attempts - 1).min(16)).min(RETRY_MAX);
        FinishFailure {
            status,
            error,
            attempts,
            retry_at: now + wait,
        }
    }

    /// Whether it is too soon to try again at `now`.
    pub fn waiting(&self, now: u64) -> bool {
        now < self.retry_at
    }
}

/// The uploads directory and a lock per upload, so PATCHes to one upload run one at a time.
pub struct TusUploads {
    dir: PathBuf,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl TusUploads {
    /// Opens (creating) `dir/uploads`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let dir = dir.join("uploads");
        std::fs::create_dir_all(&dir)?;
        Ok(TusUploads {
            dir,
            locks: Mutex::new(HashMap::new()),
        })
    }

    /// Checks an upload id from a URL: 32 lowercase hex characters, nothing else.
    pub fn check_id(id: &str) -> Result<(), ApiError> {
        if id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(())
        } else {
            Err(ApiError::Invalid {
                field: "upload id",
                why: format!("'{id}' is not one this server made"),
            })
        }
    }

    /// Where the bytes of upload `id` go.
    pub fn part_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Creates an upload of `length` bytes.
    pub fn create(
        &self,
        length: u64,
        meta: UploadMeta,
        anonymous: Option<std::net::IpAddr>,
    ) -> io::Result<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        std::fs::File::create(self.part_path(&id))?;
        self.save(
            &id,
            &UploadState {
                format: FORMAT,
                length,
                meta,
                done: None,
                failed: None,
                anonymous,
            },
        )?;
        Ok(id)
    }

    /// Writes an upload's state atomically.
    pub fn save(&self, id: &str, state: &UploadState) -> io::Result<()> {
        write_atomic(
            &self.state_path(id),
            &serde_json::to_vec(state).map_err(io::Error::other)?,
        )
    }

    /// An upload's state and how many bytes it holds; `NotFound` for unknown ids.
    pub fn load(&self, id: &str) -> Result<(UploadState, u64), ApiError> {
        Self::check_id(id)?;
        let bytes = match std::fs::read(self.state_path(id)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ApiError::NotFound("upload")),
            Err(e) => return Err(e.into()),
        };
        let state: UploadState = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
        if state.format != FORMAT {
            return Err(
                io::Error::other(format!("upload state format {} is not supported", state.format)).into(),
            );
        }
        let offset = match &state.done {
            Some(_) => state.length,
            None => std::fs::metadata(self.part_path(id))
                .map(|m| m.len())
                .unwrap_or(0),
        };
        Ok((state, offset))
    }

    /// The unfinished uploads that anonymous clients created: those of `client`, and all
    /// of them (bytes are their declared lengths).
    pub fn anonymous_in_progress(
        &self,
        client: std::net::IpAddr,
    ) -> io::Result<(media_rules::quota::Usage, media_rules::quota::Usage)> {
        use media_rules::quota::Usage;
        let (mut mine, mut all) = (Usage::default(), Usage::default());
        for id in self.ids()? {
            let Ok((state, _)) = self.load(&id) else { continue };
            let Some(creator) = state.anonymous.filter(|_| state.done.is_none()) else {
                continue;
            };
            let one = Usage {
                bytes: state.length,
                streams: 0,
                tus_open: 1,
            };
            all = all.plus(one);
            if creator == client {
                mine = mine.plus(one);
            }
        }
        Ok((mine, all))
    }

    /// The ids of the uploads on disk (by their state files).
    fn ids(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if Self::check_id(id).is_ok() {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }

    /// Removes an upload's files.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        for path in [self.part_path(id), self.state_path(id)] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes unfinished uploads not written to for `expiry` (their `.part` file's
    /// modification time), and finished ones whose receipt is older; answers how many.
    pub fn expire(&self, expiry: std::time::Duration) -> io::Result<usize> {
        let now = std::time::SystemTime::now();
        let mut removed = 0;
        for id in self.ids()? {
            let touched = std::fs::metadata(self.part_path(&id))
                .or_else(|_| std::fs::metadata(self.state_path(&id)))
                .and_then(|m| m.modified())?;
            let idle = now.duration_since(touched).unwrap_or_default();
            // A request in progress holds the upload's lock; leave that upload alone.
            let lock = self.lock(&id);
            let Ok(_held) = lock.try_lock() else { continue };
            if idle >= expiry {
                self.remove(&id)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The lock that serialises requests to upload `id`.
    pub fn lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_string()).or_default().clone()
    }
}
