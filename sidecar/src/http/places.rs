//! The owner's routes for places, acting as the node's agent: declaring where it lives,
//! founding a place, vouching others in and revoking a vouch; and what the DHT holds of an
//! agent's place (declared, and proven as far as vouches reach).
//!
//! - `PUT /api/place` `{place}`: declare (`region/bioregion/municipality/neighborhood/household`);
//! - `POST /api/place/found` `{place}`: declare and found it at every level not yet founded;
//! - `POST /api/place/vouch` `{member, place, level}`: vouch that `member` belongs there;
//! - `DELETE /api/place/vouch/{id}`: revoke one of this agent's vouches;
//! - `GET /api/place[?agent=…]`: an agent's proven place (this node's agent by default) and
//!   every vouch in its region.

use super::reply::json;
use super::requires::{linked, owner_only};
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::state::Sidecar;
use hdi::prelude::AgentPubKey;
use media_api::{VouchInput, VouchView};
use media_rules::{Place, PlaceLevel};
use serde::Deserialize;
use std::sync::Arc;
use warp::http::{HeaderMap, Response, StatusCode};

/// A place as a path, for the CLI and UIs.
fn path_of(place: &Place) -> String {
    place.names().map(|(_, n)| n).join("/")
}

fn parse(path: &str) -> Result<Place, ApiError> {
    Place::parse_path(path).map_err(|why| ApiError::Invalid { field: "place", why })
}

/// The body of `PUT /api/place` and `POST /api/place/found`.
#[derive(Debug, Deserialize)]
pub(crate) struct PlaceBody {
    /// `region/bioregion/municipality/neighborhood/household`.
    pub place: String,
}

/// The body of `POST /api/place/vouch`.
#[derive(Debug, Deserialize)]
pub(crate) struct VouchBody {
    /// The member's agent key.
    pub member: String,
    /// Their place.
    pub place: String,
    /// How far down (default `household`).
    #[serde(default)]
    pub level: Option<String>,
}

/// `PUT /api/place` and `POST /api/place/found`.
pub(crate) async fn declare(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    body: PlaceBody,
    found: bool,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let link = linked(&state)?;
    let place = parse(&body.place)?;
    link.set_place(&place).await?;
    let founded: Vec<VouchView> = match found {
        true => link.found_place(&place).await?,
        false => Vec::new(),
    };
    state.access.forget_place(link.agent()).await;
    let status = mine(&state, link.agent().clone()).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "declared": path_of(&place), "founded": founded.len(), "proven": status["proven"] }),
    ))
}

/// `POST /api/place/vouch`.
pub(crate) async fn vouch(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    body: VouchBody,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let link = linked(&state)?;
    let member = crate::error::agent_key("member", &body.member)?;
    let level = body.level.unwrap_or_else(|| "household".into());
    PlaceLevel::parse(&level).map_err(|e| ApiError::Invalid {
        field: "level",
        why: e.to_string(),
    })?;
    let input = VouchInput {
        member: member.clone(),
        place: parse(&body.place)?,
        level,
    };
    let view = link.vouch(input).await?;
    state.access.forget_place(&member).await;
    Ok(json(StatusCode::CREATED, &listed(&view)))
}

/// `DELETE /api/place/vouch/{id}`.
pub(crate) async fn revoke(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    id: String,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let link = linked(&state)?;
    let id = crate::error::action_hash("vouch id", &id)?;
    link.revoke_vouch(&id).await?;
    Ok(Response::new(Body::default()))
}

/// `GET /api/place[?agent=…]`.
pub(crate) async fn show(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    owner_only(&state, &headers)?;
    let link = linked(&state)?;
    let agent = match crate::access::query_param(&query, "agent") {
        Some(key) => crate::error::agent_key("agent", key)?,
        None => link.agent().clone(),
    };
    Ok(json(StatusCode::OK, &mine(&state, agent).await?))
}

async fn mine(state: &Sidecar, agent: AgentPubKey) -> Result<serde_json::Value, ApiError> {
    let link = linked(state)?;
    let proven = link.agent_place(&agent).await?;
    let vouches: Vec<VouchView> = match &proven {
        Some(p) => link.place_vouches(&p.region).await?,
        None => Vec::new(),
    };
    let proven_path = proven
        .as_ref()
        .map(|p| path_of(p).trim_end_matches('/').to_string());
    Ok(serde_json::json!({
        "agent": agent.to_string(),
        "proven": proven_path,
        "vouches": vouches.iter().map(listed).collect::<Vec<_>>(),
    }))
}

fn listed(v: &VouchView) -> serde_json::Value {
    serde_json::json!({
        "id": v.id.to_string(),
        "by": v.by.to_string(),
        "member": v.member.to_string(),
        "place": path_of(&v.place),
        "level": v.level,
        "founding": v.by == v.member,
    })
}
