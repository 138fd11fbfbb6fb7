//! What a custodian is doing, as its owner's status shows it.

/// What a custodian is doing, as its owner's status shows it (`GET /api/node`): written
/// after every round.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// `storage`, `cache` or `relay`.
    pub role: String,
    /// The room it offers, in bytes.
    pub capacity_bytes: u64,
    /// The commitment's identity.
    pub commitment: String,
    /// When the commitment lapses unless renewed (µs since the Unix epoch).
    pub expires_at: i64,
    /// The replicas it keeps for others.
    pub replicas: Vec<HeldReplica>,
    /// Blobs placed here that are not whole and verified yet: pulled next round.
    pub repair_queue: Vec<String>,
    /// When the last round ended (µs since the Unix epoch).
    pub last_round_at: i64,
}

/// One replica in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HeldReplica {
    /// The blob's SHA-256.
    pub blob: String,
    /// Its manifest's identity.
    pub manifest: String,
    /// Whose content it is a copy of.
    pub author: String,
    /// The replica's state as last recorded.
    pub state: String,
    /// Its chunks held, as last recorded.
    pub chunks_held: u32,
}
