//! The node's web UI: the built bundle (`ui/dist`) at `/`, and `POST /api/ui/session`,
//! which hands a page that holds the owner's credential what it needs to make zome calls
//! as the node's agent (an app websocket that admits the page's origin, a single-use
//! token for it, and a capability for the page's own signing key).

use super::reply::json;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::state::Sidecar;
use base64::Engine;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warp::http::{header, HeaderMap, Response, StatusCode};

/// What the UI's pages may load and talk to: their own origin, and the conductor's app
/// websocket on loopback; no framing (clickjacking), no inline scripts (WebAssembly may
/// compile: the Holochain client signs with libsodium's).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
    worker-src 'self' blob:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Shown at `/` when the node has no built UI.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Elohim Media</title>\
    <h1>The web UI is not built here</h1><p>Run <code>scripts/setup.sh</code> (it builds \
    <code>ui/dist</code>) or start the node with <code>--ui-dir DIR</code>.</p>";

/// `GET /` and the bundle's files: `tail` is the request path without its leading `/`.
pub(crate) async fn file(state: Arc<Sidecar>, tail: String) -> Result<Response<Body>, ApiError> {
    let Some(dir) = state.config.ui.dir.as_deref() else {
        return match tail.as_str() {
            "" | "index.html" => Ok(page(
                StatusCode::OK,
                "text/html; charset=utf-8",
                "no-cache",
                NOT_BUILT.into(),
            )),
            _ => Err(ApiError::NotFound("file of the UI")),
        };
    };
    let relative = match tail.as_str() {
        "" => "index.html",
        other => other,
    };
    let path = bundle_path(dir, relative).ok_or(ApiError::NotFound("file of the UI"))?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::NotFound("file of the UI"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            return Err(ApiError::NotFound("file of the UI"))
        }
        Err(e) => return Err(e.into()),
    };
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    // Vite names the bundle's assets by their hash; everything else may change.
    let cache = match relative.starts_with("assets/") {
        true => "public, max-age=31536000, immutable",
        false => "no-cache",
    };
    let mime = match mime.type_() == "text" || mime.subtype() == "javascript" {
        true => format!("{mime}; charset=utf-8"),
        false => mime.to_string(),
    };
    Ok(page(StatusCode::OK, &mime, cache, bytes.into()))
}

