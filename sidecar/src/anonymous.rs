//! Uploads to a node without the owner's credential, when the operator allows them
//! (`--anonymous-uploads`): they land as unpublished blobs that only the owner reads, start
//! no ladder, and count against per-client and total quotas ([`media_rules::quota`]).
//!
//! A client is the TCP peer's address. What is counted: the bytes of the blobs anonymous
//! clients left here (rebuilt from the blob index at start), the declared length of tus
//! uploads they have in progress (read from the uploads directory, so expiry and
//! termination need no bookkeeping), and the uploads taking bytes at this moment.

use crate::error::ApiError;
use crate::tus::TusUploads;
use media_rules::quota::{admit, Exceeded, Part, Quotas, Usage};
use media_store::blobs::BlobIndex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Who is uploading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uploader {
    /// The node's owner, or anyone on a standalone sidecar (which publishes nothing).
    Trusted,
    /// A client without the owner's credential, on a node that takes anonymous uploads.
    Anonymous(IpAddr),
}

/// What anonymous clients hold at this moment.
pub struct AnonymousUploads {
    quotas: Quotas,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    /// Bytes of finished blobs, and bytes reserved by uploads under way, per client.
    bytes: HashMap<IpAddr, u64>,
    /// Uploads taking bytes, per client.
    streams: HashMap<IpAddr, u32>,
}

impl Held {
    fn of(&self, client: IpAddr) -> Usage {
        Usage {
            bytes: self.bytes.get(&client).copied().unwrap_or(0),
            streams: self.streams.get(&client).copied().unwrap_or(0),
            tus_open: 0,
        }
    }

    fn total(&self) -> Usage {
        Usage {
            bytes: self.bytes.values().sum(),
            streams: self.streams.values().sum(),
            tus_open: 0,
        }
    }

    fn add(&mut self, client: IpAddr, usage: Usage) {
        *self.bytes.entry(client).or_default() += usage.bytes;
        *self.streams.entry(client).or_default() += usage.streams;
    }

    fn sub(&mut self, client: IpAddr, usage: Usage) {
        if let Some(b) = self.bytes.get_mut(&client) {
            *b = b.saturating_sub(usage.bytes);
        }
        if let Some(s) = self.streams.get_mut(&client) {
            *s = s.saturating_sub(usage.streams);
        }
        self.bytes.retain(|_, b| *b > 0);
        self.streams.retain(|_, s| *s > 0);
    }
}

impl AnonymousUploads {
    /// Counts the blobs anonymous clients left in `blobs`.
    pub fn open(quotas: Quotas, blobs: &BlobIndex) -> std::io::Result<Self> {
        let mut held = Held::default();
        for record in blobs.anonymous_records()? {
            if let Some(client) = record.anonymous.as_deref().and_then(|c| c.parse().ok()) {
                held.add(client, Usage::of_bytes(record.manifest.size));
            }
        }
        Ok(AnonymousUploads {
            quotas,
            held: Mutex::new(held),
        })
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits `ask` for `client`, counting what it and all anonymous clients hold. tus
    /// uploads in progress are read from disk only when `ask` wants bytes or an upload.
    fn admit(&self, held: &Held, client: IpAddr, ask: Usage, uploads: &TusUploads) -> Result<(), ApiError> {
        let (mine, all) = match ask.bytes > 0 || ask.tus_open > 0 {
            true => uploads.anonymous_in_progress(client)?,
            false => Default::default(),
        };
        let (mine, all) = (held.of(client).plus(mine), held.total().plus(all));
        admit(&self.quotas, mine, all, ask).map_err(refusal)
    }

    /// Admits a tus upload of `length` bytes and creates it with `create`, under one lock,
    /// so two creations cannot both take the last of a quota.
    pub fn create_tus<T>(
        &self,
        client: IpAddr,
        length: u64,
        uploads: &TusUploads,
        create: impl FnOnce() -> std::io::Result<T>,
    ) -> Result<T, ApiError> {
        let held = self.held();
        let ask = Usage {
            bytes: length,
            streams: 0,
            tus_open: 1,
        };
        self.admit(&held, client, ask, uploads)?;
        Ok(create()?)
    }

    /// Admits an upload taking bytes now: a plain upload reserves its `bytes`; a tus PATCH
    /// reserves none (its creation did). Held until the returned stream drops.
    pub fn start(
        self: &Arc<Self>,
        client: IpAddr,
        bytes: u64,
        uploads: &TusUploads,
    ) -> Result<Stream, ApiError> {
        let mut held = self.held();
        let ask = Usage {
            bytes,
            streams: 1,
            tus_open: 0,
        };
        self.admit(&held, client, ask, uploads)?;
        held.add(client, ask);
        Ok(Stream {
            uploads: self.clone(),
            client,
            held: ask,
        })
    }

    /// Counts a blob that a finished tus upload of `client` left here.
    pub fn stored(&self, client: IpAddr, bytes: u64) {
        self.held().add(client, Usage::of_bytes(bytes));
    }

    /// Gives back the bytes of a blob `client` left, which the owner removed.
    pub fn released(&self, client: IpAddr, bytes: u64) {
        self.held().sub(client, Usage::of_bytes(bytes));
    }
}

/// An anonymous upload taking bytes, and what it reserved.
pub struct Stream {
    uploads: Arc<AnonymousUploads>,
    client: IpAddr,
    held: Usage,
}

impl Stream {
    /// The upload became a blob kept for its client: its reserved bytes stay counted.
    pub fn stored(mut self) {
        self.held.bytes = 0;
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.uploads.held().sub(self.client, self.held);
    }
}

/// The answer to an upload over quota: too many at once may be tried again soon (`429`
/// with `Retry-After`); bytes and open uploads stay until the owner acts (`413`, `429`).
fn refusal(exceeded: Exceeded) -> ApiError {
    match exceeded {
        Exceeded::Client(Part::Bytes, _) | Exceeded::Total(Part::Bytes, _) => {
            ApiError::QuotaBytes(exceeded.to_string())
        }
        _ => ApiError::TooMany {
            message: exceeded.to_string(),
            retry_after: exceeded.is_transient().then_some(5),
        },
    }
}
