//! The tus checksum extension: a PATCH may name the SHA-1 or SHA-256 of its body in
//! `Upload-Checksum: <algorithm> <base64>`. The body is hashed as it is written; if it does
//! not match, or the body breaks off before the hash can be checked, none of it is kept and
//! the upload stays at its offset.

use crate::error::ApiError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::digest::DynDigest;
use warp::http::HeaderMap;

/// The algorithms announced in `Tus-Checksum-Algorithm` (tus requires `sha1`).
pub(crate) const ALGORITHMS: &str = "sha1,sha256";

/// A body's expected checksum, and the body hashed so far.
pub(crate) struct Checksum {
    algorithm: &'static str,
    expected: Vec<u8>,
    hasher: Box<dyn DynDigest + Send>,
}

impl Checksum {
    /// The checksum a PATCH names, if any. An algorithm not in [`ALGORITHMS`] or a value
    /// that is not its digest in base64 is a 400, as the extension asks.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let Some(value) = headers.get("upload-checksum") else {
            return Ok(None);
        };
        let bad = |why: &str| ApiError::Header(format!("Upload-Checksum {why}"));
        let value = value.to_str().map_err(|_| bad("is not ASCII"))?;
        let (name, encoded) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad("must be '<algorithm> <base64 digest>'"))?;
        let (algorithm, hasher): (&'static str, Box<dyn DynDigest + Send>) = match name {
            "sha1" => ("sha1", Box::new(sha1::Sha1::default())),
            "sha256" => ("sha256", Box::new(sha2::Sha256::default())),
            other => {
                return Err(bad(&format!(
                    "algorithm '{other}' is not supported (supported: {ALGORITHMS})"
                )))
            }
        };
        let expected = STANDARD
            .decode(encoded.trim())
            .ok()
            .filter(|d| d.len() == hasher.output_size())
            .ok_or_else(|| bad(&format!("is not a {algorithm} digest in base64")))?;
        Ok(Some(Checksum {
            algorithm,
            expected,
            hasher,
        }))
    }

    /// Hashes the next piece of the body.
    pub(crate) fn update(&mut self, piece: &[u8]) {
        self.hasher.update(piece);
    }

    /// Whether the body hashed to the checksum named; the error to answer with if not.
    pub(crate) fn verify(self) -> Result<(), ApiError> {
        if *self.hasher.finalize() == *self.expected {
            Ok(())
        } else {
            Err(ApiError::ChecksumMismatch {
                algorithm: self.algorithm,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("upload-checksum", value.parse().unwrap());
        h
    }

    #[test]
    fn sha1_and_sha256_of_the_body_are_checked() {
        let body = b"the quick brown fox";
        for value in [
            format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(body))),
            format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(body))),
        ] {
            let mut c = Checksum::from_headers(&headers(&value)).unwrap().unwrap();
            c.update(&body[..4]);
            c.update(&body[4..]);
            assert!(c.verify().is_ok(), "{value}");
            let mut c = Checksum::from_headers(&headers(&value)).unwrap().unwrap();
            c.update(b"the quick brown cat");
            assert!(matches!(c.verify(), Err(ApiError::ChecksumMismatch { .. })));
        }
    }

    #[test]
    fn no_header_no_check_and_bad_headers_are_400() {
        assert!(Checksum::from_headers(&HeaderMap::new()).unwrap().is_none());
        let sha1_of_nothing = STANDARD.encode(sha1::Sha1::digest(b""));
        for bad in [
            format!("md5 {sha1_of_nothing}"),
            format!("SHA1 {sha1_of_nothing}"),
            "sha1".to_string(),
            "sha1 !!!notbase64".to_string(),
            format!("sha256 {sha1_of_nothing}"),
        ] {
            let err = Checksum::from_headers(&headers(&bad)).err().expect(&bad);
            assert_eq!(err.status(), 400, "{bad}");
        }
    }
}
