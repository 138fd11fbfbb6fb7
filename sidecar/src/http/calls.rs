//! The owner's routes for live calls, which act as the node's agent:
//! - `POST /api/calls` starts a call (its ContentNode) hosted here, and
//! - `POST /api/calls/{id}/join` signs a call token for a call hosted here or at another
//!   node (by default the author's, at the endpoint the author published).
//!
//! Both answer where to join: the join page (with the token in its query: the token opens
//! this one call, for at most a day, and nothing else), and the WHIP, WHEP and presence
//! URLs, which take the token as `Authorization: Bearer`.

use super::reply::json;
use super::requires::{linked, owner_only};
use crate::dht::Node;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::state::Sidecar;
use hdi::prelude::ActionHash;
use media_api::{IssueCallTokenInput, StartCallInput};
use media_rules::{Place, Reach};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use warp::http::{HeaderMap, Response, StatusCode};

/// How long a call token lives unless asked otherwise: a long meeting.
pub const DEFAULT_TTL_SECS: u32 = 4 * 3600;

/// The body of `POST /api/calls`.
#[derive(Debug, Deserialize)]
pub struct StartCall {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Reach name (`private`, `invited`, `commons`, …).
    pub reach: String,
    /// Invited agents' keys (`uhCAk…`).
    #[serde(default)]
    pub invitees: Vec<String>,
    /// The place, for local…regional reach: `region/bioregion/municipality/neighborhood/household`.
    #[serde(default)]
    pub place: Option<String>,
    /// A broadcast rather than a call.
    #[serde(default)]
    pub live_stream: bool,
}

/// The body of `POST /api/calls/{id}/join`.
#[derive(Debug, Default, Deserialize)]
pub struct JoinCall {
    /// The hosting node's base URL; by default this node when its agent wrote the call,
    /// else the author's published endpoint.
    #[serde(default)]
    pub host: Option<String>,
    /// The hosting node's agent key, when `host` is not the author's node.
    #[serde(default)]
    pub host_agent: Option<String>,
    /// Token lifetime in seconds (default four hours, at most a day).
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
}

/// Where and how to join a call.
#[derive(Debug, Serialize, Deserialize)]
pub struct Joining {
    /// The call's ContentNode id.
    pub call: String,
    /// The hosting node's base URL, or `None` for the node that answered.
    pub host: Option<String>,
    /// The call token, for `Authorization: Bearer` (or `?token=` on the page and events).
    pub token: String,
    /// When the token expires, in microseconds since the Unix epoch.
    pub expires_at: i64,
    /// The browser join page, token included, relative to the host.
    pub page: String,
    /// Publish by WHIP here.
    pub whip: String,
    /// Watch by WHEP here.
    pub whep: String,
    /// Presence (Server-Sent Events).
    pub events: String,
}

/// `POST /api/calls`: starts a call as the node's agent, hosted here.
pub async fn start(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    req: StartCall,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    if state.rtc.is_none() {
        return Err(ApiError::Off {
            what: "live calls",
            how: "--rtc-udp off",
            so: "it cannot host a call",
        });
    }
    let link = linked(&state)?;
    let invitees = req
        .invitees
        .iter()
        .map(|k| crate::error::agent_key("invitee", k))
        .collect::<Result<Vec<_>, _>>()?;
    let place = req
        .place
        .as_deref()
        .map(Place::parse_path)
        .transpose()
        .map_err(|why| ApiError::Invalid { field: "place", why })?;
    let input = StartCallInput {
        title: req.title,
        description: req.description,
        reach: req.reach,
        invitees,
        place,
        live_stream: req.live_stream,
    };
    let view = link.start_call(input).await?;
    // Invitees' nodes learn of an invited call from the copy this node hands them.
    if view.content.reach().is_ok_and(Reach::is_kept_off_dht) {
        state.deliver_shares();
    }
    let joining = sign(link, &view.id, None, link.agent().to_string(), DEFAULT_TTL_SECS).await?;
    Ok(json(StatusCode::CREATED, &joining))
}

/// `POST /api/calls/{id}/join`: a call token signed by the node's agent, for the call's
/// host.
pub async fn join(
    state: Arc<Sidecar>,
    id: String,
    headers: HeaderMap,
    req: JoinCall,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let link = linked(&state)?;
    let id = crate::error::action_hash("call id", &id)?;
    let view = link.content(&id).await?;
    let view = view.ok_or(ApiError::NotFound("call this node's agent may see"))?;
    let (host, audience) = match (req.host, req.host_agent) {
        (Some(host), Some(agent)) => (Some(host), agent),
        (Some(host), None) => (Some(host), view.author.to_string()),
        (None, _) if &view.author == link.agent() => (None, link.agent().to_string()),
        (None, _) => {
            let endpoint = link.endpoint_of(&view.author).await?;
            let endpoint = endpoint.ok_or_else(|| ApiError::Invalid {
                field: "host",
                why: "needed: the call's author published no endpoint; say where the call is hosted".into(),
            })?;
            (Some(endpoint), view.author.to_string())
        }
    };
    let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
    let joining = sign(link, &id, host, audience, ttl).await?;
    Ok(json(StatusCode::OK, &joining))
}

async fn sign(
    link: Node<'_>,
    id: &ActionHash,
    host: Option<String>,
    audience: String,
    ttl_seconds: u32,
) -> Result<Joining, ApiError> {
    let input = IssueCallTokenInput {
        call: id.clone(),
        audience,
        ttl_seconds,
    };
    let issued = link.issue_call_token(input).await?;
    let call = id.to_string();
    Ok(Joining {
        page: format!("/call/{call}?token={}", issued.token),
        whip: format!("/api/rtc/{call}/whip"),
        whep: format!("/api/rtc/{call}/whep"),
        events: format!("/api/rtc/{call}/events"),
        host: host.map(|h| h.trim_end_matches('/').to_string()),
        token: issued.token,
        expires_at: issued.expires_at.as_micros(),
        call,
    })
}
