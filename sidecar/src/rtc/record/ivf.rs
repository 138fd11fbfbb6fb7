//! IVF, the plain container of VP8, VP9 and AV1 frames that ffmpeg reads: a 32-byte header
//! (codec, size, time base) and each frame with its size and timestamp. A file cut short
//! by a crash still reads up to its last whole frame.

use std::io::{self, Seek, SeekFrom, Write};

/// The time base of the timestamps written: microseconds.
pub(crate) const TIMEBASE_DEN: u32 = 1_000_000;

/// Writes an IVF stream into `out`.
pub(crate) struct IvfWriter<W: Write + Seek> {
    out: W,
    frames: u32,
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Writes the header for codec `fourcc` (`VP80`, `VP90`, `AV01`) of `width` × `height`
    /// (0 when unknown: decoders read it from the bitstream).
    pub(crate) fn new(mut out: W, fourcc: [u8; 4], width: u16, height: u16) -> io::Result<Self> {
        let mut header = [0u8; 32];
        header[0..4].copy_from_slice(b"DKIF");
        header[6..8].copy_from_slice(&32u16.to_le_bytes());
        header[8..12].copy_from_slice(&fourcc);
        header[12..14].copy_from_slice(&width.to_le_bytes());
        header[14..16].copy_from_slice(&height.to_le_bytes());
        header[16..20].copy_from_slice(&TIMEBASE_DEN.to_le_bytes());
        header[20..24].copy_from_slice(&1u32.to_le_bytes());
        out.write_all(&header)?;
        Ok(IvfWriter { out, frames: 0 })
    }

    /// Appends a frame at `pts` microseconds.
    pub(crate) fn frame(&mut self, pts: u64, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| io::Error::other("frame over 4 GiB"))?;
        let mut head = [0u8; 12];
        head[0..4].copy_from_slice(&size.to_le_bytes());
        head[4..12].copy_from_slice(&pts.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.frames += 1;
        Ok(())
    }

    /// The stream so far, to flush or sync.
    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the frame count into the header and returns the stream.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(24))?;
        self.out.write_all(&self.frames.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(end))?;
        Ok(self.out)
    }
}

/// The width and height a VP8 keyframe gives (RFC 6386 §9.1), or `None`.
pub(crate) fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    let keyframe = frame.first()? & 1 == 0;
    if !keyframe || frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([*frame.get(8)?, *frame.get(9)?]) & 0x3fff;
    Some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_frames_are_where_readers_look() {
        let mut w = IvfWriter::new(io::Cursor::new(Vec::new()), *b"VP80", 640, 480).unwrap();
        w.frame(0, b"abc").unwrap();
        w.frame(33_333, b"de").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(&bytes[0..4], b"DKIF");
        assert_eq!(&bytes[8..12], b"VP80");
        assert_eq!(u16::from_le_bytes([bytes[12], bytes[13]]), 640);
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(bytes[32..36].try_into().unwrap()), 3);
        assert_eq!(&bytes[44..47], b"abc");
        assert_eq!(u64::from_le_bytes(bytes[51..59].try_into().unwrap()), 33_333);
        assert_eq!(bytes.len(), 32 + 12 + 3 + 12 + 2);
    }

    #[test]
    fn a_vp8_keyframe_tells_its_size() {
        let key = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        assert_eq!(vp8_size(&key), Some((640, 480)));
        assert_eq!(
            vp8_size(&[0x11, 0, 0, 0x9d, 0x01, 0x2a, 0, 0, 0, 0]),
            None,
            "an interframe"
        );
        assert_eq!(vp8_size(&[0x10]), None);
    }
}
