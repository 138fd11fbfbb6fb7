//! Ogg Opus (RFC 7845), the container ffmpeg reads Opus packets from: an `OpusHead` page,
//! an `OpusTags` page, then one page per packet whose granule position counts 48 kHz
//! samples. A file cut short by a crash still reads up to its last whole page.

use std::io::{self, Write};

/// Writes an Ogg Opus stream into `out`.
pub(crate) struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    sequence: u32,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the two header pages for `channels` channels.
    pub(crate) fn new(out: W, serial: u32, channels: u8) -> io::Result<Self> {
        let mut w = OggOpusWriter {
            out,
            serial,
            sequence: 0,
        };
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(channels);
        head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
        head.extend_from_slice(&48_000u32.to_le_bytes()); // the input's rate
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family
        w.page(0x02, 0, &head)?;
        let vendor = b"elohim-media";
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.page(0, 0, &tags)?;
        Ok(w)
    }

    /// Appends a packet that ends at `granule` samples from the stream's start.
    pub(crate) fn packet(&mut self, granule: u64, packet: &[u8]) -> io::Result<()> {
        self.page(0, granule, packet)
    }

    /// The stream so far, to flush or sync.
    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn page(&mut self, kind: u8, granule: u64, packet: &[u8]) -> io::Result<()> {
        // Lacing: 255s and the remainder; a multiple of 255 ends with a 0. A packet needs
        // at most 255 lacing values on one page (64 KiB; Opus packets are far smaller).
        let mut lacing = vec![255u8; packet.len() / 255];
        lacing.push((packet.len() % 255) as u8);
        if lacing.len() > 255 {
            return Err(io::Error::other("an Opus packet over 64 KiB"));
        }
        let mut page = Vec::with_capacity(27 + lacing.len() + packet.len());
        page.extend_from_slice(b"OggS");
        page.push(0);
        page.push(kind);
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&self.serial.to_le_bytes());
        page.extend_from_slice(&self.sequence.to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(lacing.len() as u8);
        page.extend_from_slice(&lacing);
        page.extend_from_slice(packet);
        let crc = crc32(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        self.sequence += 1;
        self.out.write_all(&page)
    }
}

/// Ogg's CRC-32: polynomial 0x04c11db7, not reflected, starting at 0, no final xor.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The 48 kHz samples an Opus packet holds, from its TOC byte (RFC 6716 §3.1).
pub(crate) fn opus_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    // Frame sizes in 48 kHz samples: SILK 10/20/40/60 ms, hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |c| u64::from(c & 0x3f)),
    };
    frames * frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_oggs() {
        // The check value of Ogg's CRC (RFC 3533's polynomial, initial value 0).
        assert_eq!(crc32(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn pages_carry_the_headers_then_one_packet_each() {
        let mut w = OggOpusWriter::new(Vec::new(), 7, 2).unwrap();
        w.packet(960, &[0xfc; 300]).unwrap();
        let bytes = w.out;
        assert_eq!(&bytes[0..4], b"OggS");
        assert_eq!(bytes[5], 0x02, "the first page begins the stream");
        assert_eq!(&bytes[28..36], b"OpusHead");
        let third = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"OggS")
            .nth(2)
            .unwrap()
            .0;
        assert_eq!(
            u64::from_le_bytes(bytes[third + 6..third + 14].try_into().unwrap()),
            960
        );
        assert_eq!(
            &bytes[third + 26..third + 29],
            &[2, 255, 45],
            "300 bytes lace as 255 + 45"
        );
    }

    #[test]
    fn an_opus_packet_says_how_long_it_plays() {
        assert_eq!(opus_samples(&[0xfc]), 960, "CELT 20 ms, one frame");
        assert_eq!(opus_samples(&[0x78 | 1]), 2 * 960, "hybrid 20 ms, two frames");
        assert_eq!(
            opus_samples(&[0x0b, 0x03]),
            3 * 960,
            "SILK 20 ms, code 3 with three frames"
        );
        assert_eq!(opus_samples(&[]), 0);
    }
}
