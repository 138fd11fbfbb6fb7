//! Who calls, and how the zome refuses them.

use hdk::prelude::*;

/// The calling agent's key.
pub(crate) fn me() -> ExternResult<AgentPubKey> {
    Ok(agent_info()?.agent_initial_pubkey)
}

/// A guest error with `message`, for refusals the coordinator makes before validation.
pub(crate) fn refuse(message: impl Into<String>) -> WasmError {
    wasm_error!(WasmErrorInner::Guest(message.into()))
}
