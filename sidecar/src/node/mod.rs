//! The node: a Holochain conductor with the media hApp (embedded, or one that already
//! runs) and the sidecar wired to it through the conductor's websockets.

pub mod embedded;
pub mod link;
pub mod network;
pub mod rendezvous;
pub mod retry;
pub mod sources;

pub use link::ConductorLink;
