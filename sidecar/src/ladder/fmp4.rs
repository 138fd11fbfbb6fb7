//! Reads the layout of a fragmented MP4 (CMAF) file: where the init segment ends, where
//! each `moof`+`mdat` fragment lies and how long it plays, and the track's RFC 6381 codecs
//! string. The playlists point players at exactly these byte ranges.

use media_rules::manifest::{ByteSpan, Segment, SegmentIndex};
use std::io::{self, Read, Seek, SeekFrom};

/// What a single-track fragmented MP4 holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Init segment and media segments.
    pub index: SegmentIndex,
    /// RFC 6381 codecs string of the track (`avc1.64001f`, `mp4a.40.2`).
    pub codecs: String,
    /// Width and height in pixels (0 for audio).
    pub width: u32,
    /// Height in pixels (0 for audio).
    pub height: u32,
    /// Total duration in milliseconds.
    pub duration_ms: u64,
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads the box header at the reader's position: (type, header length, total length).
fn box_header<R: Read>(r: &mut R, remaining: u64) -> io::Result<Option<([u8; 4], u64, u64)>> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let kind = [head[4], head[5], head[6], head[7]];
    let size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
    let (header, size) = match size {
        1 => {
            let mut large = [0u8; 8];
            r.read_exact(&mut large)?;
            (16, u64::from_be_bytes(large))
        }
        0 => (8, remaining),
        n => (8, n),
    };
    if size < header || size > remaining {
        return Err(bad(format!(
            "box '{}' has a bad size",
            String::from_utf8_lossy(&kind)
        )));
    }
    Ok(Some((kind, header, size)))
}

/// The children of a box held in memory, as (type, body) pairs.
fn children(mut data: &[u8]) -> io::Result<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let mut cursor = data;
        let (kind, header, size) =
            box_header(&mut cursor, data.len() as u64)?.ok_or_else(|| bad("truncated box"))?;
        out.push((kind, &data[header as usize..size as usize]));
        data = &data[size as usize..];
    }
    Ok(out)
}

fn child<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> io::Result<Option<&'a [u8]>> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(Some(data));
    };
    match children(data)?.into_iter().find(|(k, _)| k == *first) {
        Some((_, body)) => child(body, rest),
        None => Ok(None),
    }
}

fn be_u32(data: &[u8], at: usize) -> io::Result<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("field past the end of its box"))
}

/// What the `moov` box says about the one track.
struct Track {
    timescale: u32,
    default_duration: u32,
    codecs: String,
    width: u32,
    height: u32,
}

fn track(moov: &[u8]) -> io::Result<Track> {
    let trak = child(moov, &[b"trak"])?.ok_or_else(|| bad("no trak in moov"))?;
    let mdhd = child(trak, &[b"mdia", b"mdhd"])?.ok_or_else(|| bad("no mdhd"))?;
    let timescale = if mdhd.first() == Some(&1) {
        be_u32(mdhd, 20)?
    } else {
        be_u32(mdhd, 12)?
    };
    if timescale == 0 {
        return Err(bad("track timescale is zero"));
    }
    let tkhd = child(trak, &[b"tkhd"])?.ok_or_else(|| bad("no tkhd"))?;
    let (width, height) = (
        be_u32(tkhd, tkhd.len() - 8)? >> 16,
        be_u32(tkhd, tkhd.len() - 4)? >> 16,
    );
    let stsd = child(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])?.ok_or_else(|| bad("no stsd"))?;
    let entries = children(stsd.get(8..).ok_or_else(|| bad("short stsd"))?)?;
    let (kind, entry) = entries.first().ok_or_else(|| bad("stsd has no sample entry"))?;
    let default_duration = match child(moov, &[b"mvex", b"trex"])? {
        Some(trex) => be_u32(trex, 12)?,
        None => 0,
    };
    Ok(Track {
        timescale,
        default_duration,
        codecs: codecs(kind, entry)?,
        width,
        height,
    })
}

/// The RFC 6381 string for a sample entry.
fn codecs(kind: &[u8; 4], entry: &[u8]) -> io::Result<String> {
    let fourcc = String::from_utf8_lossy(kind).to_string();
    // Visual sample entries carry 78 bytes before their child boxes, audio ones 28.
    let boxes_at = match kind {
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"vp09" | b"av01" => 78,
        _ => 28,
    };
    let inner = children(entry.get(boxes_at..).unwrap_or_default()).unwrap_or_default();
    let find = |k: &[u8; 4]| inner.iter().find(|(c, _)| c == k).map(|(_, b)| *b);
    Ok(match kind {
        b"avc1" | b"avc3" => match find(b"avcC") {
            Some(c) if c.len() >= 4 => format!("{fourcc}.{:02x}{:02x}{:02x}", c[1], c[2], c[3]),
            _ => return Err(bad("avc1 sample entry has no avcC")),
        },
        b"mp4a" => match find(b"esds").and_then(aac_object_type) {
            Some((oti, aot)) => format!("mp4a.{oti:02x}.{aot}"),
            None => "mp4a.40.2".into(),
        },
        b"Opus" => "opus".into(),
        _ => fourcc,
    })
}

