//! What a piece of content is and how a UI embeds it.

crate::named_enum! {
    /// The kind of content a ContentNode describes.
    ContentFormat {
        /// A text or structured document.
        Document => "document",
        /// A still image.
        Image => "image",
        /// An audio file such as a podcast episode.
        AudioFile => "audio-file",
        /// A video file.
        VideoFile => "video-file",
        /// The recording of a call.
        CallRecording => "call-recording",
        /// A live stream.
        LiveStream => "live-stream",
        /// A link to something hosted elsewhere.
        ExternalLink => "external-link",
        /// A video embedded from elsewhere.
        VideoEmbed => "video-embed",
    }
}

crate::named_enum! {
    /// How a UI presents the content.
    EmbedStrategy {
        /// An iframe of an external URL (the seed's default).
        Iframe => "iframe",
        /// Rendered by the Elohim steward UI.
        Steward => "steward",
        /// A web component.
        WebComponent => "web-component",
        /// A plain HTTP range-served file (podcasts, downloads).
        HttpRange => "http-range",
        /// An HLS stream.
        Hls => "hls",
        /// A DASH stream.
        Dash => "dash",
    }
}

/// Small blobs are served whole, medium ones by range, media by adaptive streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStrategy {
    /// Under [`COMPLETE_LIMIT`] bytes: one response, cacheable whole.
    Complete,
    /// A file read with range requests.
    HttpRange,
    /// HLS / DASH from the manifest's renditions.
    Adaptive,
}

/// Blobs smaller than this are delivered whole (1 MB).
pub const COMPLETE_LIMIT: u64 = 1_000_000;

impl DeliveryStrategy {
    /// Picks the strategy for a blob of `size` bytes that has (or lacks) renditions.
    pub fn for_blob(size: u64, has_renditions: bool) -> Self {
        if has_renditions {
            DeliveryStrategy::Adaptive
        } else if size < COMPLETE_LIMIT {
            DeliveryStrategy::Complete
        } else {
            DeliveryStrategy::HttpRange
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_by_size_and_renditions() {
        assert_eq!(DeliveryStrategy::for_blob(10, false), DeliveryStrategy::Complete);
        assert_eq!(
            DeliveryStrategy::for_blob(COMPLETE_LIMIT, false),
            DeliveryStrategy::HttpRange
        );
        assert_eq!(DeliveryStrategy::for_blob(10, true), DeliveryStrategy::Adaptive);
        assert_eq!(ContentFormat::parse("video-file"), Ok(ContentFormat::VideoFile));
        assert!(EmbedStrategy::parse("flash").is_err());
    }
}
