//! The adaptive-bitrate ladder: which renditions a video gets, and which of them a
//! delivery cap lets through (seed Phase 2). The sidecar's transcoder and its playlists
//! both read this table.

use crate::bandwidth::DeliveryCap;
use crate::manifest::Variant;

/// One rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    /// Label such as `720p`; also the media playlist's name.
    pub label: &'static str,
    /// Height in lines (0 for audio).
    pub height: u32,
    /// Target bitrate in kbit/s.
    pub kbps: u32,
}

/// Label of the audio-only rendition.
pub const AUDIO_LABEL: &str = "audio";
/// The audio rendition's bitrate, in kbit/s.
pub const AUDIO_KBPS: u32 = 128;
/// Seconds between keyframes, and so the length of a media segment.
pub const SEGMENT_SECONDS: u32 = 2;

/// The video rungs, tallest first.
pub const VIDEO_RUNGS: [Rung; 3] = [
    Rung {
        label: "1080p",
        height: 1080,
        kbps: 5_000,
    },
    Rung {
        label: "720p",
        height: 720,
        kbps: 2_800,
    },
    Rung {
        label: "480p",
        height: 480,
        kbps: 1_200,
    },
];

/// The video rungs for a source `source_height` lines tall: never above the source. A
/// source shorter than the lowest rung gets one rung at its own height, at the lowest
/// rung's bitrate scaled down by area.
pub fn video_rungs(source_height: u32) -> Vec<Rung> {
    let rungs: Vec<Rung> = VIDEO_RUNGS
        .iter()
        .copied()
        .filter(|r| r.height <= source_height)
        .collect();
    if !rungs.is_empty() || source_height == 0 {
        return rungs;
    }
    let lowest = VIDEO_RUNGS[VIDEO_RUNGS.len() - 1];
    let scale = u64::from(source_height).pow(2);
    let kbps = (u64::from(lowest.kbps) * scale / u64::from(lowest.height).pow(2)).max(100) as u32;
    vec![Rung {
        label: short_label(source_height),
        height: source_height & !1,
        kbps,
    }]
}

fn short_label(height: u32) -> &'static str {
    match height {
        0..=180 => "180p",
        181..=240 => "240p",
        241..=360 => "360p",
        _ => "sd",
    }
}

/// The bitrate of the audio rendition among `variants`, in kbit/s (0 when there is none).
pub fn audio_kbps(variants: &[Variant]) -> u32 {
    variants
        .iter()
        .find(|v| v.height == 0)
        .map_or(0, |a| a.bitrate_kbps)
}

/// The bitrate a rendition needs on the wire, with its audio, in kbit/s.
pub fn wire_kbps(variant: &Variant, audio_kbps: u32) -> u32 {
    if variant.height == 0 {
        variant.bitrate_kbps
    } else {
        variant.bitrate_kbps + audio_kbps
    }
}

impl DeliveryCap {
    /// Whether a rendition of `height` lines needing `kbps` on the wire fits under the cap.
    pub fn admits(&self, height: u32, kbps: u32) -> bool {
        height <= self.max_height && kbps <= self.max_kbps
    }

    /// Whether `variant` fits under the cap, played with audio of `audio_kbps`.
    pub fn admits_variant(&self, variant: &Variant, audio_kbps: u32) -> bool {
        self.admits(variant.height, wire_kbps(variant, audio_kbps))
    }

    /// The renditions of `variants` this cap lets through: video rungs that fit (with the
    /// audio they play with) and the audio rendition.
    pub fn allowed<'a>(&self, variants: &'a [Variant]) -> Vec<&'a Variant> {
        let audio = audio_kbps(variants);
        variants
            .iter()
            .filter(|v| self.admits_variant(v, audio))
            .collect()
    }
}

/// The demuxers ffprobe and ffmpeg may use on an uploaded source of MIME type `mime`: the
/// container that type names, and nothing else; `None` for a type that gets no ladder.
/// Playlists (HLS, DASH), `concat` and image sequences, which name other inputs, are no
/// type's demuxer, so a source cannot make the transcoder read anything but itself.
pub fn demuxers_for(mime: &str) -> Option<&'static str> {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Some(match essence.as_str() {
        "video/mp4" | "audio/mp4" | "video/quicktime" | "video/3gpp" | "audio/3gpp" | "video/x-m4v"
        | "audio/x-m4a" => "mov,mp4,m4a,3gp,3g2,mj2",
        "video/webm" | "audio/webm" | "video/x-matroska" | "audio/x-matroska" => "matroska,webm",
        "audio/mpeg" => "mp3",
        "audio/ogg" | "video/ogg" | "audio/opus" => "ogg",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/aac" => "aac",
        "video/mp2t" => "mpegts",
        "video/x-msvideo" => "avi",
        "video/x-flv" => "flv",
        _ => return None,
    })
}

/// The bounds a source must keep before the transcoder runs on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceBounds {
    /// Longest duration, in seconds.
    pub max_seconds: u32,
    /// Widest picture.
    pub max_width: u32,
    /// Tallest picture.
    pub max_height: u32,
    /// Most streams (video, audio, subtitles, data) in the container.
    pub max_streams: u32,
}

/// The bounds of every source: up to 12 hours, 8K (7680×4320), 16 streams.
pub const SOURCE_BOUNDS: SourceBounds = SourceBounds {
    max_seconds: 12 * 3600,
    max_width: 7680,
    max_height: 4320,
    max_streams: 16,
};

