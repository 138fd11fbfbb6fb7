//! How responses are built: bodies, JSON, headers, errors rendered, and the caching
//! headers of blob bytes.

use crate::error::{error_response, ApiError};
use serde::Serialize;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::Reply;

/// What a response's type says of its body.
pub trait BodyOf {
    /// The body's type.
    type Body;
}

impl<B> BodyOf for Response<B> {
    type Body = B;
}

/// The body of warp's responses (warp 0.4 does not name its type).
pub(crate) type Body = <warp::reply::Response as BodyOf>::Body;

/// A body streamed from `stream`: each item goes out as it comes, none is copied.
pub(crate) fn streamed<S, E>(stream: S) -> Body
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    warp::reply::stream(sync_wrapper::SyncStream::new(stream))
        .into_response()
        .into_body()
}

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// The response of a handler's result: its answer, or its error rendered.
pub(crate) fn render(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(|e| {
        if e.status().is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        error_response(&e)
    })
}

/// One year: blobs are content-addressed and never change.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Bytes behind a token: the reader's own cache may keep them, a shared cache never.
pub(crate) const PRIVATE: &str = "private, max-age=86400, immutable";

/// The `Cache-Control` of a response carrying blob bytes: only what anyone may read is
/// `public`, so a shared cache in front of a node never keeps private media for others.
pub(crate) fn cache_control(public: bool) -> &'static str {
    if public {
        IMMUTABLE
    } else {
        PRIVATE
    }
}

/// Adds the caching headers of a blob response: a gated one varies with the credential.
pub(crate) fn with_cache_headers(
    builder: warp::http::response::Builder,
    public: bool,
) -> warp::http::response::Builder {
    let builder = builder.header(header::CACHE_CONTROL, cache_control(public));
    if public {
        builder
    } else {
        builder.header(header::VARY, "Authorization")
    }
}

/// A response with headers only.
pub(crate) fn empty(builder: warp::http::response::Builder) -> Result<Response<Body>, ApiError> {
    builder
        .body(Body::default())
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))
}

/// A header value from a string known to be valid ASCII.
pub(crate) fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}
