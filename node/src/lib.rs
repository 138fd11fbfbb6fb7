//! The node: a Holochain conductor with the media hApp (embedded, or one that already
//! runs) and the sidecar wired to it through the conductor's websockets. This crate is the
//! only one that depends on Holochain's conductor and client; the sidecar asks the DHT
//! through [`sidecar::dht::Dht`], which [`ConductorLink`] implements.

pub mod bundle;
pub mod dht;
pub mod embedded;
pub mod link;
pub mod rendezvous;

pub use link::ConductorLink;
