//! The whole blob's SHA-256, fed chunk by chunk in order, which can also hash a chunk on its
//! own in the same pass over its bytes.
//!
//! SHA-256 with the CPU's SHA extensions is bound by the latency of its round instructions,
//! not by their throughput: one stream leaves the core idle for much of each block. Feeding
//! the same 64-byte block to the blob's state and to the chunk's state one after the other
//! lets the core overlap the two independent compressions, so one pass costs about a third
//! less than hashing the bytes twice (`cargo bench -p media_store --bench blob_hasher`). The
//! compression, padding and finalisation are the `sha2` crate's; this module only decides
//! which state takes which block.
//!
//! This uses `sha2` 0.11, whose block API is built without debug assertions even in the
//! dev profile (see the workspace's `Cargo.toml`): with them, the checks on each call cost
//! more than the overlap saves. Everything else hashes with the workspace's `sha2` 0.10.

use crate::hash::Hash32;
use sha2_blocks::digest::block_api::{Buffer, CoreProxy, FixedOutputCore, UpdateCore};
use sha2_blocks::{Digest, Sha256};

/// SHA-256's block-level state.
type Core = <Sha256 as CoreProxy>::Core;
const BLOCK: usize = 64;

/// The running SHA-256 of a blob.
#[derive(Default)]
pub struct BlobHasher(Sha256);

impl BlobHasher {
    /// Adds the next piece of the blob.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Adds the next piece of the blob and returns that piece's own SHA-256, reading each of
    /// its blocks once for both hashes.
    pub fn update_and_hash(&mut self, data: &[u8]) -> Hash32 {
        let (mut blob, buffer) = std::mem::take(&mut self.0).decompose();
        // Interleaving needs the piece to start and end on the blob's block boundaries.
        if buffer.get_pos() != 0 || !data.len().is_multiple_of(BLOCK) {
            self.0 = Sha256::compose(blob, buffer);
            self.0.update(data);
            return Hash32::of(data);
        }
        let mut piece = Core::default();
        for block in data.as_chunks::<BLOCK>().0 {
            let block = std::slice::from_ref(block.into());
            piece.update_blocks(block);
            blob.update_blocks(block);
        }
        self.0 = Sha256::compose(blob, buffer);
        let mut own = Default::default();
        piece.finalize_fixed_core(&mut Buffer::<Core>::default(), &mut own);
        Hash32(own.into())
    }

    /// The blob's SHA-256.
    pub fn finalize(self) -> Hash32 {
        Hash32(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i * 2_654_435_761) >> 13) as u8).collect()
    }

    #[test]
    fn agrees_with_sha256_whatever_the_pieces() {
        let data = bytes(10_000);
        for cuts in [
            vec![],
            vec![64],
            vec![1024, 2048, 9984],
            vec![100, 164, 5000],
            vec![9_999],
        ] {
            let mut hasher = BlobHasher::default();
            let mut start = 0;
            for end in cuts.iter().copied().chain([data.len()]) {
                let piece = &data[start..end];
                let own = if start % 3 == 0 {
                    hasher.update_and_hash(piece)
                } else {
                    hasher.update(piece);
                    Hash32::of(piece)
                };
                assert_eq!(own, Hash32::of(piece), "piece {start}..{end}");
                start = end;
            }
            assert_eq!(hasher.finalize(), Hash32::of(&data), "cuts {cuts:?}");
        }
    }

    #[test]
    fn empty_blob_and_empty_pieces() {
        let mut hasher = BlobHasher::default();
        assert_eq!(hasher.update_and_hash(&[]), Hash32::of(&[]));
        hasher.update(&[]);
        assert_eq!(hasher.finalize(), Hash32::of(&[]));
    }

    #[test]
    fn whole_chunks_then_a_short_last_one() {
        let data = bytes(3 * 4096 + 17);
        let mut hasher = BlobHasher::default();
        for chunk in data.chunks(4096) {
            assert_eq!(hasher.update_and_hash(chunk), Hash32::of(chunk));
        }
        assert_eq!(hasher.finalize(), Hash32::of(&data));
    }
}
