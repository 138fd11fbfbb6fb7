//! HLS (RFC 8216) from a ladder: a master playlist with one variant stream per video
//! rung, sharing an audio group, and one media playlist per rendition whose segments are
//! byte ranges of the rendition blob (`EXT-X-MAP` + `EXT-X-BYTERANGE`, version 7 for fMP4).

use super::{Ladder, Rendition};
use m3u8_rs::{
    AlternativeMedia, AlternativeMediaType, ByteRange, Map, MasterPlaylist, MediaPlaylist, MediaPlaylistType,
    MediaSegment, Resolution, VariantStream,
};
use media_rules::manifest::ByteSpan;

/// The playlist version: fragmented MP4 segments need 7 (RFC 8216 §7).
pub(crate) const VERSION: usize = 7;
/// Group id of the audio rendition.
const AUDIO_GROUP: &str = "audio";

/// The MIME type of HLS playlists.
pub(crate) const MIME: &str = "application/vnd.apple.mpegurl";

/// The name of a rendition's media playlist, next to the master.
pub(crate) fn media_name(rendition: &Rendition) -> String {
    format!("{}.m3u8", rendition.variant.label)
}

/// The master playlist. With video, each rung is a variant stream whose `BANDWIDTH` is its
/// peak plus the audio's, `CODECS` names both tracks, and the audio plays from the audio
/// group; an audio-only source is one variant stream of its audio.
pub(crate) fn master(ladder: &Ladder) -> String {
    let q = ladder.query();
    let audio = ladder.audio();
    let mut playlist = MasterPlaylist {
        version: Some(VERSION),
        independent_segments: true,
        ..Default::default()
    };
    let has_video = ladder.video().next().is_some();
    if let (Some(a), true) = (audio, has_video) {
        playlist.alternatives.push(AlternativeMedia {
            media_type: AlternativeMediaType::Audio,
            uri: Some(format!("{}{q}", media_name(a))),
            group_id: AUDIO_GROUP.into(),
            name: a.variant.label.clone(),
            default: true,
            autoselect: true,
            channels: Some("2".into()),
            ..Default::default()
        });
    }
    let (audio_peak, audio_avg, audio_codecs) = audio.map_or((0, 0, None), |a| {
        (
            a.variant.bitrate_kbps,
            a.average_kbps,
            Some(a.variant.codecs.as_str()),
        )
    });
    for video in ladder.video() {
        let codecs = match audio_codecs {
            Some(ac) => format!("{},{ac}", video.variant.codecs),
            None => video.variant.codecs.clone(),
        };
        playlist.variants.push(VariantStream {
            uri: format!("{}{q}", media_name(video)),
            bandwidth: bits(video.variant.bitrate_kbps + audio_peak),
            average_bandwidth: Some(bits(video.average_kbps + audio_avg)),
            codecs: Some(codecs),
            resolution: Some(Resolution {
                width: u64::from(video.variant.width),
                height: u64::from(video.variant.height),
            }),
            audio: audio.map(|_| AUDIO_GROUP.into()),
            ..Default::default()
        });
    }
    if let (Some(a), false) = (audio, has_video) {
        playlist.variants.push(VariantStream {
            uri: format!("{}{q}", media_name(a)),
            bandwidth: bits(a.variant.bitrate_kbps),
            average_bandwidth: Some(bits(a.average_kbps)),
            codecs: Some(a.variant.codecs.clone()),
            ..Default::default()
        });
    }
    write(|out| playlist.write_to(out))
}

/// The media playlist of one rendition: its init segment and every media segment as byte
/// ranges of the rendition blob.
pub(crate) fn media(ladder: &Ladder, rendition: &Rendition) -> String {
    let uri = ladder.blob_uri(rendition);
    let index = &rendition.index;
    let longest = index.segments.iter().map(|s| s.duration_ms).max().unwrap_or(0);
    let segments = index
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| MediaSegment {
            uri: uri.clone(),
            duration: s.duration_ms as f32 / 1000.0,
            byte_range: Some(range(&s.span)),
            map: (i == 0).then(|| Map {
                uri: uri.clone(),
                byte_range: Some(range(&index.init)),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let playlist = MediaPlaylist {
        version: Some(VERSION),
        target_duration: u64::from(longest).div_ceil(1000),
        media_sequence: 0,
        segments,
        end_list: true,
        playlist_type: Some(MediaPlaylistType::Vod),
        independent_segments: true,
        ..Default::default()
    };
    write(|out| playlist.write_to(out))
}

fn bits(kbps: u32) -> u64 {
    u64::from(kbps) * 1000
}

fn range(span: &ByteSpan) -> ByteRange {
    ByteRange {
        length: span.len,
        offset: Some(span.offset),
    }
}

fn write(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and m3u8-rs writes only UTF-8.
    let _ = f(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
