//! `POST /api/blob`: a raw body streamed into the chunk store; the blob becomes visible
//! only once every byte arrived and (if the client named one) the hash matched.

use crate::anonymous::Uploader;
use crate::error::ApiError;
use crate::http::reply::Body;
use crate::publish::Publication;
use crate::state::Sidecar;
use crate::upload_meta::UploadMeta;
use crate::uploaded::{complete, complete_anonymous};
use bytes::Buf;
use futures_util::{Stream, StreamExt};
use media_rules::manifest::{check_mime, BlobManifest};
use media_store::hash::Hash32;
use media_store::ingest::Ingest;
use std::net::IpAddr;
use std::sync::Arc;
use warp::http::{header, HeaderMap, Response, StatusCode};

pub(crate) use crate::receipt::Receipt;

/// Optional header naming the SHA-256 the body must have, in hex (RFC 9530's
/// `Content-Digest` and `Repr-Digest` are read too, see [`super::digest`]).
pub(crate) const EXPECTED_HASH_HEADER: &str = "x-content-sha256";

/// The MIME type a request declares (canonical: aliases such as `audio/x-m4a` become the
/// registered type), `application/octet-stream` when it declares none.
pub(crate) fn mime_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok("application/octet-stream".into());
    };
    let mime = value
        .to_str()
        .map_err(|_| ApiError::Header("Content-Type is not ASCII".into()))?
        .trim();
    check_mime("Content-Type", mime).map_err(ApiError::Header)?;
    Ok(media_rules::manifest::canonical_mime(mime))
}

/// The Content-Length a request declares, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| ApiError::Header("Content-Length is not a number".into()))
        })
        .transpose()
}

/// Streams a request body into a new blob.
pub(crate) async fn post_blob<S, B>(
    state: Arc<Sidecar>,
    headers: HeaderMap,
    client: IpAddr,
    body: S,
) -> Result<Response<Body>, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let uploader = uploader(&state, &headers, client)?;
    let limit = state.config.max_upload_bytes;
    let declared = content_length(&headers)?;
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    let mime = mime_of(&headers)?;
    let meta = UploadMeta::from_headers(&headers)?;
    let publication = Publication::for_upload(&state, &meta)?;
    let anonymous = match (uploader, &state.anonymous) {
        (Uploader::Anonymous(client), Some(quotas)) => {
            check_anonymous(&meta, declared)?;
            Some(quotas.start(client, declared.unwrap_or(0), &state.uploads)?)
        }
        _ => None,
    };
    let _slot = state.upload_slot()?;
    let mut expected: Vec<Hash32> = headers
        .get(EXPECTED_HASH_HEADER)
        .map(|v| v.to_str().unwrap_or("").parse())
        .transpose()?
        .into_iter()
        .collect();
    expected.extend(super::digest::named_sha256(&headers)?);
    let manifest = ingest_stream(&state, body, declared, mime).await?;
    for expected in expected {
        if expected.to_hex() != manifest.hash {
            state.metrics.verification_failures.inc();
            return Err(ApiError::HashMismatch {
                expected: expected.to_hex(),
                actual: manifest.hash,
            });
        }
    }
    let receipt = match (uploader, anonymous) {
        (Uploader::Anonymous(client), Some(stream)) => {
            let (receipt, counted) = complete_anonymous(&state, manifest, client)?;
            if counted {
                stream.stored();
            }
            receipt
        }
        _ => complete(&state, manifest, publication.as_ref(), meta.wants_ladder()).await?,
    };
    let mut resp = super::reply::json(StatusCode::CREATED, &receipt);
    resp.headers_mut().insert(
        header::LOCATION,
        super::reply::value(&format!("/api/blob/{}", receipt.hash)),
    );
    Ok(resp)
}

/// Ingests a body stream; an error or a short body leaves no blob behind.
pub(crate) async fn ingest_stream<S, B>(
    state: &Sidecar,
    mut body: S,
    declared: Option<u64>,
    mime: String,
) -> Result<BlobManifest, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut ingest = Ingest::new(
        state.reader.store().clone(),
        state.config.chunk_size,
        state.config.max_upload_bytes,
    )?;
    while let Some(piece) = body.next().await {
        let mut piece = piece.map_err(|_| ApiError::Truncated {
            got: ingest.size(),
            expected: declared.unwrap_or(0),
        })?;
        state.metrics.bytes_in.inc_by(piece.remaining() as u64);
        while piece.has_remaining() {
            let n = piece.chunk().len();
            ingest.push(piece.chunk()).await?;
            piece.advance(n);
        }
    }
    if let Some(expected) = declared {
        if ingest.size() != expected {
            return Err(ApiError::Truncated {
                got: ingest.size(),
                expected,
            });
        }
    }
    Ok(ingest.finish(mime).await?)
}

/// Who is uploading. On a node, uploads are stored and published as its agent, so they
/// need the owner's credential, unless the operator lets anonymous clients upload
/// (`--anonymous-uploads`); a standalone sidecar, which publishes nothing, takes anyone's.
pub(crate) fn uploader(state: &Sidecar, headers: &HeaderMap, client: IpAddr) -> Result<Uploader, ApiError> {
    if !state.is_node() || state.owner.presented_by(headers) {
        return Ok(Uploader::Trusted);
    }
    match state.anonymous {
        Some(_) => Ok(Uploader::Anonymous(client)),
        None => Err(ApiError::Unauthorized(
            "uploads to a node are stored and published as its agent; send the owner's credential".into(),
        )),
    }
}

/// What an anonymous upload may not ask for, checked before any byte is stored: it is
/// never published as the node's agent (no title), and says how long it is.
pub(crate) fn check_anonymous(meta: &UploadMeta, declared: Option<u64>) -> Result<(), ApiError> {
    if Publication::from_meta(meta)?.is_some() {
        return Err(ApiError::Forbidden(
            "anonymous uploads are kept unpublished; only the owner publishes (no title)".into(),
        ));
    }
    if declared.is_none() {
        return Err(ApiError::LengthRequired(
            "an anonymous upload must declare its length (Content-Length)".into(),
        ));
    }
    Ok(())
}
