//! The web UI's files and the owner's routes as an app host's page sees them.

use crate::common::*;

/// A built UI: a page and one asset.
fn bundle() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("index.html"), "<div id=\"app\"></div>").unwrap();
    std::fs::write(dir.path().join("assets/index-1a2b.js"), "console.log(1)").unwrap();
    dir
}

#[tokio::test]
async fn the_node_serves_its_ui_with_a_strict_content_security_policy() {
    let ui = bundle();
    let s = start_with(|c| c.ui.dir = Some(ui.path().to_path_buf())).await;
    let page = reqwest::get(format!("{}/", s.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(page.text().await.unwrap(), "<div id=\"app\"></div>");

    let asset = reqwest::get(format!("{}/assets/index-1a2b.js", s.url))
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(asset.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));

    // Nothing outside the bundle, and the API's own 404s stay JSON.
    for path in [
        "/missing.js",
        "/assets/../../etc/passwd",
        "/%2e%2e/secret",
        "/.hidden",
    ] {
        let resp = reqwest::get(format!("{}{path}", s.url)).await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    let api = reqwest::get(format!("{}/api/nothing", s.url)).await.unwrap();
    assert_eq!(api.status(), 404);
    assert!(api.text().await.unwrap().contains("no such route"));
}

#[tokio::test]
async fn without_a_built_ui_the_root_says_how_to_build_it() {
    let s = start().await;
    let page = reqwest::get(format!("{}/", s.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("scripts/setup.sh"));
    assert_eq!(
        reqwest::get(format!("{}/app.js", s.url)).await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn a_ui_session_needs_the_owner_and_a_conductor() {
    let s = start().await;
    let body = serde_json::json!({});
    let anonymous = reqwest::Client::new()
        .post(format!("{}/api/ui/session", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // The owner of a standalone sidecar is told there is no conductor to call.
    let owner = s
        .client()
        .post(format!("{}/api/ui/session", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), 400);
    assert!(owner.text().await.unwrap().contains("standalone"));
}

/// A CORS preflight from `origin` for a POST to `path` with an Authorization header.
async fn preflight(s: &Server, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}{path}", s.url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_origins_the_owner_let_in_reach_the_owners_routes_across_origins() {
    let host = "webhapp://webhappwindow";
    let s = start_with(|c| c.ui.origins = vec![host.to_string()]).await;
    for path in ["/api/ui/session", "/api/token", "/api/node"] {
        let let_in = preflight(&s, path, host).await;
        assert_eq!(let_in.status(), 200, "{path}");
        assert_eq!(let_in.headers()["access-control-allow-origin"], host);
        let other = preflight(&s, path, "http://evil.example").await;
        assert_eq!(other.status(), 403, "{path}");
        assert!(other.headers().get("access-control-allow-origin").is_none());
    }
    // The let-in origin still needs the owner's credential.
    let status = reqwest::Client::new()
        .get(format!("{}/api/node", s.url))
        .header("origin", host)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 401);
    assert_eq!(status.headers()["access-control-allow-origin"], host);
    let owned = s
        .client()
        .get(format!("{}/api/node", s.url))
        .header("origin", host)
        .send()
        .await
        .unwrap();
    assert_eq!(owned.status(), 200);
    let evil = s
        .client()
        .get(format!("{}/api/node", s.url))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}
