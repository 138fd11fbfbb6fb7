//! Peer chunk exchange: `GET`/`HEAD`/`PUT /api/chunk/{hash}`, `POST /api/chunks/have`.

use crate::common::*;

#[tokio::test]
async fn a_chunk_put_under_its_hash_is_stored_once_and_served() {
    let s = start().await;
    let data = bytes(5000, 4);
    let url = format!("{}/api/chunk/{}", s.url, sha(&data));
    let resp = s.client().put(&url).body(data.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let resp = s.client().put(&url).body(data.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = s.client().get(&url).send().await.unwrap();
    assert_eq!(resp.headers()["etag"], format!("\"{}\"", sha(&data)));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[..]);
    let resp = s.client().head(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "5000");
}

#[tokio::test]
async fn a_chunk_that_does_not_hash_to_its_name_gets_422_and_stores_nothing() {
    let s = start().await;
    let claimed = sha(b"what it claims to be");
    let url = format!("{}/api/chunk/{claimed}", s.url);
    let resp = s
        .client()
        .put(&url)
        .body(b"something else".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(s.client().head(&url).send().await.unwrap().status(), 404);
    assert_eq!(s.state.reader.store().bytes_used().unwrap(), 0);
    assert_eq!(s.metric("elohim_chunk_verification_failures_total").await, 1.0);
}

#[tokio::test]
async fn have_answers_the_subset_held_in_order() {
    let s = start().await;
    let a = bytes(100, 1);
    let b = bytes(100, 2);
    for d in [&a, &b] {
        s.client()
            .put(format!("{}/api/chunk/{}", s.url, sha(d)))
            .body(d.clone())
            .send()
            .await
            .unwrap();
    }
    let missing = sha(b"missing");
    let body = serde_json::json!({ "hashes": [sha(&b), missing, sha(&a)] });
    let resp = s
        .client()
        .post(format!("{}/api/chunks/have", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(got["have"], serde_json::json!([sha(&b), sha(&a)]));

    let bad = serde_json::json!({ "hashes": ["nothex"] });
    let resp = s
        .client()
        .post(format!("{}/api/chunks/have", s.url))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = s
        .client()
        .post(format!("{}/api/chunks/have", s.url))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
