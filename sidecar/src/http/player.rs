//! `GET /player`: a page that plays a blob's HLS ladder from this node with hls.js and
//! offers its quality levels, and `GET /player/hls.min.js`, the player library it loads.

use warp::http::{header, Response};
use warp::hyper::Body;

const PAGE: &str = include_str!("../../assets/player.html");
const HLS_JS: &[u8] = include_bytes!("../../assets/hls.min.js");

/// The player page (`?src={hash}&token=…`).
pub fn page() -> Response<Body> {
    asset("text/html; charset=utf-8", "no-cache", PAGE.as_bytes())
}

/// hls.js.
pub fn hls_js() -> Response<Body> {
    asset("text/javascript; charset=utf-8", "public, max-age=86400", HLS_JS)
}

fn asset(mime: &str, cache: &str, body: &'static [u8]) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, super::blob::value(mime));
    headers.insert(header::CACHE_CONTROL, super::blob::value(cache));
    response
}
