//! WHIP (RFC 9725) and WHEP: a client `POST`s an SDP offer to publish into or watch a
//! call, gets `201` with the SDP answer and a `Location`, and `DELETE`s that location to
//! leave.
//!
//! Who may join is [`crate::call_access`]'s to say: anyone on a standalone sidecar; on a
//! node, as the call's ContentNode allows, proven by a call token (`Authorization: Bearer`
//! or `?token=`, which `EventSource` and the join page need). Ending a session needs its
//! `Location`, which only its creator was told.

use crate::error::ApiError;
use crate::http::reply::Body;
use crate::rtc::{JoinError, Role, Sfu};
use crate::state::Sidecar;
use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::Arc;
use warp::http::{header, HeaderMap, HeaderValue, Response, StatusCode};

/// The largest offer taken; real offers are a few KiB.
pub(crate) const MAX_OFFER_BYTES: u64 = 64 * 1024;

/// A call id: 1 to 128 of `A-Z a-z 0-9 - _` (a ContentNode id on a node fits).
fn check_call(call: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&call.len())
        && call
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match ok {
        true => Ok(()),
        false => Err(ApiError::Invalid {
            field: "call id",
            why: "1 to 128 letters, digits, '-' or '_'".into(),
        }),
    }
}

fn sfu(state: &Sidecar) -> Result<&Arc<Sfu>, ApiError> {
    state.rtc.as_ref().ok_or(ApiError::Busy {
        what: "live calls are off on this sidecar (no --rtc-udp)",
        retry_after: 3600,
    })
}

/// Admits the request's bearer into `call` as `role`.
async fn may_join(
    state: &Sidecar,
    call: &str,
    role: Role,
    headers: &HeaderMap,
    query: &str,
) -> Result<(), ApiError> {
    crate::call_access::admit(state, call, role, crate::access::token_of(headers, query)).await
}

/// `POST /api/rtc/{call}/whip` and `/whep` (`?besides={session}` on WHEP: leave out the
/// viewer's own publishing session).
pub(crate) async fn join(
    state: Arc<Sidecar>,
    call: String,
    role: Role,
    headers: HeaderMap,
    query: String,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    check_call(&call)?;
    may_join(&state, &call, role, &headers, &query).await?;
    let sfu = sfu(&state)?.clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/sdp") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "an offer is application/sdp, not '{content_type}'"
        )));
    }
    let offer = String::from_utf8(body.to_vec()).map_err(|_| ApiError::Invalid {
        field: "offer",
        why: "not UTF-8".into(),
    })?;
    let besides = match crate::access::query_param(&query, "besides") {
        None => None,
        Some(s) if role == Role::View && s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(s.to_string())
        }
        Some(_) => {
            return Err(ApiError::Invalid {
                field: "besides",
                why: "names a viewer's own publishing session: 32 hex digits, on WHEP only".into(),
            })
        }
    };
    // Answering makes a DTLS certificate: CPU work, off the async threads.
    let joined = {
        let call = call.clone();
        tokio::task::spawn_blocking(move || sfu.join(&call, role, &offer, besides))
            .await
            .map_err(|e| ApiError::Io(std::io::Error::other(e.to_string())))?
    };
    let joined = joined.map_err(|e| match e {
        JoinError::BadOffer(why) => ApiError::Invalid { field: "offer", why },
        JoinError::OverBudget { retry_after_secs } => {
            state.metrics.rtc_refused.inc();
            ApiError::Busy {
                what: "the relay carries all the streams or bandwidth it may",
                retry_after: u64::from(retry_after_secs),
            }
        }
        JoinError::Stopped => ApiError::Busy {
            what: "the media thread has stopped",
            retry_after: 60,
        },
    })?;
    tracing::info!(%call, role = role.as_str(), session = %joined.session, "RTC session joined");
    let location = format!("/api/rtc/{call}/session/{}", joined.session);
    let mut resp = Response::new(Body::from(joined.answer));
    *resp.status_mut() = StatusCode::CREATED;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/sdp"));
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(resp)
}

/// `DELETE /api/rtc/{call}/session/{id}`: leaves the call.
pub(crate) async fn leave(
    state: Arc<Sidecar>,
    call: String,
    session: String,
) -> Result<Response<Body>, ApiError> {
    check_call(&call)?;
    match sfu(&state)?.leave(&call, &session) {
        true => Ok(Response::new(Body::default())),
        false => Err(ApiError::NotFound("RTC session")),
    }
}

/// `GET /api/rtc/{call}/events`: Server-Sent Events of who is in the call. First a
/// `snapshot` event (the members now), or with `Last-Event-ID` the `presence` events missed
/// since (a snapshot again when more were missed than are kept); then a `presence` event
/// for each change: `joined`, `publishing`, `stalled`, `watching`, `left`.
pub(crate) async fn events(
    state: Arc<Sidecar>,
    call: String,
    headers: HeaderMap,
    query: String,
    last_event_id: Option<u64>,
) -> Result<Response<Body>, ApiError> {
    use warp::sse::Event;
    use warp::Reply;
    check_call(&call)?;
    may_join(&state, &call, Role::View, &headers, &query).await?;
    let sfu = sfu(&state)?.clone();
    let presence = sfu.presence();
    let change = |c: &crate::rtc::presence::Change| {
        Event::default()
            .id(c.id.to_string())
            .event("presence")
            .json_data(c)
            .unwrap_or_default()
    };
    let (first, rx) = match last_event_id.and_then(|id| presence.since(&call, id)) {
        Some((missed, rx)) => (missed.iter().map(change).collect::<Vec<_>>(), rx),
        None => {
            let (members, last, rx) = presence.snapshot(&call);
            let snapshot = Event::default()
                .id(last.to_string())
                .event("snapshot")
                .json_data(&members)
                .unwrap_or_default();
            (vec![snapshot], rx)
        }
    };
    let later = futures_util::stream::unfold((rx, call), move |(mut rx, call)| async move {
        loop {
            match rx.recv().await {
                Ok(c) if c.call == call => return Some((change(&c), (rx, call))),
                Ok(_) => continue,
                // A client too slow for the changes is told to start over.
                Err(_) => return None,
            }
        }
    });
    let events = futures_util::stream::iter(first)
        .chain(later)
        .map(Ok::<_, std::convert::Infallible>);
    // Keep-alive comments keep the connection from looking idle to the server.
    let stream = warp::sse::keep_alive()
        .interval(std::time::Duration::from_secs(15))
        .stream(sync_wrapper::SyncStream::new(events));
    Ok(warp::sse::reply(stream).into_response())
}

/// `GET /api/rtc/{call}/recordings`: what the call's recordings became (blob, type, ladder),
/// for whoever may watch the call.
pub(crate) async fn recordings(
    state: Arc<Sidecar>,
    call: String,
    headers: HeaderMap,
    query: String,
) -> Result<Response<Body>, ApiError> {
    check_call(&call)?;
    may_join(&state, &call, Role::View, &headers, &query).await?;
    let stored = crate::recordings::list(&state, &call)?;
    Ok(super::reply::json(StatusCode::OK, &stored))
}

/// `PATCH` on a session: trickle ICE and ICE restarts are not taken (RFC 9725 §4.3.1); the
/// answer holds every candidate.
pub(crate) fn no_trickle() -> Response<Body> {
    let mut resp = Response::new(Body::default());
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("DELETE"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_short_plain_names() {
        assert!(check_call("uhCEk-abc_123").is_ok());
        assert!(check_call("").is_err());
        assert!(check_call("../etc").is_err());
        assert!(check_call(&"a".repeat(129)).is_err());
    }
}
