//! The Elohim Media sidecar: stores, verifies, streams and replicates the bytes whose
//! manifests live in the DHT.

pub mod access;
pub mod atomic;
pub mod blobs;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod error;
pub mod hash;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod node;
pub mod publish;
pub mod reader;
pub mod server;
pub mod state;
pub mod store;
pub mod tus;
pub mod upload_meta;
