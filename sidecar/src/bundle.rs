//! Packing the DNA and hApp bundles from their manifests, without the `hc` CLI.

use holochain_types::prelude::{AppManifest, ValidatedDnaManifest};
use mr_bundle::FileSystemBundler;
use std::path::{Path, PathBuf};

/// The packed bundles.
#[derive(Debug, Clone)]
pub struct Packed {
    /// `workdir/media.dna`.
    pub dna: PathBuf,
    /// `workdir/elohim_media.happ`.
    pub happ: PathBuf,
}

/// Packs `dnas/media/dna.yaml` into `workdir/media.dna`, then `happ.yaml` into
/// `workdir/elohim_media.happ`, under the repository root `root`. The zome wasm must
/// already be in `workdir/`.
pub async fn pack_all(root: &Path) -> Result<Packed, mr_bundle::error::MrBundleError> {
    let workdir = root.join("workdir");
    let dna = workdir.join("media.dna");
    let happ = workdir.join("elohim_media.happ");
    FileSystemBundler::bundle_to::<ValidatedDnaManifest>(root.join("dnas/media/dna.yaml"), &dna).await?;
    FileSystemBundler::bundle_to::<AppManifest>(root.join("happ.yaml"), &happ).await?;
    Ok(Packed { dna, happ })
}
