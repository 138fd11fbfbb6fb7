//! Content hashes as the sidecar handles them: 32 bytes, lowercase hex on the wire.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 of a chunk or a blob.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The SHA-256 of `data`.
    pub fn of(data: &[u8]) -> Self {
        Hash32(Sha256::digest(data).into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        media_rules::hash::to_hex(&self.0)
    }
}

/// Text that is not a SHA-256 in lowercase hex, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedHash(pub String);

impl FromStr for Hash32 {
    type Err = MalformedHash;
    fn from_str(s: &str) -> Result<Self, MalformedHash> {
        media_rules::hash::parse_sha256_hex(s)
            .map(Hash32)
            .map_err(MalformedHash)
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl serde::Serialize for Hash32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
