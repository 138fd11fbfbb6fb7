//! Chunk math: how a blob of some size is cut into fixed-size chunks, and which chunk
//! slices a byte range covers.

use core::ops::Range;

/// The layout of a blob: its size and the size of every chunk but the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLayout {
    /// The blob's size in bytes.
    pub size: u64,
    /// The chunk size in bytes (non-zero).
    pub chunk_size: u32,
}

/// A part of one chunk: which chunk, where in it, and how many bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSlice {
    /// The chunk's index in the blob.
    pub index: u64,
    /// The offset inside the chunk.
    pub offset: u32,
    /// How many bytes to take from there.
    pub len: u32,
}

impl ChunkLayout {
    /// A layout; `None` when `chunk_size` is zero.
    pub fn new(size: u64, chunk_size: u32) -> Option<Self> {
        (chunk_size > 0).then_some(ChunkLayout { size, chunk_size })
    }

    /// How many chunks the blob has; an empty blob has none.
    pub fn chunk_count(&self) -> u64 {
        self.size.div_ceil(u64::from(self.chunk_size))
    }

    /// The byte range of chunk `index` in the blob, or `None` past the end.
    pub fn chunk_range(&self, index: u64) -> Option<Range<u64>> {
        if index >= self.chunk_count() {
            return None;
        }
        let start = index * u64::from(self.chunk_size);
        Some(start..(start + u64::from(self.chunk_size)).min(self.size))
    }

    /// The length of chunk `index`, or `None` past the end.
    pub fn chunk_len(&self, index: u64) -> Option<u32> {
        self.chunk_range(index).map(|r| (r.end - r.start) as u32)
    }

    /// The chunk slices that cover `range` (clamped to the blob), in order.
    pub fn slices(&self, range: Range<u64>) -> impl Iterator<Item = ChunkSlice> + '_ {
        let end = range.end.min(self.size);
        let cs = u64::from(self.chunk_size);
        let mut pos = range.start.min(end);
        core::iter::from_fn(move || {
            if pos >= end {
                return None;
            }
            let index = pos / cs;
            let offset = pos % cs;
            let len = (cs - offset).min(end - pos);
            pos += len;
            Some(ChunkSlice {
                index,
                offset: offset as u32,
                len: len as u32,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CS: u32 = 1024;

    #[test]
    fn interesting_sizes() {
        for (size, count) in [(0, 0), (1, 1), (1023, 1), (1024, 1), (1025, 2), (4096, 4)] {
            let l = ChunkLayout::new(size, CS).unwrap();
            assert_eq!(l.chunk_count(), count, "size {size}");
        }
        let l = ChunkLayout::new(1025, CS).unwrap();
        assert_eq!(l.chunk_range(1), Some(1024..1025));
        assert_eq!(l.chunk_len(1), Some(1));
        assert_eq!(l.chunk_range(2), None);
        assert!(ChunkLayout::new(1, 0).is_none());
    }

    #[test]
    fn a_range_across_a_boundary_takes_two_slices() {
        let l = ChunkLayout::new(4096, CS).unwrap();
        let s: Vec<_> = l.slices(1000..1100).collect();
        assert_eq!(
            s,
            vec![
                ChunkSlice {
                    index: 0,
                    offset: 1000,
                    len: 24
                },
                ChunkSlice {
                    index: 1,
                    offset: 0,
                    len: 76
                }
            ]
        );
    }

    proptest! {
        #[test]
        fn slices_tile_the_range_exactly(size in 0u64..20_000, cs in 1u32..3000, a in 0u64..25_000, b in 0u64..25_000) {
            let l = ChunkLayout::new(size, cs).unwrap();
            let (start, end) = (a.min(b), a.max(b));
            let mut pos = start.min(size);
            let mut total = 0u64;
            for s in l.slices(start..end) {
                let chunk = l.chunk_range(s.index).unwrap();
                prop_assert_eq!(chunk.start + u64::from(s.offset), pos);
                prop_assert!(u64::from(s.offset) + u64::from(s.len) <= chunk.end - chunk.start);
                prop_assert!(s.len > 0);
                pos += u64::from(s.len);
                total += u64::from(s.len);
            }
            prop_assert_eq!(total, end.min(size).saturating_sub(start.min(size)));
        }

        #[test]
        fn chunks_partition_the_blob(size in 0u64..50_000, cs in 1u32..5000) {
            let l = ChunkLayout::new(size, cs).unwrap();
            let mut next = 0;
            for i in 0..l.chunk_count() {
                let r = l.chunk_range(i).unwrap();
                prop_assert_eq!(r.start, next);
                prop_assert!(r.end > r.start);
                next = r.end;
            }
            prop_assert_eq!(next, size);
        }
    }
}
