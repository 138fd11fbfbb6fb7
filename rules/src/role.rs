//! Custodian media roles and their capacity bounds.

use crate::limits::{self, check_range};
use crate::reach::Reach;
use serde::{Deserialize, Serialize};

/// What a custodian promises to do with media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum MediaRole {
    /// Keeps whole blobs for the long run.
    Storage {
        /// Storage offered, in GB.
        max_storage_gb: u32,
        /// Copies of each chunk kept on this custodian's disks.
        chunk_redundancy: u32,
    },
    /// Keeps hot chunks and serves them.
    Cache {
        /// Cache offered, in GB.
        max_cache_gb: u32,
        /// The reaches it serves, by name.
        serve_to_reach: Vec<String>,
    },
    /// Forwards live streams.
    Relay {
        /// Streams carried at once.
        max_concurrent_streams: u32,
        /// Bandwidth offered, in Mbit/s.
        bandwidth_mbps: u32,
    },
    /// A role name this version does not know; always refused by validation.
    #[serde(other)]
    Unknown,
}

impl MediaRole {
    /// The role's name.
    pub fn name(&self) -> &'static str {
        match self {
            MediaRole::Storage { .. } => "storage",
            MediaRole::Cache { .. } => "cache",
            MediaRole::Relay { .. } => "relay",
            MediaRole::Unknown => "unknown",
        }
    }

    /// Bytes this role may hold (0 for relays, which keep nothing).
    pub fn capacity_bytes(&self) -> u64 {
        const GB: u64 = 1_000_000_000;
        match self {
            MediaRole::Storage { max_storage_gb, .. } => u64::from(*max_storage_gb) * GB,
            MediaRole::Cache { max_cache_gb, .. } => u64::from(*max_cache_gb) * GB,
            _ => 0,
        }
    }

    /// Checks the role and its capacities; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        match self {
            MediaRole::Storage {
                max_storage_gb,
                chunk_redundancy,
            } => {
                check_range("media_role.max_storage_gb", *max_storage_gb, limits::STORAGE_GB)?;
                check_range(
                    "media_role.chunk_redundancy",
                    *chunk_redundancy,
                    limits::CHUNK_REDUNDANCY,
                )
            }
            MediaRole::Cache {
                max_cache_gb,
                serve_to_reach,
            } => {
                check_range("media_role.max_cache_gb", *max_cache_gb, limits::CACHE_GB)?;
                if serve_to_reach.is_empty() {
                    return Err("media_role.serve_to_reach must name at least one reach".into());
                }
                for (i, r) in serve_to_reach.iter().enumerate() {
                    Reach::parse(r).map_err(|e| format!("media_role.serve_to_reach[{i}]: {e}"))?;
                }
                Ok(())
            }
            MediaRole::Relay {
                max_concurrent_streams,
                bandwidth_mbps,
            } => {
                check_range(
                    "media_role.max_concurrent_streams",
                    *max_concurrent_streams,
                    limits::CONCURRENT_STREAMS,
                )?;
                check_range(
                    "media_role.bandwidth_mbps",
                    *bandwidth_mbps,
                    limits::BANDWIDTH_MBPS,
                )
            }
            MediaRole::Unknown => {
                Err("media_role: unknown role; expected one of: storage, cache, relay".into())
            }
        }
    }

    /// Whether a custodian in this role may be asked to keep content of `reach`.
    pub fn serves(&self, reach: Reach) -> bool {
        match self {
            MediaRole::Storage { .. } => true,
            MediaRole::Cache { serve_to_reach, .. } => serve_to_reach.iter().any(|r| r == reach.as_str()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_out_of_range_are_named() {
        let r = MediaRole::Storage {
            max_storage_gb: 0,
            chunk_redundancy: 2,
        };
        assert!(r.check().unwrap_err().starts_with("media_role.max_storage_gb"));
        let r = MediaRole::Storage {
            max_storage_gb: 10,
            chunk_redundancy: 11,
        };
        assert!(r.check().unwrap_err().starts_with("media_role.chunk_redundancy"));
        let r = MediaRole::Cache {
            max_cache_gb: 5,
            serve_to_reach: vec!["everywhere".into()],
        };
        assert!(r.check().unwrap_err().contains("everywhere"));
        assert!(MediaRole::Unknown.check().unwrap_err().contains("unknown role"));
    }

    #[test]
    fn cache_serves_only_its_reaches() {
        let r = MediaRole::Cache {
            max_cache_gb: 5,
            serve_to_reach: vec!["commons".into()],
        };
        assert!(r.serves(Reach::Commons));
        assert!(!r.serves(Reach::Local));
        assert!(!MediaRole::Relay {
            max_concurrent_streams: 1,
            bandwidth_mbps: 1
        }
        .serves(Reach::Commons));
    }
}
