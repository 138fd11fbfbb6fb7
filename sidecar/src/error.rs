//! The sidecar's API errors, each mapped to an HTTP status in one place.

use media_store::chunks::StoreError;
use media_store::hash::MalformedHash;
use warp::http::StatusCode;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A hash in the path or body is not 64 lowercase hex characters.
    #[error("malformed hash: {0}")]
    MalformedHash(String),
    /// A field, parameter or header of the request that is not what the route takes.
    #[error("{field}: {why}")]
    Invalid {
        /// The field, parameter or header.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A manifest (the caller's, or a peer's) that breaks the manifest rules.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    /// Every source a pull was given was refused.
    #[error("no source to fetch from: every one given was refused (private or malformed address)")]
    NoSource,
    /// More items in one request than a route takes.
    #[error("at most {max} {what} per request")]
    TooManyItems {
        /// What the items are.
        what: &'static str,
        /// How many one request may carry.
        max: usize,
    },
    /// The node runs with what the route needs turned off.
    #[error("{what} are off on this node ({how}): {so}")]
    Off {
        /// What is off.
        what: &'static str,
        /// The setting that turned it off.
        how: &'static str,
        /// What the route cannot do, so.
        so: &'static str,
    },
    /// No such blob, chunk or upload.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The body is larger than the configured limit.
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// The body ended before the length it announced.
    #[error("body ended after {got} of {expected} bytes")]
    Truncated {
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The bytes do not hash to what they were said to be.
    #[error("content does not match its hash: expected {expected}, got {actual}")]
    HashMismatch {
        /// The hash the client named.
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// A tus PATCH body that does not hash to its `Upload-Checksum`.
    #[error("the body does not match its Upload-Checksum ({algorithm}); nothing was kept")]
    ChecksumMismatch {
        /// The algorithm the client named.
        algorithm: &'static str,
    },
    /// A tus PATCH at an offset other than the upload's.
    #[error("upload offset is {current}, not {given}")]
    OffsetConflict {
        /// The upload's offset.
        current: u64,
        /// The offset the client sent.
        given: u64,
    },
    /// A field that names an agent does not hold an agent key.
    #[error("{field} '{value}' is not an agent key (uhCAk…)")]
    MalformedAgent {
        /// The field, as the request names it.
        field: &'static str,
        /// What it held (at most 64 characters of it).
        value: String,
    },
    /// An id that names an entry in the DHT is not an action hash.
    #[error("{field} '{value}' is not an action hash (uhCkk…)")]
    MalformedId {
        /// The id's name, as the request names it.
        field: &'static str,
        /// What it held (at most 64 characters of it).
        value: String,
    },
    /// What only a node does, asked of a sidecar that runs without a conductor.
    #[error("this sidecar runs standalone, without a conductor: {0} needs a node")]
    NeedsNode(&'static str),
    /// A required header is missing or malformed.
    #[error("header {0}")]
    Header(String),
    /// A tus request with an unsupported protocol version.
    #[error("unsupported Tus-Resumable version")]
    TusVersion,
    /// Request not allowed without credentials.
    #[error("authentication required: {0}")]
    Unauthorized(String),
    /// Credentials given but not good enough.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A stored chunk failed verification; it was quarantined.
    #[error("stored chunk {0} is corrupt and was quarantined")]
    Corrupt(String),
    /// The conductor refused what was asked (validation failed).
    #[error("rejected by the DHT: {0}")]
    Rejected(String),
    /// The conductor could not be asked, or did not answer in time.
    #[error("conductor unavailable: {0}")]
    Conductor(String),
    /// Finishing a whole upload failed earlier; it is tried again from `retry_at`.
    #[error("finishing this upload failed: {message}; it is tried again from {retry_at} (Unix seconds)")]
    FinishFailed {
        /// The status the failure answered with.
        status: u16,
        /// What went wrong.
        message: String,
        /// When the next attempt may run (seconds since the Unix epoch).
        retry_at: u64,
    },
    /// Too many of this kind of request run at once; try again after `retry_after` seconds.
    #[error("busy: {what}; try again in {retry_after} s")]
    Busy {
        /// What is at its limit.
        what: &'static str,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// An anonymous upload would take more bytes than its quota leaves.
    #[error("quota: {0}")]
    QuotaBytes(String),
    /// An anonymous client has too many uploads under way.
    #[error("too many uploads: {message}")]
    TooMany {
        /// Which limit.
        message: String,
        /// Seconds to wait, when waiting helps.
        retry_after: Option<u64>,
    },
    /// The body is not of a type the route takes.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The request must say how long its body is.
    #[error("length required: {0}")]
    LengthRequired(String),
    /// A fault of this node's own making (a bug, or a zome of another version).
    #[error("internal error: {0}")]
    Internal(String),
    /// Disk or other local I/O failure.
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Missing(_) => ApiError::NotFound("chunk"),
            StoreError::Corrupt(hash) => ApiError::Corrupt(hash.to_hex()),
            StoreError::TooLarge { limit } => ApiError::TooLarge { limit },
            StoreError::MalformedHash(e) => e.into(),
            StoreError::Io(e) => ApiError::Io(e),
            e @ (StoreError::Changed(_) | StoreError::ShortBlob { .. }) => {
                ApiError::Io(std::io::Error::other(e.to_string()))
            }
        }
    }
}

impl From<MalformedHash> for ApiError {
    fn from(e: MalformedHash) -> Self {
        ApiError::MalformedHash(e.0)
    }
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedHash(_)
            | ApiError::Invalid { .. }
            | ApiError::InvalidManifest(_)
            | ApiError::NoSource
            | ApiError::TooManyItems { .. }
            | ApiError::Off { .. }
            | ApiError::Header(_)
            | ApiError::MalformedAgent { .. }
            | ApiError::MalformedId { .. }
            | ApiError::NeedsNode(_) => StatusCode::BAD_REQUEST,
            ApiError::Truncated { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge { .. } | ApiError::QuotaBytes(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::LengthRequired(_) => StatusCode::LENGTH_REQUIRED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::HashMismatch { .. } | ApiError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::OffsetConflict { .. } => StatusCode::CONFLICT,
            // tus's "460 Checksum Mismatch".
            ApiError::ChecksumMismatch { .. } => {
                StatusCode::from_u16(460).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            }
            ApiError::TusVersion => StatusCode::PRECONDITION_FAILED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Corrupt(_) => StatusCode::BAD_GATEWAY,
            ApiError::Conductor(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Io(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::FinishFailed { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl warp::reject::Reject for ApiError {}

/// At most 64 characters of what a request sent, to say what was wrong with it.
fn quoted(value: &str) -> String {
    value.chars().take(64).collect()
}

/// The agent key `value` of the request's `field`.
pub(crate) fn agent_key(field: &'static str, value: &str) -> Result<hdi::prelude::AgentPubKey, ApiError> {
    hdi::prelude::AgentPubKey::try_from(value).map_err(|_| ApiError::MalformedAgent {
        field,
        value: quoted(value),
    })
}

/// The action hash `value` of the request's `field`.
pub(crate) fn action_hash(field: &'static str, value: &str) -> Result<hdi::prelude::ActionHash, ApiError> {
    hdi::prelude::ActionHash::try_from(value).map_err(|_| ApiError::MalformedId {
        field,
        value: quoted(value),
    })
}

/// A JSON error response `{"error": "...", "status": N}`.
pub(crate) fn error_response(err: &ApiError) -> warp::reply::Response {
    let body = serde_json::json!({ "error": err.to_string(), "status": err.status().as_u16() });
    let mut resp = warp::reply::with_status(warp::reply::json(&body), err.status()).into_response();
    if let ApiError::TusVersion = err {
        resp.headers_mut()
            .insert("Tus-Version", warp::http::HeaderValue::from_static("1.0.0"));
    }
    let retry_after = match err {
        ApiError::FinishFailed { retry_at, .. } => Some(retry_at.saturating_sub(crate::clock::now_secs())),
        ApiError::Busy { retry_after, .. } => Some(*retry_after),
        ApiError::TooMany { retry_after, .. } => *retry_after,
        _ => None,
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert("Retry-After", warp::http::HeaderValue::from(secs));
    }
    resp
}

use warp::Reply;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_key_or_id_says_which_field_and_is_a_bad_request() {
        let hostile = "x".repeat(10_000);
        let e = agent_key("member", &hostile).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let said = e.to_string();
        assert!(
            said.starts_with("member 'xxx") && said.ends_with("is not an agent key (uhCAk…)"),
            "{said}"
        );
        assert!(
            said.len() < 120,
            "the value is not echoed whole: {} bytes",
            said.len()
        );
        let e = action_hash(
            "vouch id",
            "uhCAkmrkoAHPVf_eufG7eC5fm6QKrW5pPMoktvG5LOC0SnJ4vV1Uv",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("vouch id 'uhCAk"),
            "an agent key is not an action hash: {e}"
        );
        assert_eq!(
            ApiError::NeedsNode("publishing").status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn store_failures_keep_the_status_a_reader_saw_before_the_store_had_its_own_error() {
        let hash = media_store::hash::Hash32::of(b"chunk");
        let cases = [
            (StoreError::Missing(hash), StatusCode::NOT_FOUND),
            (StoreError::Corrupt(hash), StatusCode::BAD_GATEWAY),
            (StoreError::TooLarge { limit: 1 }, StatusCode::PAYLOAD_TOO_LARGE),
            (StoreError::Changed(hash), StatusCode::INTERNAL_SERVER_ERROR),
            (
                StoreError::ShortBlob {
                    blob: hash,
                    size: 10,
                    held: 9,
                },
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                StoreError::MalformedHash(media_store::hash::MalformedHash("xyz".into())),
                StatusCode::BAD_REQUEST,
            ),
            (
                StoreError::Io(std::io::Error::other("disk")),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (e, status) in cases {
            let said = e.to_string();
            assert_eq!(ApiError::from(e).status(), status, "{said}");
        }
        let corrupt = ApiError::from(StoreError::Corrupt(hash)).to_string();
        assert!(corrupt.contains(&hash.to_hex()), "{corrupt}");
    }

    #[test]
    fn a_bad_field_is_named_in_a_bad_request() {
        let e = ApiError::Invalid {
            field: "reach",
            why: "unknown value 'everyone'".into(),
        };
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.to_string(), "reach: unknown value 'everyone'");
        let off = ApiError::Off {
            what: "live calls",
            how: "--rtc-udp off",
            so: "it cannot host a call",
        };
        assert_eq!(off.status(), StatusCode::BAD_REQUEST);
        assert!(off.to_string().starts_with("live calls are off"), "{off}");
    }
}
