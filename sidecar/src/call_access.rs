//! Who may join a live call here. A standalone sidecar admits everyone (a call id there is
//! any name, with commons semantics). A node gathers the facts — the call's ContentNode as
//! its own agent sees it, who the joining agent is (a call token they signed for this node,
//! or the owner's credential, which joins as the node's agent), and both agents' places —
//! and leaves the decision to `media_rules::call`; this module renders its refusals.

use crate::access::{audiences, reader_place, verify_token};
use crate::error::ApiError;
use crate::state::Sidecar;
use hdi::prelude::{ActionHash, AgentPubKey};
use media_api::ContentView;
use media_rules::call::{self, Agent, Call, Refusal, Role};
use media_rules::content::ContentFormat;
use media_rules::token::Subject;

/// Admits `token`'s bearer (or an anonymous client) into `call` as `role`, or says why not:
/// `404` for an id that names no call this node sees, `401` when a non-public call gets no
/// credential, `403` for a forged token, another agent's call, or a reach that refuses.
pub(crate) async fn admit(
    state: &Sidecar,
    call: &str,
    role: Role,
    token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(link) = state.node() else {
        return Ok(());
    };
    let id = ActionHash::try_from(call.to_string()).map_err(|_| ApiError::NotFound("call"))?;
    let view: Option<ContentView> = link.content(&id).await?;
    let view = view.ok_or(ApiError::NotFound("call"))?;
    let joining: Option<AgentPubKey> = match token {
        None => None,
        Some(t) if state.owner.matches(t) => Some(link.agent().clone()),
        Some(t) => {
            let covers = |s: &Subject| matches!(s, Subject::Call(named) if named == call);
            Some(verify_token(t, "call", covers, &audiences(link))?.0)
        }
    };
    let host_place = reader_place(state, link, link.agent()).await?;
    let joining_place = match &joining {
        Some(agent) => reader_place(state, link, agent).await?,
        None => None,
    };
    let facts = Call {
        format: ContentFormat::parse(&view.content.content_format).ok(),
        content: media_api::use_of(&view),
    };
    let host = Agent {
        key: link.agent(),
        place: host_place.as_ref(),
    };
    let joining = joining.as_ref().map(|key| Agent {
        key,
        place: joining_place.as_ref(),
    });
    call::admit(&facts, host, role, joining).map_err(refusal)
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::NotACall => ApiError::NotFound("call"),
        Refusal::NeedsAgent => ApiError::Unauthorized(r.message().into()),
        Refusal::NotHostedHere | Refusal::NotAdmitted | Refusal::BroadcastOnly => {
            ApiError::Forbidden(r.message().into())
        }
    }
}
