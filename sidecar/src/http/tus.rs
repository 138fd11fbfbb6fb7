//! The tus 1.0 endpoints at `/api/uploads`.

use super::reply::{empty, value};
use super::tus_checksum::{self, Checksum};
use crate::anonymous::Uploader;
use crate::clock::now_secs;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::ingest::ingest_file;
use crate::publish::Publication;
use crate::receipt::Receipt;
use crate::state::Sidecar;
use crate::tus::{FinishFailure, TusUploads};
use crate::upload_meta::UploadMeta;
use crate::uploaded::complete;
use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;
use warp::http::{header, HeaderMap, Response, StatusCode};

/// The protocol version spoken.
pub(crate) const TUS_VERSION: &str = "1.0.0";
/// The extensions supported.
pub(crate) const TUS_EXTENSIONS: &str = "creation,termination,checksum";

fn tus(builder: warp::http::response::Builder) -> warp::http::response::Builder {
    builder
        .header("Tus-Resumable", TUS_VERSION)
        .header(header::CACHE_CONTROL, "no-store")
}

/// A tus route's response, errors included: the protocol wants `Tus-Resumable` on every
/// response, so a client can tell a tus error from a proxy's.
pub(crate) fn render(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    let mut resp = super::reply::render(result);
    resp.headers_mut()
        .entry("tus-resumable")
        .or_insert(warp::http::HeaderValue::from_static(TUS_VERSION));
    resp
}

fn require_version(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(ApiError::TusVersion),
    }
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    let v = headers
        .get(name)
        .ok_or_else(|| ApiError::Header(format!("{name} is required")))?;
    v.to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::Header(format!("{name} must be a non-negative integer")))
}

/// `OPTIONS /api/uploads`: what this server supports.
pub(crate) fn options(state: Arc<Sidecar>) -> Result<Response<Body>, ApiError> {
    empty(
        tus(Response::builder().status(StatusCode::NO_CONTENT))
            .header("Tus-Version", TUS_VERSION)
            .header("Tus-Extension", TUS_EXTENSIONS)
            .header("Tus-Checksum-Algorithm", tus_checksum::ALGORITHMS)
            .header("Tus-Max-Size", state.config.max_upload_bytes),
    )
}

/// `POST /api/uploads`: creates an upload of `Upload-Length` bytes.
pub(crate) fn create(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    client: IpAddr,
) -> Result<Response<Body>, ApiError> {
    require_version(&headers)?;
    let uploader = super::upload::uploader(&state, &headers, client)?;
    let length = number(&headers, "upload-length")?;
    if length > state.config.max_upload_bytes {
        return Err(ApiError::TooLarge {
            limit: state.config.max_upload_bytes,
        });
    }
    let meta = match headers.get("upload-metadata") {
        Some(v) => UploadMeta::parse_tus(
            v.to_str()
                .map_err(|_| ApiError::Header("Upload-Metadata is not ASCII".into()))?,
        )?,
        None => UploadMeta::default(),
    };
    if let Some(mime) = meta.mime() {
        media_rules::manifest::check_mime("filetype", mime).map_err(ApiError::Header)?;
    }
    Publication::for_upload(&state, &meta)?;
    let id = match (uploader, &state.anonymous) {
        (Uploader::Anonymous(client), Some(quotas)) => {
            super::upload::check_anonymous(&meta, Some(length))?;
            quotas.create_tus(client, length, &state.uploads, || {
                state.uploads.create(length, meta, Some(client))
            })?
        }
        _ => state.uploads.create(length, meta, None)?,
    };
    empty(
        tus(Response::builder().status(StatusCode::CREATED))
            .header(header::LOCATION, value(&format!("/api/uploads/{id}")))
            .header("Upload-Offset", 0),
    )
}

/// `HEAD /api/uploads/{id}`: how far the upload has come. A whole upload that is not a
/// blob yet (its last PATCH was cut short while it was being ingested) is finished in the
/// background.
pub(crate) fn head(state: Arc<Sidecar>, id: String) -> Result<Response<Body>, ApiError> {
    let (upload, offset) = state.uploads.load(&id)?;
    let waiting = upload.failed.as_ref().is_some_and(|f| f.waiting(now_secs()));
    if upload.done.is_none() && offset == upload.length && !waiting {
        let (state, id) = (state.clone(), id.clone());
        tokio::spawn(async move { complete_upload(&state, &id).await });
    }
    empty(
        tus(Response::builder().status(StatusCode::OK))
            .header("Upload-Offset", offset)
            .header("Upload-Length", upload.length),
    )
}

