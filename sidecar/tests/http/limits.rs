//! What one client may take from the server: a deadline for a request's head, an idle
//! timeout, a cap on connections served at once, and a bound on uploads taking bytes at once.

use crate::common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads what the server sends until it closes the connection or `wait` passes; returns
/// the text and whether the server closed it.
async fn read_until_closed(sock: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into(), false),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    let s = start_with(|c| {
        c.limits.header_read_timeout = Duration::from_millis(500);
        c.limits.idle_timeout = Duration::from_millis(800);
    })
    .await;
    // A slow head: one line, then nothing.
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "a head not finished in time closes the connection");
    // A connection that says nothing is closed too.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection is closed");
    // An idle keep-alive connection goes the same way after its request was answered.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle keep-alive connection is closed");
    // Prompt clients are served as ever.
    assert_eq!(
        reqwest::get(format!("{}/health", s.url)).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let s = start_with(|c| c.limits.max_connections = 2).await;
    let first = TcpStream::connect(s.addr).await.unwrap();
    let _second = TcpStream::connect(s.addr).await.unwrap();
    // Both held: a third connection is accepted by the kernel but not served.
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut third, Duration::from_millis(700)).await;
    assert!(answer.is_empty(), "over the cap, nothing is served yet: {answer}");
    // One closes, and the waiting connection is served.
    drop(first);
    let (answer, _) = read_until_closed(&mut third, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn uploads_beyond_the_bound_are_told_to_come_back() {
    let s = start_with(|c| c.limits.max_uploads = 1).await;
    // The first upload sends half its body and holds the slot.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (Ok::<_, std::io::Error>(piece), rx))
    });
    let data = bytes(3 * CHUNK as usize, 7);
    tx.send(data[..CHUNK as usize].to_vec()).unwrap();
    let url = format!("{}/api/blob", s.url);
    let first = tokio::spawn(
        reqwest::Client::new()
            .post(url.clone())
            .header("content-length", data.len())
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    // Bounded wait for the first upload to take its slot.
    for _ in 0..100 {
        if s.state.upload_slots.available_permits() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.state.upload_slots.available_permits(), 0);
    let busy = reqwest::Client::new()
        .post(url.clone())
        .body(bytes(1000, 8))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "5");
    assert!(busy.text().await.unwrap().contains("upload slot"));
    // The first finishes and stores its blob whole; then the slot is free again.
    tx.send(data[CHUNK as usize..].to_vec()).unwrap();
    drop(tx);
    let done = first.await.unwrap().unwrap();
    assert_eq!(done.status(), 201);
    let again = reqwest::Client::new()
        .post(url)
        .body(bytes(1000, 8))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    let got = reqwest::get(format!("{}/api/blob/{}", s.url, sha(&data)))
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());
}
