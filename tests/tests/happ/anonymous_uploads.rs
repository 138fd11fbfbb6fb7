//! Uploads without the owner's credential: off on a node unless its operator turns them
//! on; then they land as unpublished blobs only the owner reads, start no ladder, and stop
//! at per-client and total quotas that survive a restart.

use crate::common::*;
use media_rules::quota::{Quotas, Usage};
use std::net::IpAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KB: u64 = 1000;

fn quotas() -> Quotas {
    Quotas {
        client: Usage {
            bytes: 300 * KB,
            streams: 1,
            tus_open: 1,
        },
        total: Usage {
            bytes: 500 * KB,
            streams: 4,
            tus_open: 4,
        },
    }
}

/// A client whose connections come from `ip` (any 127.x address is loopback). It keeps no
/// idle connection: a refused upload's connection is closed by the server with its body
/// unread, and must not be picked for the next request.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn data(n: u64, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn anonymous_post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut req = client
        .post(format!("{url}/api/blob"))
        .header("content-type", "video/mp4")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn tus_create(client: &reqwest::Client, url: &str, length: u64) -> reqwest::Response {
    client
        .post(format!("{url}/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .header("upload-metadata", "filetype dmlkZW8vbXA0")
        .send()
        .await
        .unwrap()
}

/// Sends a request head on a raw connection, so a test controls how the body arrives.
async fn raw_head(url: &str, head: &str) -> tokio::net::TcpStream {
    let addr = url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.replace('\n', "\r\n").as_bytes())
        .await
        .unwrap();
    conn
}

async fn status_of(conn: &mut tokio::net::TcpStream) -> String {
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(30), conn.read(&mut answer))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_uploads_land_unpublished_for_the_owner_and_stop_at_their_quotas() {
    let (net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start_with(&net, alice, |c| c.anonymous_uploads = Some(quotas())).await;
    let url = node.url.clone();
    let one = client_from("127.0.0.1");
    let other = client_from("127.0.0.2");

    // Metadata is checked before any byte is stored: no publishing, and a declared length.
    let (status, body) = anonymous_post(&one, &url, data(1000, 1), &[("x-upload-title", "spam")]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("unpublished"), "{body}");
    let mut chunked = raw_head(
        &url,
        "POST /api/blob HTTP/1.1\nHost: 127.0.0.1\nContent-Type: video/mp4\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(
        status_of(&mut chunked).await.contains(" 411 "),
        "no length, no upload"
    );
    assert!(node.state.blobs.list().unwrap().is_empty(), "nothing stored");

    // Within quota: stored for the owner only, with no ladder and nothing published.
    let first = data(200 * KB, 2);
    let (status, receipt) = anonymous_post(&one, &url, first.clone(), &[]).await;
    assert_eq!(status, 201, "{receipt}");
    assert!(
        receipt["ladder"].is_null() && receipt["published"].is_null(),
        "{receipt}"
    );
    let hash = receipt["hash"].as_str().unwrap().to_string();
    let record = node.state.blobs.get(&hash.parse().unwrap()).unwrap().unwrap();
    assert!(!record.own, "not the node's own upload");
    assert_eq!(record.anonymous.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        get(&url, &hash, None).await.0,
        401,
        "anonymous readers get nothing back"
    );
    assert_eq!(get(&url, &hash, Some(node.owner())).await, (200, first.clone()));
    assert!(
        node.state.ladders.progress(&hash.parse().unwrap()).is_none(),
        "no ladder job"
    );

    // One upload at a time per client: a second, while a body is still arriving, waits.
    let mut slow = raw_head(
        &url,
        "POST /api/blob HTTP/1.1\nHost: 127.0.0.1\nContent-Type: video/mp4\nContent-Length: 50000\n\npartial",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let busy = one
        .post(format!("{url}/api/blob"))
        .header("content-type", "video/mp4")
        .body(data(10, 3))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 429);
    assert!(busy.headers().contains_key("retry-after"), "waiting helps");
    // The cut body frees its slot and its reserved bytes.
    slow.shutdown().await.unwrap();
    drop(slow);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // The client's bytes: 200 kB held, so 200 kB more is refused and leaves nothing.
    let (status, body) = anonymous_post(&one, &url, data(200 * KB, 4), &[]).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("this client's"),
        "{body}"
    );
    assert_eq!(node.state.blobs.list().unwrap().len(), 1);

    // tus: one upload in progress per client, its declared length reserved.
    let created = tus_create(&one, &url, 50 * KB).await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        tus_create(&one, &url, 10).await.status(),
        429,
        "one tus upload in progress"
    );
    let patched = one
        .patch(format!("{url}{location}"))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(data(50 * KB, 5))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);
    let tus_hash = patched.headers()["x-blob-hash"].to_str().unwrap().to_string();
    let record = node.state.blobs.get(&tus_hash.parse().unwrap()).unwrap().unwrap();
    assert_eq!(record.anonymous.as_deref(), Some("127.0.0.1"));
    let over = tus_create(&one, &url, 60 * KB).await;
    assert_eq!(over.status(), 413, "250 kB held, 60 kB more is over 300 kB");

    // Another client has its own quota, within the total: 250 + 200 kB fits 500 kB, and
    // 60 kB more does not, though it is within the other client's own.
    let (status, _) = anonymous_post(&other, &url, data(200 * KB, 6), &[]).await;
    assert_eq!(status, 201);
    let (status, body) = anonymous_post(&other, &url, data(60 * KB, 7), &[]).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("total"), "{body}");

    // The owner's uploads never count.
    let mine = post_blob(&node, data(300 * KB, 8), "application/octet-stream", &[]).await;
    assert_eq!(mine["size"], 300 * KB);

    // The owner sees what strangers left, and removes it; strangers may not look.
    let owner = sidecar::cli::client(Some(node.owner())).unwrap();
    let left: Vec<serde_json::Value> = owner_get(&node, "/api/anonymous").await;
    let clients: Vec<&str> = left.iter().map(|b| b["client"].as_str().unwrap()).collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(
        clients.iter().filter(|c| **c == "127.0.0.2").count(),
        1,
        "{left:?}"
    );
    let stranger = one.get(format!("{url}/api/anonymous")).send().await.unwrap();
    assert_eq!(stranger.status(), 401);
    let removal = |hash: &str| owner.delete(format!("{url}/api/anonymous/{hash}")).send();
    assert_eq!(
        one.delete(format!("{url}/api/anonymous/{hash}"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let own = mine["hash"].as_str().unwrap();
    assert_eq!(
        removal(own).await.unwrap().status(),
        403,
        "the owner's own upload is not removed here"
    );
    assert_eq!(removal(&hash).await.unwrap().status(), 204);
    assert_eq!(get(&url, &hash, Some(node.owner())).await.0, 404);
    // Its bytes are back in the client's quota: 50 kB held, 60 kB more fits.
    let (status, _) = anonymous_post(&one, &url, data(60 * KB, 9), &[]).await;
    assert_eq!(status, 201);
    // The same bytes again are held already: counted once (110 kB), so 150 kB more fits.
    let (status, _) = anonymous_post(&one, &url, data(60 * KB, 9), &[]).await;
    assert_eq!(status, 201);
    let (status, body) = anonymous_post(&one, &url, data(150 * KB, 12), &[]).await;
    assert_eq!(status, 201, "{body}");

    // Quotas survive a restart: what clients left is counted from the blob index (260 kB).
    let node = node
        .restart_with(&net, alice, |c| c.anonymous_uploads = Some(quotas()))
        .await;
    let (status, _) = anonymous_post(&one, &node.url, data(200 * KB, 11), &[]).await;
    assert_eq!(status, 413);

    // Turned off (the default), the node refuses anonymous uploads again.
    let node = node.restart(&net, alice).await;
    let (status, _) = anonymous_post(&one, &node.url, data(KB, 10), &[]).await;
    assert_eq!(status, 401);
    assert_eq!(tus_create(&one, &node.url, KB).await.status(), 401);
}
