//! Range requests and preconditions, RFC 9110 §13–14.

use crate::common::*;

async fn stored(s: &Server, size: usize) -> (Vec<u8>, String) {
    let data = bytes(size, 9);
    let receipt = s.upload(&data, "video/mp4").await;
    (data, format!("/api/blob/{}", receipt["hash"].as_str().unwrap()))
}

#[tokio::test]
async fn single_ranges_of_every_form_cross_chunk_boundaries() {
    let s = start().await;
    let (data, path) = stored(&s, 300_000).await;
    let c = CHUNK as usize;
    for (header, start, end) in [
        (format!("bytes={}-{}", c - 10, c + 9), c - 10, c + 10),
        ("bytes=0-0".to_string(), 0, 1),
        (format!("bytes={}-", 299_990), 299_990, 300_000),
        ("bytes=-100".to_string(), 299_900, 300_000),
        ("bytes=-999999".to_string(), 0, 300_000),
        ("bytes=299999-5000000".to_string(), 299_999, 300_000),
    ] {
        let resp = s.get(&path, &[("range", &header)]).await;
        assert_eq!(resp.status(), 206, "{header}");
        assert_eq!(
            resp.headers()["content-range"],
            format!("bytes {}-{}/300000", start, end - 1),
            "{header}"
        );
        assert_eq!(resp.headers()["content-length"], (end - start).to_string());
        assert_eq!(
            resp.bytes().await.unwrap().as_ref(),
            &data[start..end],
            "{header}"
        );
    }
}

#[tokio::test]
async fn several_ranges_come_as_multipart_byteranges() {
    let s = start().await;
    let (data, path) = stored(&s, 200_000).await;
    let resp = s
        .get(&path, &[("range", "bytes=100000-100009, 0-4, 65530-65545")])
        .await;
    assert_eq!(resp.status(), 206);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(&ct)
        .to_string();
    let declared: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), declared);
    // Parse the parts back out and check each one's header and bytes.
    let text = body.as_ref();
    let delim = format!("\r\n--{boundary}");
    let mut parts = vec![];
    let mut rest = text;
    while let Some(pos) = find(rest, delim.as_bytes()) {
        rest = &rest[pos + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let next = find(&rest[head_end + 4..], delim.as_bytes()).unwrap();
        parts.push((head, rest[head_end + 4..head_end + 4 + next].to_vec()));
    }
    assert_eq!(parts.len(), 3);
    for ((head, bytes), (a, b)) in parts
        .iter()
        .zip([(100_000usize, 100_010usize), (0, 5), (65_530, 65_546)])
    {
        assert!(head.contains("Content-Type: video/mp4"), "{head}");
        assert!(
            head.contains(&format!("Content-Range: bytes {}-{}/200000", a, b - 1)),
            "{head}"
        );
        assert_eq!(bytes, &data[a..b]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test]
async fn unsatisfiable_ranges_get_416_with_the_length() {
    let s = start().await;
    let (_, path) = stored(&s, 1000).await;
    let resp = s.get(&path, &[("range", "bytes=1000-2000")]).await;
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */1000");
}

#[tokio::test]
async fn edge_ranges_are_answered_as_rfc_9110_and_nginx_answer_them() {
    let s = start().await;
    let (data, path) = stored(&s, 1000).await;
    // `-0` is valid syntax that selects nothing.
    let resp = s.get(&path, &[("range", "bytes=-0")]).await;
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */1000");
    // A last position too large for 64 bits runs to the end.
    let resp = s
        .get(&path, &[("range", "bytes=990-99999999999999999999999")])
        .await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], "bytes 990-999/1000");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[990..]);
    // Overlapping ranges adding up to less than the whole are sent as asked.
    let resp = s.get(&path, &[("range", "bytes=0-9, 5-14")]).await;
    assert_eq!(resp.status(), 206);
    let mime = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(mime.starts_with("multipart/byteranges; boundary="), "{mime}");
    let body = resp.bytes().await.unwrap();
    for (range, bytes) in [("0-9", &data[0..10]), ("5-14", &data[5..15])] {
        let header = format!("Content-Range: bytes {range}/1000\r\n\r\n");
        let at = find(&body, header.as_bytes()).expect(&header) + header.len();
        assert_eq!(&body[at..at + bytes.len()], bytes, "{range}");
    }
}