/// What a probe found about a source, for [`SourceBounds::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceFacts {
    /// Duration in seconds.
    pub seconds: f64,
    /// The first video stream's width and height, if there is video.
    pub picture: Option<(u32, u32)>,
    /// How many streams the container has.
    pub streams: u32,
}

impl SourceBounds {
    /// Checks a source; the error says which bound it breaks.
    pub fn check(&self, facts: &SourceFacts) -> Result<(), String> {
        if !facts.seconds.is_finite() || facts.seconds > f64::from(self.max_seconds) {
            return Err(format!(
                "the source lasts {:.0} s, longer than the {} s a ladder is made for",
                facts.seconds, self.max_seconds
            ));
        }
        if let Some((w, h)) = facts.picture {
            if w > self.max_width || h > self.max_height {
                return Err(format!(
                    "the source is {w}x{h}, larger than the {}x{} a ladder is made for",
                    self.max_width, self.max_height
                ));
            }
        }
        if facts.streams > self.max_streams {
            return Err(format!(
                "the source has {} streams, more than {}",
                facts.streams, self.max_streams
            ));
        }
        Ok(())
    }
}

/// Wall-clock seconds the transcoder may run for a source of `seconds`: a minute, plus ten
/// times the source's length (veryfast x264 makes the whole ladder at about real time here).
pub fn transcode_wall_secs(seconds: f64) -> u64 {
    60 + (seconds.max(0.0) * 10.0).ceil() as u64
}

/// CPU seconds (every thread counted) the transcoder may use for a source of `seconds`.
pub fn transcode_cpu_secs(seconds: f64) -> u64 {
    120 + (seconds.max(0.0) * 20.0).ceil() as u64
}

/// Wall-clock and CPU seconds a probe of a source may take.
pub const PROBE_SECS: u64 = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandwidth::BandwidthClass;

    fn variant(label: &str, height: u32, kbps: u32) -> Variant {
        Variant {
            label: label.into(),
            blob: "0".repeat(64),
            width: height * 16 / 9,
            height,
            bitrate_kbps: kbps,
            codecs: "avc1.64001f".into(),
        }
    }

    #[test]
    fn rungs_never_exceed_the_source() {
        let labels = |h| video_rungs(h).iter().map(|r| r.label).collect::<Vec<_>>();
        assert_eq!(labels(2160), ["1080p", "720p", "480p"]);
        assert_eq!(labels(1080), ["1080p", "720p", "480p"]);
        assert_eq!(labels(720), ["720p", "480p"]);
        assert_eq!(labels(719), ["480p"]);
        let low = video_rungs(240);
        assert_eq!((low[0].label, low[0].height), ("240p", 240));
        assert!(low[0].kbps < 1_200);
        assert!(video_rungs(0).is_empty());
    }

    #[test]
    fn caps_follow_the_seed_table() {
        let ladder = [
            variant("1080p", 1080, 5_000),
            variant("720p", 720, 2_800),
            variant("480p", 480, 1_200),
            variant(AUDIO_LABEL, 0, 128),
        ];
        let labels = |class: BandwidthClass| {
            class
                .cap()
                .allowed(&ladder)
                .iter()
                .map(|v| v.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(BandwidthClass::Low), ["480p", "audio"]);
        assert_eq!(labels(BandwidthClass::Medium), ["720p", "480p", "audio"]);
        assert_eq!(labels(BandwidthClass::High), ["1080p", "720p", "480p", "audio"]);
        assert_eq!(labels(BandwidthClass::Ultra).len(), 4);
        // A rung that fits by height but not by bitrate is left out.
        let greedy = [variant("720p", 720, 4_950), variant(AUDIO_LABEL, 0, 128)];
        assert_eq!(BandwidthClass::Medium.cap().allowed(&greedy).len(), 1);
    }

    #[test]
    fn sources_out_of_bounds_are_named() {
        let ok = SourceFacts {
            seconds: 60.0,
            picture: Some((1920, 1080)),
            streams: 2,
        };
        assert_eq!(SOURCE_BOUNDS.check(&ok), Ok(()));
        let huge = SourceFacts {
            picture: Some((9000, 64)),
            ..ok
        };
        assert!(SOURCE_BOUNDS.check(&huge).unwrap_err().contains("9000x64"));
        let long = SourceFacts {
            seconds: 13.0 * 3600.0,
            ..ok
        };
        assert!(SOURCE_BOUNDS.check(&long).unwrap_err().contains("longer"));
        let many = SourceFacts { streams: 17, ..ok };
        assert!(SOURCE_BOUNDS.check(&many).unwrap_err().contains("17 streams"));
        let nan = SourceFacts {
            seconds: f64::NAN,
            ..ok
        };
        assert!(SOURCE_BOUNDS.check(&nan).is_err());
    }

    #[test]
    fn playlists_and_concat_are_no_types_demuxer() {
        let types = [
            "video/mp4",
            "audio/mpeg",
            "video/webm",
            "audio/ogg",
            "video/x-flv",
            "audio/aac",
        ];
        for mime in types {
            let names = demuxers_for(mime).unwrap();
            for name in names.split(',') {
                assert!(!["hls", "applehttp", "dash", "concat", "image2", "lavfi"].contains(&name));
            }
        }
        assert_eq!(demuxers_for("Video/MP4; codecs=avc1"), demuxers_for("video/mp4"));
        for none in [
            "application/vnd.apple.mpegurl",
            "application/dash+xml",
            "image/png",
            "text/plain",
        ] {
            assert_eq!(demuxers_for(none), None, "{none}");
        }
    }
}
