//! The blobs being pulled here, whose chunks peers may take before the blob is whole.

use media_store::hash::Hash32;

/// The blobs being pulled here, with the chunks each lists: peers may take the chunks a
/// pull already has before the blob is whole (see [`crate::http::chunk`]).
#[derive(Default)]
pub struct Pulling(std::sync::Mutex<std::collections::HashMap<Hash32, PullEntry>>);

/// A blob's chunks, and how many pulls of it run.
type PullEntry = (std::collections::HashSet<Hash32>, usize);

impl Pulling {
    /// Whether a pull of `blob` runs here and its manifest lists `chunk`.
    pub fn lists(&self, blob: &Hash32, chunk: &Hash32) -> bool {
        let pulls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pulls.get(blob).is_some_and(|(chunks, _)| chunks.contains(chunk))
    }

    pub(super) fn enter(&self, blob: Hash32, chunks: &[Hash32]) -> PullGuard<'_> {
        let mut pulls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pulls
            .entry(blob)
            .or_insert_with(|| (chunks.iter().copied().collect(), 0))
            .1 += 1;
        PullGuard { pulling: self, blob }
    }
}

/// Ends a pull's entry in [`Pulling`] (the last of concurrent pulls of one blob removes it).
pub(super) struct PullGuard<'a> {
    pulling: &'a Pulling,
    blob: Hash32,
}

impl Drop for PullGuard<'_> {
    fn drop(&mut self) {
        let mut pulls = self.pulling.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = pulls.get_mut(&self.blob) {
            entry.1 -= 1;
            if entry.1 == 0 {
                pulls.remove(&self.blob);
            }
        }
    }
}
