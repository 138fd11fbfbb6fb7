//! NodeEndpoint: where an agent's sidecar can be reached, so custodians fetch a new upload
//! from its author's node even when that node keeps no one else's media.

use crate::outcome::verdict;
use hdi::prelude::*;

/// The URL of the agent's own sidecar.
#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct NodeEndpoint {
    /// An http or https URL with a host, at most `media_rules::endpoint::MAX_URL_LEN` bytes.
    pub url: String,
}

/// The URL must be a well-formed http(s) URL; only its agent writes it (the link from the
/// agent's key and the generic update rule check that).
pub fn validate_create_node_endpoint(entry: &NodeEndpoint) -> ExternResult<ValidateCallbackResult> {
    verdict("NodeEndpoint", media_rules::limits::check_url("url", &entry.url))
}
