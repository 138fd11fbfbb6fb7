//! Where each agent's sidecar can be reached: custodians fetch an author's uploads there.

use crate::versions::{owned_latest, set_owned};
use hdk::prelude::*;
use media_integrity::{EntryTypes, LinkTypes, NodeEndpoint};

/// Publishes (or changes) the URL of the caller's sidecar.
pub fn set_my_endpoint(url: String) -> ExternResult<ActionHash> {
    set_owned(
        LinkTypes::AgentToEndpoint,
        EntryTypes::NodeEndpoint(NodeEndpoint { url }),
    )
}

/// The URL `agent` published for its sidecar, if any.
pub fn get_agent_endpoint(agent: AgentPubKey) -> ExternResult<Option<String>> {
    let entry: Option<NodeEndpoint> = owned_latest(&agent, LinkTypes::AgentToEndpoint)?;
    Ok(entry.map(|e| e.url))
}
