//! The Elohim Media sidecar: stores, verifies, streams and replicates the bytes whose
//! manifests live in the DHT.

// A list of byte ranges that holds one range is what the range code means by `vec![a..b]`.
#![allow(clippy::single_range_in_vec_init)]

pub mod access;
pub mod aligned;
pub mod anonymous;
pub mod atomic;
pub mod blob_hasher;
pub mod blob_record;
pub mod blobs;
pub mod call_access;
pub mod cli;
pub mod clock;
pub mod config;
pub mod custodian;
pub mod dht;
pub mod error;
pub mod fanout;
pub mod fetch_policy;
pub mod fetch_through;
pub mod gc;
pub mod hash;
pub mod http;
pub mod ingest;
pub mod ladder;
pub mod limits;
pub mod metrics;
pub mod network;
pub mod owner;
pub mod publish;
pub mod reader;
pub mod receipt;
pub mod recordings;
pub mod replicate;
pub mod rtc;
pub(crate) mod seal;
pub mod server;
pub mod sources;
pub mod state;
pub mod store;
pub mod streaming;
pub mod testkit;
pub mod tiers;
pub mod tus;
pub mod upload_meta;
pub mod uploaded;
pub mod worker;
pub mod zero_copy;