/// `GET /api/uploads/{id}`: the blob's receipt once finished (the same JSON a plain upload
/// answers with), 409 while bytes are missing. A whole upload that is not a blob yet is
/// finished first.
pub(crate) async fn status(state: Arc<Sidecar>, id: String) -> Result<Response<Body>, ApiError> {
    let (upload, offset) = state.uploads.load(&id)?;
    match upload.done {
        Some(receipt) => Ok(super::reply::json(StatusCode::OK, &receipt)),
        None if offset == upload.length => Ok(super::reply::json(
            StatusCode::OK,
            &complete_upload(&state, &id).await?,
        )),
        None => Err(ApiError::OffsetConflict {
            current: offset,
            given: upload.length,
        }),
    }
}

/// `DELETE /api/uploads/{id}`: abandons an upload.
pub(crate) async fn terminate(
    state: Arc<Sidecar>,
    id: String,
    headers: HeaderMap,
) -> Result<Response<Body>, ApiError> {
    require_version(&headers)?;
    state.uploads.load(&id)?;
    let lock = state.uploads.lock(&id);
    let _guard = lock.lock().await;
    state.uploads.remove(&id)?;
    empty(tus(Response::builder().status(StatusCode::NO_CONTENT)))
}

/// `PATCH /api/uploads/{id}`: appends the body at `Upload-Offset`. Whatever arrives is
/// kept even if the connection breaks, so the client can resume from the new offset —
/// unless the PATCH names an `Upload-Checksum`: then the body is kept only whole and
/// matching, and otherwise the upload stays at its offset.
pub(crate) async fn patch<S, B>(
    state: Arc<Sidecar>,
    id: String,
    headers: HeaderMap,
    client: IpAddr,
    mut body: S,
) -> Result<Response<Body>, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    require_version(&headers)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type != Some("application/offset+octet-stream") {
        return Err(ApiError::Header(
            "Content-Type must be application/offset+octet-stream".into(),
        ));
    }
    let given = number(&headers, "upload-offset")?;
    let mut checksum = Checksum::from_headers(&headers)?;
    TusUploads::check_id(&id)?;
    // Bytes for an anonymous client's upload count as one of the uploads it has under way.
    let _stream = match &state.anonymous {
        Some(quotas) if state.uploads.load(&id)?.0.anonymous.is_some() => {
            Some(quotas.start(client, 0, &state.uploads)?)
        }
        _ => None,
    };
    let _slot = state.upload_slot()?;
    let guard = state.uploads.lock(&id).lock_owned().await;
    let (upload, offset) = state.uploads.load(&id)?;
    if upload.done.is_some() || given != offset {
        return Err(ApiError::OffsetConflict {
            current: offset,
            given,
        });
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(state.uploads.part_path(&id))?;
    let writer = PartWriter::start(file, guard);
    let mut written = offset;
    let mut failure = None;
    while let Some(piece) = body.next().await {
        let mut piece = match piece {
            Ok(p) => p,
            Err(_) => {
                failure = Some(ApiError::Truncated {
                    got: written - offset,
                    expected: 0,
                });
                break;
            }
        };
        let bytes: Bytes = piece.copy_to_bytes(piece.remaining());
        if written + bytes.len() as u64 > upload.length {
            writer.finish(Some(offset)).await?;
            return Err(ApiError::TooLarge { limit: upload.length });
        }
        if let Some(c) = &mut checksum {
            c.update(&bytes);
        }
        state.metrics.bytes_in.inc_by(bytes.len() as u64);
        written += bytes.len() as u64;
        if writer.pieces.send(bytes).await.is_err() {
            break; // The disk failed: `finish` says how.
        }
    }
    let verified = match checksum {
        Some(_) if failure.is_some() => Err(ApiError::Header(
            "the body broke off before its Upload-Checksum could be checked; nothing was kept".into(),
        )),
        Some(c) => c.verify(),
        None => Ok(()),
    };
    let guard = writer.finish(verified.is_err().then_some(offset)).await?;
    verified?;
    if let Some(err) = failure {
        return Err(err);
    }
    let mut builder =
        tus(Response::builder().status(StatusCode::NO_CONTENT)).header("Upload-Offset", written);
    if written == upload.length {
        drop(guard);
        let receipt = complete_upload(&state, &id).await?;
        builder = builder.header("X-Blob-Hash", value(&receipt.hash));
    }
    empty(builder)
}

