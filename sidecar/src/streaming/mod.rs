//! Playlists for adaptive streaming, written from the segment indexes of a source's
//! renditions: HLS ([`hls`]) and MPEG-DASH ([`dash`]). Every segment is a byte range of a
//! rendition blob served by `GET /api/blob/{hash}`, so a player verifies nothing new and
//! the sidecar stores nothing twice.

pub(crate) mod dash;
pub(crate) mod hls;

use media_rules::manifest::{SegmentIndex, Variant};

/// One rendition a playlist lists.
#[derive(Debug, Clone)]
pub(crate) struct Rendition {
    /// How the source's manifest describes it (peak bitrate, size, codecs).
    pub variant: Variant,
    /// Its average bitrate in kbit/s.
    pub average_kbps: u32,
    /// Where its init and media segments lie.
    pub index: SegmentIndex,
}

impl Rendition {
    /// Whether this is the audio-only rendition.
    pub(crate) fn is_audio(&self) -> bool {
        self.variant.height == 0
    }

    /// Total playing time in milliseconds.
    pub(crate) fn duration_ms(&self) -> u64 {
        self.index.segments.iter().map(|s| u64::from(s.duration_ms)).sum()
    }
}

/// The renditions a reader may be offered, and how to name their bytes.
#[derive(Debug, Clone)]
pub(crate) struct Ladder {
    /// Video rungs (tallest first), then the audio rendition if any.
    pub renditions: Vec<Rendition>,
    /// The access token the request carried, passed on into every URI.
    pub token: Option<String>,
}

impl Ladder {
    /// The video renditions.
    pub(crate) fn video(&self) -> impl Iterator<Item = &Rendition> {
        self.renditions.iter().filter(|r| !r.is_audio())
    }

    /// The audio rendition.
    pub(crate) fn audio(&self) -> Option<&Rendition> {
        self.renditions.iter().find(|r| r.is_audio())
    }

    /// A rendition by label.
    pub(crate) fn by_label(&self, label: &str) -> Option<&Rendition> {
        self.renditions.iter().find(|r| r.variant.label == label)
    }

    /// `?token=…` when the request carried a token, else nothing.
    pub(crate) fn query(&self) -> String {
        self.token
            .as_ref()
            .map(|t| format!("?token={t}"))
            .unwrap_or_default()
    }

    /// The URI of a rendition's bytes, relative to `/api/manifest/{source}/…`. It ends in
    /// a media extension, which some players (ffmpeg's HLS reader) insist on.
    pub(crate) fn blob_uri(&self, rendition: &Rendition) -> String {
        let extension = if rendition.is_audio() { "m4a" } else { "mp4" };
        format!(
            "../../blob/{}.{extension}{}",
            rendition.variant.blob,
            self.query()
        )
    }
}
