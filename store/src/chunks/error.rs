//! What the store (chunk store, reader, ingest) can fail with, apart from how HTTP says it
//! (the sidecar's `ApiError` converts each).

use crate::hash::{Hash32, MalformedHash};
use std::io;

/// A failure of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The chunk is not in the store.
    #[error("chunk {0} is not held")]
    Missing(Hash32),
    /// The chunk's bytes do not hash to its name: it was quarantined.
    #[error("stored chunk {0} failed verification")]
    Corrupt(Hash32),
    /// The chunk's file changed while it was being verified.
    #[error("the file of chunk {0} changed while it was verified")]
    Changed(Hash32),
    /// A blob's stored chunks do not add up to the size its record says.
    #[error("stored chunks of {blob} add up to {held} bytes, not {size}")]
    ShortBlob {
        /// The blob.
        blob: Hash32,
        /// Its size as recorded.
        size: u64,
        /// The bytes its chunks hold.
        held: u64,
    },
    /// More bytes came than the limit takes.
    #[error("more than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A stored record names a chunk or blob by text that is not a hash.
    #[error("a stored record holds a malformed hash: {0}")]
    MalformedHash(#[from] MalformedHash),
    /// The filesystem, or a blocking task, failed.
    #[error("store I/O: {0}")]
    Io(#[from] io::Error),
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(e: tokio::task::JoinError) -> Self {
        StoreError::Io(io::Error::other(e))
    }
}
