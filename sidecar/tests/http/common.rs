//! Starting a sidecar on an ephemeral loopback port, and small client helpers.

use sidecar::config::Config;
use sidecar::state::Sidecar;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Chunk size the tests use: small, so blobs of a few hundred KiB span many chunks.
pub const CHUNK: u32 = 64 * 1024;

/// A running sidecar and its data directory.
pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    pub state: Arc<Sidecar>,
    pub dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a standalone sidecar with 64 KiB chunks and an upload limit of `max_upload` bytes.
pub async fn start_with_limit(max_upload: u64) -> Server {
    start_with(|c| c.max_upload_bytes = max_upload).await
}

/// Starts a standalone sidecar with 64 KiB chunks, a 64 MiB upload limit and default
/// caches, as changed by `adjust`.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        chunk_size: CHUNK,
        max_upload_bytes: 64 << 20,
        ..Config::on_loopback(dir.path().to_path_buf())
    };
    adjust(&mut config);
    launch(config, dir)
}

/// Stops `s` and starts a sidecar again with its configuration on its data directory, as
/// a restart of the process would.
pub async fn restart(s: Server) -> Server {
    let Server {
        state, dir, _stop, ..
    } = s;
    let mut config = state.config.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    drop((_stop, state));
    launch(config, dir)
}

fn launch(config: Config, dir: tempfile::TempDir) -> Server {
    let state = Sidecar::open(config.clone()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = sidecar::server::bind(state.clone(), config.listen, async {
        let _ = stopped.await;
    })
    .unwrap();
    tokio::spawn(server);
    Server {
        addr,
        url: format!("http://{addr}"),
        state,
        dir,
        _stop: stop,
    }
}

/// Starts a standalone sidecar with a 64 MiB upload limit.
pub async fn start() -> Server {
    start_with_limit(64 << 20).await
}

/// Deterministic test bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The SHA-256 of `data`, lowercase hex.
pub fn sha(data: &[u8]) -> String {
    media_store::hash::Hash32::of(data).to_hex()
}

/// Where the filesystem store keeps the chunk whose hash is `hex`.
pub fn chunk_file(s: &Server, hex: &str) -> std::path::PathBuf {
    s.dir.path().join("chunks").join(&hex[0..2]).join(hex)
}

/// The sizes worth testing around a chunk boundary.
pub fn interesting_sizes() -> Vec<usize> {
    let c = CHUNK as usize;
    vec![0, 1, c - 1, c, c + 1, 3 * c + 5]
}

impl Server {
    /// A client that acts as the sidecar's owner (its credential on every request).
    pub fn client(&self) -> reqwest::Client {
        sidecar::cli::client(Some(self.state.owner.secret())).unwrap()
    }

    /// Asks this sidecar, as its owner, to pull blob `hash` from the sources in `from`.
    pub async fn pull(&self, hash: &str, from: serde_json::Value) -> reqwest::Response {
        self.swarm_pull(hash, serde_json::json!([]), from).await
    }

    /// `POST /api/pull` spreading over `swarm` before asking `from` in order.
    pub async fn swarm_pull(
        &self,
        hash: &str,
        swarm: serde_json::Value,
        from: serde_json::Value,
    ) -> reqwest::Response {
        self.client()
            .post(format!("{}/api/pull", self.url))
            .json(&serde_json::json!({ "hash": hash, "swarm": swarm, "from": from }))
            .send()
            .await
            .unwrap()
    }

    /// Uploads `data` with `POST /api/blob`; returns the receipt.
    pub async fn upload(&self, data: &[u8], mime: &str) -> serde_json::Value {
        let resp = self
            .client()
            .post(format!("{}/api/blob", self.url))
            .header("content-type", mime)
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "upload answered {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Uploads `data` and returns its hash.
    pub async fn upload_hash(&self, data: &[u8], mime: &str) -> String {
        self.upload(data, mime).await["hash"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// GETs `path` with extra headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.client().get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// Sends raw bytes and reads until the server closes or `wait` passes.
    pub async fn raw(&self, request: &[u8], wait: std::time::Duration) -> String {
        let mut sock = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        sock.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(wait, sock.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A counter from `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics", &[]).await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// How many blob records the data directory holds.
    pub fn blob_count(&self) -> usize {
        self.state.blobs.list().unwrap().len()
    }
}
