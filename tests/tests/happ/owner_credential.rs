//! The node's own routes need its owner's credential, not a loopback address: a web page
//! the owner opens, a page that rebinds its DNS name to 127.0.0.1, and a reverse proxy on
//! the same host all connect from loopback. Without the credential, nothing acts as the
//! node's agent: no status, no content list, no token, no pull, no upload, no chunk push.

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_nodes_own_routes_need_the_owners_credential_and_its_own_host_name() {
    let (net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start(&net, alice).await;
    let url = node.url.clone();
    let port = url.rsplit(':').next().unwrap().to_string();
    let stranger = reqwest::Client::new();
    let owner = sidecar::cli::client(Some(node.owner())).unwrap();
    let file = std::fs::read_to_string(node.dir.path().join("node-token")).unwrap();
    assert_eq!(
        file.trim(),
        node.owner(),
        "the CLI finds the credential in the data dir"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(node.dir.path().join("node-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(node.dir.path()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700, "no other user looks inside the data dir");

    let blob = "ab".repeat(32);
    let requests = |client: &reqwest::Client| {
        [
            client.get(format!("{url}/api/node")),
            client.get(format!("{url}/api/content")),
            client
                .post(format!("{url}/api/token"))
                .json(&serde_json::json!({ "blob": blob })),
            client
                .post(format!("{url}/api/pull"))
                .json(&serde_json::json!({ "hash": blob, "from": [] })),
        ]
    };
    // A stranger on loopback, and one with a wrong secret, are refused.
    for req in requests(&stranger) {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{}", resp.url());
    }
    let forger = sidecar::cli::client(Some(&"0".repeat(64))).unwrap();
    for req in requests(&forger) {
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    // The owner gets through (the pull fails later, for its unknown blob).
    let statuses: Vec<u16> = futures_statuses(requests(&owner)).await;
    assert_eq!(statuses, [200, 200, 200, 404]);

    // A page that rebound its name to 127.0.0.1 sends its own name as Host: refused even
    // with the credential (it cannot have it, but the Host check does not rely on that).
    let rebound = owner
        .get(format!("{url}/api/node"))
        .header("host", format!("evil.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);

    // No CORS for these routes: a preflight is refused and answers carry no CORS headers.
    let anonymous_blob = format!("/api/anonymous/{}", "ab".repeat(32));
    for (path, method) in [
        ("/api/token", "POST"),
        ("/api/anonymous", "GET"),
        (anonymous_blob.as_str(), "DELETE"),
    ] {
        let preflight = stranger
            .request(reqwest::Method::OPTIONS, format!("{url}{path}"))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", method)
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 403, "preflight for {method} {path}");
        assert!(preflight.headers().get("access-control-allow-origin").is_none());
    }
    let answer = owner
        .get(format!("{url}/api/node"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("access-control-allow-origin").is_none());
    // Blobs still answer any origin.
    let blobs = stranger
        .get(format!("{url}/api/blob/{blob}"))
        .header("origin", "https://player.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        blobs.headers()["access-control-allow-origin"],
        "https://player.example"
    );

    // Uploads publish as the node's agent: without the credential nothing is stored.
    let data = b"an upload by a stranger".repeat(1000);
    let resp = stranger
        .post(format!("{url}/api/blob"))
        .header("content-type", "audio/mpeg")
        .header("x-upload-title", "spam")
        .header("x-upload-reach", "commons")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let tus = stranger
        .post(format!("{url}/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "100")
        .send()
        .await
        .unwrap();
    assert_eq!(tus.status(), 401);
    let pushed = b"a chunk nobody asked this node to keep".to_vec();
    let name = media_store::hash::Hash32::of(&pushed);
    let push = |client: &reqwest::Client| {
        client
            .put(format!("{url}/api/chunk/{name}"))
            .body(pushed.clone())
            .send()
    };
    assert_eq!(push(&stranger).await.unwrap().status(), 401);
    assert!(!node.state.reader.store().has(&name).unwrap(), "nothing stored");
    assert_eq!(node.state.blobs.list().unwrap().len(), 0, "no blob stored");
    assert_eq!(push(&owner).await.unwrap().status(), 201);
    let receipt = post_blob(&node, data.clone(), "audio/mpeg", &[]).await;
    assert_eq!(receipt["size"], data.len());
}

async fn futures_statuses(requests: [reqwest::RequestBuilder; 4]) -> Vec<u16> {
    let mut out = Vec::new();
    for req in requests {
        out.push(req.send().await.unwrap().status().as_u16());
    }
    out
}