#[tokio::test]
async fn invalid_oversized_or_too_many_range_sets_get_the_whole_blob() {
    let s = start().await;
    let (data, path) = stored(&s, 1000).await;
    let many: Vec<String> = (0..40).map(|i| format!("{}-{}", i * 20, i * 20 + 1)).collect();
    for header in [
        "bytes=9-2",
        "lines=0-5",
        "bytes=abc",
        "bytes=0-500, 400-900",
        &format!("bytes={}", many.join(",")),
    ] {
        let resp = s.get(&path, &[("range", header)]).await;
        assert_eq!(resp.status(), 200, "{header}");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[..], "{header}");
    }
}

#[tokio::test]
async fn if_range_with_stale_etag_sends_whole_blob() {
    let s = start().await;
    let (data, path) = stored(&s, 1000).await;
    let etag = format!("\"{}\"", sha(&data));
    let resp = s
        .get(&path, &[("range", "bytes=0-9"), ("if-range", "\"0000\"")])
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().len(), 1000);
    let resp = s.get(&path, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[..10]);
}

#[tokio::test]
async fn if_none_match_with_the_etag_is_not_modified_and_if_match_guards() {
    let s = start().await;
    let (data, path) = stored(&s, 1000).await;
    let etag = format!("\"{}\"", sha(&data));
    let resp = s.get(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"], etag.as_str());
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = s.get(&path, &[("if-match", "\"other\"")]).await;
    assert_eq!(resp.status(), 412);
}

#[tokio::test]
async fn a_chunk_is_served_by_index() {
    let s = start().await;
    let (data, path) = stored(&s, 150_000).await;
    let resp = s.get(&format!("{path}/2"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[2 * CHUNK as usize..]);
    assert_eq!(s.get(&format!("{path}/3"), &[]).await.status(), 404);
    assert_eq!(s.get(&format!("{path}/x"), &[]).await.status(), 400);
}

#[tokio::test]
async fn a_chunk_corrupted_on_disk_is_never_served() {
    let s = start().await;
    // Not a media type: a ladder job would read (and quarantine) the chunk first.
    let data = bytes(100_000, 9);
    let path = format!(
        "/api/blob/{}",
        s.upload_hash(&data, "application/octet-stream").await
    );
    // Flip a byte of the first chunk's file on disk.
    let hex = sha(&data[..CHUNK as usize]);
    let file = chunk_file(&s, &hex);
    let mut raw = std::fs::read(&file).unwrap();
    raw[10] ^= 0xff;
    std::fs::write(&file, raw).unwrap();

    let resp = s.get(&path, &[]).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(s.metric("elohim_chunk_verification_failures_total").await, 1.0);
    assert!(!file.exists(), "the corrupt chunk was quarantined");
    assert_eq!(
        std::fs::read_dir(s.dir.path().join("quarantine"))
            .unwrap()
            .count(),
        1
    );
    // Later requests see the chunk as missing, never the bad bytes.
    let resp = s.get(&format!("{path}/0"), &[]).await;
    assert_eq!(resp.status(), 404);
}

/// Flips one byte of a file in place: no truncation, the inode and length unchanged, and
/// the modification time set back to what it was, as a silent overwrite would leave it.
fn flip_in_place(file: &std::path::Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let before = std::fs::metadata(file).unwrap().modified().unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .unwrap();
    let mut byte = [0u8; 1];
    f.read_exact_at(&mut byte, at).unwrap();
    f.write_all_at(&[byte[0] ^ 0xff], at).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(before))
        .unwrap();
}

#[tokio::test]
async fn a_chunk_corrupted_after_it_was_served_is_never_served_again() {
    // No chunk tier: every read is from the chunk's file, the case a seal stands in for
    // hashing. Large enough to be served chunk by chunk, not as one small blob.
    let s = start_with(|c| c.cache.chunk_mib = 0).await;
    let data = bytes(2_000_000, 21);
    let hash = s.upload_hash(&data, "application/octet-stream").await;
    let path = format!("/api/blob/{hash}");
    let file = chunk_file(&s, &sha(&data[CHUNK as usize..2 * CHUNK as usize]));
    // A file changed within a second of its hashing is not sealed; let the seal take.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let range = format!("bytes={}-{}", CHUNK, 2 * CHUNK - 1);
    let mut hashed = Vec::new();
    for _ in 0..2 {
        let resp = s.get(&path, &[("range", &range)]).await;
        assert_eq!(resp.status(), 206);
        assert_eq!(
            &resp.bytes().await.unwrap()[..],
            &data[CHUNK as usize..2 * CHUNK as usize]
        );
        hashed.push(s.metric("elohim_chunks_verified_total").await);
    }
    assert_eq!(
        hashed[0], hashed[1],
        "the second read is served on the seal, not hashed"
    );
    let verified = hashed[1];

    flip_in_place(&file, 100);

    for _ in 0..3 {
        let resp = s.get(&path, &[("range", &range)]).await;
        assert_ne!(resp.status(), 206, "no byte of the changed chunk goes out");
        let body = resp.bytes().await.unwrap();
        assert!(
            !body
                .windows(16)
                .any(|w| w == &data[CHUNK as usize + 92..CHUNK as usize + 108]),
            "no byte of the changed chunk goes out"
        );
    }
    assert_eq!(s.metric("elohim_chunk_verification_failures_total").await, 1.0);
    assert!(!file.exists(), "the corrupt chunk was quarantined");
    // The whole blob now stops short of the chunk rather than sending its bytes.
    let resp = s.get(&path, &[]).await;
    assert_eq!(resp.status(), 200, "the first chunk is intact");
    let body = resp.bytes().await.unwrap_or_default();
    assert!(
        body.len() <= CHUNK as usize,
        "the body ends before the corrupt chunk"
    );
    // An untouched chunk is served on its seal: hashed at its first read only.
    let resp = s.get(&path, &[("range", "bytes=0-99")]).await;
    assert_eq!(&resp.bytes().await.unwrap()[..], &data[..100]);
    assert_eq!(
        s.metric("elohim_chunks_verified_total").await,
        verified + 1.0,
        "chunk 0 was hashed once, by the whole read"
    );
}

#[tokio::test]
async fn with_sendfile_ranges_and_whole_blobs_are_the_stored_bytes() {
    let s = start_with(|c| {
        c.cache.chunk_mib = 0;
        c.sendfile = true;
    })
    .await;
    let data = bytes(3_000_000, 33);
    let path = format!(
        "/api/blob/{}",
        s.upload_hash(&data, "application/octet-stream").await
    );
    for _ in 0..2 {
        let resp = s.get(&path, &[]).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.bytes().await.unwrap() == data, "the whole blob, byte-exact");
    }
    // Ranges that start and end inside chunks and span several.
    for (a, b) in [
        (0usize, 1),
        (65_000, 200_000),
        (1_234_567, 2_999_999),
        (2_999_999, 3_000_000),
    ] {
        let range = format!("bytes={a}-{}", b - 1);
        let resp = s.get(&path, &[("range", &range)]).await;
        assert_eq!(resp.status(), 206);
        assert!(resp.bytes().await.unwrap() == data[a..b], "{range}");
    }
    let resp = s.get(&path, &[("range", "bytes=10-19,70000-70009")]).await;
    let body = resp.bytes().await.unwrap();
    assert!(find(&body, &data[10..20]).is_some() && find(&body, &data[70_000..70_010]).is_some());
    // A chunk sent by its peers' route goes out the same way.
    let chunk = sha(&data[..CHUNK as usize]);
    let resp = s.get(&format!("/api/chunk/{chunk}"), &[]).await;
    assert!(resp.bytes().await.unwrap() == data[..CHUNK as usize]);
}
