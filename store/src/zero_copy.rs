//! Chunk bytes that go to the socket without passing through user space, as nginx's
//! `sendfile` does, although hyper only knows byte slices.
//!
//! A chunk file is mapped read-only ([`map`]) and its bytes travel through hyper as a
//! `Bytes` over the mapping; every mapping is registered with the file it maps. By
//! default the connection writes such slices with `writev`: no buffer of ours holds them,
//! and the kernel copies them once from the page cache into the socket. With `--sendfile`
//! the connection (`sidecar::server`) sends a slice that lies in a registered mapping from
//! the file with `sendfile(2)` at the same offset, so the kernel hands page-cache pages to
//! the socket without that copy (over loopback this measured slower: BENCHMARKS.md).

use bytes::Bytes;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, RwLock};

/// The registered mappings, by start address: end address and the file's descriptor.
static MAPPINGS: RwLock<BTreeMap<usize, (usize, RawFd)>> = RwLock::new(BTreeMap::new());

/// A file mapped whole and registered; unregistered when the last `Bytes` over it goes.
struct Mapping {
    map: memmap2::Mmap,
    /// Kept open for `sendfile` while the mapping lives.
    _file: Arc<File>,
}

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let mut maps = MAPPINGS.write().unwrap_or_else(|e| e.into_inner());
        maps.remove(&(self.map.as_ptr() as usize));
    }
}

/// `len` bytes of `file` as `Bytes` over a registered mapping, which a connection with
/// `--sendfile` sends from the file ([`next`], [`send_file`]).
///
/// # Safety
/// The bytes are read through the mapping by `writev` (and by any other reader); the
/// file must not be truncated while the mapping lives (a read past the new end faults).
/// Chunk files are written once and renamed into place, and never truncated.
pub unsafe fn map(file: Arc<File>, len: u64) -> io::Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    let len = usize::try_from(len).map_err(io::Error::other)?;
    let map = memmap2::MmapOptions::new().len(len).map(file.as_ref())?;
    let start = map.as_ptr() as usize;
    MAPPINGS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(start, (start + len, file.as_raw_fd()));
    Ok(Bytes::from_owner(Mapping { map, _file: file }))
}

/// Where a slice starting at `ptr` lies in a registered file: the descriptor, the offset
/// in the file, and how many of `len` bytes are in the mapping.
fn file_of(ptr: *const u8, len: usize) -> Option<(RawFd, u64, usize)> {
    let addr = ptr as usize;
    let maps = MAPPINGS.read().unwrap_or_else(|e| e.into_inner());
    let (&start, &(end, fd)) = maps.range(..=addr).next_back()?;
    (addr < end).then(|| (fd, (addr - start) as u64, len.min(end - addr)))
}

/// What to do with the slices hyper wants written next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// `sendfile` `len` bytes of file `fd` from `offset`.
    SendFile { fd: RawFd, offset: u64, len: usize },
    /// Write the first `count` slices (none of them mapped) as usual.
    Write { count: usize },
}

/// The next step for `bufs`: the first slice from its file when it is mapped, else the
/// slices before the first mapped one.
pub fn next(bufs: &[IoSlice<'_>]) -> Next {
    let Some(first) = bufs.iter().position(|b| !b.is_empty()) else {
        return Next::Write { count: bufs.len() };
    };
    if let Some((fd, offset, len)) = file_of(bufs[first].as_ptr(), bufs[first].len()) {
        return Next::SendFile { fd, offset, len };
    }
    let count = bufs[first..]
        .iter()
        .position(|b| file_of(b.as_ptr(), b.len()).is_some())
        .map_or(bufs.len(), |mapped| first + mapped);
    Next::Write { count }
}

/// `sendfile(2)` of `len` bytes of `fd` at `offset` to the socket `out`: the bytes sent, or
/// `WouldBlock` when the socket's buffer is full.
pub fn send_file(out: RawFd, fd: RawFd, offset: u64, len: usize) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(offset).map_err(io::Error::other)?;
    // SAFETY: plain descriptors and a valid pointer to a local offset.
    let sent = unsafe { libc::sendfile(out, fd, &mut off, len) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    if sent == 0 && len > 0 {
        // The file ends before the mapping does: it was truncated underneath.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a chunk file is shorter than when it was verified",
        ));
    }
    Ok(sent as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn mapped(bytes: &[u8]) -> (Bytes, tempfile::NamedTempFile) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let file = Arc::new(File::open(f.path()).unwrap());
        // SAFETY: the test's file is not truncated.
        (unsafe { map(file, bytes.len() as u64) }.unwrap(), f)
    }

    #[test]
    fn a_slice_of_a_mapping_is_sent_from_its_file_at_its_offset() {
        let (bytes, _f) = mapped(&[7u8; 10_000]);
        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        let body = bytes.slice(4096..8192);
        let bufs = [IoSlice::new(head), IoSlice::new(&body)];
        assert_eq!(next(&bufs), Next::Write { count: 1 });
        let Next::SendFile { offset, len, .. } = next(&bufs[1..]) else {
            panic!("a mapped slice is sent from its file")
        };
        assert_eq!((offset, len), (4096, 4096));
    }

    #[test]
    fn plain_memory_is_written_as_usual() {
        let plain = Bytes::from(vec![1u8; 100]);
        let bufs = [IoSlice::new(&plain), IoSlice::new(b"more")];
        assert_eq!(next(&bufs), Next::Write { count: 2 });
        assert_eq!(next(&[]), Next::Write { count: 0 });
    }

    #[test]
    fn a_dropped_mapping_is_forgotten() {
        let (bytes, _f) = mapped(b"abc");
        let ptr = bytes.as_ptr();
        assert!(file_of(ptr, 3).is_some());
        drop(bytes);
        assert!(file_of(ptr, 3).is_none());
    }

    #[test]
    fn sendfile_sends_the_files_bytes_from_the_offset() {
        let (bytes, f) = mapped(b"0123456789");
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let file = File::open(f.path()).unwrap();
        let sent = send_file(a.as_raw_fd(), file.as_raw_fd(), 3, 4).unwrap();
        assert_eq!(sent, 4);
        drop(bytes);
        a.flush().unwrap();
        let mut got = [0u8; 4];
        std::io::Read::read_exact(&mut b, &mut got).unwrap();
        assert_eq!(&got, b"3456");
    }
}
