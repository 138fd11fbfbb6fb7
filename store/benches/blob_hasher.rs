//! The two hashes every uploaded byte goes through — its chunk's and the whole blob's —
//! computed as two passes over each chunk and as one interleaved pass
//! ([`media_store::blob_hasher::BlobHasher::update_and_hash`]), against one SHA-256 pass of the
//! same bytes and `openssl speed -evp sha256` on 1 MiB blocks, all on one core, in the same
//! run. Prints the rates and the ratios.
//!
//! Run: `cargo bench -p media_store --bench blob_hasher --profile dev` (optionally `-- GIB`,
//! the bytes hashed per line, 1 GiB by default).

use media_store::blob_hasher::BlobHasher;
use media_store::hash::Hash32;
use sha2::{Digest, Sha256};
use std::process::Command;
use std::time::Instant;

const CHUNK: usize = 1 << 20;
/// Distinct chunks cycled through, so the input is not one cached megabyte.
const DISTINCT: usize = 64;

/// MiB of input per second for `f` over `chunks` chunks of `data`.
fn rate(data: &[u8], chunks: usize, mut f: impl FnMut(&[u8])) -> f64 {
    let start = Instant::now();
    for i in 0..chunks {
        f(&data[(i % DISTINCT) * CHUNK..][..CHUNK]);
    }
    chunks as f64 / start.elapsed().as_secs_f64()
}

/// One core's SHA-256 rate by `openssl speed -evp sha256` on 1 MiB blocks, in MiB/s.
fn openssl_rate() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-bytes", "1048576", "-seconds", "3"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("sha256"))?;
    let kbytes: f64 = line
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(kbytes * 1000.0 / CHUNK as f64)
}

fn main() {
    let gib: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1.0);
    let chunks = (gib * 1024.0) as usize;
    let data: Vec<u8> = (0..DISTINCT * CHUNK)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut sink = 0u8;
    println!("{chunks} chunks of 1 MiB per line, one core");
    for round in 1..=3 {
        let single = rate(&data, chunks, |c| sink ^= Sha256::digest(c)[0]);
        let mut blob = Sha256::new();
        let twice = rate(&data, chunks, |c| {
            sink ^= Hash32::of(c).0[0];
            blob.update(c);
        });
        sink ^= blob.finalize()[0];
        let mut blob = BlobHasher::default();
        let fused = rate(&data, chunks, |c| sink ^= blob.update_and_hash(c).0[0]);
        sink ^= blob.finalize().0[0];
        println!(
            "round {round}: one SHA-256 pass {single:.0} MiB/s; chunk + blob hashes as two passes \
             {twice:.0} MiB/s of input, as one interleaved pass {fused:.0} MiB/s: x{:.2}",
            fused / twice
        );
    }
    match openssl_rate() {
        Some(ossl) => println!(
            "openssl speed -evp sha256 (1 MiB blocks): {ossl:.0} MiB/s; one interleaved pass \
             hashes both at {:.2}x that rate per byte of input (two passes: at most 0.5x)",
            {
                let mut blob = BlobHasher::default();
                let fused = rate(&data, chunks, |c| sink ^= blob.update_and_hash(c).0[0]);
                fused / ossl
            }
        ),
        None => println!("openssl not found: no reference rate"),
    }
    std::hint::black_box(sink);
}
