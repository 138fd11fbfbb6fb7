//! Packing the DNA, hApp and web-hApp bundles from their manifests, without the `hc` CLI.

use holochain_types::prelude::{AppManifest, ValidatedDnaManifest};
use holochain_types::web_app::WebAppManifest;
use mr_bundle::FileSystemBundler;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The packed bundles.
#[derive(Debug, Clone)]
pub struct Packed {
    /// `workdir/media.dna`.
    pub dna: PathBuf,
    /// `workdir/elohim_media.happ`.
    pub happ: PathBuf,
    /// `workdir/elohim_media.webhapp`, when the UI is built (`ui/dist`).
    pub webhapp: Option<PathBuf>,
}

/// Why packing failed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A manifest or a file it names is wrong or missing.
    #[error(transparent)]
    Bundle(#[from] mr_bundle::error::MrBundleError),
    /// The UI could not be zipped.
    #[error("zipping the UI: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Reading the UI or writing the zip failed.
    #[error("zipping the UI: {0}")]
    Io(#[from] std::io::Error),
}

/// Packs `dnas/media/dna.yaml` into `workdir/media.dna`, then `happ.yaml` into
/// `workdir/elohim_media.happ`, under the repository root `root`; when the UI is built
/// (`ui/dist/index.html`), zips it into `workdir/ui.zip` and packs `web-happ.yaml` into
/// `workdir/elohim_media.webhapp`. The zome wasm must already be in `workdir/`.
pub async fn pack_all(root: &Path) -> Result<Packed, PackError> {
    let workdir = root.join("workdir");
    let dna = workdir.join("media.dna");
    let happ = workdir.join("elohim_media.happ");
    FileSystemBundler::bundle_to::<ValidatedDnaManifest>(root.join("dnas/media/dna.yaml"), &dna).await?;
    FileSystemBundler::bundle_to::<AppManifest>(root.join("happ.yaml"), &happ).await?;
    let ui = root.join("ui/dist");
    let webhapp = match ui.join("index.html").is_file() {
        true => {
            zip_dir(&ui, &workdir.join("ui.zip"))?;
            let webhapp = workdir.join("elohim_media.webhapp");
            FileSystemBundler::bundle_to::<WebAppManifest>(root.join("web-happ.yaml"), &webhapp).await?;
            Some(webhapp)
        }
        false => None,
    };
    Ok(Packed { dna, happ, webhapp })
}

/// Zips the files under `dir` (paths relative to it, in a stable order) into `out`,
/// through a temporary file renamed into place.
pub fn zip_dir(dir: &Path, out: &Path) -> Result<(), PackError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            match entry.file_type()?.is_dir() {
                true => pending.push(entry.path()),
                false => files.push(entry.path()),
            }
        }
    }
    files.sort();
    let tmp = out.with_extension("zip.tmp");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&tmp)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o644);
    for file in files {
        let name = file
            .strip_prefix(dir)
            .expect("under dir")
            .to_string_lossy()
            .into_owned();
        zip.start_file(name, options)?;
        zip.write_all(&std::fs::read(&file)?)?;
    }
    zip.finish()?.sync_all()?;
    std::fs::rename(tmp, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use holochain_types::web_app::WebAppBundle;
    use std::io::Read;

    /// The .webhapp that `scripts/setup.sh` packs (the test command runs it first) holds
    /// the built UI, with its page and assets, and the hApp with its media DNA.
    #[tokio::test]
    async fn the_webhapp_holds_the_ui_and_the_happ() {
        let path = sidecar::testkit::repo_root().join("workdir/elohim_media.webhapp");
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/setup.sh packs it)", path.display()));
        let bundle = WebAppBundle::unpack(file).unwrap();
        let ui = bundle.web_ui_zip_bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(ui.to_vec())).unwrap();
        let names: Vec<String> = zip.file_names().map(String::from).collect();
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("assets/") && n.ends_with(".js")),
            "{names:?}"
        );
        let mut index = String::new();
        zip.by_name("index.html")
            .unwrap()
            .read_to_string(&mut index)
            .unwrap();
        assert!(index.contains("<div id=\"app\">"), "{index}");
        let happ = bundle.happ_bundle().await.unwrap();
        let roles: Vec<String> = happ
            .manifest()
            .app_roles()
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(roles, ["media"]);
        let resources = happ.get_all_resources();
        assert!(
            resources.keys().any(|k| k.ends_with(".dna")),
            "{:?}",
            resources.keys()
        );
    }

    /// The UI's zip lists every file under the directory, by its path inside it.
    #[test]
    fn the_ui_zip_lists_every_file_by_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ui/assets")).unwrap();
        std::fs::write(dir.path().join("ui/index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.path().join("ui/assets/a.js"), "1").unwrap();
        let out = dir.path().join("ui.zip");
        zip_dir(&dir.path().join("ui"), &out).unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        let mut names: Vec<&str> = zip.file_names().collect();
        names.sort();
        assert_eq!(names, ["assets/a.js", "index.html"]);
        let mut page = String::new();
        zip.by_name("index.html")
            .unwrap()
            .read_to_string(&mut page)
            .unwrap();
        assert_eq!(page, "<p>hi</p>");
    }
}
