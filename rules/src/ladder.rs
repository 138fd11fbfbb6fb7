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
}
