//! Block-aligned chunk buffers for direct I/O. Uploads copy the body into these as it
//! arrives, so a chunk is written to disk from the buffer it was assembled in; finished
//! buffers go back to a small pool, so a long upload does not allocate (and fault in) a
//! fresh megabyte per chunk.

use std::sync::Mutex;

/// The alignment direct I/O asks of buffers, offsets and lengths.
pub(crate) const BLOCK: usize = 4096;

/// Buffers kept for reuse; the pool holds at most this many bytes.
const POOL_BYTES: usize = 16 << 20;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A fixed-capacity buffer whose data starts on a [`BLOCK`] boundary.
pub(crate) struct AlignedBuf {
    mem: Vec<u8>,
    start: usize,
    len: usize,
    cap: usize,
}

impl AlignedBuf {
    /// An empty buffer for up to `cap` bytes, reused from the pool when one fits.
    pub(crate) fn new(cap: usize) -> Self {
        let want = cap + BLOCK;
        let reused = {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            pool.iter()
                .position(|m| m.len() >= want)
                .map(|i| pool.swap_remove(i))
        };
        let mem = reused.unwrap_or_else(|| vec![0; want]);
        let start = mem.as_ptr().align_offset(BLOCK);
        AlignedBuf {
            mem,
            start,
            len: 0,
            cap,
        }
    }

    /// Copies as much of `data` as fits; returns how many bytes were taken.
    pub(crate) fn extend(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.cap - self.len);
        let at = self.start + self.len;
        self.mem[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    /// Whether the buffer holds `cap` bytes.
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.cap
    }

    /// Whether the buffer holds nothing.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes held, starting on a block boundary.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let mem = std::mem::take(&mut self.mem);
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let held: usize = pool.iter().map(Vec::len).sum();
        if held + mem.len() <= POOL_BYTES {
            pool.push(mem);
        }
    }
}

/// Whether `data` can go to the disk with direct I/O as it is.
pub(crate) fn is_aligned(data: &[u8]) -> bool {
    data.as_ptr().align_offset(BLOCK) == 0 && data.len().is_multiple_of(BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_to_capacity_aligned_and_is_reused_clean() {
        let mut a = AlignedBuf::new(10_000);
        assert!(a.is_empty());
        assert_eq!(a.extend(&[1; 6000]), 6000);
        assert_eq!(a.extend(&[2; 6000]), 4000);
        assert!(a.is_full());
        assert_eq!(a.as_slice().as_ptr().align_offset(BLOCK), 0);
        assert_eq!(&a.as_slice()[5999..6001], &[1, 2]);
        drop(a);
        // A buffer from the pool starts empty, whatever it held before.
        let mut b = AlignedBuf::new(8192);
        assert!(b.as_slice().is_empty());
        b.extend(&[3; 8192]);
        assert!(is_aligned(b.as_slice()));
        assert!(!is_aligned(&b.as_slice()[1..]));
    }
}
