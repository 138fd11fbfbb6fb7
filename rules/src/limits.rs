//! Bounds on field values, named once for validation, the coordinator and the sidecar.

use core::ops::RangeInclusive;

/// Smallest chunk size a manifest may use (64 KiB).
pub const MIN_CHUNK_SIZE: u32 = 64 * 1024;
/// Largest chunk size a manifest may use (16 MiB).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// The sidecar's default chunk size (1 MiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 1024 * 1024;
/// The largest blob a manifest may describe (1 TiB).
pub const MAX_BLOB_SIZE: u64 = 1 << 40;
/// Title length, in bytes.
pub const TITLE_LEN: RangeInclusive<usize> = 1..=300;
/// Description length, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 20_000;
/// How many invitees one piece of content may list.
pub const MAX_INVITEES: usize = 1_000;
/// How many blobs one piece of content may use.
pub const MAX_BLOBS: usize = 64;
/// How many fallback URLs a manifest may list.
pub const MAX_FALLBACK_URLS: usize = 8;
/// Longest URL, in bytes.
pub const MAX_URL_LEN: usize = crate::endpoint::MAX_URL_LEN;
/// Storage a custodian may offer, in GB.
pub const STORAGE_GB: RangeInclusive<u32> = 1..=1_000_000;
/// Copies of each chunk a storage custodian keeps.
pub const CHUNK_REDUNDANCY: RangeInclusive<u32> = 1..=10;
/// Cache a custodian may offer, in GB.
pub const CACHE_GB: RangeInclusive<u32> = 1..=100_000;
/// Concurrent streams a relay may carry.
pub const CONCURRENT_STREAMS: RangeInclusive<u32> = 1..=100_000;
/// A relay's bandwidth, in Mbit/s.
pub const BANDWIDTH_MBPS: RangeInclusive<u32> = 1..=400_000;
/// A custodian's cache priority.
pub const CACHE_PRIORITY: RangeInclusive<u32> = 0..=100;
/// Refresh interval, in days.
pub const REFRESH_DAYS: RangeInclusive<u32> = 1..=3_650;
/// Retention after deprecation or archiving, in days.
pub const RETENTION_DAYS: RangeInclusive<u32> = 0..=36_500;

/// Checks that `value` lies in `range`, naming the field when it does not.
pub fn check_range<T: PartialOrd + core::fmt::Display>(
    field: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{field} is {value}, out of range {}..={}",
            range.start(),
            range.end()
        ))
    }
}

/// Checks a URL field: an `http`/`https` URL with a host, on one line, of bounded length
/// ([`crate::endpoint::check_url`]); the error names the field.
pub fn check_url(field: &str, url: &str) -> Result<(), String> {
    crate::endpoint::check_url(url)
        .map(|_| ())
        .map_err(|e| format!("{field}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_the_field() {
        assert!(check_range("cache_priority", 100, CACHE_PRIORITY).is_ok());
        let err = check_range("cache_priority", 101, CACHE_PRIORITY).unwrap_err();
        assert!(err.starts_with("cache_priority is 101"), "{err}");
    }

    #[test]
    fn urls() {
        assert!(check_url("endpoint", "http://127.0.0.1:8080").is_ok());
        assert!(check_url("endpoint", "https://x.org/a?b").is_ok());
        assert!(check_url("endpoint", "ftp://x").is_err());
        assert!(check_url("endpoint", "http://").is_err());
        assert!(check_url("endpoint", "http://a b").is_err());
    }
}
