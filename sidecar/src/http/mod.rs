//! The HTTP API: routes, and the one place where errors and unmatched requests become
//! responses.

pub(crate) mod anonymous;
pub(crate) mod blob;
pub(crate) mod body;
pub mod calls;
pub(crate) mod chunk;
pub(crate) mod conditional;
pub(crate) mod digest;
pub(crate) mod node_api;
pub(crate) mod peer;
pub(crate) mod places;
pub(crate) mod player;
pub(crate) mod playlist;
pub(crate) mod range;
pub(crate) mod readable;
pub(crate) mod reply;
pub(crate) mod requires;
pub(crate) mod route_label;
pub(crate) mod rtc;
pub(crate) mod tus;
pub(crate) mod tus_checksum;
pub(crate) mod ui;
pub(crate) mod upload;

use crate::error::ApiError;
use crate::state::Sidecar;
use reply::{json, render, Body};
use route_label::route_label;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use warp::http::{HeaderMap, Method, Response, StatusCode};
use warp::{Filter, Rejection, Reply};

/// A route after boxing: one small type however many routes are chained, which keeps
/// compile times flat.
type BoxedRoute = warp::filters::BoxedFilter<(Response<Body>,)>;

/// The first of `routes` (in order) that takes a request, as a balanced tree of `or`s: a
/// request passes about log2(n) of them instead of up to n.
fn any_of(mut routes: Vec<BoxedRoute>) -> BoxedRoute {
    match routes.len() {
        0 => warp::any()
            .and_then(|| async { Err::<Response<Body>, _>(warp::reject::not_found()) })
            .boxed(),
        1 => routes.remove(0),
        n => {
            let later = routes.split_off(n / 2);
            any_of(routes).or(any_of(later)).unify().boxed()
        }
    }
}