/// A page of the UI with its security headers.
fn page(status: StatusCode, mime: &str, cache: &str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let value = super::reply::value;
    headers.insert(header::CONTENT_TYPE, value(mime));
    headers.insert(header::CACHE_CONTROL, value(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, value(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, value("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, value("nosniff"));
    headers.insert(header::REFERRER_POLICY, value("no-referrer"));
    response
}

/// The file under `dir` that `relative` names, if it names one inside: no empty, dot or
/// hidden segments, no backslashes, and nothing a symbolic link takes outside.
pub(crate) fn bundle_path(dir: &Path, relative: &str) -> Option<PathBuf> {
    let clean = relative.split('/').all(|segment| {
        !segment.is_empty() && !segment.starts_with('.') && !segment.contains(['\\', '\0', '%'])
    });
    if !clean {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let path = root.join(relative).canonicalize().ok()?;
    path.starts_with(&root).then_some(path)
}

/// `POST /api/ui/session`: the page's own signing key and capability secret, or neither
/// for a page whose host signs its zome calls (it needs the websocket only).
#[derive(Debug, Deserialize)]
pub(crate) struct SessionRequest {
    /// The page's signing key: an agent key (39 bytes), base64.
    pub signing_key: Option<String>,
    /// The secret the page will sign its calls with (64 bytes), base64.
    pub cap_secret: Option<String>,
    /// The origin the page runs on, when it is not the one making this request (an app
    /// host's page set up by a launcher); it must be one the owner let in.
    pub origin: Option<String>,
}

/// The origin a session is for: the one asked for, else the request's `Origin`, else the
/// node's own as the request named it in `Host`. It must be the node's own origin or one
/// of `allowed` (`--ui-origin`).
pub(crate) fn session_origin(
    asked: Option<&str>,
    origin_header: Option<&str>,
    host: &str,
    allowed: &[String],
) -> Result<String, ApiError> {
    let own = format!("http://{host}");
    let origin = asked.or(origin_header).unwrap_or(&own);
    if origin == own || allowed.iter().any(|a| a == origin) {
        Ok(origin.to_string())
    } else {
        Err(ApiError::Forbidden(format!(
            "origin '{origin}' is neither this node's ({own}) nor one started with --ui-origin"
        )))
    }
}

/// Grants the page's signing key the right to call the media zome as the node's agent
/// and returns the app websocket, its token and the cell. Owner only.
pub(crate) async fn session(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    req: SessionRequest,
) -> Result<Response<Body>, ApiError> {
    super::requires::owner_only(&state, &headers)?;
    let link = super::requires::linked(&state)?;
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let origin = session_origin(
        req.origin.as_deref(),
        text(header::ORIGIN),
        text(header::HOST).unwrap_or_default(),
        &state.config.ui.origins,
    )?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = |field: &'static str, value: &str, len: usize| {
        b64.decode(value)
            .ok()
            .filter(|b| b.len() == len)
            .ok_or_else(|| ApiError::Invalid {
                field,
                why: format!("{len} bytes, base64"),
            })
    };
    let grant =
        match (&req.signing_key, &req.cap_secret) {
            (Some(key), Some(secret)) => {
                let key = hdi::prelude::AgentPubKey::try_from_raw_39(bytes("signing_key", key, 39)?)
                    .map_err(|e| ApiError::Invalid {
                        field: "signing_key",
                        why: e.to_string(),
                    })?;
                let secret: [u8; 64] = bytes("cap_secret", secret, 64)?
                    .try_into()
                    .expect("length checked");
                Some((key, secret.into()))
            }
            (None, None) => None,
            _ => {
                return Err(ApiError::Invalid {
                    field: "signing_key",
                    why: "comes with cap_secret, and cap_secret with it".into(),
                })
            }
        };
    let session = link.ui_session(&origin, grant).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "app_ws_url": format!("ws://127.0.0.1:{}", session.app_port),
            "token": session.token,
            "app_id": session.app_id,
            "role": session.role,
            "agent": link.agent().to_string(),
            "cell_id": [
                b64.encode(session.dna.get_raw_39()),
                b64.encode(link.agent().get_raw_39()),
            ],
            "origin": origin,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_for_the_nodes_own_origin_or_one_the_owner_let_in() {
        let allowed = vec!["http://127.0.0.1:9000".to_string()];
        let host = "127.0.0.1:8788";
        assert_eq!(
            session_origin(None, None, host, &allowed).unwrap(),
            "http://127.0.0.1:8788"
        );
        assert_eq!(
            session_origin(None, Some("http://127.0.0.1:8788"), host, &allowed).unwrap(),
            "http://127.0.0.1:8788"
        );
        assert_eq!(
            session_origin(Some("http://127.0.0.1:9000"), None, host, &allowed).unwrap(),
            "http://127.0.0.1:9000"
        );
        for (asked, header) in [
            (None, Some("http://evil.example")),
            (Some("http://evil.example"), None),
            (None, Some("http://127.0.0.1:9001")),
            (None, Some("null")),
        ] {
            assert!(matches!(
                session_origin(asked, header, host, &allowed),
                Err(ApiError::Forbidden(_))
            ));
        }
    }

    #[test]
    fn only_files_inside_the_bundle_are_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("index.html"), "x").unwrap();
        std::fs::write(dir.path().join("assets/app.js"), "x").unwrap();
        std::fs::write(dir.path().join(".env"), "secret").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        assert!(bundle_path(dir.path(), "index.html").is_some());
        assert!(bundle_path(dir.path(), "assets/app.js").is_some());
        for bad in [
            "../secret",
            "assets/../../secret",
            ".env",
            "assets//app.js",
            "link",
            "assets\\app.js",
            "%2e%2e/secret",
            "missing.js",
        ] {
            assert_eq!(bundle_path(dir.path(), bad), None, "{bad}");
        }
    }
}
