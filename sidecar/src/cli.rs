//! The command-line client: talks to a running node over HTTP. Uploads go through tus and
//! resume after an interruption; downloads resume too and verify every chunk.

use crate::receipt::Receipt;
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes sent per PATCH.
const PATCH_SIZE: usize = 4 << 20;

/// What to publish with an upload.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// Title (publishes the upload as content when given).
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Reach name.
    pub reach: Option<String>,
    /// Invited agents.
    pub invite: Vec<String>,
    /// Place, `region/bioregion/municipality/neighborhood/household`.
    pub place: Option<String>,
    /// Skip the adaptive-streaming renditions of a video or audio file.
    pub no_ladder: bool,
    /// The node owner's credential: a node takes uploads from its owner only.
    pub owner: Option<String>,
}

/// A client that sends the owner's credential, when there is one, with every request.
pub fn client(owner: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(secret) = owner {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {secret}"))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .pool_idle_timeout(crate::limits::CLIENT_IDLE)
        .build()?)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn resume_file() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/elohim-media/cli-uploads.json")
}

fn load_resume() -> BTreeMap<String, String> {
    std::fs::read(resume_file())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_resume(map: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let path = resume_file();
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    media_store::atomic::write_atomic(&path, &serde_json::to_vec_pretty(map)?)?;
    Ok(())
}

/// Uploads `file` to the node at `node`, resuming an earlier interrupted upload of the same
/// file; returns the receipt.
pub async fn upload(node: &str, file: &Path, opts: &UploadOptions) -> anyhow::Result<Receipt> {
    let client = client(opts.owner.as_deref())?;
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    let size = meta.len();
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let key = format!(
        "{node}|{}|{size}|{modified:?}",
        std::fs::canonicalize(file)?.display()
    );
    let mut resume = load_resume();
    let (url, mut offset) = match resume.get(&key) {
        Some(url) => match client.head(url).header("Tus-Resumable", "1.0.0").send().await {
            Ok(r) if r.status().is_success() => (url.clone(), header_u64(&r, "upload-offset")?),
            _ => create_upload(&client, node, file, size, opts).await?,
        },
        None => create_upload(&client, node, file, size, opts).await?,
    };
    resume.insert(key.clone(), url.clone());
    save_resume(&resume)?;
    let bar = bar(size, "upload");
    bar.set_position(offset);
    let mut f = std::fs::File::open(file)?;
    while offset < size {
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; PATCH_SIZE.min((size - offset) as usize)];
        f.read_exact(&mut buf)?;
        let resp = client
            .patch(&url)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset)
            .header("Content-Type", "application/offset+octet-stream")
            .body(buf)
            .send()
            .await
            .map_err(|e| {
                anyhow!("interrupted at {offset} of {size} bytes ({e}); run the same command again to resume")
            })?;
        if !resp.status().is_success() {
            bail!(
                "upload refused: {} {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        offset = header_u64(&resp, "upload-offset")?;
        bar.set_position(offset);
    }
    bar.finish();
    resume.remove(&key);
    save_resume(&resume)?;
    Ok(client.get(&url).send().await?.error_for_status()?.json().await?)
}

async fn create_upload(
    client: &reqwest::Client,
    node: &str,
    file: &Path,
    size: u64,
    opts: &UploadOptions,
) -> anyhow::Result<(String, u64)> {
    let mime = mime_guess::from_path(file).first_or_octet_stream().to_string();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut pairs = vec![("filetype", mime), ("filename", name)];
    let invite = opts.invite.join(",");
    for (k, v) in [
        ("title", &opts.title),
        ("description", &opts.description),
        ("reach", &opts.reach),
        ("place", &opts.place),
    ] {
        if let Some(v) = v {
            pairs.push((k, v.clone()));
        }
    }
    if !invite.is_empty() {
        pairs.push(("invite", invite));
    }
    if opts.no_ladder {
        pairs.push(("ladder", "no".into()));
    }
    let metadata: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", B64.encode(v)))
        .collect();
    let resp = client
        .post(format!("{node}/api/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", size)
        .header("Upload-Metadata", metadata.join(","))
        .send()
        .await
        .with_context(|| format!("reaching the node at {node}"))?;
    if resp.status() != 201 {
        bail!(
            "the node refused the upload: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| anyhow!("no Location"))?;
    Ok((format!("{node}{location}"), 0))
}

fn header_u64(resp: &reqwest::Response, name: &str) -> anyhow::Result<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("the node sent no {name}"))
}

/// Follows the ladder job at `path` (as the upload receipt names it) on the node, with a
/// progress bar, until it ends; returns its last progress.
pub async fn wait_for_ladder(node: &str, path: &str) -> anyhow::Result<crate::ladder::Progress> {
    wait_for_ladder_as(&reqwest::Client::new(), node, path).await
}

/// [`wait_for_ladder`] with `client` (one that sends the owner's credential follows the
/// jobs of content that is not public).
pub async fn wait_for_ladder_as(
    client: &reqwest::Client,
    node: &str,
    path: &str,
) -> anyhow::Result<crate::ladder::Progress> {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {percent}% {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    loop {
        let resp = client
            .get(format!("{node}{path}"))
            .send()
            .await
            .with_context(|| format!("reaching the node at {node}"))?;
        if !resp.status().is_success() {
            bail!("the node has no ladder job: {}", resp.status());
        }
        let progress: crate::ladder::Progress = resp.json().await?;
        bar.set_message(format!("renditions: {:?}", progress.stage).to_lowercase());
        bar.set_position((progress.percent * 10.0) as u64);
        if progress.finished() {
            bar.finish();
            return Ok(progress);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Downloads blob `hash` into `out`, resuming from a `.part` file and checking every
/// chunk's SHA-256 (and the whole blob's) before keeping it.
pub async fn get(node: &str, hash: &str, out: &Path, token: Option<&str>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let with_token = |req: reqwest::RequestBuilder| match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    };
    let resp = with_token(client.get(format!("{node}/api/manifest/{hash}")))
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!(
            "cannot read blob {hash}: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    let manifest: crate::http::upload::Receipt = resp.json().await?;
    // A node that answers with another blob's manifest would have its bytes "verified"
    // against the wrong hashes.
    if manifest.hash != hash {
        bail!(
            "the node described blob {} when asked for {hash}; nothing was downloaded",
            manifest.hash
        );
    }
    media_rules::ChunkLayout::new(manifest.size, manifest.chunk_size)
        .filter(|l| l.chunk_count() == manifest.chunks.len() as u64)
        .ok_or_else(|| anyhow!("the node's manifest of {hash} does not agree with itself"))?;
    let part = out.with_extension("part");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&part)?;
    let done = verified_prefix(&mut file, &manifest)?;
    let chunk = u64::from(manifest.chunk_size);
    let bar = bar(manifest.size, "download");
    bar.set_position((done as u64 * chunk).min(manifest.size));
    for (i, expected) in manifest.chunks.iter().enumerate().skip(done) {
        let resp = with_token(client.get(format!("{node}/api/blob/{hash}/{i}")))
            .send()
            .await?
            .error_for_status()?;
        let bytes = resp.bytes().await?;
        let actual = media_store::hash::Hash32::of(&bytes).to_hex();
        if &actual != expected {
            bail!("chunk {i} does not match its hash (expected {expected}, got {actual}); nothing was kept of it");
        }
        file.write_all(&bytes)?;
        bar.inc(bytes.len() as u64);
    }
    file.sync_all()?;
    bar.finish();
    let mut whole = Sha256::new();
    std::io::copy(&mut std::fs::File::open(&part)?, &mut whole)?;
    if media_store::hash::Hash32(whole.finalize().into()).to_hex() != hash {
        bail!("the assembled file does not match the blob hash");
    }
    std::fs::rename(&part, out)?;
    Ok(())
}

/// How many leading chunks of a partial download are complete and intact; truncates the
/// file after them.
fn verified_prefix(
    file: &mut std::fs::File,
    manifest: &crate::http::upload::Receipt,
) -> anyhow::Result<usize> {
    let chunk = manifest.chunk_size as usize;
    let len = file.metadata()?.len();
    let mut good = 0;
    let mut buf = vec![0u8; chunk];
    file.seek(SeekFrom::Start(0))?;
    while good < manifest.chunks.len() {
        let want = chunk.min((manifest.size - (good * chunk) as u64) as usize);
        if ((good * chunk + want) as u64) > len {
            break;
        }
        file.read_exact(&mut buf[..want])?;
        if media_store::hash::Hash32::of(&buf[..want]).to_hex() != manifest.chunks[good] {
            break;
        }
        good += 1;
    }
    file.set_len((good * chunk) as u64)?;
    file.seek(SeekFrom::End(0))?;
    Ok(good)
}

/// What `elohim-media call start` and `call join` print: the call, and where to join it
/// (`node` is the URL of the node that answered, the host unless `joining` names another).
pub fn joining_text(node: &str, joining: &crate::http::calls::Joining) -> String {
    let host = joining.host.as_deref().unwrap_or(node).trim_end_matches('/');
    format!(
        "call:      {}\njoin page: {host}{}\nwhip:      {host}{}\nwhep:      {host}{}\npresence:  {host}{}\ntoken:     {}\n",
        joining.call, joining.page, joining.whip, joining.whep, joining.events, joining.token
    )
}
