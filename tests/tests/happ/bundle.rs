//! The packed `.happ` installs into a conductor as a launcher would install it.

use crate::common::*;
use holochain::prelude::*;
use holochain::sweettest::SweetConductor;
use media_api::ContentView;

/// Installs the `.happ` at `path` as `id`, as a launcher would.
async fn install(conductor: &SweetConductor, path: std::path::PathBuf, id: &str) -> InstalledApp {
    conductor
        .raw_handle()
        .install_app_bundle(InstallAppPayload {
            source: AppBundleSource::Path(path.clone()),
            agent_key: None,
            installed_app_id: Some(id.into()),
            network_seed: None,
            roles_settings: None,
            ignore_genesis_failure: false,
            restore_from_dht: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{} installs: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_happ_file_installs_and_answers_zome_calls() {
    let path = repo_root().join("workdir/elohim_media.happ");
    assert!(path.is_file(), "{} missing; run scripts/setup.sh", path.display());
    media_node::embedded::keep_openssl_until_exit();
    let conductor = SweetConductor::standard().await;
    let handle = conductor.raw_handle();
    let app = install(&conductor, path, "elohim_media").await;
    handle
        .clone()
        .enable_app(app.id().clone())
        .await
        .expect("the app enables");

    let (role, cell_id) = app.provisioned_cells().next().expect("one provisioned cell");
    assert_eq!(role, ROLE);
    let cell = conductor.get_sweet_cell(cell_id).expect("cell is running");
    let view: ContentView = conductor
        .call(&cell.zome("media"), "create_content", content("hello", "commons"))
        .await;
    assert_eq!(view.content.title, "hello");
    assert_eq!(&view.author, cell.agent_pubkey());
}

/// `hc app pack .` and `hc web-app pack .` (the `hc` CLI's own code, given the arguments
/// a user types) pack the root manifests into bundles with the same hApp and UI as the
/// ones `elohim-media pack` wrote, and the hApp they pack installs.
#[tokio::test(flavor = "multi_thread")]
async fn hc_app_pack_and_hc_web_app_pack_make_the_same_bundles_from_the_root_manifests() {
    use clap::Parser;
    use holochain_cli_bundle::{HcAppBundle, HcWebAppBundle};
    use holochain_types::web_app::WebAppBundle;

    let root = repo_root();
    let out = tempfile::tempdir().unwrap();
    let happ = out.path().join("elohim_media.happ");
    let webhapp = out.path().join("elohim_media.webhapp");
    let arg = |p: &std::path::Path| p.to_str().unwrap().to_string();
    HcAppBundle::try_parse_from(["hc-app", "pack", &arg(&root), "-o", &arg(&happ)])
        .unwrap()
        .run()
        .await
        .expect("hc app pack . packs happ.yaml");
    HcWebAppBundle::try_parse_from(["hc-web-app", "pack", &arg(&root), "-o", &arg(&webhapp)])
        .unwrap()
        .run()
        .await
        .expect("hc web-app pack . packs web-happ.yaml");

    let theirs = WebAppBundle::unpack(std::fs::File::open(&webhapp).unwrap()).unwrap();
    let ours = WebAppBundle::unpack(std::fs::File::open(root.join("workdir/elohim_media.webhapp")).unwrap())
        .unwrap();
    assert_eq!(
        theirs.web_ui_zip_bytes().await.unwrap(),
        ours.web_ui_zip_bytes().await.unwrap(),
        "the same UI"
    );
    let dnas = |bundle: &holochain_types::app::AppBundle| {
        let mut dnas: Vec<Vec<u8>> = bundle
            .get_all_resources()
            .values()
            .map(|b| b.as_ref().to_vec())
            .collect();
        dnas.sort();
        dnas
    };
    let (their_happ, our_happ) = (
        theirs.happ_bundle().await.unwrap(),
        ours.happ_bundle().await.unwrap(),
    );
    assert_eq!(their_happ.manifest(), our_happ.manifest());
    assert_eq!(dnas(&their_happ), dnas(&our_happ), "the same DNA");

    // The hApp `hc app pack` wrote installs and answers.
    media_node::embedded::keep_openssl_until_exit();
    let conductor = SweetConductor::standard().await;
    let app = install(&conductor, happ, "packed_by_hc").await;
    assert_eq!(app.provisioned_cells().next().unwrap().0, ROLE);
}
