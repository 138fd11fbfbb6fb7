//! The route template of a request path, the label of its metrics.

/// The route template of a request path, so that metrics labels stay few.
pub(crate) fn route_label(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["health"] => "/health",
        ["metrics"] => "/metrics",
        ["api", "blob"] => "/api/blob",
        ["api", "blob", _] => "/api/blob/{hash}",
        ["api", "blob", _, _] => "/api/blob/{hash}/{index}",
        ["api", "chunk", _] => "/api/chunk/{hash}",
        ["api", "chunks", "have"] => "/api/chunks/have",
        ["api", "manifest", _] => "/api/manifest/{hash}",
        ["api", "manifest", _, _] => "/api/manifest/{hash}/{playlist}",
        ["api", "ladder", _] => "/api/ladder/{hash}",
        ["player", ..] => "/player",
        ["api", "node"] => "/api/node",
        ["api", "content"] => "/api/content",
        ["api", "token"] => "/api/token",
        ["api", "pull"] => "/api/pull",
        ["api", "anonymous"] => "/api/anonymous",
        ["api", "anonymous", _] => "/api/anonymous/{hash}",
        ["api", "uploads"] => "/api/uploads",
        ["api", "uploads", _] => "/api/uploads/{id}",
        _ => "other",
    }
}
