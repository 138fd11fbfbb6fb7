//! AgentPlace: where an agent says they live, which place-bound reaches compare.

use crate::outcome::verdict;
use hdi::prelude::*;
use media_rules::Place;

/// The place an agent declares for itself.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct AgentPlace {
    /// The declared place.
    pub place: Place,
}

/// Every level of the place must be named.
pub fn validate_create_agent_place(entry: &AgentPlace) -> ExternResult<ValidateCallbackResult> {
    verdict(
        "AgentPlace",
        entry.place.check().map_err(|e| format!("place: {e}")),
    )
}