/// The object type indication and AAC audio object type from an `esds` box.
fn aac_object_type(esds: &[u8]) -> Option<(u8, u8)> {
    let mut at = 4; // version and flags
    let descriptor = |at: &mut usize, want: u8| -> Option<()> {
        if *esds.get(*at)? != want {
            return None;
        }
        *at += 1;
        for _ in 0..4 {
            let b = *esds.get(*at)?;
            *at += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        Some(())
    };
    descriptor(&mut at, 0x03)?;
    let flags = *esds.get(at + 2)?;
    at += 3;
    if flags & 0x80 != 0 {
        at += 2;
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*esds.get(at)?);
    }
    if flags & 0x20 != 0 {
        at += 2;
    }
    descriptor(&mut at, 0x04)?;
    let oti = *esds.get(at)?;
    at += 13;
    descriptor(&mut at, 0x05)?;
    Some((oti, esds.get(at)? >> 3))
}

/// Sum of the sample durations in a `moof`'s track fragment.
fn fragment_duration(moof: &[u8], default_duration: u32) -> io::Result<u64> {
    let traf = child(moof, &[b"traf"])?.ok_or_else(|| bad("moof without traf"))?;
    let mut default = default_duration;
    let mut total = 0u64;
    for (kind, body) in children(traf)? {
        match &kind {
            b"tfhd" => {
                let flags = be_u32(body, 0)? & 0xff_ffff;
                let mut at = 8;
                if flags & 0x01 != 0 {
                    at += 8;
                }
                if flags & 0x02 != 0 {
                    at += 4;
                }
                if flags & 0x08 != 0 {
                    default = be_u32(body, at)?;
                }
            }
            b"trun" => {
                let flags = be_u32(body, 0)? & 0xff_ffff;
                let count = be_u32(body, 4)? as usize;
                let mut at = 8;
                if flags & 0x01 != 0 {
                    at += 4;
                }
                if flags & 0x04 != 0 {
                    at += 4;
                }
                let fields = [0x100, 0x200, 0x400, 0x800]
                    .iter()
                    .filter(|f| flags & **f != 0)
                    .count();
                for i in 0..count {
                    let sample = at + i * fields * 4;
                    total += u64::from(if flags & 0x100 != 0 {
                        be_u32(body, sample)?
                    } else {
                        default
                    });
                }
            }
            _ => {}
        }
    }
    Ok(total)
}

/// Reads the layout of the fragmented MP4 in `file`.
pub(crate) fn read_layout<R: Read + Seek>(file: &mut R) -> io::Result<Layout> {
    let len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    let mut at = 0u64;
    let mut moov: Option<(Vec<u8>, u64)> = None;
    let mut track_info: Option<Track> = None;
    let mut segments = Vec::new();
    let mut open: Option<(u64, u64)> = None; // (start, duration in track units)
    let mut total_units = 0u64;
    while let Some((kind, header, size)) = box_header(file, len - at)? {
        match &kind {
            b"moov" => {
                let mut body = vec![0u8; (size - header) as usize];
                file.read_exact(&mut body)?;
                track_info = Some(track(&body)?);
                moov = Some((body, at + size));
            }
            b"styp" | b"sidx" | b"moof" if open.is_none() || kind == *b"moof" => {
                if kind == *b"moof" {
                    let info = track_info.as_ref().ok_or_else(|| bad("moof before moov"))?;
                    let mut body = vec![0u8; (size - header) as usize];
                    file.read_exact(&mut body)?;
                    let units = fragment_duration(&body, info.default_duration)?;
                    let start = open.map_or(at, |(s, _)| s);
                    open = Some((start, units));
                } else {
                    open = Some((at, 0));
                    file.seek(SeekFrom::Start(at + size))?;
                }
            }
            b"mdat" => {
                let (start, units) = open.take().ok_or_else(|| bad("mdat without moof"))?;
                let info = track_info.as_ref().ok_or_else(|| bad("mdat before moov"))?;
                let duration_ms = (units * 1000 / u64::from(info.timescale)) as u32;
                total_units += units;
                segments.push(Segment {
                    span: ByteSpan {
                        offset: start,
                        len: at + size - start,
                    },
                    duration_ms: duration_ms.max(1),
                });
                file.seek(SeekFrom::Start(at + size))?;
            }
            _ => {
                file.seek(SeekFrom::Start(at + size))?;
            }
        }
        at += size;
    }
    let ((_, init_end), info) = moov.zip(track_info).ok_or_else(|| bad("no moov box"))?;
    if segments.is_empty() {
        return Err(bad("no media fragments"));
    }
    Ok(Layout {
        index: SegmentIndex {
            init: ByteSpan {
                offset: 0,
                len: init_end,
            },
            segments,
        },
        codecs: info.codecs,
        width: info.width,
        height: info.height,
        duration_ms: total_units * 1000 / u64::from(info.timescale),
    })
}
