//! The Elohim Media sidecar: stores, verifies, streams and replicates the bytes whose
//! manifests live in the DHT.

// A list of byte ranges that holds one range is what the range code means by `vec![a..b]`.
#![allow(clippy::single_range_in_vec_init)]
// What no other crate can reach is pub(crate), so a pub item is one another crate uses.
#![warn(unreachable_pub)]

pub(crate) mod access;
pub(crate) mod anonymous;
pub(crate) mod call_access;
pub mod cli;
pub(crate) mod clock;
pub mod config;
pub mod custodian;
pub mod dht;
pub mod error;
pub(crate) mod fetch_policy;
pub(crate) mod fetch_through;
pub mod gc;
pub mod http;
pub(crate) mod ingest;
pub mod ladder;
pub mod limits;
pub(crate) mod network;
pub mod owner;
pub mod publish;
pub(crate) mod receipt;
pub mod recordings;
pub mod replicate;
pub mod rtc;
pub mod server;
pub mod shares;
pub(crate) mod sources;
pub mod state;
pub(crate) mod streaming;
pub mod testkit;
pub(crate) mod tus;
pub(crate) mod upload_meta;
pub(crate) mod uploaded;
pub(crate) mod worker;
