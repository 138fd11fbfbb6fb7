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

impl ContentFormat {
    /// The format of an uploaded file of MIME type `mime`: video, audio and image files by
    /// their top-level type (which MIME compares without case), anything else a document.
    pub fn of_mime(mime: &str) -> Self {
        let top = mime.split('/').next().unwrap_or_default().trim();
        if top.eq_ignore_ascii_case("video") {
            ContentFormat::VideoFile
        } else if top.eq_ignore_ascii_case("audio") {
            ContentFormat::AudioFile
        } else if top.eq_ignore_ascii_case("image") {
            ContentFormat::Image
        } else {
            ContentFormat::Document
        }
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
    use proptest::prelude::*;

    #[test]
    fn an_uploads_format_follows_its_mime_type() {
        assert_eq!(ContentFormat::of_mime("video/mp4"), ContentFormat::VideoFile);
        assert_eq!(ContentFormat::of_mime("Audio/MPEG"), ContentFormat::AudioFile);
        assert_eq!(ContentFormat::of_mime("image/png"), ContentFormat::Image);
        assert_eq!(ContentFormat::of_mime("application/pdf"), ContentFormat::Document);
        assert_eq!(ContentFormat::of_mime(""), ContentFormat::Document);
        assert_eq!(ContentFormat::of_mime("videos/mp4"), ContentFormat::Document);
    }

    proptest! {
        /// The subtype never decides, and every MIME type has a format.
        #[test]
        fn only_the_top_level_type_decides(top in "(video|audio|image|text|application|[a-z]{0,8})", sub in "[ -~]{0,20}") {
            let format = ContentFormat::of_mime(&format!("{top}/{sub}"));
            prop_assert_eq!(format, ContentFormat::of_mime(&format!("{}/other", top.to_uppercase())));
            let media = ["video", "audio", "image"].contains(&top.as_str());
            prop_assert_eq!(format == ContentFormat::Document, !media);
        }
    }

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
