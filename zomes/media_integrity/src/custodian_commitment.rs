//! CustodianCommitment: who promises to keep or serve what.

use crate::outcome::{invalid, verdict};
use hdi::prelude::*;
use media_rules::limits::{self, check_range};
use media_rules::role::MediaRole;
use media_rules::{BandwidthClass, Place};

/// A custodian's promise: its role and capacity, where it is and how to reach its sidecar.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct CustodianCommitment {
    /// Storage, Cache or Relay, with its capacities.
    pub media_role: MediaRole,
    /// A [`BandwidthClass`] name: low, medium, high or ultra.
    pub bandwidth_class: String,
    /// 0–100: how eagerly it caches.
    pub cache_priority: u32,
    /// Where the custodian is (needed to hold place-bound content).
    pub place: Option<Place>,
    /// The base URL of its sidecar, e.g. `http://10.0.0.5:8788`.
    pub endpoint: String,
    /// When the promise ends.
    pub expires_at: Timestamp,
}

impl CustodianCommitment {
    /// The parsed bandwidth class.
    pub fn bandwidth(&self) -> Result<BandwidthClass, String> {
        BandwidthClass::parse(&self.bandwidth_class).map_err(|e| format!("bandwidth_class: {e}"))
    }

    /// Whether the promise still holds at `at`.
    pub fn is_live_at(&self, at: Timestamp) -> bool {
        self.expires_at > at
    }

    /// Checks every field; the error names the field.
    pub fn check_fields(&self) -> Result<(), String> {
        self.media_role.check()?;
        self.bandwidth()?;
        check_range("cache_priority", self.cache_priority, limits::CACHE_PRIORITY)?;
        if let Some(place) = &self.place {
            place.check().map_err(|e| format!("place: {e}"))?;
        }
        limits::check_url("endpoint", &self.endpoint)
    }
}

/// A new commitment: fields valid and an expiry after its own timestamp.
pub fn validate_create_custodian_commitment(
    action: &ActionHeader,
    entry: &CustodianCommitment,
) -> ExternResult<ValidateCallbackResult> {
    if let Err(e) = entry.check_fields() {
        return verdict("CustodianCommitment", Err(e));
    }
    if !entry.is_live_at(action.timestamp) {
        return invalid("CustodianCommitment: expires_at must be later than the commitment itself");
    }
    Ok(ValidateCallbackResult::Valid)
}

/// An update (renewal or change of capacity) by the author is checked like a new one.
pub fn validate_update_custodian_commitment(
    action: &ActionHeader,
    entry: &CustodianCommitment,
) -> ExternResult<ValidateCallbackResult> {
    validate_create_custodian_commitment(action, entry)
}