/// Every route of the sidecar, with metrics and error rendering.
pub fn routes(state: Arc<Sidecar>) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let metrics = state.metrics.clone();
    let ui_origins = state.config.ui.origins.clone();
    let with_state = warp::any().map(move || state.clone());
    let get_or_head = warp::method().and_then(|m: Method| async move {
        if m == Method::GET || m == Method::HEAD {
            Ok(m)
        } else {
            Err(warp::reject::not_found())
        }
    });

    let health = warp::path!("health")
        .and(warp::get())
        .map(|| json(StatusCode::OK, &serde_json::json!({"status": "ok"})));
    let metrics_route = warp::path!("metrics")
        .and(warp::get())
        .and(with_state.clone())
        .map(|s: Arc<Sidecar>| {
            s.tiers.observe();
            if let Some(sfu) = &s.rtc {
                let usage = sfu.usage();
                s.metrics.rtc_streams.set(i64::from(usage.streams));
                s.metrics.rtc_max_streams.set(i64::from(usage.max_streams));
                s.metrics
                    .rtc_sent_kbps
                    .set(i64::try_from(usage.kbps).unwrap_or(i64::MAX));
                s.metrics.rtc_max_mbps.set(i64::from(usage.max_mbps.unwrap_or(0)));
            }
            warp::reply::with_header(s.metrics.render(), "content-type", "text/plain; version=0.0.4")
                .into_response()
        });

    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let blob = warp::path!("api" / "blob" / String)
        .and(get_or_head)
        .and(warp::header::headers_cloned())
        .and(query)
        .and(with_state.clone())
        .then(|hash, method, headers, query, s| async move {
            render(blob::get_blob(s, hash, method, headers, query).await)
        });
    let blob_chunk = warp::path!("api" / "blob" / String / String)
        .and(get_or_head)
        .and(warp::header::headers_cloned())
        .and(query)
        .and(with_state.clone())
        .then(|hash, index, method, headers, query, s| async move {
            render(blob::get_blob_chunk(s, hash, index, method, headers, query).await)
        });
    // The TCP peer, which the server puts in each request (unspecified when the routes
    // run under another server, as in warp's test harness).
    let client = warp::ext::optional::<peer::ClientAddr>()
        .map(|c: Option<peer::ClientAddr>| c.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0));
    let post_blob = warp::path!("api" / "blob")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(client)
        .and(warp::body::stream())
        .and(with_state.clone())
        .then(|headers, client, body, s| async move {
            render(upload::post_blob(s, headers, client, Box::pin(body)).await)
        });

    let chunk_get = warp::path!("api" / "chunk" / String)
        .and(get_or_head)
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with_state.clone())
        .then(|hash, method, headers, query, s| async move {
            render(chunk::get_chunk(s, hash, method, headers, query).await)
        });
    let chunk_put = warp::path!("api" / "chunk" / String)
        .and(warp::put())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(u64::from(
            media_rules::limits::MAX_CHUNK_SIZE,
        )))
        .and(warp::body::bytes())
        .and(with_state.clone())
        .then(|hash, headers, body, s| async move { render(chunk::put_chunk(s, hash, headers, body).await) });
    let have = warp::path!("api" / "chunks" / "have")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(4 * 1024 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, req, s| async move { render(chunk::have(s, headers, req).await) });

    let manifest =
        warp::path!("api" / "manifest" / String)
            .and(warp::get())
            .and(warp::header::headers_cloned())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(with_state.clone())
            .then(|hash, headers, query, s| async move {
                render(node_api::manifest(s, hash, headers, query).await)
            });
    let playlist = warp::path!("api" / "manifest" / String / String)
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(with_state.clone())
        .then(|source, file, headers, query, s| async move {
            render(playlist::playlist(s, source, file, headers, query).await)
        });
    let player = warp::path!("player").and(warp::get()).map(player::page);
    let player_js = warp::path!("player" / "hls.min.js")
        .and(warp::get())
        .map(player::hls_js);
    let ladder =
        warp::path!("api" / "ladder" / String)
            .and(warp::get())
            .and(warp::header::headers_cloned())
            .and(query)
            .and(with_state.clone())
            .then(|hash, headers, query, s| async move {
                render(playlist::progress(s, hash, headers, query).await)
            });
    let node_status = warp::path!("api" / "node")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_state.clone())
        .then(|headers, s| async move { render(node_api::status(s, headers).await) });
    let anonymous_list = warp::path!("api" / "anonymous")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_state.clone())
        .then(|headers, s| async move { render(anonymous::list(s, headers).await) });
    let anonymous_delete = warp::path!("api" / "anonymous" / String)
        .and(warp::delete())
        .and(warp::header::headers_cloned())
        .and(with_state.clone())
        .then(|hash, headers, s| async move { render(anonymous::delete(s, hash, headers).await) });
    let content = warp::path!("api" / "content")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_state.clone())
        .then(|headers, s| async move { render(node_api::list(s, headers).await) });
    let token = warp::path!("api" / "token")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, req, s| async move { render(node_api::token(s, headers, req).await) });
    let pull = warp::path!("api" / "pull")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(1024 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, req, s| async move { render(node_api::pull(s, headers, req).await) });

    let ui_session = warp::path!("api" / "ui" / "session")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, req, s| async move { render(ui::session(s, headers, req).await) });
    // The UI's files: every GET no other route took, except under /api/.
    let ui_files = warp::get()
        .and(warp::path::tail())
        .and_then(|tail: warp::path::Tail| async move {
            match tail.as_str().starts_with("api/") || tail.as_str() == "api" {
                true => Err(warp::reject::not_found()),
                false => Ok(tail.as_str().to_string()),
            }
        })
        .and(with_state.clone())
        .then(|tail, s| async move { render(ui::file(s, tail).await) });

    let rtc_role = warp::path::param::<String>().and_then(|p: String| async move {
        match p.as_str() {
            "whip" => Ok(crate::rtc::Role::Publish),
            "whep" => Ok(crate::rtc::Role::View),
            _ => Err(warp::reject::not_found()),
        }
    });
    let rtc_join = warp::path!("api" / "rtc" / String / ..)
        .and(rtc_role)
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(warp::body::content_length_limit(rtc::MAX_OFFER_BYTES))
        .and(warp::body::bytes())
        .and(with_state.clone())
        .then(|call, role, headers, query, body, s| async move {
            render(rtc::join(s, call, role, headers, query, body).await)
        });
    let rtc_leave = warp::path!("api" / "rtc" / String / "session" / String)
        .and(warp::delete())
        .and(with_state.clone())
        .then(|call, session, s| async move { render(rtc::leave(s, call, session).await) });
    let rtc_events = warp::path!("api" / "rtc" / String / "events")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(warp::sse::last_event_id::<u64>())
        .and(with_state.clone())
        .then(|call, headers, query, last, s| async move {
            render(rtc::events(s, call, headers, query, last).await)
        });
    let rtc_recordings = warp::path!("api" / "rtc" / String / "recordings")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(with_state.clone())
        .then(
            |call, headers, query, s| async move { render(rtc::recordings(s, call, headers, query).await) },
        );
    let place_declare = warp::path!("api" / "place")
        .and(warp::put())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, body, s| async move { render(places::declare(s, headers, body, false).await) });
    let place_found = warp::path!("api" / "place" / "found")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, body, s| async move { render(places::declare(s, headers, body, true).await) });
    let place_vouch = warp::path!("api" / "place" / "vouch")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, body, s| async move { render(places::vouch(s, headers, body).await) });
    let place_revoke = warp::path!("api" / "place" / "vouch" / String)
        .and(warp::delete())
        .and(warp::header::headers_cloned())
        .and(with_state.clone())
        .then(|id, headers, s| async move { render(places::revoke(s, headers, id).await) });
    let place_show = warp::path!("api" / "place")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(with_state.clone())
        .then(|headers, query, s| async move { render(places::show(s, headers, query).await) });
    let call_start = warp::path!("api" / "calls")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|headers, req, s| async move { render(calls::start(s, headers, req).await) });
    let call_join = warp::path!("api" / "calls" / String / "join")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with_state.clone())
        .then(|id, headers, req, s| async move { render(calls::join(s, id, headers, req).await) });
    let call_page = warp::path!("call" / String)
        .and(warp::get())
        .map(|_call: String| player::call_page());
    let call_js = warp::path!("call" / "assets" / "call.js")
        .and(warp::get())
        .map(player::call_js);
    let rtc_patch = warp::path!("api" / "rtc" / String / "session" / String)
        .and(warp::patch())
        .map(|_, _| rtc::no_trickle());

    let tus_options = warp::path!("api" / "uploads")
        .and(warp::options())
        .and(with_state.clone())
        .map(|s| tus::render(tus::options(s)));
    let tus_create = warp::path!("api" / "uploads")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(client)
        .and(with_state.clone())
        .map(|headers, client, s| tus::render(tus::create(s, headers, client)));
    let tus_head = warp::path!("api" / "uploads" / String)
        .and(warp::head())
        .and(with_state.clone())
        .map(|id, s| tus::render(tus::head(s, id)));
    let tus_get = warp::path!("api" / "uploads" / String)
        .and(warp::get())
        .and(with_state.clone())
        .then(|id, s| async move { tus::render(tus::status(s, id).await) });
    let tus_patch = warp::path!("api" / "uploads" / String)
        .and(warp::patch())
        .and(warp::header::headers_cloned())
        .and(client)
        .and(warp::body::stream())
        .and(with_state.clone())
        .then(|id, headers, client, body, s| async move {
            tus::render(tus::patch(s, id, headers, client, Box::pin(body)).await)
        });
    let tus_delete = warp::path!("api" / "uploads" / String)
        .and(warp::delete())
        .and(warp::header::headers_cloned())
        .and(with_state)
        .then(|id, headers: HeaderMap, s| async move { tus::render(tus::terminate(s, id, headers).await) });

    // Tried in this order; as a balanced tree, so a request passes a handful of `or`s
    // (and boxed futures) rather than one per route.
    let routes = any_of(vec![
        health.boxed(),
        metrics_route.boxed(),
        blob.boxed(),
        blob_chunk.boxed(),
        post_blob.boxed(),
        chunk_get.boxed(),
        chunk_put.boxed(),
        have.boxed(),
        manifest.boxed(),
        playlist.boxed(),
        ladder.boxed(),
        player.boxed(),
        player_js.boxed(),
        node_status.boxed(),
        content.boxed(),
        anonymous_list.boxed(),
        anonymous_delete.boxed(),
        token.boxed(),
        pull.boxed(),
        rtc_join.boxed(),
        rtc_leave.boxed(),
        rtc_patch.boxed(),
        rtc_events.boxed(),
        rtc_recordings.boxed(),
        place_declare.boxed(),
        place_found.boxed(),
        place_vouch.boxed(),
        place_revoke.boxed(),
        place_show.boxed(),
        call_start.boxed(),
        call_join.boxed(),
        call_js.boxed(),
        call_page.boxed(),
        tus_options.boxed(),
        tus_create.boxed(),
        tus_head.boxed(),
        tus_get.boxed(),
        tus_patch.boxed(),
        tus_delete.boxed(),
        ui_session.boxed(),
        ui_files.boxed(),
    ]);
    let answered = routes.recover(recover).unify().with(cors()).recover(recover);
    warp::path::full()
        .and(warp::method())
        .and(
            warp::header::optional::<String>("origin")
                .or(warp::any().map(|| None))
                .unify(),
        )
        .and(answered)
        .map(
            move |path: warp::path::FullPath, method: Method, origin: Option<String>, reply| {
                let let_in = origin.is_some_and(|o| ui_origins.contains(&o));
                without_cors_for_owner(path.as_str(), &method, let_in, reply)
            },
        )
        // CORS headers depend on the Origin: without this, a browser that fetched a blob
        // same-origin (no CORS headers) reuses that cached response for another origin,
        // and the player there fails.
        .with(warp::reply::with::header("vary", "origin"))
        .with(warp::log::custom(move |info| {
            metrics.observe(route_label(info.path()), info.status().as_u16())
        }))
}

