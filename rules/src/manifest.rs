//! Blob manifests: how a blob's bytes are cut up, and the checks that keep a manifest
//! consistent with itself. The integrity zome stores this struct as an entry; the sidecar
//! builds it while an upload streams in.

use crate::chunks::ChunkLayout;
use crate::hash::check_sha256_hex;
use crate::limits::{self, check_range};
use serde::{Deserialize, Serialize};

/// How a blob is cut up and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobManifest {
    /// SHA-256 of the whole blob, lowercase hex.
    pub hash: String,
    /// Size of the blob in bytes.
    pub size: u64,
    /// MIME type, e.g. `video/mp4`.
    pub mime_type: String,
    /// Codec of the blob's media, as an RFC 6381 codecs string (`avc1.64001f,mp4a.40.2`).
    pub codec: Option<String>,
    /// Size of every chunk but the last.
    pub chunk_size: u32,
    /// SHA-256 of every chunk, in order, lowercase hex.
    pub chunks: Vec<String>,
    /// Average bitrate in kbit/s, for media.
    pub bitrate_kbps: Option<u32>,
    /// Duration in milliseconds, for media.
    pub duration_ms: Option<u64>,
    /// Renditions of this blob (480p, 720p …), each its own blob.
    pub variants: Vec<Variant>,
    /// Where the init and media segments lie, for streaming.
    pub segments: Option<SegmentIndex>,
    /// URLs that serve the same bytes (range GETs), tried when no custodian has a chunk.
    pub fallback_urls: Vec<String>,
}

/// One rendition of a media blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Label such as `480p`, `1080p` or `audio`.
    pub label: String,
    /// SHA-256 of the rendition's blob.
    pub blob: String,
    /// Width in pixels (0 for audio).
    pub width: u32,
    /// Height in pixels (0 for audio).
    pub height: u32,
    /// Peak bitrate in kbit/s.
    pub bitrate_kbps: u32,
    /// RFC 6381 codecs string.
    pub codecs: String,
}

/// A byte span inside a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteSpan {
    /// First byte.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// One media segment: where it lies and how long it plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Where the segment's bytes lie.
    pub span: ByteSpan,
    /// How long it plays, in milliseconds.
    pub duration_ms: u32,
}

/// The segment index of a fragmented-MP4 (CMAF) blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentIndex {
    /// The init segment (`ftyp` + `moov`).
    pub init: ByteSpan,
    /// The media segments, in order.
    pub segments: Vec<Segment>,
}

/// Most variants a manifest may list.
pub const MAX_VARIANTS: usize = 16;
/// Longest MIME type or codecs string.
pub const MAX_TYPE_LEN: usize = 255;

impl BlobManifest {
    /// The chunk layout this manifest claims.
    pub fn layout(&self) -> Option<ChunkLayout> {
        ChunkLayout::new(self.size, self.chunk_size)
    }

