//! Integrity fields (RFC 9530): `Content-Digest` and `Repr-Digest` with `sha-256`. An upload
//! may name its SHA-256 in either (or in `X-Content-SHA256`, as hex); blob responses carry
//! the blob's in `Repr-Digest`, so standard clients can check what they download.

use crate::error::ApiError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use media_store::hash::Hash32;
use warp::http::{HeaderMap, HeaderValue};

/// The integrity fields an upload may name its SHA-256 in.
pub(crate) const FIELDS: [&str; 2] = ["content-digest", "repr-digest"];

/// Every SHA-256 the request names in an integrity field. Other algorithms are ignored
/// (RFC 9530 lets a recipient ignore what it does not support); a `sha-256` member that is
/// not a 32-byte base64 byte sequence is an error.
pub(crate) fn named_sha256(headers: &HeaderMap) -> Result<Vec<Hash32>, ApiError> {
    let mut out = Vec::new();
    for field in FIELDS {
        for value in headers.get_all(field) {
            let value = value
                .to_str()
                .map_err(|_| ApiError::Header(format!("{field} is not ASCII")))?;
            for member in value.split(',') {
                let Some((key, item)) = member.split_once('=') else {
                    continue;
                };
                if !key.trim().eq_ignore_ascii_case("sha-256") {
                    continue;
                }
                // A byte sequence `:base64:`, perhaps with parameters after it.
                let item = item.split(';').next().unwrap_or("").trim();
                let bytes = item
                    .strip_prefix(':')
                    .and_then(|i| i.strip_suffix(':'))
                    .and_then(|b64| STANDARD.decode(b64).ok())
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or_else(|| {
                        ApiError::Header(format!(
                            "{field}: sha-256 must be 32 bytes in base64 between colons (RFC 9530), got '{item}'"
                        ))
                    })?;
                out.push(Hash32(bytes));
            }
        }
    }
    Ok(out)
}

/// `Repr-Digest` for a blob: its SHA-256 as an RFC 9530 `sha-256` member.
pub(crate) fn repr_digest(hash: &Hash32) -> HeaderValue {
    HeaderValue::from_str(&format!("sha-256=:{}:", STANDARD.encode(hash.0)))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn sha_256_members_are_read_from_either_field_and_others_ignored() {
        let hash = Hash32::of(b"hello");
        let member = repr_digest(&hash);
        let member = member.to_str().unwrap();
        assert_eq!(member, "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:");
        let h = headers(&[
            ("content-digest", &format!("md5=:AAAA:, {member}")),
            ("repr-digest", &format!("SHA-256 = :{};x=1", &member[9..])),
        ]);
        assert_eq!(named_sha256(&h).unwrap(), vec![hash, hash]);
        assert!(named_sha256(&headers(&[("content-digest", "sha-512=:AAAA:")]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_malformed_sha_256_member_is_refused() {
        for bad in ["sha-256=:abc:", "sha-256=LPJN", "sha-256=:AAAA:", "sha-256=::"] {
            let h = headers(&[("content-digest", bad)]);
            assert!(matches!(named_sha256(&h), Err(ApiError::Header(_))), "{bad}");
        }
    }
}
