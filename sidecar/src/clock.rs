//! The wall clock, as the sidecar's records (seconds) and the DHT (microseconds) count it.

use hdi::prelude::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use media_store::clock::now_secs;

/// Now, as the DHT's timestamps count time.
pub(crate) fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(i64::MAX);
    Timestamp::from_micros(micros)
}