    /// Checks every field and their agreement; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        check_sha256_hex("hash", &self.hash)?;
        if self.size > limits::MAX_BLOB_SIZE {
            return Err(format!(
                "size {} exceeds the limit of {} bytes",
                self.size,
                limits::MAX_BLOB_SIZE
            ));
        }
        check_range(
            "chunk_size",
            self.chunk_size,
            limits::MIN_CHUNK_SIZE..=limits::MAX_CHUNK_SIZE,
        )?;
        self.check_chunks()?;
        check_mime("mime_type", &self.mime_type)?;
        if let Some(codec) = &self.codec {
            check_codecs("codec", codec)?;
        }
        if self.bitrate_kbps == Some(0) {
            return Err("bitrate_kbps must be positive when given".into());
        }
        self.check_variants()?;
        if let Some(index) = &self.segments {
            index.check(self.size)?;
        }
        if self.fallback_urls.len() > limits::MAX_FALLBACK_URLS {
            return Err(format!(
                "fallback_urls lists more than {} URLs",
                limits::MAX_FALLBACK_URLS
            ));
        }
        for (i, url) in self.fallback_urls.iter().enumerate() {
            limits::check_url(&format!("fallback_urls[{i}]"), url)?;
        }
        Ok(())
    }

    fn check_chunks(&self) -> Result<(), String> {
        let layout = self.layout().ok_or("chunk_size must not be zero")?;
        let wanted = layout.chunk_count();
        if self.chunks.len() as u64 != wanted {
            return Err(format!(
                "size {} does not agree with the chunk list: with chunk_size {} it needs {} chunks, but chunks lists {}",
                self.size,
                self.chunk_size,
                wanted,
                self.chunks.len()
            ));
        }
        for (i, chunk) in self.chunks.iter().enumerate() {
            check_sha256_hex(&format!("chunks[{i}]"), chunk)?;
        }
        Ok(())
    }

    fn check_variants(&self) -> Result<(), String> {
        if self.variants.len() > MAX_VARIANTS {
            return Err(format!("variants lists more than {MAX_VARIANTS} renditions"));
        }
        for (i, v) in self.variants.iter().enumerate() {
            let field = format!("variants[{i}]");
            if v.label.trim().is_empty() || v.label.len() > 32 {
                return Err(format!("{field}.label must be 1 to 32 bytes"));
            }
            if self.variants[..i].iter().any(|o| o.label == v.label) {
                return Err(format!("{field}.label '{}' appears twice", v.label));
            }
            check_sha256_hex(&format!("{field}.blob"), &v.blob)?;
            check_range(&format!("{field}.width"), v.width, 0..=8192)?;
            check_range(&format!("{field}.height"), v.height, 0..=8192)?;
            check_range(&format!("{field}.bitrate_kbps"), v.bitrate_kbps, 1..=500_000)?;
            check_codecs(&format!("{field}.codecs"), &v.codecs)?;
        }
        Ok(())
    }
}

impl SegmentIndex {
    /// Checks that the init and media segments lie inside the blob, in order, without
    /// overlapping.
    pub fn check(&self, size: u64) -> Result<(), String> {
        let end_of = |s: &ByteSpan| s.offset.checked_add(s.len).filter(|e| *e <= size);
        let init_end = end_of(&self.init)
            .filter(|_| self.init.len > 0)
            .ok_or_else(|| format!("segments.init lies outside the blob of {size} bytes"))?;
        let mut last_end = init_end;
        for (i, seg) in self.segments.iter().enumerate() {
            let end = end_of(&seg.span)
                .filter(|_| seg.span.len > 0)
                .ok_or_else(|| format!("segments.segments[{i}] lies outside the blob of {size} bytes"))?;
            if seg.span.offset < last_end {
                return Err(format!("segments.segments[{i}] overlaps the segment before it"));
            }
            if seg.duration_ms == 0 {
                return Err(format!("segments.segments[{i}].duration_ms must be positive"));
            }
            last_end = end;
        }
        Ok(())
    }
}

/// Checks a MIME type of the form `type/subtype` with optional parameters.
pub fn check_mime(field: &str, mime: &str) -> Result<(), String> {
    let essence = mime.split(';').next().unwrap_or("").trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let ok =
        mime.len() <= MAX_TYPE_LEN && matches!(essence.split_once('/'), Some((t, s)) if token(t) && token(s));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} must be a MIME type like video/mp4, got '{mime}'"
        ))
    }
}

/// A MIME type as blobs are served with it: the type and subtype lowercased, and the
/// common unregistered aliases clients send (`audio/m4a`, `audio/x-m4a`, `audio/mp3`,
/// `video/x-m4v`, `audio/opus` for an Ogg Opus file …) replaced by the registered type a
/// player expects. Parameters are kept as given.
pub fn canonical_mime(mime: &str) -> String {
    let (essence, params) = match mime.split_once(';') {
        Some((e, p)) => (e.trim(), Some(p)),
        None => (mime.trim(), None),
    };
    let essence = essence.to_ascii_lowercase();
    let registered = match essence.as_str() {
        "audio/m4a" | "audio/x-m4a" | "audio/mp4a-latm" => "audio/mp4",
        "video/x-m4v" => "video/mp4",
        "audio/mp3" | "audio/x-mp3" | "audio/mpeg3" | "audio/x-mpeg" | "audio/x-mpeg-3" => "audio/mpeg",
        "audio/x-aac" | "audio/aacp" => "audio/aac",
        "audio/opus" | "audio/x-opus+ogg" => "audio/ogg",
        "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "audio/wav",
        "audio/x-flac" => "audio/flac",
        other => other,
    };
    match params {
        Some(p) => format!("{registered};{p}"),
        None => registered.to_string(),
    }
}

