//! The sidecar as an HTTP server on loopback, driven by a real HTTP client and by raw
//! sockets for requests no well-behaved client would send.

mod common;

mod bad_input;
mod caches;
mod chunks;
mod cli;
mod crate_graph;
mod hostile_media;
mod import_cycles;
mod limits;
mod pull;
mod ranges;
mod replication_trust;
mod rtc;
mod streaming;
mod sweep;
mod tus;
mod ui;
mod uploads;
