//! MPEG-DASH (ISO/IEC 23009-1) from a ladder: one static period with a video and an audio
//! adaptation set; each representation is a `SegmentList` whose init segment and media
//! segments are byte ranges of the rendition blob, timed by a `SegmentTimeline`.

use super::{Ladder, Rendition};
use quick_xml::events::{BytesDecl, Event};
use quick_xml::Writer;
use std::io::{self, Write};

/// The MIME type of an MPD.
pub(crate) const MIME: &str = "application/dash+xml";
/// The MPD schema namespace.
const NAMESPACE: &str = "urn:mpeg:dash:schema:mpd:2011";
/// The profile: byte-range segment lists belong to the ISO base media file format
/// main profile.
const PROFILE: &str = "urn:mpeg:dash:profile:isoff-main:2011";
/// Segment times are in milliseconds.
const TIMESCALE: &str = "1000";

/// The MPD of a ladder.
pub(crate) fn mpd(ladder: &Ladder) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    // Writing into a Vec cannot fail.
    let _ = write_mpd(&mut writer, ladder);
    String::from_utf8_lossy(&writer.into_inner()).into_owned()
}

fn write_mpd<W: Write>(w: &mut Writer<W>, ladder: &Ladder) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let longest = ladder
        .renditions
        .iter()
        .map(Rendition::duration_ms)
        .max()
        .unwrap_or(0);
    let longest_segment = ladder
        .renditions
        .iter()
        .flat_map(|r| r.index.segments.iter().map(|s| u64::from(s.duration_ms)))
        .max()
        .unwrap_or(0);
    w.create_element("MPD")
        .with_attribute(("xmlns", NAMESPACE))
        .with_attribute(("type", "static"))
        .with_attribute(("profiles", PROFILE))
        .with_attribute(("mediaPresentationDuration", duration(longest).as_str()))
        .with_attribute(("minBufferTime", duration(longest_segment).as_str()))
        .write_inner_content(|w| {
            w.create_element("Period")
                .with_attribute(("id", "0"))
                .with_attribute(("start", "PT0S"))
                .write_inner_content(|w| {
                    let video: Vec<&Rendition> = ladder.video().collect();
                    if !video.is_empty() {
                        adaptation_set(w, ladder, "0", "video", &video)?;
                    }
                    if let Some(audio) = ladder.audio() {
                        adaptation_set(w, ladder, "1", "audio", &[audio])?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn adaptation_set<W: Write>(
    w: &mut Writer<W>,
    ladder: &Ladder,
    id: &str,
    content_type: &str,
    renditions: &[&Rendition],
) -> io::Result<()> {
    let mime = format!("{content_type}/mp4");
    let mut set = w
        .create_element("AdaptationSet")
        .with_attribute(("id", id))
        .with_attribute(("contentType", content_type))
        .with_attribute(("mimeType", mime.as_str()))
        .with_attribute(("segmentAlignment", "true"))
        .with_attribute(("startWithSAP", "1"));
    if content_type == "audio" {
        set = set.with_attribute(("lang", "und"));
    }
    set.write_inner_content(|w| {
        for r in renditions {
            representation(w, ladder, r)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn representation<W: Write>(w: &mut Writer<W>, ladder: &Ladder, r: &Rendition) -> io::Result<()> {
    let v = &r.variant;
    let bandwidth = (u64::from(v.bitrate_kbps) * 1000).to_string();
    let mut element = w
        .create_element("Representation")
        .with_attribute(("id", v.label.as_str()))
        .with_attribute(("bandwidth", bandwidth.as_str()))
        .with_attribute(("codecs", v.codecs.as_str()));
    let (width, height) = (v.width.to_string(), v.height.to_string());
    if !r.is_audio() {
        element = element
            .with_attribute(("width", width.as_str()))
            .with_attribute(("height", height.as_str()));
    }
    let uri = ladder.blob_uri(r);
    element.write_inner_content(|w| {
        w.create_element("SegmentList")
            .with_attribute(("timescale", TIMESCALE))
            .write_inner_content(|w| {
                let init = byte_range(r.index.init.offset, r.index.init.len);
                w.create_element("Initialization")
                    .with_attribute(("sourceURL", uri.as_str()))
                    .with_attribute(("range", init.as_str()))
                    .write_empty()?;
                w.create_element("SegmentTimeline").write_inner_content(|w| {
                    let mut t = 0u64;
                    for s in &r.index.segments {
                        let (start, d) = (t.to_string(), s.duration_ms.to_string());
                        w.create_element("S")
                            .with_attribute(("t", start.as_str()))
                            .with_attribute(("d", d.as_str()))
                            .write_empty()?;
                        t += u64::from(s.duration_ms);
                    }
                    Ok(())
                })?;
                for s in &r.index.segments {
                    let range = byte_range(s.span.offset, s.span.len);
                    w.create_element("SegmentURL")
                        .with_attribute(("media", uri.as_str()))
                        .with_attribute(("mediaRange", range.as_str()))
                        .write_empty()?;
                }
                Ok(())
            })?;
        Ok(())
    })?;
    Ok(())
}

/// An inclusive byte range, `first-last`.
fn byte_range(offset: u64, len: u64) -> String {
    format!("{offset}-{}", offset + len.saturating_sub(1))
}

/// An xs:duration of `ms` milliseconds.
fn duration(ms: u64) -> String {
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}
