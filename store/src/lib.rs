//! The Elohim Media store: the bytes of blobs, kept and read back verified. Chunks are
//! named by their SHA-256 and written crash-safe ([`chunks`], [`atomic`]); each read is
//! checked against its name, or against a seal on an unchanged file ([`reader`], [`seal`]);
//! the blob index says what is held whole and for whom ([`blobs`]); cache tiers keep hot
//! chunks and small blobs in memory ([`tiers`]); uploads are cut, hashed and written in one
//! pass ([`ingest`], [`blob_hasher`]). It knows neither HTTP nor Holochain: the sidecar
//! serves it, and the sweep (`sidecar::gc`) is the one deleter of chunks.

// What no other crate can reach is pub(crate), so a pub item is one another crate may use.
#![warn(unreachable_pub)]

pub(crate) mod aligned;
pub mod atomic;
pub mod blob_hasher;
pub mod blob_record;
pub mod blobs;
pub mod chunks;
pub mod clock;
pub(crate) mod fanout;
pub mod hash;
pub mod ingest;
pub mod metrics;
pub mod reader;
pub(crate) mod seal;
pub mod tiers;
pub mod zero_copy;