fn check_codecs(field: &str, codecs: &str) -> Result<(), String> {
    let ok = !codecs.is_empty()
        && codecs.len() <= MAX_TYPE_LEN
        && codecs
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".,-_ ".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} must be an RFC 6381 codecs string, got '{codecs}'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MIN_CHUNK_SIZE;
    use proptest::prelude::*;

    fn manifest(size: u64, chunks: usize) -> BlobManifest {
        BlobManifest {
            hash: "0".repeat(64),
            size,
            mime_type: "video/mp4".into(),
            codec: Some("avc1.64001f,mp4a.40.2".into()),
            chunk_size: MIN_CHUNK_SIZE,
            chunks: vec!["a".repeat(64); chunks],
            bitrate_kbps: Some(2_000),
            duration_ms: Some(60_000),
            variants: vec![],
            segments: None,
            fallback_urls: vec!["https://cdn.example.org/v.mp4".into()],
        }
    }

    #[test]
    fn clients_aliases_become_registered_types() {
        assert_eq!(canonical_mime("audio/x-m4a"), "audio/mp4");
        assert_eq!(canonical_mime("Audio/M4A"), "audio/mp4");
        assert_eq!(canonical_mime("audio/mp3"), "audio/mpeg");
        assert_eq!(canonical_mime("audio/opus"), "audio/ogg");
        assert_eq!(canonical_mime("video/x-m4v"), "video/mp4");
        assert_eq!(canonical_mime("Video/MP4"), "video/mp4");
        assert_eq!(canonical_mime("audio/ogg; codecs=opus"), "audio/ogg; codecs=opus");
        assert_eq!(canonical_mime("application/pdf"), "application/pdf");
    }

    #[test]
    fn a_consistent_manifest_passes() {
        assert_eq!(manifest(0, 0).check(), Ok(()));
        assert_eq!(manifest(1, 1).check(), Ok(()));
        assert_eq!(manifest(u64::from(MIN_CHUNK_SIZE) + 1, 2).check(), Ok(()));
    }

    #[test]
    fn a_size_that_disagrees_with_the_chunks_is_named() {
        let err = manifest(u64::from(MIN_CHUNK_SIZE) + 1, 1).check().unwrap_err();
        assert!(err.contains("size") && err.contains("needs 2 chunks"), "{err}");
    }

    #[test]
    fn bad_fields_are_named() {
        let mut m = manifest(1, 1);
        m.chunks[0] = "XYZ".into();
        assert!(m.check().unwrap_err().starts_with("chunks[0]"));
        let mut m = manifest(1, 1);
        m.mime_type = "video".into();
        assert!(m.check().unwrap_err().starts_with("mime_type"));
        let mut m = manifest(1, 1);
        m.chunk_size = 10;
        assert!(m.check().unwrap_err().starts_with("chunk_size"));
        let mut m = manifest(1, 1);
        m.fallback_urls = vec!["file:///etc/passwd".into()];
        assert!(m.check().unwrap_err().starts_with("fallback_urls[0]"));
    }

    #[test]
    fn segments_must_lie_inside_in_order() {
        let mut m = manifest(1000, 1);
        let span = |offset, len| ByteSpan { offset, len };
        m.segments = Some(SegmentIndex {
            init: span(0, 100),
            segments: vec![
                Segment {
                    span: span(100, 400),
                    duration_ms: 2000,
                },
                Segment {
                    span: span(500, 500),
                    duration_ms: 2000,
                },
            ],
        });
        assert_eq!(m.check(), Ok(()));
        m.segments.as_mut().unwrap().segments[1].span = span(400, 100);
        assert!(m.check().unwrap_err().contains("overlaps"));
        m.segments.as_mut().unwrap().segments[1].span = span(900, 101);
        assert!(m.check().unwrap_err().contains("outside"));
    }

    proptest! {
        #[test]
        fn only_the_right_chunk_count_passes(size in 0u64..2_000_000, n in 0usize..40) {
            let m = manifest(size, n);
            let want = size.div_ceil(u64::from(MIN_CHUNK_SIZE)) as usize;
            prop_assert_eq!(m.check().is_ok(), n == want);
        }
    }
}