/// The disk side of a PATCH: a blocking task that owns the part file and the upload's lock
/// and appends the pieces it is sent, so no file I/O runs on the async workers. If the
/// request goes away mid-body, the task still writes what it was sent before it lets the
/// lock go: the next PATCH never sees an offset that a write in flight would change.
struct PartWriter {
    pieces: tokio::sync::mpsc::Sender<Bytes>,
    task: tokio::task::JoinHandle<std::io::Result<(std::fs::File, OwnedMutexGuard<()>)>>,
}

impl PartWriter {
    fn start(mut file: std::fs::File, guard: OwnedMutexGuard<()>) -> Self {
        let (pieces, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let task = tokio::task::spawn_blocking(move || {
            while let Some(bytes) = rx.blocking_recv() {
                file.write_all(&bytes)?;
            }
            Ok((file, guard))
        });
        PartWriter { pieces, task }
    }

    /// Waits for every piece sent to be written; cuts the file back to `truncate_to` if
    /// given (the body is not kept), syncs it, and hands back the upload's lock.
    async fn finish(self, truncate_to: Option<u64>) -> Result<OwnedMutexGuard<()>, ApiError> {
        drop(self.pieces);
        let (file, guard) = self.task.await.map_err(std::io::Error::other)??;
        tokio::task::spawn_blocking(move || {
            if let Some(len) = truncate_to {
                file.set_len(len)?;
            }
            file.sync_all()
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(guard)
    }
}

/// Turns a whole upload into a blob and answers its receipt; at most once, whoever asks.
/// It runs as a task of its own, so a client that goes away while a large upload is
/// ingested does not cut the ingest short and leave a whole upload that never becomes a
/// blob.
async fn complete_upload(state: &Arc<Sidecar>, id: &str) -> Result<Receipt, ApiError> {
    let (state, id) = (state.clone(), id.to_string());
    tokio::spawn(async move {
        let lock = state.uploads.lock(&id);
        let _guard = lock.lock().await;
        let (mut upload, offset) = state.uploads.load(&id)?;
        if let Some(receipt) = upload.done {
            return Ok(receipt);
        }
        if offset != upload.length {
            return Err(ApiError::OffsetConflict {
                current: offset,
                given: upload.length,
            });
        }
        if let Some(failed) = upload.failed.as_ref().filter(|f| f.waiting(now_secs())) {
            return Err(ApiError::FinishFailed {
                status: failed.status,
                message: failed.error.clone(),
                retry_at: failed.retry_at,
            });
        }
        let receipt = match finish(&state, &id, &upload).await {
            Ok(receipt) => receipt,
            Err(e) => {
                let failure = FinishFailure::after(
                    upload.failed.as_ref(),
                    e.status().as_u16(),
                    e.to_string(),
                    now_secs(),
                );
                tracing::warn!(upload = %id, error = %e, retry_at = failure.retry_at, "finishing an upload failed");
                upload.failed = Some(failure);
                state.uploads.save(&id, &upload)?;
                return Err(e);
            }
        };
        upload.failed = None;
        upload.done = Some(receipt.clone());
        state.uploads.save(&id, &upload)?;
        std::fs::remove_file(state.uploads.part_path(&id))?;
        Ok(receipt)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Ingests a complete upload's file into chunks and records the blob.
async fn finish(
    state: &Arc<Sidecar>,
    id: &str,
    upload: &crate::tus::UploadState,
) -> Result<Receipt, ApiError> {
    let mime =
        media_rules::manifest::canonical_mime(upload.meta.mime().unwrap_or("application/octet-stream"));
    let manifest = ingest_file(state, &state.uploads.part_path(id), mime).await?;
    if manifest.size != upload.length {
        return Err(ApiError::Truncated {
            got: manifest.size,
            expected: upload.length,
        });
    }
    if let Some(client) = upload.anonymous {
        let (receipt, counted) = crate::uploaded::complete_anonymous(state, manifest, client)?;
        if let Some(quotas) = state.anonymous.as_ref().filter(|_| counted) {
            quotas.stored(client, receipt.size);
        }
        return Ok(receipt);
    }
    let ladder = upload.meta.wants_ladder();
    complete(
        state,
        manifest,
        Publication::from_meta(&upload.meta)?.as_ref(),
        ladder,
    )
    .await
}
