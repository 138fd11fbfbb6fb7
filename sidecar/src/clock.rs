//! The wall clock, as the sidecar's records (seconds) and the DHT (microseconds) count it.

use hdi::prelude::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, as the DHT's timestamps count time.
pub(crate) fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(i64::MAX);
    Timestamp::from_micros(micros)
}