/// The paths of the routes that act as the node's agent (see [`crate::owner`]), and the
/// prefix of those that name a blob in their path.
const OWNER_PATHS: [&str; 8] = [
    "/api/node",
    "/api/calls",
    "/api/place",
    "/api/content",
    "/api/token",
    "/api/pull",
    "/api/ui/session",
    "/api/anonymous",
];
const OWNER_PREFIXES: [&str; 3] = ["/api/anonymous/", "/api/calls/", "/api/place/"];

/// Whether `path` is one of the owner's routes.
fn is_owner_path(path: &str) -> bool {
    OWNER_PATHS.contains(&path.trim_end_matches('/')) || OWNER_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// The owner's routes answer no cross-origin request, except from the origins the owner
/// let in (`--ui-origin`, `let_in`): their responses carry no CORS headers, and a
/// preflight for them is refused, so a page on another origin may not even send the
/// request it asks about.
fn without_cors_for_owner(path: &str, method: &Method, let_in: bool, reply: impl Reply) -> Response<Body> {
    let mut resp = reply.into_response();
    if let_in || !is_owner_path(path) {
        return resp;
    }
    if method == Method::OPTIONS {
        resp = render(Err(ApiError::Forbidden(
            "the owner's routes answer no cross-origin requests".into(),
        )));
    }
    let cors: Vec<_> = resp
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in cors {
        resp.headers_mut().remove(name);
    }
    resp
}

/// CORS for every route, error responses included: players and UIs on other origins (a
/// launcher UI) may read blobs, playlists and segments, send `Range`, and upload with tus.
fn cors() -> warp::cors::Builder {
    warp::cors()
        .allow_any_origin()
        .allow_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allow_headers([
            "range",
            "authorization",
            "content-type",
            "if-match",
            "if-none-match",
            "if-range",
            "tus-resumable",
            "upload-length",
            "upload-offset",
            "upload-metadata",
            "upload-defer-length",
            "upload-checksum",
            "x-http-method-override",
            "x-content-sha256",
            "content-digest",
            "repr-digest",
            "x-upload-title",
            "x-upload-description",
            "x-upload-reach",
            "x-upload-invite",
            "x-upload-place",
            "x-upload-filename",
            "x-upload-ladder",
            "last-event-id",
        ])
        .expose_headers([
            "content-range",
            "content-length",
            "accept-ranges",
            "etag",
            "repr-digest",
            "location",
            "tus-resumable",
            "tus-version",
            "tus-extension",
            "tus-max-size",
            "tus-checksum-algorithm",
            "upload-offset",
            "upload-length",
        ])
        .max_age(600)
}

/// Turns warp's rejections (no route, wrong method, bad JSON, body too large) into JSON
/// errors with the right status.
async fn recover(rejection: Rejection) -> Result<Response<Body>, Infallible> {
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "no such route".to_string())
    } else if let Some(e) = rejection.find::<warp::cors::CorsForbidden>() {
        (StatusCode::FORBIDDEN, format!("CORS: {e}"))
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body exceeds the limit".to_string(),
        )
    } else if let Some(e) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        (StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}"))
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (
            StatusCode::LENGTH_REQUIRED,
            "Content-Length is required".to_string(),
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed".to_string())
    } else if rejection.find::<warp::reject::UnsupportedMediaType>().is_some() {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type".to_string(),
        )
    } else {
        (StatusCode::BAD_REQUEST, format!("bad request: {rejection:?}"))
    };
    Ok(json(
        status,
        &serde_json::json!({ "error": message, "status": status.as_u16() }),
    ))
}
