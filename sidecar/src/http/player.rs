//! The node's own pages: `GET /player`, which plays a blob's HLS ladder from this node with
//! hls.js and offers its quality levels (and `GET /player/hls.min.js`, the library it
//! loads), and `GET /call/{id}`, where a browser joins a live call hosted here (and
//! `GET /call/assets/call.js`, its script).

use crate::http::reply::Body;
use warp::http::{header, Response};

const PAGE: &str = include_str!("../../assets/player.html");
const HLS_JS: &[u8] = include_bytes!("../../assets/hls.min.js");
const CALL_PAGE: &str = include_str!("../../assets/call.html");
const CALL_JS: &str = include_str!("../../assets/call.js");

/// The call page may load its script and talk to this node only; it is never framed, and
/// its URL (which carries a call token) is never sent on as a referrer.
const CALL_PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    media-src 'self' blob: mediastream:; connect-src 'self'; img-src 'self' data:; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The call page (`/call/{id}?token=…`).
pub(crate) fn call_page() -> Response<Body> {
    let mut page = asset("text/html; charset=utf-8", "no-cache", CALL_PAGE.as_bytes());
    let headers = page.headers_mut();
    headers.insert("content-security-policy", super::reply::value(CALL_PAGE_POLICY));
    headers.insert("referrer-policy", super::reply::value("no-referrer"));
    page
}

/// The call page's script.
pub(crate) fn call_js() -> Response<Body> {
    asset("text/javascript; charset=utf-8", "no-cache", CALL_JS.as_bytes())
}

/// The player page (`?src={hash}&token=…`).
pub(crate) fn page() -> Response<Body> {
    asset("text/html; charset=utf-8", "no-cache", PAGE.as_bytes())
}

/// hls.js.
pub(crate) fn hls_js() -> Response<Body> {
    asset("text/javascript; charset=utf-8", "public, max-age=86400", HLS_JS)
}

fn asset(mime: &str, cache: &str, body: &'static [u8]) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, super::reply::value(mime));
    headers.insert(header::CACHE_CONTROL, super::reply::value(cache));
    response
}
