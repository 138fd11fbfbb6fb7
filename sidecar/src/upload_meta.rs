//! What an uploader says about the file besides its bytes: MIME type and name, and — for
//! a node — the content's title, reach, invitees and place. Carried in tus
//! `Upload-Metadata` or in `X-Upload-*` headers of a plain upload.

use crate::error::ApiError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Decoded upload metadata: a small map of names to UTF-8 values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMeta(pub BTreeMap<String, String>);

/// Most metadata pairs accepted.
const MAX_PAIRS: usize = 64;
/// Longest metadata header accepted.
const MAX_LEN: usize = 16 * 1024;

impl UploadMeta {
    /// Whether the uploader left the adaptive ladder on (`ladder: no` turns it off).
    pub fn wants_ladder(&self) -> bool {
        !matches!(self.get("ladder"), Some("no" | "off" | "0" | "false"))
    }

    /// Parses a tus `Upload-Metadata` value: `key base64value` pairs separated by commas.
    pub fn parse_tus(header: &str) -> Result<Self, ApiError> {
        if header.len() > MAX_LEN {
            return Err(ApiError::Header("Upload-Metadata is too long".into()));
        }
        let mut map = BTreeMap::new();
        for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut parts = pair.splitn(2, ' ');
            let key = parts.next().unwrap_or("");
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
                return Err(ApiError::Header(format!(
                    "Upload-Metadata key '{key}' is malformed"
                )));
            }
            let value = match parts.next() {
                Some(v) => {
                    let raw = B64.decode(v.trim()).map_err(|_| {
                        ApiError::Header(format!("Upload-Metadata value of '{key}' is not base64"))
                    })?;
                    String::from_utf8(raw).map_err(|_| {
                        ApiError::Header(format!("Upload-Metadata value of '{key}' is not UTF-8"))
                    })?
                }
                None => String::new(),
            };
            // A line break could forge a header or a log line wherever the value goes.
            if value.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
                return Err(ApiError::Header(format!(
                    "Upload-Metadata value of '{key}' holds a line break or NUL"
                )));
            }
            map.insert(key.to_string(), value);
        }
        if map.len() > MAX_PAIRS {
            return Err(ApiError::Header("Upload-Metadata has too many pairs".into()));
        }
        Ok(UploadMeta(map))
    }

    /// Metadata of a plain upload, from `X-Upload-<Name>` headers (values percent-free UTF-8).
    pub fn from_headers(headers: &warp::http::HeaderMap) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        for (name, value) in headers {
            if let Some(key) = name.as_str().strip_prefix("x-upload-") {
                let value = value
                    .to_str()
                    .map_err(|_| ApiError::Header(format!("{name} is not ASCII")))?;
                map.insert(key.to_string(), value.to_string());
            }
        }
        Ok(UploadMeta(map))
    }

    /// A value by name.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The MIME type the client named (`filetype`, tus-js-client's name, or `mime`).
    pub fn mime(&self) -> Option<&str> {
        self.get("filetype")
            .or_else(|| self.get("mime"))
            .filter(|m| !m.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tus_metadata() {
        let m =
            UploadMeta::parse_tus("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential").unwrap();
        assert_eq!(m.get("filename"), Some("world_domination_plan.pdf"));
        assert_eq!(m.get("is_confidential"), Some(""));
        assert!(UploadMeta::parse_tus("filename !!!").is_err());
    }

    #[test]
    fn line_breaks_in_tus_metadata_are_refused() {
        for raw in ["a\r\nX-Evil: 1", "title\n", "nul\0"] {
            let header = format!("title {}", B64.encode(raw));
            let err = UploadMeta::parse_tus(&header).unwrap_err();
            assert!(err.to_string().contains("line break"), "{raw:?}: {err}");
        }
    }
}
