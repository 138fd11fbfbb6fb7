//! What a route requires of its caller: the owner's credential, or a node behind the
//! sidecar.

use crate::error::ApiError;
use crate::state::Sidecar;
use warp::http::HeaderMap;

/// Checks that the request comes from the node's owner (see [`crate::owner`]).
pub(crate) fn owner_only(state: &Sidecar, headers: &HeaderMap) -> Result<(), ApiError> {
    crate::owner::check(&state.owner, state.config.listen, headers)
}

/// The node this sidecar serves, or the refusal of a standalone sidecar.
pub(crate) fn linked(state: &Sidecar) -> Result<crate::dht::Node<'_>, ApiError> {
    state.node().ok_or(ApiError::NeedsNode("this route"))
}
